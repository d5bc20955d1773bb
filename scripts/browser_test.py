"""Drives the Glimpse web UI in headless Chromium through chromedriver's W3C WebDriver HTTP API (no selenium).

Usage: python3 scripts/browser_test.py path/to/glimpse
Everything listens on 127.0.0.1 and stops by itself; exits non-zero on the first failed check.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
MODEL = os.path.join(FIXTURES, "models", "clip-tiny-f32")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
passed = 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{method} {url}: {error.code} {error.read()[:500]!r}")


def wait_for(what, predicate, timeout=30.0):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as error:  # noqa: BLE001 - retried until the deadline
            last = error
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last})")


def check(name, condition, detail=""):
    global passed
    if not condition:
        raise AssertionError(f"FAILED: {name} {detail}")
    passed += 1
    print(f"ok - {name}")


class Browser:
    def __init__(self, driver_url):
        self.base = driver_url
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": shutil.which("chromium"),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,860",
                     "--hide-scrollbars", "--force-device-scale-factor=1", "--no-first-run", "--disable-extensions",
                     "--force-color-profile=srgb", "--blink-settings=preferredColorScheme=0"]}}}}
        self.session = http("POST", f"{self.base}/session", caps, timeout=60)["value"]["sessionId"]

    def cmd(self, method, path, body=None):
        return http(method, f"{self.base}/session/{self.session}{path}", body, timeout=60)["value"]

    def go(self, url): self.cmd("POST", "/url", {"url": url})
    def find(self, css):
        found = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        if ELEMENT not in found:
            raise AssertionError(f"no element {css}: {found}")
        return found[ELEMENT]
    def click(self, css): self.cmd("POST", f"/element/{self.find(css)}/click", {})
    def type(self, css, text): self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})
    def js(self, script, *args): return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})
    def size(self, width, height): self.cmd("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.cmd("GET", "/screenshot")))
        print(f"saved {os.path.relpath(path, ROOT)}")

    def quit(self):
        try:
            http("DELETE", f"{self.base}/session/{self.session}")
        except Exception:  # noqa: BLE001
            pass


def main():
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="glimpse-browser-")
    processes = []
    browser = None
    try:
        photos = os.path.join(work, "photos")
        shutil.copytree(os.path.join(FIXTURES, "images"), photos, ignore=shutil.ignore_patterns("broken", "tiny_*", "tall_*", "wide_*"))
        library = os.path.join(work, "library")
        subprocess.run([binary, "index", "--library", library, "--model", MODEL, photos], check=True, stdout=subprocess.DEVNULL)

        port = free_port()
        log = open(os.path.join(work, "serve.log"), "w")
        processes.append(subprocess.Popen([binary, "serve", "--library", library, "--model", MODEL, "--host", "127.0.0.1",
                                           "--port", str(port)], stdout=log, stderr=log))
        site = f"http://127.0.0.1:{port}"
        info = wait_for("the server", lambda: http("GET", f"{site}/healthz"))
        check("server answers /healthz", info["status"] == "ok" and info["images"] > 10, str(info))

        driver_port = free_port()
        processes.append(subprocess.Popen(["chromedriver", f"--port={driver_port}", "--allowed-ips=127.0.0.1"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        driver = f"http://127.0.0.1:{driver_port}"
        wait_for("chromedriver", lambda: http("GET", f"{driver}/status")["value"]["ready"])
        browser = Browser(driver)

        browser.go(site + "/")
        line = wait_for("library size on the page", lambda: "images" in browser.js("return document.getElementById('libraryLine').textContent") and
                        browser.js("return document.getElementById('libraryLine').textContent"))
        check("page shows the library size and model", "clip-tiny-f32" in line, line)

        browser.type("#q", "a cup of coffee")
        count = wait_for("results as you type", lambda: browser.js("return document.querySelectorAll('#grid .card').length"))
        check("typing a query shows results (debounced, no Enter)", count >= 10, str(count))
        wait_for("thumbnails to load", lambda: browser.js(
            "return [...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth > 0)"))
        check("thumbnails load", True)
        scores = browser.js("return [...document.querySelectorAll('#grid .score')].map(s => parseFloat(s.textContent))")
        check("scores shown best first", scores == sorted(scores, reverse=True), str(scores))

        # Search by image: the file picker (same path as drag-and-drop and paste).
        query_image = os.path.join(FIXTURES, "images", "rocket_444.jpg")
        browser.type("#file", query_image)
        wait_for("image search results", lambda: "image search" in browser.js("return document.getElementById('status').textContent"))
        top = browser.js("return document.querySelector('#grid .card').getAttribute('aria-label')")
        check("searching by an image finds it first", "rocket_444.jpg" in top and float(top.rsplit(" ", 1)[1]) > 0.99, top)

        # Upload: add the query image to the library.
        before = http("GET", f"{site}/api/info")["images"]
        browser.type("#file", os.path.join(FIXTURES, "images", "rocket_exif8.jpg"))
        wait_for("the new image query", lambda: browser.js("return document.getElementById('chipText').textContent") == "rocket_exif8.jpg")
        browser.click("#chipAdd")
        toast = wait_for("the upload toast", lambda: "Added" in browser.js("return document.getElementById('toast').textContent") and
                         browser.js("return document.getElementById('toast').textContent"))
        after = http("GET", f"{site}/api/info")["images"]
        check("uploading an image adds it to the library", after == before + 1, f"{toast}: {before} -> {after}")

        # Open a result, then "more like this".
        browser.click("#grid .card")
        wait_for("the viewer", lambda: browser.js("return document.getElementById('viewer').open"))
        opened = browser.js("return document.getElementById('viewerId').textContent")
        check("clicking a result opens the viewer", bool(opened))
        browser.click("#similar")
        wait_for("similar results", lambda: "similar" in browser.js("return document.getElementById('status').textContent"))
        ids = browser.js("return [...document.querySelectorAll('#grid .card')].map(c => c.getAttribute('aria-label'))")
        check("'more like this' shows other images", len(ids) > 0, str(ids[:3]))

        # Keyboard: '/' focuses the search box, arrows move through results, Enter opens, Escape closes.
        browser.js("document.activeElement.blur()")
        browser.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "kb", "actions": [
            {"type": "keyDown", "value": "/"}, {"type": "keyUp", "value": "/"}]}]})
        check("'/' focuses the search box", browser.js("return document.activeElement.id") == "q")
        browser.cmd("DELETE", "/actions")

        # The screenshot for the README: a fresh text search, desktop then phone size.
        browser.go(site + "/")
        browser.type("#q", "a photo of an animal")
        wait_for("results", lambda: browser.js("return document.querySelectorAll('#grid .card').length") >= 10)
        wait_for("thumbnails", lambda: browser.js("return [...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth > 0)"))
        time.sleep(0.6)
        os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
        browser.screenshot(os.path.join(ROOT, "docs", "screenshot.png"))
        browser.size(390, 844)
        time.sleep(0.6)
        width = browser.js("return document.documentElement.scrollWidth")
        check("no horizontal scrolling on a phone-sized screen", width <= 390, str(width))
        browser.screenshot(os.path.join(ROOT, "docs", "screenshot-phone.png"))
        print(f"{passed} passed, 0 failed")
    finally:
        if browser:
            browser.quit()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as error:
        print(error)
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
