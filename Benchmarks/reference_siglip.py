#!/usr/bin/env python3
"""Reference CPU speed of a SigLIP B/16-at-224-shaped SiglipModel (google/siglip-base-patch16-224) in PyTorch and
ONNX Runtime (fp32, and dynamic int8), random weights: the anchors `glimpse-bench siglip` is read against.

    HF_HUB_OFFLINE=1 python3 Benchmarks/reference_siglip.py [--batches N] [--text-runs N] [--batch B]

Prints one JSON object:
  {"torch": {"vision_images_per_s": .., "text_ms_query": .., "text_ms_batch16": ..},
   "onnxruntime": {...}, "onnxruntime_int8": {..., "cosine_min_images": .., "cosine_min_texts": ..}, "env": {...}}
vision: get_image_features (vision tower + attention-pooling head), batch 32 (--batch), 224x224, three warm-up
batches, then images / median batch time over N timed batches. text: get_text_features of one query padded to 64 tokens (the
fixed length SigLIP is run at), and of 16 queries in one call; median of N runs after a warm-up. All cores
(torch.set_num_threads(os.cpu_count()); ORT intra-op threads = os.cpu_count()). Weights are random: speed does not
depend on them. Run by a developer, never by CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from transformers import SiglipConfig, SiglipModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_clip import Text, Vision, bench_text, cosine_min, cpu_name, onnx_session  # noqa: E402  (the same wrappers and helpers)


def base16() -> SiglipModel:
    tower = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                 hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
    cfg = SiglipConfig(text_config=dict(vocab_size=32000, max_position_embeddings=64, pad_token_id=1, eos_token_id=1, **tower),
                       vision_config=dict(image_size=224, patch_size=16, num_channels=3, **tower))
    cfg._attn_implementation = "eager"  # plain matmul/softmax attention: traceable by the ONNX exporter
    torch.manual_seed(0)
    return SiglipModel(cfg).eval()


def queries(n: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    out = np.ones((n, 64), dtype=np.int64)  # pad = eos = 1
    out[:, :10] = rng.integers(2, 32000, (n, 10))
    return out


def measure(tv, tt, pixels, q1, q16, args, ref_v=None, ref_t=None) -> dict:
    # bench_text: the median of N timed runs after warm-up runs, in ms (reference_clip.py's timer)
    out = {
        "vision_images_per_s": round(len(pixels) / (bench_text(tv, pixels, args.batches) / 1000), 2),
        "text_ms_query": round(bench_text(tt, q1, args.text_runs), 2),
        "text_ms_batch16": round(bench_text(tt, q16, max(3, args.text_runs // 4)), 2),
    }
    if ref_v is not None:
        out["cosine_min_images"] = cosine_min(np.asarray(tv(pixels[:4])), ref_v)
        out["cosine_min_texts"] = cosine_min(np.asarray(tt(q16)), ref_t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--text-runs", type=int, default=20)
    ap.add_argument("--skip", default="", help="comma-separated back ends to leave out: torch, onnxruntime, onnxruntime_int8")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    ncpu = os.cpu_count() or 1
    torch.set_num_threads(ncpu)
    model = base16()
    vision, text = Vision(model).eval(), Text(model).eval()
    pixels = np.random.default_rng(1).standard_normal((args.batch, 3, 224, 224)).astype(np.float32)
    q1, q16 = queries(1), queries(16)
    result: dict = {}
    with torch.inference_mode():
        tv = lambda x: vision(torch.from_numpy(x)).numpy()
        tt = lambda x: text(torch.from_numpy(x)).numpy()
        if "torch" not in skip:
            result["torch"] = measure(tv, tt, pixels, q1, q16, args)
        ref_v, ref_t = tv(pixels[:4]), tt(q16)

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as d:
        vpath, tpath = os.path.join(d, "vision.onnx"), os.path.join(d, "text.onnx")
        with torch.no_grad():
            torch.onnx.export(vision, (torch.from_numpy(pixels[:2]),), vpath, dynamo=False, opset_version=17,
                              input_names=["pixel_values"], output_names=["image_embeds"],
                              dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}})
            torch.onnx.export(text, (torch.from_numpy(q16[:2]),), tpath, dynamo=False, opset_version=17,
                              input_names=["input_ids"], output_names=["text_embeds"],
                              dynamic_axes={"input_ids": {0: "batch"}, "text_embeds": {0: "batch"}})

        session = lambda path: onnx_session(path, ncpu)

        ov_, ot_ = session(vpath), session(tpath)
        assert np.allclose(ov_(pixels[:4]), ref_v, atol=1e-3), np.abs(ov_(pixels[:4]) - ref_v).max()
        assert np.allclose(ot_(q16), ref_t, atol=1e-3)
        if "onnxruntime" not in skip:
            result["onnxruntime"] = measure(ov_, ot_, pixels, q1, q16, args)
        if "onnxruntime_int8" not in skip:
            vq, tq = os.path.join(d, "vision-int8.onnx"), os.path.join(d, "text-int8.onnx")
            quantize_dynamic(vpath, vq, per_channel=True, weight_type=QuantType.QInt8)
            quantize_dynamic(tpath, tq, per_channel=True, weight_type=QuantType.QInt8)
            result["onnxruntime_int8"] = measure(session(vq), session(tq), pixels, q1, q16, args, ref_v, ref_t)

    import transformers

    result["env"] = {"cpus": ncpu, "machine": platform.machine(), "cpu": cpu_name(), "torch": torch.__version__,
                     "onnxruntime": ort.__version__, "transformers": transformers.__version__, "batch": args.batch,
                     "timed_vision_batches": args.batches, "text_runs": args.text_runs,
                     "loadavg_1min_at_end": round(os.getloadavg()[0], 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
