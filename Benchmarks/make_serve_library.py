"""Builds what the `glimpse serve` load benchmark needs, quickly and without real weights:

  MODEL/    a CLIP model folder whose *text tower has ViT-B/32 shapes* (12 layers, width 512, 8 heads, projection
            512) with random weights, the real CLIP tokenizer (from the tiny fixture) and a tiny vision tower;
  LIBRARY/  a library indexed with that model from two fixture images, then N random unit vectors inserted
            straight into its SQLite database (bench only: the rows point at files that do not exist).

Usage: python3 Benchmarks/make_serve_library.py GLIMPSE_BINARY OUT_DIR [N]   (needs numpy)
"""
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "Tests", "Fixtures", "models", "clip-tiny-f32")
WIDTH, MLP, LAYERS, HEADS, PROJ = 512, 2048, 12, 8, 512


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype=np.float32).reshape(info["shape"])
    return tensors


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


def make_model(directory):
    if os.path.exists(os.path.join(directory, "model.safetensors")):
        return
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(TINY):
        if name != "model.safetensors":
            shutil.copy(os.path.join(TINY, name), directory)
    config = json.load(open(os.path.join(TINY, "config.json")))
    config["projection_dim"] = PROJ
    config["text_config"].update(hidden_size=WIDTH, intermediate_size=MLP, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                                 projection_dim=PROJ)
    config["vision_config"]["projection_dim"] = PROJ
    json.dump(config, open(os.path.join(directory, "config.json"), "w"), indent=2)

    rng = np.random.default_rng(7)
    tiny = read_safetensors(os.path.join(TINY, "model.safetensors"))
    tensors = {k: v for k, v in tiny.items() if k.startswith("vision_model.") or k == "logit_scale"}
    vision_width = tiny["vision_model.post_layernorm.weight"].shape[0]
    normal = lambda *shape: (rng.standard_normal(shape, dtype=np.float32) * 0.02)
    tensors["visual_projection.weight"] = normal(PROJ, vision_width)
    tensors["text_projection.weight"] = normal(PROJ, WIDTH)
    tensors["text_model.embeddings.token_embedding.weight"] = normal(49408, WIDTH)
    tensors["text_model.embeddings.position_embedding.weight"] = normal(77, WIDTH)
    tensors["text_model.final_layer_norm.weight"] = np.ones(WIDTH, np.float32)
    tensors["text_model.final_layer_norm.bias"] = np.zeros(WIDTH, np.float32)
    for i in range(LAYERS):
        p = f"text_model.encoder.layers.{i}."
        for norm in ("layer_norm1", "layer_norm2"):
            tensors[p + norm + ".weight"] = np.ones(WIDTH, np.float32)
            tensors[p + norm + ".bias"] = np.zeros(WIDTH, np.float32)
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            tensors[p + f"self_attn.{proj}.weight"] = normal(WIDTH, WIDTH)
            tensors[p + f"self_attn.{proj}.bias"] = np.zeros(WIDTH, np.float32)
        tensors[p + "mlp.fc1.weight"] = normal(MLP, WIDTH)
        tensors[p + "mlp.fc1.bias"] = np.zeros(MLP, np.float32)
        tensors[p + "mlp.fc2.weight"] = normal(WIDTH, MLP)
        tensors[p + "mlp.fc2.bias"] = np.zeros(WIDTH, np.float32)
    write_safetensors(os.path.join(directory, "model.safetensors"), tensors)


def make_library(binary, model, library, count):
    database = os.path.join(library, "library.sqlite")
    if os.path.exists(database):
        with sqlite3.connect(database) as db:
            if db.execute("SELECT count(*) FROM image").fetchone()[0] >= count:
                return
        shutil.rmtree(library)
    seed = os.path.join(os.path.dirname(library), "seed-photos")
    os.makedirs(seed, exist_ok=True)
    for name in ("astronaut_baseline.jpg", "coffee_progressive.jpg"):
        shutil.copy(os.path.join(ROOT, "Tests", "Fixtures", "images", name), seed)
    subprocess.run([binary, "index", "--library", library, "--model", model, seed], check=True, stdout=subprocess.DEVNULL)
    rng = np.random.default_rng(11)
    with sqlite3.connect(database) as db:
        generation = int(db.execute("SELECT value FROM setting WHERE key = 'generation'").fetchone()[0]) + 1
        db.execute("UPDATE setting SET value = ? WHERE key = 'generation'", (str(generation),))
        now = time.time()
        for start in range(0, count, 10_000):
            n = min(10_000, count - start)
            vectors = rng.standard_normal((n, PROJ), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            db.executemany(
                "INSERT INTO image (path, size, mtimeNanoseconds, contentHash, width, height, format, indexedAt, embedding, generation) "
                "VALUES (?, 1, 0, ?, 640, 480, 'jpeg', ?, ?, ?)",
                [(f"/nonexistent/glimpse-bench/{start + i:07d}.jpg", f"{start + i:016x}", now, vectors[i].tobytes(), generation)
                 for i in range(n)])
    shutil.rmtree(os.path.join(library, "index"), ignore_errors=True)


if __name__ == "__main__":
    binary, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    make_model(os.path.join(out, "model-textB32"))
    make_library(binary, os.path.join(out, "model-textB32"), os.path.join(out, f"library-{count}"), count)
    print(os.path.join(out, "model-textB32"), os.path.join(out, f"library-{count}"))
