/// The web UI: one self-contained HTML page (inline CSS and JavaScript, no build step, nothing fetched from
/// elsewhere), served at `/`.
enum WebUI {
    static let contentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        + "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark light">
<title>Glimpse</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Ccircle cx='16' cy='16' r='12' fill='%237c9cff'/%3E%3Ccircle cx='16' cy='16' r='5' fill='%23101218'/%3E%3C/svg%3E">
<style>
:root {
  --bg: #0f1117; --panel: #171a22; --panel2: #1f2330; --text: #e8eaf0; --muted: #9aa1b2; --accent: #7c9cff;
  --accent2: #b48cff; --ring: #7c9cff; --radius: 14px; --shadow: 0 8px 30px rgba(0,0,0,.35);
}
@media (prefers-color-scheme: light) {
  :root { --bg: #f6f7fb; --panel: #ffffff; --panel2: #eef0f6; --text: #1b1e27; --muted: #5d6474; --shadow: 0 8px 30px rgba(20,30,60,.12); }
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--accent); }
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 8px; top: 8px; z-index: 100; background: var(--panel); padding: 8px 12px; border-radius: 8px; }
header { position: sticky; top: 0; z-index: 10; backdrop-filter: blur(14px); background: color-mix(in srgb, var(--bg) 82%, transparent);
  border-bottom: 1px solid color-mix(in srgb, var(--muted) 18%, transparent); }
.bar { max-width: 1400px; margin: 0 auto; padding: 14px 20px 10px; display: flex; gap: 14px; align-items: center; flex-wrap: wrap; }
.brand { display: flex; align-items: center; gap: 10px; font-weight: 700; font-size: 20px; letter-spacing: .2px; white-space: nowrap; }
.brand .dot { width: 26px; height: 26px; border-radius: 50%; background: radial-gradient(circle at 50% 50%, var(--bg) 0 28%, transparent 30%), linear-gradient(135deg, var(--accent), var(--accent2)); }
.search { flex: 1 1 420px; display: flex; align-items: center; gap: 8px; background: var(--panel); border-radius: 999px; padding: 6px 8px 6px 16px;
  box-shadow: var(--shadow); border: 1px solid color-mix(in srgb, var(--muted) 20%, transparent); min-width: 0; }
.search:focus-within { outline: 2px solid var(--ring); outline-offset: 1px; }
.search svg { flex: none; opacity: .7; }
#q { flex: 1; min-width: 0; border: 0; outline: 0; background: transparent; color: var(--text); font-size: 17px; padding: 8px 4px; }
.chip { display: none; align-items: center; gap: 6px; background: var(--panel2); border-radius: 999px; padding: 3px 4px 3px 3px; max-width: 55%; }
.chip.on { display: inline-flex; }
.chip img { width: 30px; height: 30px; object-fit: cover; border-radius: 50%; }
.chip span { font-size: 13px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
button, .btn { font: inherit; color: var(--text); background: var(--panel2); border: 1px solid transparent; border-radius: 999px; padding: 8px 14px; cursor: pointer; }
button:hover, .btn:hover { border-color: color-mix(in srgb, var(--accent) 50%, transparent); }
button:focus-visible, a:focus-visible, input:focus-visible, .card:focus-visible { outline: 2px solid var(--ring); outline-offset: 2px; }
.icon { padding: 8px; width: 38px; height: 38px; display: inline-grid; place-items: center; }
.primary { background: linear-gradient(135deg, var(--accent), var(--accent2)); color: #fff; font-weight: 600; }
.controls { max-width: 1400px; margin: 0 auto; padding: 0 20px 12px; display: flex; gap: 18px; align-items: center; flex-wrap: wrap; color: var(--muted); font-size: 13px; }
.controls label { display: flex; align-items: center; gap: 8px; }
input[type=range] { accent-color: var(--accent); width: 150px; }
#status { margin-left: auto; }
main { max-width: 1400px; margin: 0 auto; padding: 18px 20px 60px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 14px; }
.card { position: relative; display: block; padding: 0; border: 0; border-radius: var(--radius); overflow: hidden; background: var(--panel2);
  aspect-ratio: 1 / 1; cursor: zoom-in; box-shadow: 0 2px 10px rgba(0,0,0,.18); transition: transform .15s ease, box-shadow .15s ease; }
.card:hover { transform: translateY(-2px); box-shadow: var(--shadow); }
.card img { width: 100%; height: 100%; object-fit: cover; display: block; opacity: 0; transition: opacity .25s; }
.card img.loaded { opacity: 1; }
.score { position: absolute; left: 8px; bottom: 8px; font-size: 12px; font-weight: 600; padding: 3px 8px; border-radius: 999px;
  background: rgba(10,12,18,.72); color: #fff; backdrop-filter: blur(6px); }
.name { position: absolute; inset: auto 0 0 0; padding: 26px 10px 8px; font-size: 12px; color: #fff; text-align: right;
  background: linear-gradient(transparent, rgba(0,0,0,.65)); opacity: 0; transition: opacity .15s; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card:hover .name, .card:focus-visible .name { opacity: 1; }
.empty { text-align: center; color: var(--muted); padding: 70px 20px; }
.empty h1 { color: var(--text); font-size: 26px; margin: 0 0 8px; font-weight: 650; }
.examples { display: flex; gap: 8px; justify-content: center; flex-wrap: wrap; margin-top: 18px; }
#sentinel { height: 40px; }
.spinner { width: 28px; height: 28px; border-radius: 50%; border: 3px solid var(--panel2); border-top-color: var(--accent); animation: spin .8s linear infinite; margin: 20px auto; display: none; }
.loading .spinner { display: block; }
@keyframes spin { to { transform: rotate(360deg); } }
#drop { position: fixed; inset: 0; z-index: 50; display: none; place-items: center; background: color-mix(in srgb, var(--bg) 80%, transparent);
  border: 3px dashed var(--accent); font-size: 22px; font-weight: 600; }
#drop.on { display: grid; }
dialog { border: 0; padding: 0; background: var(--panel); color: var(--text); border-radius: 18px; box-shadow: var(--shadow); max-width: min(1100px, 96vw); width: 100%; }
dialog::backdrop { background: rgba(5,7,12,.75); backdrop-filter: blur(4px); }
.viewer { display: grid; grid-template-columns: 1fr 280px; }
.viewer .pic { background: #000; display: grid; place-items: center; min-height: 300px; max-height: 82vh; }
.viewer .pic img { max-width: 100%; max-height: 82vh; object-fit: contain; display: block; }
.viewer .side { padding: 18px; display: flex; flex-direction: column; gap: 12px; }
.viewer .path { font-weight: 600; word-break: break-all; }
.viewer dl { display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; margin: 0; color: var(--muted); font-size: 13px; }
.viewer dd { margin: 0; color: var(--text); word-break: break-word; }
#viewerMeta { max-height: 38vh; overflow: auto; }
#filter { width: 220px; }
.viewer .actions { display: flex; flex-direction: column; gap: 8px; margin-top: auto; }
.viewer .actions > * { text-align: center; text-decoration: none; }
#close { position: absolute; right: 10px; top: 10px; background: rgba(10,12,18,.6); color: #fff; }
.toast { position: fixed; left: 50%; bottom: 22px; transform: translateX(-50%); background: var(--panel2); padding: 10px 16px; border-radius: 12px;
  box-shadow: var(--shadow); display: none; z-index: 60; }
.toast.on { display: block; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
@media (max-width: 700px) {
  .bar { padding: 10px 12px 8px; gap: 10px; }
  .brand span { display: none; }
  .search { flex: 1 1 0; }
  .controls { padding: 0 12px 10px; gap: 10px; }
  #status { margin-left: 0; width: 100%; }
  main { padding: 12px; }
  .grid { grid-template-columns: repeat(auto-fill, minmax(105px, 1fr)); gap: 8px; }
  .card { border-radius: 10px; }
  .viewer { grid-template-columns: 1fr; }
  .viewer .pic { max-height: 60vh; }
  .viewer .pic img { max-height: 60vh; }
}
</style>
</head>
<body>
<a class="skip" href="#results">Skip to results</a>
<header>
  <div class="bar">
    <div class="brand"><div class="dot" aria-hidden="true"></div><span>Glimpse</span></div>
    <form class="search" id="form" role="search" onsubmit="return false">
      <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true"><circle cx="11" cy="11" r="7" fill="none" stroke="currentColor" stroke-width="2"/><path d="M20 20l-3.5-3.5" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>
      <label for="q" class="sr">Search images</label>
      <input id="q" type="search" placeholder="Describe what you are looking for…" autocomplete="off" autofocus>
      <span class="chip" id="chip"><img id="chipImg" alt=""><span id="chipText"></span>
        <button type="button" class="icon" id="chipAdd" title="Add this image to the library" aria-label="Add this image to the library">＋</button>
        <button type="button" class="icon" id="chipClear" title="Clear image query" aria-label="Clear image query">✕</button></span>
      <button type="button" class="icon" id="pick" title="Search by image (or drop / paste one)" aria-label="Search by image">
        <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true"><rect x="3" y="5" width="18" height="14" rx="3" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="9" cy="10" r="2" fill="currentColor"/><path d="M5 17l5-5 4 4 2-2 3 3" fill="none" stroke="currentColor" stroke-width="2"/></svg>
      </button>
      <input type="file" id="file" accept="image/*" hidden>
    </form>
  </div>
  <div class="controls">
    <label for="searchPath" id="searchPathLabel" hidden>Search by <select id="searchPath" title="How a description finds images">
      <option value="clip">image (CLIP)</option><option value="caption">caption</option><option value="hybrid">both (hybrid)</option></select></label>
    <label for="filter">Filter <input id="filter" type="text" placeholder='year >= 2020 and keywords contains "beach"' title="Metadata filter: key op value (= != < <= > >= in contains), joined with and" autocomplete="off"></label>
    <label for="minScore">Min. score <input type="range" id="minScore" min="-0.2" max="0.5" step="0.01" value="-0.2" aria-describedby="minScoreValue"> <output id="minScoreValue">off</output></label>
    <span id="status" role="status" aria-live="polite"></span>
  </div>
</header>
<main id="results" tabindex="-1" aria-busy="false">
  <div class="empty" id="empty">
    <h1>Search your photos by what is in them</h1>
    <p id="libraryLine">Type a description, or drop or paste an image anywhere.</p>
    <div class="examples" id="examples"></div>
  </div>
  <div class="grid" id="grid" aria-label="Results"></div>
  <div class="spinner" aria-hidden="true"></div>
  <div id="sentinel"></div>
</main>
<div id="drop" aria-hidden="true">Drop an image to search by it</div>
<dialog id="viewer" aria-labelledby="viewerPath">
  <div class="viewer">
    <div class="pic"><img id="viewerImg" alt=""></div>
    <div class="side">
      <div class="path" id="viewerPath"></div>
      <dl><dt>Score</dt><dd id="viewerScore"></dd><dt>Size</dt><dd id="viewerSize"></dd><dt>Id</dt><dd id="viewerId"></dd></dl>
      <dl id="viewerMeta" aria-label="Metadata"></dl>
      <div class="actions">
        <button type="button" class="primary" id="similar">More like this</button>
        <a class="btn" id="original" target="_blank" rel="noopener">Open original</a>
        <button type="button" id="prev" aria-label="Previous result">← Previous</button>
        <button type="button" id="next" aria-label="Next result">Next →</button>
      </div>
    </div>
  </div>
  <button type="button" class="icon" id="close" aria-label="Close">✕</button>
</dialog>
<dialog id="auth" aria-labelledby="authTitle">
  <form method="dialog" style="padding:22px;display:flex;flex-direction:column;gap:12px;min-width:min(420px,90vw)">
    <strong id="authTitle">This server needs an access token</strong>
    <label for="token" style="color:var(--muted);font-size:13px">Ask whoever started <code>glimpse serve --auth-token</code>.</label>
    <input id="token" type="password" autocomplete="current-password" style="font:inherit;padding:10px;border-radius:10px;border:1px solid var(--panel2);background:var(--bg);color:var(--text)">
    <button class="primary" id="tokenSave" value="ok">Continue</button>
  </form>
</dialog>
<div class="toast" id="toast" role="alert"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const PAGE = 40;
const state = { mode: "none", q: "", blob: null, blobName: "", similarId: null, offset: 0, done: true, loading: false, seq: 0, items: [] };
let token = localStorage.getItem("glimpse.token") || "";
let current = -1;

function withToken(url) {
  if (!token) return url;
  return url + (url.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(token);
}
async function api(url, options = {}) {
  options.headers = Object.assign({}, options.headers || {}, token ? { Authorization: "Bearer " + token } : {});
  const response = await fetch(url, options);
  if (response.status === 401) { await askToken(); return api(url, options); }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && body.error && body.error.message) || ("HTTP " + response.status));
  return body;
}
function askToken() {
  return new Promise((resolve) => {
    const dialog = $("auth");
    dialog.onclose = () => { token = $("token").value.trim(); localStorage.setItem("glimpse.token", token); resolve(); };
    if (!dialog.open) dialog.showModal();
  });
}
function toast(text) {
  const t = $("toast"); t.textContent = text; t.classList.add("on");
  clearTimeout(toast.timer); toast.timer = setTimeout(() => t.classList.remove("on"), 3500);
}
function minScore() { const v = parseFloat($("minScore").value); return v <= -0.2 ? null : v; }
function setStatus(text) { $("status").textContent = text; }

async function loadInfo() {
  try {
    const info = await api("/api/info");
    $("libraryLine").textContent = `${info.images.toLocaleString()} images · model ${info.model} · type a description, or drop or paste an image anywhere.`;
    setStatus(`${info.images.toLocaleString()} images · ${info.model}`);
    const paths = info.search_paths || ["clip"];
    $("searchPathLabel").hidden = paths.length < 2;
    for (const option of $("searchPath").options) option.disabled = !paths.includes(option.value);
    const examples = ["a dog on the beach", "city at night", "a cup of coffee", "mountains with snow", "a rocket launch"];
    $("examples").replaceChildren(...examples.map((e) => { const b = document.createElement("button"); b.type = "button"; b.textContent = e;
      b.onclick = () => { $("q").value = e; startText(); }; return b; }));
  } catch (e) { setStatus(e.message); }
}

function reset(mode) {
  state.mode = mode; state.offset = 0; state.done = false; state.items = []; state.seq++; state.loading = false;
  $("grid").replaceChildren();
  $("empty").style.display = mode === "none" ? "" : "none";
}
function startText() {
  const q = $("q").value.trim();
  clearImage(false);
  if (!q) { reset("none"); state.done = true; loadInfo(); return; }
  state.q = q; reset("text"); loadMore();
}
function startImage(blob, name) {
  state.blob = blob; state.blobName = name || "image";
  $("chipImg").src = URL.createObjectURL(blob); $("chipText").textContent = state.blobName; $("chip").classList.add("on");
  $("q").value = ""; reset("image"); loadMore();
}
function startSimilar(id, label) {
  clearImage(false); state.similarId = id; $("q").value = ""; $("q").placeholder = "More like " + label;
  reset("similar"); loadMore(); window.scrollTo({ top: 0, behavior: "smooth" });
}
function clearImage(resetPlaceholder = true) {
  state.blob = null; $("chip").classList.remove("on");
  if (resetPlaceholder !== false || state.mode === "similar") $("q").placeholder = "Describe what you are looking for…";
}

async function loadMore() {
  if (state.loading || state.done || state.mode === "none") return;
  state.loading = true; $("results").classList.add("loading"); $("results").setAttribute("aria-busy", "true");
  const seq = state.seq;
  const params = new URLSearchParams({ limit: PAGE, offset: state.offset });
  const ms = minScore(); if (ms !== null) params.set("min_score", ms);
  const filter = $("filter").value.trim(); if (filter) params.set("filter", filter);
  try {
    let data;
    if (state.mode === "text") { params.set("q", state.q); if ($("searchPath").value !== "clip") params.set("path", $("searchPath").value); data = await api("/api/search?" + params); }
    else if (state.mode === "similar") { data = await api(`/api/images/${state.similarId}/similar?` + params); }
    else { const form = new FormData(); form.append("image", state.blob, state.blobName); data = await api("/api/search/image?" + params, { method: "POST", body: form }); }
    if (seq !== state.seq) return;
    render(data.results);
    state.offset += data.results.length;
    state.done = data.results.length < PAGE;
    const what = state.mode === "text" ? `“${state.q}”` : state.mode === "similar" ? "similar images" : "image search";
    setStatus(`${state.items.length}${state.done ? "" : "+"} results for ${what} · ${data.took_ms.toFixed(1)} ms`);
    if (state.items.length === 0) setStatus(`No results for ${what}` + (ms !== null ? " above the minimum score" : ""));
  } catch (e) { if (seq === state.seq) { toast(e.message); state.done = true; } }
  finally {
    if (seq === state.seq) {
      state.loading = false; $("results").classList.remove("loading"); $("results").setAttribute("aria-busy", "false");
      if (!state.done && isSentinelVisible()) loadMore();
    }
  }
}
function isSentinelVisible() { const r = $("sentinel").getBoundingClientRect(); return r.top < window.innerHeight + 600; }

function render(results) {
  const fragment = document.createDocumentFragment();
  for (const item of results) {
    const index = state.items.length; state.items.push(item);
    const card = document.createElement("button");
    card.type = "button"; card.className = "card";
    card.setAttribute("aria-label", `${item.path}, score ${item.score.toFixed(3)}`);
    const img = document.createElement("img");
    img.loading = "lazy"; img.decoding = "async"; img.alt = item.path; img.src = withToken(item.thumbnail_url);
    img.onload = () => img.classList.add("loaded");
    const score = document.createElement("span"); score.className = "score"; score.textContent = item.score.toFixed(3);
    if (typeof item.probability === "number") { score.textContent += ` · ${Math.round(item.probability * 100)}%`; score.title = "cosine · the model's own match probability"; }
    const name = document.createElement("span"); name.className = "name"; name.textContent = item.caption ? `${item.caption} — ${item.path}` : item.path;
    if (item.caption) card.title = item.caption;
    card.append(img, score, name);
    card.onclick = () => openViewer(index);
    fragment.append(card);
  }
  $("grid").append(fragment);
}

function openViewer(index) {
  const item = state.items[index]; if (!item) return;
  current = index;
  $("viewerImg").src = withToken(item.thumbnail_url);
  // An original on another host (a list's URL) is linked, never loaded here: the page only loads this server's images.
  const remote = !item.url.startsWith("/");
  if (!remote) { const full = new Image(); full.onload = () => { if (current === index) $("viewerImg").src = full.src; }; full.src = withToken(item.url); }
  $("viewerImg").alt = item.caption || item.path; $("viewerPath").textContent = item.caption ? `${item.path} — “${item.caption}”` : item.path;
  $("viewerScore").textContent = item.score.toFixed(4) + (typeof item.probability === "number" ? ` (match probability ${(item.probability * 100).toFixed(1)}%)` : ""); $("viewerSize").textContent = `${item.width} × ${item.height}`; $("viewerId").textContent = item.id;
  $("original").href = remote ? item.url : withToken(item.url);
  $("original").textContent = remote ? "Open source ↗" : "Open original";
  const meta = item.metadata || {};
  const rows = [];
  if (item.source_id && item.source_id !== item.source_url) rows.push(["id", item.source_id]);
  if (item.source_url) rows.push(["source", item.source_url]);
  for (const key of Object.keys(meta).sort()) rows.push([key, Array.isArray(meta[key]) ? meta[key].join(", ") : String(meta[key])]);
  $("viewerMeta").replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
  }));
  $("prev").disabled = index === 0; $("next").disabled = index >= state.items.length - 1;
  const dialog = $("viewer"); if (!dialog.open) dialog.showModal();
  $("similar").focus();
}
function closeViewer() {
  const dialog = $("viewer"); if (dialog.open) dialog.close();
  const card = $("grid").children[current]; if (card) card.focus();
}

let debounce;
$("q").addEventListener("input", () => { clearTimeout(debounce); debounce = setTimeout(startText, 250); });
$("q").addEventListener("keydown", (e) => {
  if (e.key === "Enter") { clearTimeout(debounce); startText(); }
  if (e.key === "ArrowDown") { const first = $("grid").firstElementChild; if (first) { e.preventDefault(); first.focus(); } }
});
$("minScore").addEventListener("input", () => { const v = minScore(); $("minScoreValue").textContent = v === null ? "off" : v.toFixed(2); });
$("searchPath").addEventListener("change", () => { if (state.mode === "text") { reset("text"); loadMore(); } });
$("minScore").addEventListener("change", () => { if (state.mode !== "none") { const mode = state.mode; reset(mode); loadMore(); } });
$("filter").addEventListener("keydown", (e) => { if (e.key === "Enter" && state.mode !== "none") { const mode = state.mode; reset(mode); loadMore(); } });
$("filter").addEventListener("change", () => { if (state.mode !== "none") { const mode = state.mode; reset(mode); loadMore(); } });
$("pick").onclick = () => $("file").click();
$("file").onchange = () => { const f = $("file").files[0]; if (f) startImage(f, f.name); $("file").value = ""; };
$("chipClear").onclick = () => { clearImage(); reset("none"); state.done = true; $("q").focus(); };
$("chipAdd").onclick = async () => {
  if (!state.blob) return;
  const form = new FormData(); form.append("image", state.blob, state.blobName);
  try { const info = await api("/api/images", { method: "POST", body: form }); toast(`Added to the library as ${info.path}`); loadInfo(); }
  catch (e) { toast(e.message); }
};
$("similar").onclick = () => { const item = state.items[current]; $("viewer").close(); if (item) startSimilar(item.id, item.path); };
$("close").onclick = closeViewer;
$("viewer").addEventListener("close", () => { const card = $("grid").children[current]; if (card) card.focus(); });
$("prev").onclick = () => openViewer(current - 1);
$("next").onclick = () => openViewer(current + 1);
$("viewer").addEventListener("keydown", (e) => {
  if (e.key === "ArrowLeft" && current > 0) openViewer(current - 1);
  if (e.key === "ArrowRight" && current < state.items.length - 1) openViewer(current + 1);
});
$("viewer").addEventListener("click", (e) => { if (e.target === $("viewer")) closeViewer(); });
$("grid").addEventListener("keydown", (e) => {
  const cards = [...$("grid").children]; const i = cards.indexOf(document.activeElement); if (i < 0) return;
  const columns = Math.max(1, Math.round($("grid").clientWidth / cards[0].getBoundingClientRect().width));
  const move = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns }[e.key];
  if (move !== undefined) { e.preventDefault(); const target = cards[i + move]; if (target) target.focus(); else if (move < 0) $("q").focus(); }
});
document.addEventListener("keydown", (e) => {
  if (e.key === "/" && document.activeElement !== $("q") && !$("viewer").open) { e.preventDefault(); $("q").focus(); $("q").select(); }
});
document.addEventListener("paste", (e) => {
  const file = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.type.startsWith("image/"));
  if (file) { e.preventDefault(); startImage(file.getAsFile(), "pasted image"); }
});
let dragDepth = 0;
window.addEventListener("dragenter", (e) => { if ([...e.dataTransfer.types].includes("Files")) { dragDepth++; $("drop").classList.add("on"); } });
window.addEventListener("dragleave", () => { if (--dragDepth <= 0) { dragDepth = 0; $("drop").classList.remove("on"); } });
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault(); dragDepth = 0; $("drop").classList.remove("on");
  const file = [...e.dataTransfer.files].find((f) => f.type.startsWith("image/"));
  if (file) startImage(file, file.name); else toast("Drop an image file");
});
new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) loadMore(); }, { rootMargin: "600px" }).observe($("sentinel"));
loadInfo();
</script>
</body>
</html>
"""#
}
