#!/usr/bin/env python3
"""Reference CPU speed of a ViT-B/32-shaped CLIP in PyTorch, ONNX Runtime (fp32, dynamic int8) and OpenVINO
(fp32, NNCF int8), random weights.

    HF_HUB_OFFLINE=1 python3 Benchmarks/reference_clip.py [--batches N] [--text-runs N]

Prints one JSON object:
  {"torch": {"vision_images_per_s": .., "text_ms_10_tokens": .., "text_ms_77_tokens": ..,
             "text_ms_batch16_10_tokens": ..},
   "onnxruntime": {...}, "onnxruntime_int8": {..., "cosine_min_images": .., "cosine_min_texts": ..},
   "openvino": {...}, "openvino_int8": {...}, "env": {...}}
vision: fp32 vision tower + projection (get_image_features), batch 32, 224x224, one warm-up batch, then the median over
N timed batches (median batch time). text: one query (batch 1, no padding) of 10 and of 77 tokens through get_text_features; median of
N runs after a warm-up; batch16: 16 distinct 10-token queries in one call. All cores (torch.set_num_threads(os.cpu_count()); ORT intra-op threads = os.cpu_count()).
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
    def __init__(self, m):  # any transformers model with get_image_features / get_text_features
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m.get_image_features(pixel_values=pixel_values).pooler_output


class Text(torch.nn.Module):
    def __init__(self, m):  # any transformers model with get_image_features / get_text_features
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


def cosine_min(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return round(float((a * b).sum(axis=1).min()), 5)


def measure(tv, tt, pixels, t10, t77, t16, args, ref_v=None, ref_t=None) -> dict:
    out = {
        "vision_images_per_s": round(bench_vision(tv, pixels, args.batches), 2),
        "text_ms_10_tokens": round(bench_text(tt, t10, args.text_runs), 2),
        "text_ms_77_tokens": round(bench_text(tt, t77, args.text_runs), 2),
        "text_ms_batch16_10_tokens": round(bench_text(tt, t16, max(3, args.text_runs // 4)), 2),
    }
    if ref_v is not None:  # a reduced-precision path: its worst cosine to the fp32 reference
        out["cosine_min_images"] = cosine_min(np.asarray(tv(pixels[:4])), ref_v)
        out["cosine_min_texts"] = cosine_min(np.vstack([np.asarray(tt(t10)), np.asarray(tt(t77)), np.asarray(tt(t16))]), ref_t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--text-runs", type=int, default=20)
    ap.add_argument("--skip", default="", help="comma-separated back ends to leave out: torch, onnxruntime, "
                                                "onnxruntime_int8, openvino, openvino_int8")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    ncpu = os.cpu_count() or 1
    torch.set_num_threads(ncpu)
    model = vit_b32()
    vision, text = Vision(model).eval(), Text(model).eval()
    # Random pixels for speed; the int8 paths' cosine is also taken on them (the Swift tests use real photos).
    pixels = np.random.default_rng(1).standard_normal((BATCH, 3, 224, 224)).astype(np.float32)
    t10, t77 = ids(10), ids(77)
    t16 = np.vstack([ids(10 + 100 * i)[:, :10] for i in range(16)])  # 16 distinct 10-token queries
    t16[:, -1] = 49407
    result: dict = {}

    with torch.inference_mode():
        tv = lambda x: vision(torch.from_numpy(x)).numpy()
        tt = lambda x: text(torch.from_numpy(x)).numpy()
        if "torch" not in skip:
            result["torch"] = measure(tv, tt, pixels, t10, t77, t16, args)
        ref_v = tv(pixels[:4])
        ref_t = np.vstack([tt(t10), tt(t77), tt(t16)])

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as d:
        vpath, tpath = os.path.join(d, "vision.onnx"), os.path.join(d, "text.onnx")
        with torch.no_grad():
            torch.onnx.export(vision, (torch.from_numpy(pixels[:2]),), vpath, dynamo=False, opset_version=17,
                              input_names=["pixel_values"], output_names=["image_embeds"],
                              dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}})
            torch.onnx.export(text, (torch.from_numpy(t10),), tpath, dynamo=False, opset_version=17,
                              input_names=["input_ids"], output_names=["text_embeds"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "text_embeds": {0: "batch"}})

        ort_session = lambda path: onnx_session(path, ncpu)

        ov_, ot_ = ort_session(vpath), ort_session(tpath)
        # exported graphs compute the same thing (dynamic batch / sequence really work)
        assert np.allclose(ov_(pixels[:4]), ref_v, atol=1e-3), np.abs(ov_(pixels[:4]) - ref_v).max()
        assert np.allclose(np.vstack([ot_(t10), ot_(t77), ot_(t16)]), ref_t, atol=1e-3)
        if "onnxruntime" not in skip:
            result["onnxruntime"] = measure(ov_, ot_, pixels, t10, t77, t16, args)

        if "onnxruntime_int8" not in skip:
            # Dynamic int8: weights per output channel (symmetric int8), activations per tensor at run time.
            vq, tq = os.path.join(d, "vision-int8.onnx"), os.path.join(d, "text-int8.onnx")
            quantize_dynamic(vpath, vq, per_channel=True, weight_type=QuantType.QInt8)
            quantize_dynamic(tpath, tq, per_channel=True, weight_type=QuantType.QInt8)
            result["onnxruntime_int8"] = measure(ort_session(vq), ort_session(tq), pixels, t10, t77, t16, args,
                                                 ref_v, ref_t)

        if not {"openvino", "openvino_int8"} <= skip:
            import openvino as ov

            core = ov.Core()
            # fp32 explicitly: OpenVINO's default on CPUs with AVX-512 BF16 / AMX is bf16.
            config = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
                      "INFERENCE_NUM_THREADS": ncpu}

            def ov_run(m):
                compiled = core.compile_model(m, "CPU", config)
                return lambda x: compiled(x)[0]

            vm, tm = core.read_model(vpath), core.read_model(tpath)
            if "openvino" not in skip:
                result["openvino"] = measure(ov_run(vm), ov_run(tm), pixels, t10, t77, t16, args)
            if "openvino_int8" not in skip:
                # Post-training static int8 (NNCF, transformer preset), calibrated on the benchmark's own inputs.
                import nncf

                vq8 = nncf.quantize(vm, nncf.Dataset([pixels[i:i + 1] for i in range(8)]),
                                    model_type=nncf.ModelType.TRANSFORMER, subset_size=8)
                tq8 = nncf.quantize(tm, nncf.Dataset([t10, t77] + [t16[i:i + 1] for i in range(6)]),
                                    model_type=nncf.ModelType.TRANSFORMER, subset_size=8)
                result["openvino_int8"] = measure(ov_run(vq8), ov_run(tq8), pixels, t10, t77, t16, args,
                                                  ref_v, ref_t)

    import transformers

    result["env"] = {
        "cpus": ncpu, "machine": platform.machine(), "cpu": cpu_name(), "torch": torch.__version__,
        "onnxruntime": ort.__version__, "transformers": transformers.__version__,
        "batch": BATCH, "timed_vision_batches": args.batches, "text_runs": args.text_runs,
        "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
    }
    try:
        import openvino

        result["env"]["openvino"] = openvino.__version__
    except ImportError:
        pass
    print(json.dumps(result))


def onnx_session(path: str, threads: int):
    """An ONNX Runtime CPU session with every graph optimisation, as a function of its one input."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: x})[0]


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
