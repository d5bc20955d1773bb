#!/usr/bin/env python3
"""Generate Glimpse's SigLIP fixtures: two tiny random `SiglipModel`s and their references from transformers.

    python3 Tests/Fixtures/make_siglip_fixtures.py

  models/siglip-tiny/    SigLIP (v1) layout: spiece.model (a SentencePiece Unigram model trained here, nmt_nfkc,
                         ids <pad>0 </s>1 <unk>2, no tokenizer.json), tokenizer_config.json as the Hub's
                         google/siglip-* folders have it (SiglipTokenizer, do_lower_case, model_max_length 64);
                         gelu_pytorch_tanh, vision 64 px / patch 16, text 64 positions; preprocessing bicubic 64x64.
  models/siglip2-tiny/   SigLIP 2 fixed-resolution layout (model_type "siglip", SiglipModel): a Gemma-shaped
                         tokenizer.json (BPE with byte fallback, normalizer Replace(" " -> "▁"), "<bos> $A <eos>"),
                         tokenizer_class GemmaTokenizer and no padding_side (so transformers pads on the left);
                         vision hidden 48 / 3 heads, text hidden 32 projected to 48; preprocessing bilinear 64x64.
  reference/siglip-tiny.json, reference/siglip2-tiny.json
      {"logit_scale": s, "logit_bias": b,
       "texts": [{"text": T, "ids": [64 ids], "embedding": [Float]}],      (a sample of texts-multilingual)
       "images": [{"file": "images/NAME", "embedding": [Float]}],
       "probabilities": [{"text": i, "image": j, "probability": p}]}        sigmoid(cos · exp(s) + b)
  reference/tokenizers/siglip-tiny.json, reference/tokenizers/siglip2-tiny.json
      {"texts": [{"text": T, "ids": [64 ids]}]}  every text of texts-multilingual.json, padded/truncated to 64
  reference/tokenizers/siglip-tiny-sentencepiece.json
      {"texts": [{"text": T, "ids": [Int]}]}  sentencepiece's own SentencePieceProcessor.encode(T) with spiece.model

Ids are what the model sees: padding="max_length", truncation=True, max_length=64, with the pad token on the
tokenizer's padding side (the right for SiglipTokenizer, whose pad is </s>; the left for SigLIP 2's Gemma tokenizer). SigLIP v1 ids come from transformers' SiglipTokenizer (sentencepiece, with its canonicalisation: lower-case,
ASCII punctuation removed, whitespace collapsed). SigLIP 2 ids are the tokenizer.json pipeline with Lowercase put in
front of its normalizer, which is what transformers' Siglip2Tokenizer does (the model was trained on lower-cased
text; the Hub's fixed-resolution folders name GemmaTokenizer, which would not lower-case).

Embeddings are get_text_features(input_ids) (no attention mask: SigLIP was trained attending to the padding, as
big_vision and open_clip run it) and get_image_features(pixel_values), NOT normalised. Images go through
SiglipImageProcessorPil on the viewer-faithful decode of make_fixtures.py.

Run by a developer, never by CI (torch, transformers 5.x, tokenizers, sentencepiece, Pillow). Deterministic.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import json
import math
import re
import shutil
import string
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from make_fixtures import viewer_decode  # noqa: E402
from make_text_fixtures import (MODELS, MUST_TEXTS, REF, REF_TOK, byte_fallback_bpe, clean_json, min_cos,  # noqa: E402
                                pick_texts, randomize, run_spm, short_floats, spread, test_texts, training_corpus,
                                write_entries)

MAX_LEN = 64
torch.set_num_threads(1)


def canonical(text: str) -> str:
    """SiglipTokenizer.canonicalize_text, for training the vocabulary on what the tokenizer will see."""
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    return re.sub(r"\s+", " ", text).strip()


def padded(ids: list[int], pad: int) -> list[int]:
    assert len(ids) <= MAX_LEN
    return ids + [pad] * (MAX_LEN - len(ids))


def siglip_config(vocab: int, pad: int, eos: int, vision_hidden: int, vision_heads: int, text_hidden: int):
    from transformers import SiglipConfig

    return SiglipConfig(
        text_config=dict(vocab_size=vocab, hidden_size=text_hidden, intermediate_size=2 * text_hidden, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=MAX_LEN, hidden_act="gelu_pytorch_tanh",
                         layer_norm_eps=1e-6, pad_token_id=pad, eos_token_id=eos, bos_token_id=None,
                         projection_size=vision_hidden),
        vision_config=dict(hidden_size=vision_hidden, intermediate_size=2 * vision_hidden, num_hidden_layers=2,
                           num_attention_heads=vision_heads, num_channels=3, image_size=64, patch_size=16,
                           hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6))


def make_model(dest: Path, cfg, seed: int, resample: int):
    from transformers import SiglipImageProcessorPil, SiglipModel

    torch.manual_seed(seed)
    m = SiglipModel(cfg).eval()
    randomize(m, seed, 0.3)
    with torch.no_grad():
        m.logit_scale.fill_(math.log(12.0))
        m.logit_bias.fill_(-3.5)
    m.save_pretrained(str(dest), safe_serialization=True)
    clean_json(dest / "config.json")
    ip = SiglipImageProcessorPil(size={"height": 64, "width": 64}, resample=resample)
    ip.save_pretrained(str(dest))
    pc = json.loads((dest / "preprocessor_config.json").read_text())
    pc["image_processor_type"] = "SiglipImageProcessor"
    pc["processor_class"] = "SiglipProcessor"
    (dest / "preprocessor_config.json").write_text(json.dumps(pc, indent=2, sort_keys=True) + "\n")
    assert pc["size"] == {"height": 64, "width": 64} and pc["resample"] == resample, pc
    assert pc["image_mean"] == [0.5, 0.5, 0.5] and pc["image_std"] == [0.5, 0.5, 0.5], pc
    return SiglipModel.from_pretrained(str(dest)).eval(), ip


def references(name: str, model, ip, encode, pad: int, unk: int, report: dict) -> None:
    import numpy as np
    from PIL import Image

    all_texts = test_texts()
    tok_ref = [{"text": t, "ids": padded(encode(t), pad)} for t in all_texts]
    write_entries(REF_TOK / f"{name}.json", {"texts": tok_ref})

    def keep(t: str) -> bool:
        ids = [i for i in encode(t) if i not in (pad,)]
        return len(ids) > 1 and sum(i == unk for i in ids) * 2 <= len(ids)
    must = [t for t in MUST_TEXTS if t in all_texts]
    texts = pick_texts(60, 14, must=must, keep=keep)
    ids = [padded(encode(t), pad) for t in texts]
    with torch.inference_mode():
        tf = model.get_text_features(input_ids=torch.tensor(ids)).pooler_output
        single = torch.cat([model.get_text_features(input_ids=torch.tensor([i])).pooler_output for i in ids[:8]])
    assert min_cos(tf[:8], single) > 0.999999

    clip_ref = json.loads((REF / "clip-tiny-f32.json").read_text())
    images = []
    with torch.inference_mode():
        for entry in clip_ref["images"]:
            im = viewer_decode(ROOT / entry["file"])
            pv = ip(images=im, return_tensors="pt")["pixel_values"]
            assert pv.shape == (1, 3, 64, 64), pv.shape
            # the processor is: exact 64x64 Pillow resize (aspect ratio not kept, no crop), rescale, mean/std 0.5
            r = np.asarray(im.resize((64, 64), Image.Resampling(ip.resample))).astype(np.float64) * (1 / 255)
            mine = (r.astype(np.float32) - np.float32(0.5)) / np.float32(0.5)
            err = float(np.abs(mine.transpose(2, 0, 1) - pv[0].numpy()).max())
            assert err <= 1e-6, (entry["file"], err)
            e = model.get_image_features(pixel_values=pv).pooler_output[0]
            images.append({"file": entry["file"], "embedding": short_floats(e), "large": entry.get("large", False),
                           "cmyk": entry.get("cmyk", False)})
        pvs = torch.cat([ip(images=viewer_decode(ROOT / e["file"]), return_tensors="pt")["pixel_values"]
                         for e in clip_ref["images"][:6]])
        ib = model.get_image_features(pixel_values=pvs).pooler_output
    ref_img = torch.tensor([e["embedding"] for e in images])
    assert min_cos(ib, ref_img[:6]) > 0.999999
    scale, bias = float(model.logit_scale), float(model.logit_bias)
    tn = torch.nn.functional.normalize(tf, dim=-1)
    im_n = torch.nn.functional.normalize(ref_img, dim=-1)
    probs = torch.sigmoid(tn[:4] @ im_n[:4].T * math.exp(scale) + bias)
    # the model's own forward gives the same probabilities
    with torch.inference_mode():
        out = model(input_ids=torch.tensor(ids[:4]), pixel_values=pvs[:4])
    assert torch.allclose(torch.sigmoid(out.logits_per_text), probs, atol=1e-5)
    write_entries(REF / f"{name}.json", {
        "logit_scale": scale, "logit_bias": bias,
        "texts": [{"text": t, "ids": i, "embedding": short_floats(e)} for t, i, e in zip(texts, ids, tf)],
        "images": images,
        "probabilities": [{"text": a, "image": b, "probability": float(probs[a, b])} for a in range(4) for b in range(4)],
    })
    report[name] = f"{len(tok_ref)} tokenized texts, {len(texts)} texts ({spread(tf)}), {len(images)} images ({spread(ref_img)})"


def make_siglip_v1(report: dict) -> None:
    from transformers import SiglipTokenizer

    dest = MODELS / "siglip-tiny"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    lines = sorted({canonical(t) for t in training_corpus()} - {""})
    spm_model = run_spm(lines, vocab_size=1200, model_type="unigram", character_coverage=0.98,
                        normalization_rule_name="nmt_nfkc", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                        byte_fallback=False)
    (dest / "spiece.model").write_bytes(spm_model)
    # as the Hub's google/siglip-base-patch16-224 has it (transformers 4 era)
    (dest / "tokenizer_config.json").write_text(json.dumps({
        "added_tokens_decoder": {
            "1": {"content": "</s>", "lstrip": True, "normalized": False, "rstrip": True, "single_word": False, "special": True},
            "2": {"content": "<unk>", "lstrip": True, "normalized": False, "rstrip": True, "single_word": False, "special": True}},
        "additional_special_tokens": [], "clean_up_tokenization_spaces": True, "do_lower_case": True, "eos_token": "</s>",
        "model_input_names": ["input_ids"], "model_max_length": MAX_LEN, "pad_token": "</s>", "sp_model_kwargs": {},
        "tokenizer_class": "SiglipTokenizer", "unk_token": "<unk>"}, indent=2) + "\n")
    (dest / "special_tokens_map.json").write_text(json.dumps({"eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"},
                                                             indent=2) + "\n")
    # sentencepiece's own encode of every text (no SigLIP canonicalisation): the SentencePiece reader alone
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(dest / "spiece.model"))
    write_entries(REF_TOK / "siglip-tiny-sentencepiece.json",
                  {"texts": [{"text": t, "ids": sp.encode(t)} for t in test_texts()]})
    tok = SiglipTokenizer.from_pretrained(str(dest))
    pad, unk = tok.pad_token_id, tok.unk_token_id
    assert (pad, tok.eos_token_id, unk) == (1, 1, 2), (pad, tok.eos_token_id, unk)

    def encode(t: str) -> list[int]:
        ids = tok(t, padding="max_length", truncation=True, max_length=MAX_LEN)["input_ids"]
        return [i for i in ids]  # already padded: strip nothing (pad == eos); padded() leaves 64 ids alone

    cfg = siglip_config(len(tok), pad=pad, eos=tok.eos_token_id, vision_hidden=32, vision_heads=2, text_hidden=32)
    model, ip = make_model(dest, cfg, 4101, resample=3)
    references("siglip-tiny", model, ip, encode, pad, unk, report)


def make_siglip2(report: dict) -> None:
    from tokenizers import Tokenizer, decoders, models, normalizers, processors
    from transformers import PreTrainedTokenizerFast

    dest = MODELS / "siglip2-tiny"
    if dest.exists():
        shutil.rmtree(dest)
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    vocab, merges = byte_fallback_bpe([t.lower() for t in training_corpus()], 900, specials, limit_alphabet=90)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.add_special_tokens(specials)
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A <eos>", pair="<bos> $A <eos> $B <eos>",
                                                       special_tokens=[("<bos>", vocab["<bos>"]), ("<eos>", vocab["<eos>"])])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                                 unk_token="<unk>", mask_token="<mask>", model_max_length=MAX_LEN)
    dest.mkdir(parents=True)
    hf.save_pretrained(str(dest))
    # no padding_side: transformers' GemmaTokenizer and Siglip2Tokenizer then pad on the LEFT (their class default)
    clean_json(dest / "tokenizer_config.json", drop=("backend", "transformers_version", "padding_side"),
               tokenizer_class="GemmaTokenizer", model_max_length=MAX_LEN)
    (dest / "special_tokens_map.json").write_text(json.dumps({"bos_token": "<bos>", "eos_token": "<eos>", "mask_token": "<mask>",
                                                              "pad_token": "<pad>", "unk_token": "<unk>"}, indent=2) + "\n")

    # Siglip2Tokenizer's pipeline: Lowercase in front of the file's normalizer; truncation and padding to 64, on the
    # left (the class default, and GemmaTokenizer's).
    ref = Tokenizer.from_file(str(dest / "tokenizer.json"))
    ref.normalizer = normalizers.Sequence([normalizers.Lowercase(), ref.normalizer])
    ref.enable_truncation(MAX_LEN)
    pad = vocab["<pad>"]
    ref.enable_padding(length=MAX_LEN, pad_id=pad, pad_token="<pad>", direction="left")

    def encode(t: str) -> list[int]:
        return ref.encode(t).ids

    # transformers' own Siglip2Tokenizer, given this folder, agrees on every text
    from transformers import Siglip2Tokenizer
    s2 = Siglip2Tokenizer.from_pretrained(str(dest))
    assert s2.padding_side == "left", s2.padding_side
    for t in test_texts():
        got = s2(t, padding="max_length", truncation=True, max_length=MAX_LEN)["input_ids"]
        assert got == encode(t), (t, got, encode(t))

    cfg = siglip_config(len(vocab), pad=pad, eos=vocab["<eos>"], vision_hidden=48, vision_heads=3, text_hidden=32)
    model, ip = make_model(dest, cfg, 4202, resample=2)
    references("siglip2-tiny", model, ip, encode, pad, vocab["<unk>"], report)


def main() -> None:
    report: dict = {}
    make_siglip_v1(report)
    make_siglip2(report)
    for k, v in report.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
