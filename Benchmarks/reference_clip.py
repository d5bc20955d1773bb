#!/usr/bin/env python3
"""Reference CPU throughput of a ViT-B/32-shaped CLIP in PyTorch and ONNX Runtime (random weights).

    HF_HUB_OFFLINE=1 python3 Benchmarks/reference_clip.py [--batches N] [--text-runs N]

Prints one JSON object:
  {"torch": {"vision_images_per_s": .., "text_ms_10_tokens": .., "text_ms_77_tokens": ..},
   "onnxruntime": {...}, "env": {...}}
vision: fp32 vision tower + projection (get_image_features), batch 32, 224x224, one warm-up batch, then the median over
N timed batches (median batch time). text: one query (batch 1, no padding) of 10 and of 77 tokens through get_text_features; median of
N runs after a warm-up. All cores (torch.set_num_threads(os.cpu_count()); ORT intra-op threads = os.cpu_count()).
Weights are random: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from transformers import CLIPConfig, CLIPModel

BATCH = 32


def vit_b32() -> CLIPModel:
    cfg = CLIPConfig(
        text_config=dict(vocab_size=49408, hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                         num_attention_heads=8, max_position_embeddings=77, hidden_act="quick_gelu",
                         projection_dim=512, bos_token_id=49406, eos_token_id=49407, pad_token_id=1),
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                           image_size=224, patch_size=32, hidden_act="quick_gelu", projection_dim=512),
        projection_dim=512,
    )
    cfg._attn_implementation = "eager"  # plain matmul/softmax attention: traceable by the ONNX exporter
    torch.manual_seed(0)
    model = CLIPModel(cfg).eval()
    return model


class Vision(torch.nn.Module):
    def __init__(self, m: CLIPModel):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m.get_image_features(pixel_values=pixel_values).pooler_output


class Text(torch.nn.Module):
    def __init__(self, m: CLIPModel):
        super().__init__()
        self.m = m

    def forward(self, input_ids):
        return self.m.get_text_features(input_ids=input_ids).pooler_output


def ids(n: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    body = rng.integers(300, 40000, n - 2)
    return np.array([[49406, *body, 49407]], dtype=np.int64)


def bench_vision(run, pixels: np.ndarray, batches: int) -> float:
    run(pixels)  # warm-up
    times = []
    for _ in range(batches):
        t = time.perf_counter()
        run(pixels)
        times.append(time.perf_counter() - t)
    return BATCH / statistics.median(times)


def bench_text(run, x: np.ndarray, runs: int) -> float:
    for _ in range(3):
        run(x)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--text-runs", type=int, default=20)
    args = ap.parse_args()

    ncpu = os.cpu_count() or 1
    torch.set_num_threads(ncpu)
    model = vit_b32()
    vision, text = Vision(model).eval(), Text(model).eval()
    pixels = np.random.default_rng(1).standard_normal((BATCH, 3, 224, 224)).astype(np.float32)
    t10, t77 = ids(10), ids(77)
    result: dict = {}

    with torch.inference_mode():
        tv = lambda x: vision(torch.from_numpy(x))
        tt = lambda x: text(torch.from_numpy(x))
        result["torch"] = {
            "vision_images_per_s": round(bench_vision(tv, pixels, args.batches), 2),
            "text_ms_10_tokens": round(bench_text(tt, t10, args.text_runs), 2),
            "text_ms_77_tokens": round(bench_text(tt, t77, args.text_runs), 2),
        }
        ref_v = tv(pixels[:2]).numpy()
        ref_t = tt(t10).numpy()

    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as d:
        vpath, tpath = os.path.join(d, "vision.onnx"), os.path.join(d, "text.onnx")
        with torch.no_grad():
            torch.onnx.export(vision, (torch.from_numpy(pixels[:2]),), vpath, dynamo=False, opset_version=17,
                              input_names=["pixel_values"], output_names=["image_embeds"],
                              dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}})
            torch.onnx.export(text, (torch.from_numpy(t10),), tpath, dynamo=False, opset_version=17,
                              input_names=["input_ids"], output_names=["text_embeds"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "text_embeds": {0: "batch"}})
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = ncpu
        sv = ort.InferenceSession(vpath, so, providers=["CPUExecutionProvider"])
        st = ort.InferenceSession(tpath, so, providers=["CPUExecutionProvider"])
        ov = lambda x: sv.run(None, {"pixel_values": x})[0]
        ot = lambda x: st.run(None, {"input_ids": x})[0]
        # exported graphs compute the same thing (dynamic batch / sequence really work)
        assert np.allclose(ov(pixels[:2]), ref_v, atol=1e-3), np.abs(ov(pixels[:2]) - ref_v).max()
        assert np.allclose(ot(t10), ref_t, atol=1e-3), np.abs(ot(t10) - ref_t).max()
        assert ot(t77).shape == (1, 512)
        result["onnxruntime"] = {
            "vision_images_per_s": round(bench_vision(ov, pixels, args.batches), 2),
            "text_ms_10_tokens": round(bench_text(ot, t10, args.text_runs), 2),
            "text_ms_77_tokens": round(bench_text(ot, t77, args.text_runs), 2),
        }

    import onnxruntime
    import transformers

    result["env"] = {
        "cpus": ncpu, "machine": platform.machine(), "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__, "transformers": transformers.__version__,
        "batch": BATCH, "timed_vision_batches": args.batches, "text_runs": args.text_runs,
        "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
