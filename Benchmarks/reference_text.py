#!/usr/bin/env python3
"""Reference CPU speed of BERT-family text encoders in PyTorch and ONNX Runtime (random weights), the shapes of
`glimpse-bench text --model-shape S`.

    python3 Benchmarks/reference_text.py [--model-shape distilbert-multilingual|bert-base|xlm-r-base|minilm-l6] [--runs N]

Prints one JSON object {"torch": {"ms_10_tokens", "queries_per_s_batch16"}, "onnxruntime": {...}, "env": {...}}:
last hidden states of one 10-token query (median of N runs after a warm-up) and of a batch of 16 such queries.
All cores (torch.set_num_threads(os.cpu_count()); ORT intra-op threads = os.cpu_count()).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time

import numpy as np
import torch
from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel, XLMRobertaConfig, XLMRobertaModel


def model(shape: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if shape == "distilbert-multilingual":
        return DistilBertModel(DistilBertConfig(vocab_size=119547, attn_implementation="eager")).eval()
    if shape == "bert-base":
        return BertModel(BertConfig(attn_implementation="eager"), add_pooling_layer=False).eval()
    if shape == "xlm-r-base":
        return XLMRobertaModel(XLMRobertaConfig(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1,
                                                attn_implementation="eager"), add_pooling_layer=False).eval()
    if shape == "minilm-l6":
        return BertModel(BertConfig(hidden_size=384, intermediate_size=1536, num_hidden_layers=6, attn_implementation="eager"),
                         add_pooling_layer=False).eval()
    raise SystemExit(f"unknown shape {shape}")


class Hidden(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def timed(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-shape", default="distilbert-multilingual")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    net = Hidden(model(args.model_shape))
    rng = np.random.default_rng(0)
    one = torch.tensor(rng.integers(5, 1000, size=(1, 10)))
    sixteen = torch.tensor(rng.integers(5, 1000, size=(16, 10)))
    out = {"env": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "torch": torch.__version__}}
    with torch.inference_mode():
        single = timed(lambda: net(one, torch.ones_like(one)), args.runs)
        batch = timed(lambda: net(sixteen, torch.ones_like(sixteen)), max(3, args.runs // 4))
    out["torch"] = {"ms_10_tokens": round(single * 1000, 2), "queries_per_s_batch16": round(16 / batch, 1)}
    try:
        import onnxruntime as ort
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "text.onnx")
            torch.onnx.export(net, (one, torch.ones_like(one)), path, input_names=["ids", "mask"], output_names=["h"],
                              dynamic_axes={"ids": {0: "b", 1: "t"}, "mask": {0: "b", 1: "t"}}, opset_version=17, dynamo=False)
            so = ort.SessionOptions(); so.intra_op_num_threads = os.cpu_count()
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            o1 = {"ids": one.numpy(), "mask": np.ones_like(one.numpy())}
            o16 = {"ids": sixteen.numpy(), "mask": np.ones_like(sixteen.numpy())}
            s = timed(lambda: sess.run(None, o1), args.runs)
            b = timed(lambda: sess.run(None, o16), max(3, args.runs // 4))
            out["onnxruntime"] = {"ms_10_tokens": round(s * 1000, 2), "queries_per_s_batch16": round(16 / b, 1), "version": ort.__version__}
    except Exception as e:  # noqa: BLE001 - the torch figures still stand
        out["onnxruntime"] = {"error": str(e)[:200]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
