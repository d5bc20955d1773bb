#!/usr/bin/env python3
"""Reference speed of image captioning with transformers' generate(), nlpconnect/vit-gpt2-image-captioning's shapes
(ViT-B/16 at 224 encoder, 12-layer GPT-2 decoder with cross-attention) and random weights; the same model is saved for
`glimpse-bench caption --model DIR`, which then runs the very same weights on the very same inputs.

    python3 Benchmarks/reference_caption.py --dir /tmp/vit-gpt2-random [--images 8] [--max-length 16]

Writes DIR (config.json, generation_config.json, model.safetensors ~1 GB, preprocessor_config.json, the fixture
tokenizer — ids are what is compared, not text) and DIR/bench_reference.json with each image's generated ids, then
prints one JSON object: captions/s for greedy and 4-beam search, one image per generate() call and all images in
one batched call (Glimpse's benchmark captions them as one batch), median of 3 runs after a warm-up. All cores (torch.set_num_threads(os.cpu_count())).
Inputs: pixel_values[b, c, y, x] = sin(0.37·b + 1.3·c + 0.021·y − 0.017·x) as float32 (the Swift benchmark
computes the same).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel, VisionEncoderDecoderModel, ViTConfig, ViTModel

FIXTURE = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "models" / "vit-gpt2-tiny"


def pixels(n: int) -> torch.Tensor:
    b, c, y, x = np.meshgrid(np.arange(n), np.arange(3), np.arange(224), np.arange(224), indexing="ij")
    return torch.from_numpy(np.sin(0.37 * b + 1.3 * c + 0.021 * y - 0.017 * x).astype(np.float32))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    out_dir = Path(args.dir)
    eos = 50256
    if not (out_dir / "model.safetensors").exists():
        encoder = ViTModel(ViTConfig(), add_pooling_layer=False)
        decoder = GPT2LMHeadModel(GPT2Config(add_cross_attention=True, is_decoder=True, bos_token_id=eos, eos_token_id=eos))
        model = VisionEncoderDecoderModel(encoder=encoder, decoder=decoder)
        model.config.decoder_start_token_id = eos
        model.config.pad_token_id = eos
        model.config.eos_token_id = eos
        model.generation_config.decoder_start_token_id = eos
        model.generation_config.pad_token_id = eos
        model.generation_config.eos_token_id = eos
        model.generation_config.max_length = args.max_length
        model.generation_config.num_beams = 4
        model.save_pretrained(out_dir)
        for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"]:
            shutil.copy(FIXTURE / name, out_dir / name)
        (out_dir / "preprocessor_config.json").write_text(json.dumps({
            "do_normalize": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
            "resample": 2, "size": 224}))
    model = VisionEncoderDecoderModel.from_pretrained(out_dir, attn_implementation="eager").eval()
    images = pixels(args.images)
    result = {"env": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "torch": torch.__version__},
              "images": args.images, "max_length": args.max_length}
    reference = {}
    with torch.inference_mode():
        for name, beams in [("greedy", 1), ("beam4", 4)]:
            def caption_all():
                return [model.generate(images[i:i + 1], num_beams=beams, max_length=args.max_length, do_sample=False)[0].tolist()
                        for i in range(args.images)]
            reference[name] = caption_all()  # also the warm-up
            times = []
            for _ in range(args.runs):
                t = time.perf_counter(); caption_all(); times.append(time.perf_counter() - t)
            result[name] = {"captions_per_s": round(args.images / statistics.median(times), 3)}
            # All images in one generate() call (batched, as Glimpse captions a batch).
            model.generate(images, num_beams=beams, max_length=args.max_length, do_sample=False)
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                model.generate(images, num_beams=beams, max_length=args.max_length, do_sample=False)
                times.append(time.perf_counter() - t)
            result[name]["captions_per_s_batched"] = round(args.images / statistics.median(times), 3)
    (out_dir / "bench_reference.json").write_text(json.dumps(reference))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
