#!/usr/bin/env python3
"""Reference indexing pipeline: PyTorch + Pillow on the same large JPEG copies `glimpse-bench index` reads.

    python3 Benchmarks/reference_index.py PHOTO [--count 128] [--batch 32]

Decoding (Pillow: open, convert to RGB, bicubic resize of the short side to 224, center crop, normalize) runs on a
thread pool overlapped with a ViT-B/32-shaped vision tower (transformers CLIPVisionModelWithProjection, random
weights, fp32, all cores) — the usual clip-retrieval-style loop. Prints one JSON object with images/s.
"""

import argparse
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def preprocess(path: str) -> np.ndarray:
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        s = 224 / min(w, h)
        im = im.resize((max(224, round(w * s)), max(224, round(h * s))), Image.BICUBIC)
        w, h = im.size
        left, top = (w - 224) // 2, (h - 224) // 2
        im = im.crop((left, top, left + 224, top + 224))
        x = (np.asarray(im, dtype=np.float32) / 255 - MEAN) / STD
    return x.transpose(2, 0, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("photo")
    ap.add_argument("--count", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    ncpu = os.cpu_count() or 1
    torch.set_num_threads(ncpu)
    torch.manual_seed(0)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, image_size=224,
        patch_size=32, hidden_act="quick_gelu", projection_dim=512)).eval()
    folder = tempfile.mkdtemp(prefix="reference-index-")
    try:
        paths = []
        for i in range(args.count):
            p = os.path.join(folder, f"{i}.jpg")
            shutil.copyfile(args.photo, p)
            paths.append(p)
        with torch.inference_mode():
            model(pixel_values=torch.zeros(2, 3, 224, 224))  # warm-up
            start = time.perf_counter()
            done = 0
            with ThreadPoolExecutor(max_workers=ncpu) as pool:
                pending = [pool.submit(preprocess, p) for p in paths]  # decoding runs ahead of the model
                for b in range(0, len(paths), args.batch):
                    batch = np.stack([f.result() for f in pending[b:b + args.batch]])
                    model(pixel_values=torch.from_numpy(batch)).image_embeds.numpy()
                    done += len(batch)
            seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    with Image.open(args.photo) as im:
        size = im.size
    print(json.dumps({"pytorch_pillow_images_per_s": round(done / seconds, 2), "images": done,
                      "photo_size": list(size), "torch": torch.__version__, "cpus": ncpu}))


if __name__ == "__main__":
    main()
