#!/usr/bin/env python3
"""Generate Glimpse's image-captioning fixtures: a tiny random ViT + GPT-2 VisionEncoderDecoderModel laid out like
nlpconnect/vit-gpt2-image-captioning, its byte-level BPE tokenizer, and generate() references (see CONTRACT.md,
section "Image captioning").

    HF_HUB_OFFLINE=1 python3 Tests/Fixtures/make_caption_fixtures.py

Run by a developer, never by CI. Needs torch, transformers (5.x), tokenizers, Pillow, numpy, safetensors (and, through
make_fixtures.py / make_text_fixtures.py, scikit-image). Nothing is downloaded; the tokenizer is trained on the English
corpus of make_text_fixtures.py plus caption-like sentences, the weights are random. Deterministic: fixed seeds,
torch.set_num_threads(1), single-threaded tokenizer training, so re-running reproduces the same files for the same
library versions (checked with transformers 5.25.0, torch 2.13.0, tokenizers 0.23.3, Pillow 13.0.0).

Writes, next to this file:
  models/vit-gpt2-tiny/    config.json, generation_config.json, model.safetensors (F32), preprocessor_config.json,
                           tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json
  reference/vit-gpt2-tiny.json

Model forward (what the Swift side computes; all of it asserted against transformers by the references):
  * pixel_values: viewer_decode (make_fixtures.py), then ViTImageProcessorPil: PIL resize to exactly 32x32 with
    BILINEAR (resample 2; Pillow's antialiased separable filter, aspect ratio NOT kept, no crop) on the uint8 RGB
    image, rescale float32(float64(v) * (1/255)), normalise (x - 0.5) / 0.5 in float32, NCHW.
  * encoder = ViTModel: Conv2d patch embedding (kernel = stride = 8, weight [32, 3, 8, 8] + bias) -> 16 patches in
    row-major order, prepend cls_token, add position_embeddings [1, 17, 32]; 2 pre-LN blocks
    (x + attn(LN_before(x)); x + fc2(gelu(fc1(LN_after(x))))), exact erf GELU, eps 1e-12, attention scale
    1/sqrt(head_dim 8), no mask; final encoder.layernorm -> last_hidden_state [17, 32]. The pooler is unused.
  * enc_to_dec_proj (nn.Linear 32 -> 48, weight [48, 32] (out, in)) maps last_hidden_state to the decoder width;
    it exists because encoder hidden_size (32) != decoder n_embd (48) and the decoder config has no
    cross_attention_hidden_size. (In nlpconnect both are 768, so that checkpoint has no enc_to_dec_proj.)
  * decoder = GPT2LMHeadModel with cross-attention: h = wte[ids] + wpe[positions 0..n-1]; per block
    h += attn(ln_1(h)) (causal), h += crossattention(ln_cross_attn(h), enc) (q from h via q_attn, k/v from enc via
    c_attn [48, 96]: first 48 output columns = k, last 48 = v; no mask), h += mlp(ln_2(h)) with gelu_new
    (tanh approximation); ln_f; logits = h @ wte^T (lm_head is tied to wte and NOT stored in model.safetensors).
    GPT-2 weights are Conv1D: stored [in, out], y = x @ W + b. Self-attn c_attn [48, 144] = q | k | v columns.
    Attention scale 1/sqrt(head_dim 12) (scale_attn_weights true), layer_norm_epsilon 1e-5.

generate() rules (transformers 5.25.0, transformers/generation/utils.py; the Swift implementation follows these notes,
and reference_search() below re-implements them from these notes and is asserted to reproduce every reference):
  Setup (GenerationMixin.generate / _prepare_generation_config / _prepare_special_tokens):
  * Parameters come from kwargs > generation_config.json > GenerationConfig._get_default_generation_params()
    (max_length 20, num_beams 1, do_sample false, early_stopping false, length_penalty 1.0, no_repeat_ngram_size 0,
    num_return_sequences 1). Here generation_config.json sets max_length 16 and num_beams 4, so generate() with no
    arguments is beam search with 4 beams, max_length 16, length_penalty 1.0, early_stopping false.
  * The decoder prompt is [decoder_start_token_id] (= eos = pad = bos = "<|endoftext|>", id 599), so
    decoder_prompt_len = 1. max_length counts that start token: max_length 16 = at most 15 generated tokens.
    max_new_tokens N overrides max_length: max_length = N + decoder_prompt_len = N + 1.
  * Stopping criteria (_get_stopping_criteria): MaxLengthCriteria (done when len(seq) >= max_length) and
    EosTokenCriteria (done when the last token == eos). No other logits processor is active unless
    no_repeat_ngram_size > 0 (no min_length, no forced tokens, no repetition penalty).
  * Returned sequences start with the decoder start token. A finished sequence shorter than the longest returned
    one is padded with pad_token_id (599 = eos) in `sequences`; the references store each sequence cut right after
    its first eos at index >= 1 (or at max_length), i.e. exactly the ids the search produced.
  Greedy (num_beams 1, do_sample false; GenerationMixin._sample): next = argmax over the processed raw logits
  (logits processors act on the logits here, not on log-probs); append; stop when next == eos or len == max_length.
  NoRepeatNGramLogitsProcessor (logits_process.py), n = no_repeat_ngram_size, seq = the full current sequence
  INCLUDING the decoder start token, L = len(seq): if L < n nothing is banned; else prefix = seq[L-n+1:] (the last
  n-1 tokens) and for every window seq[i:i+n] (i = 0 .. L-n) with seq[i:i+n-1] == prefix, token seq[i+n-1] gets
  -inf. (For n = 2: every token that ever followed the current last token is banned.) In beam search it is applied
  per beam to that beam's sequence, on the log-softmax values (after log_softmax, so banned = -inf log-prob; the
  remaining log-probs are NOT renormalised).
  Beam search (GenerationMixin._beam_search with _get_top_k_continuations, _get_running_beams_for_next_iteration,
  _update_finished_beams, _check_early_stop_heuristic, _beam_search_has_unfinished_sequences); k = num_beams,
  one eos id, so K = 2k candidates per step:
  * State: k running beams (sequence, score = sum of log-probs of its generated tokens, float32); initially all k
    are [start], beam 0 has score 0 and beams 1..k-1 have -1e9 (so step 1 only expands beam 0). A list of k
    finished slots (sequence, penalised score), initially empty (score -1e9, "not finished").
  * Each step, with cur_len = current running length (1 at the first step): for each running beam b,
    lp_b = log_softmax(logits_b) (float32), then the n-gram ban; candidate score = score_b + lp_b[t] for every
    (b, t). Take the top K = 2k candidates over all k*V (torch.topk: sorted descending). Candidate c (rank r in
    0..K-1) "finishes" if its token == eos OR cur_len + 1 >= max_length.
  * New running beams = the top k of the K candidates that do NOT finish (finishing ones get -1e9 and so sort last;
    at most k of the 2k can be eos, so there are always k). Their score = the raw candidate score (no penalty).
  * Finished update: only candidates with rank r < k (the first k of the K) that finish are eligible; their
    penalised score = candidate_score / (gen_len ** length_penalty) with gen_len = cur_len + 1 - decoder_prompt_len
    = number of generated tokens INCLUDING the final eos (or the max_length-th token), EXCLUDING the start token.
    Eligible candidates with rank >= k (e.g. an eos that is only 5th of 8 with k = 4) are dropped for good.
    Not added at all if (early_stopping is True and all k slots were already finished) or if the early-stop
    heuristic from the previous step already said "no improvement possible" (both only matter for batches; with
    one image the loop has already stopped). Then slots = top k of (old slots + new eligible) by penalised score.
  * After the step, cur_len += 1 (now = length of the running sequences), then the early-stop heuristic
    (_check_early_stop_heuristic), which is sticky (once false it stays false):
        if early_stopping == "never" and length_penalty > 0: best_len = max_length - decoder_prompt_len
        else (False, True, or "never" with length_penalty <= 0):  best_len = cur_len - decoder_prompt_len
        best_possible = running_score[0] (best running beam, raw sum) / best_len ** length_penalty
        improvement_possible = NOT all k slots finished  OR  best_possible > min(slot scores)
  * The loop stops (_beam_search_has_unfinished_sequences) when any of: improvement_possible is false; all k slots
    are finished and early_stopping is True (exactly `is True`: stop as soon as k hypotheses are finished); every
    one of the K candidates of this step finished (the step that reached max_length: then the first k candidates
    were all eligible and all went through the finished update, penalised with gen_len = max_length - 1).
    So early_stopping False = stop once the best running beam, normalised by its CURRENT generated length, cannot
    beat the worst finished slot; "never" with length_penalty > 0 = the same bound but normalised by the maximal
    generated length max_length - 1 (so it keeps searching longer); True = stop when k are finished, whatever the
    running beams could still reach.
  * Result: slots sorted by penalised score, descending; sequence 0 is the answer and sequences_scores[i] are the
    penalised scores (sum of log-probs / gen_len ** length_penalty) of the returned slots. Ties between equal scores
    are broken by torch.topk's order (unspecified): the references flag them ("tied": |s0 - s1| < 1e-4).
  * Caches: transformers runs the decoder incrementally with a KV cache and reorders it by beam origin; any
    implementation that gives each beam's full-prefix logits is equivalent (reference_search() recomputes full
    prefixes without a cache).

Tokenizer: GPT-2 layout, byte-level BPE (ByteLevel pre-tokenizer, add_prefix_space false, use_regex; ByteLevel
decoder; the post-processor is a TemplateProcessing "$A" without special tokens, so encoding adds none), 599 learned tokens (256 byte symbols +
343 merges, ids 0..598) and "<|endoftext|>" = 599 (last id, like GPT-2's 50256), in vocab.json and as a special added
token. Captions are tok.decode(ids, skip_special_tokens=True) with transformers 5's default
clean_up_tokenization_spaces = false (the text is the raw byte-level decode, leading space included; byte sequences
that are not valid UTF-8 decode to U+FFFD, as Rust's String::from_utf8_lossy does).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

import itertools
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from make_fixtures import viewer_decode  # noqa: E402  the viewer-faithful decode the Swift decoder must match
from make_text_fixtures import (  # noqa: E402
    EN,
    bytelevel_bpe,
    clean_config,
    clean_json,
    short_floats,
    write_special_tokens_map,
)

import transformers  # noqa: E402
from transformers import (  # noqa: E402
    GPT2Config,
    GPT2Tokenizer,
    GenerationConfig,
    ViTConfig,
    VisionEncoderDecoderConfig,
    VisionEncoderDecoderModel,
)

try:  # transformers >= 5: the Pillow backend is its own class (ViTImageProcessor is the torchvision one)
    from transformers import ViTImageProcessorPil as SlowViTImageProcessor
except ImportError:  # transformers 4.x: ViTImageProcessor is the slow (Pillow) one
    from transformers import ViTImageProcessor as SlowViTImageProcessor

IMAGES = ROOT / "images"
MODELS = ROOT / "models"
REF = ROOT / "reference"
NAME = "vit-gpt2-tiny"
DEST = MODELS / NAME

EOT = "<|endoftext|>"
N_LEARNED = 599  # byte-level BPE tokens (256 bytes + merges); <|endoftext|> comes last, like GPT-2's 50256
MAX_LENGTH = 16
NUM_BEAMS = 4
SEED = 4004
PREPROCESS_IMAGES = ["astronaut.tiff", "coffee_large.jpg", "tall_40x1200.jpg"]

CAPTIONS = [
    "a man riding a horse",
    "a cat sitting on a couch",
    "a dog running on the beach",
    "a woman holding an umbrella in the rain",
    "a group of people standing around a table",
    "a plate of food with broccoli and rice",
    "a red double decker bus on a city street",
    "a man riding a wave on top of a surfboard",
    "a giraffe standing next to a tree",
    "a bowl of fruit on a wooden table",
    "a clock tower in the middle of a city",
    "a person flying a kite on a beach",
    "a train traveling down the tracks",
    "a black and white photo of a cat",
    "a kitchen with a stove and a refrigerator",
    "a young boy playing with a frisbee",
    "a bathroom with a toilet and a sink",
    "two zebras grazing in a field",
    "an airplane flying in a blue sky",
    "a pizza sitting on top of a pan",
    "a man in a suit and tie",
    "a little girl eating a piece of cake",
    "a rocket on a launch pad",
    "an astronaut in a white space suit",
    "a cup of coffee on a saucer",
    "a pile of coins on a table",
    "a close up of the moon at night",
    "a colorful wheel on a white background",
    "a man holding a camera",
    "a boat on a calm lake at sunset",
    "a herd of elephants walking across a dry grass field",
    "a stop sign on the corner of a street",
    "a laptop computer sitting on top of a desk",
    "a bedroom with a bed and a window",
    "a baseball player swinging a bat at a ball",
    "a tennis player hitting a ball with a racket",
    "a skateboarder doing a trick on a ramp",
    "a bunch of bananas hanging from a tree",
    "a vase filled with flowers on a table",
    "a fire hydrant on the side of a road",
]

# Sampling std of the random weights (the default init, std 0.02, makes every caption the same token repeated).
STD = {
    "vit_patch": 0.08, "vit_cls_pos": 0.5, "vit_attn": 0.3, "vit_mlp": 0.25, "bias": 0.05,
    "proj": 0.3, "wte": 0.5, "wpe": 0.4, "gpt_attn": 0.45, "gpt_cross_qk": 0.3, "gpt_cross_v": 0.25,
    "gpt_mlp": 0.4,
}
EOS_ROW_SCALE = 1.4  # <|endoftext|>'s (tied) embedding row is scaled by this
EOS_POS_RAMP = 0.5  # wpe[p] += EOS_POS_RAMP * p * unit(wte[eos]): eos becomes likelier later, so lengths vary
BYTE_ROW_SCALE = 0.8  # rows of single-byte tokens for control / non-ASCII bytes: rarer (but not absent) "\ufffd"

CASES = [
    ("greedy", {"num_beams": 1, "max_length": 16, "do_sample": False}),
    ("greedy_no_repeat_ngram_2", {"num_beams": 1, "max_length": 16, "do_sample": False, "no_repeat_ngram_size": 2}),
    ("greedy_max_new_tokens_10", {"num_beams": 1, "max_new_tokens": 10, "do_sample": False}),
    ("beam4", {"num_beams": 4, "max_length": 16}),
    ("beam4_no_repeat_ngram_2", {"num_beams": 4, "max_length": 16, "no_repeat_ngram_size": 2}),
    ("beam4_length_penalty_2", {"num_beams": 4, "max_length": 16, "length_penalty": 2.0}),
    ("beam4_length_penalty_0.5", {"num_beams": 4, "max_length": 16, "length_penalty": 0.5}),
    ("beam3_early_stopping_true", {"num_beams": 3, "max_length": 16, "early_stopping": True}),
    ("beam3_early_stopping_false", {"num_beams": 3, "max_length": 16, "early_stopping": False}),
    ("beam3_early_stopping_never", {"num_beams": 3, "max_length": 16, "early_stopping": "never"}),
    # with length_penalty 1.5 the three early_stopping modes pick different answers on several images
    ("beam3_early_stopping_true_length_penalty_1.5",
     {"num_beams": 3, "max_length": 16, "early_stopping": True, "length_penalty": 1.5}),
    ("beam3_early_stopping_false_length_penalty_1.5",
     {"num_beams": 3, "max_length": 16, "early_stopping": False, "length_penalty": 1.5}),
    ("beam3_early_stopping_never_length_penalty_1.5",
     {"num_beams": 3, "max_length": 16, "early_stopping": "never", "length_penalty": 1.5}),
    ("beam4_max_new_tokens_10", {"num_beams": 4, "max_new_tokens": 10}),
    ("beam2", {"num_beams": 2, "max_length": 16}),
    ("default", {}),
]


# ----------------------------------------------------------------------------------------------------------------------
# Tokenizer
# ----------------------------------------------------------------------------------------------------------------------


def make_tokenizer() -> GPT2Tokenizer:
    lines = EN * 3 + CAPTIONS * 3
    _, vocab, merges = bytelevel_bpe(lines, N_LEARNED, False, [])
    assert len(vocab) == N_LEARNED and sorted(vocab.values()) == list(range(N_LEARNED)), len(vocab)
    vocab = dict(sorted(vocab.items(), key=lambda kv: kv[1]))
    vocab[EOT] = N_LEARNED
    hf = GPT2Tokenizer(vocab=vocab, merges=merges, add_prefix_space=False, model_max_length=64)
    assert hf.convert_tokens_to_ids(EOT) == N_LEARNED and len(hf) == N_LEARNED + 1
    DEST.mkdir(parents=True, exist_ok=True)
    hf.save_pretrained(str(DEST))
    clean_config(DEST, model_max_length=64)
    write_special_tokens_map(hf, DEST)
    # transformers 5 writes neither vocab.json nor merges.txt: write them as GPT-2's (transformers 4) files are
    (DEST / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, separators=(",", ":")) + "\n",
                                     encoding="utf-8")
    (DEST / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    return hf


def check_tokenizer(tok) -> None:
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(DEST / "tokenizer.json"))
    v2 = json.loads((DEST / "vocab.json").read_text(encoding="utf-8"))
    m2 = [tuple(line.split(" ")) for line in (DEST / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]]
    from_files = GPT2Tokenizer(vocab=v2, merges=m2)
    for t in CAPTIONS + EN[:10] + ["a man <|endoftext|> riding", " leading space", "café ☕ 🐱"]:
        a = tok(t)["input_ids"]
        assert a == raw.encode(t).ids == from_files(t)["input_ids"], t
        assert tok.decode(a) == t, (t, tok.decode(a))
    # decode == the tokenizers backend's decode (no clean_up_tokenization_spaces), also for invalid UTF-8 pieces
    for ids in ([599, 21, 313, 599], [64, 150, 160, 170, 64], list(range(0, 599, 7)), [599], [188, 77]):
        assert tok.decode(ids, skip_special_tokens=True) == raw.decode(ids, skip_special_tokens=True), ids
        assert tok.decode(ids) == raw.decode(ids, skip_special_tokens=False), ids
    assert tok("a man <|endoftext|> riding")["input_ids"].count(N_LEARNED) == 1


# ----------------------------------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------------------------------


def make_config(vocab_size: int) -> VisionEncoderDecoderConfig:
    eot = vocab_size - 1
    enc = ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=32, num_hidden_layers=2,
                    num_attention_heads=4, intermediate_size=64, hidden_act="gelu", layer_norm_eps=1e-12,
                    qkv_bias=True)
    dec = GPT2Config(vocab_size=vocab_size, n_embd=48, n_layer=2, n_head=4, n_positions=64,
                     activation_function="gelu_new", add_cross_attention=True, is_decoder=True, bos_token_id=eot,
                     eos_token_id=eot, pad_token_id=eot, decoder_start_token_id=eot)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id = eot
    cfg.pad_token_id = eot
    cfg.eos_token_id = eot
    return cfg


def rare_byte_rows(tok) -> list[int]:
    """Ids of the single-byte tokens whose byte is a control character or >= 0x80 (alone: not valid UTF-8)."""
    from make_fixtures import bytes_to_unicode

    b2u = bytes_to_unicode()
    vocab = tok.get_vocab()
    return sorted(vocab[b2u[b]] for b in range(256) if (b < 0x20 or b >= 0x7F) and b2u[b] in vocab)


def randomize(model: VisionEncoderDecoderModel, seed: int, rare_rows: list[int]) -> None:
    """Seeded re-initialisation, parameter by parameter in named_parameters() order."""
    g = torch.Generator().manual_seed(seed)
    eot = model.config.decoder_start_token_id
    eos_dir = None
    with torch.no_grad():
        for name, p in model.named_parameters():
            n = lambda s: s * torch.randn(p.shape, generator=g)  # noqa: E731
            is_ln = ("layernorm" in name or ".ln_" in name or "LayerNorm" in name)
            if is_ln:
                p.copy_(1 + n(0.1) if name.endswith("weight") else n(0.05))
            elif name.endswith("bias"):
                p.copy_(n(STD["bias"]))
            elif "patch_embeddings" in name:
                p.copy_(n(STD["vit_patch"]))
            elif "cls_token" in name or "position_embeddings" in name:
                p.copy_(n(STD["vit_cls_pos"]))
            elif name.startswith("encoder.") and "attention" in name:
                p.copy_(n(STD["vit_attn"]))
            elif name.startswith("encoder."):  # mlp, pooler
                p.copy_(n(STD["vit_mlp"]))
            elif name.startswith("enc_to_dec_proj"):
                p.copy_(n(STD["proj"]))
            elif name.endswith("wte.weight"):
                w = n(STD["wte"])
                w[eot] *= EOS_ROW_SCALE
                w[rare_rows] *= BYTE_ROW_SCALE
                p.copy_(w)
                eos_dir = w[eot] / w[eot].norm()
            elif name.endswith("wpe.weight"):
                w = n(STD["wpe"])
                w += EOS_POS_RAMP * torch.arange(p.shape[0], dtype=torch.float32)[:, None] * eos_dir[None, :]
                p.copy_(w)
            elif ".crossattention.c_attn" in name:  # [48, 96]: k | v
                w = n(STD["gpt_cross_qk"])
                w[:, p.shape[1] // 2:] *= STD["gpt_cross_v"] / STD["gpt_cross_qk"]
                p.copy_(w)
            elif ".crossattention." in name:
                p.copy_(n(STD["gpt_cross_qk"]))
            elif ".attn." in name:
                p.copy_(n(STD["gpt_attn"]))
            elif ".mlp." in name:
                p.copy_(n(STD["gpt_mlp"]))
            else:
                raise AssertionError(f"unhandled parameter {name}")


def make_model(tok) -> VisionEncoderDecoderModel:
    torch.manual_seed(SEED)
    model = VisionEncoderDecoderModel(make_config(len(tok))).eval()
    randomize(model, SEED, rare_byte_rows(tok))
    assert model.decoder.lm_head.weight.data_ptr() == model.decoder.transformer.wte.weight.data_ptr()
    assert hasattr(model, "enc_to_dec_proj")
    return model


def save_model(model: VisionEncoderDecoderModel) -> None:
    model.save_pretrained(str(DEST), safe_serialization=True)
    clean_json(DEST / "config.json")
    eot = model.config.decoder_start_token_id
    gen = {"bos_token_id": eot, "decoder_start_token_id": eot, "eos_token_id": eot, "max_length": MAX_LENGTH,
           "num_beams": NUM_BEAMS, "pad_token_id": eot}
    (DEST / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    pre = {"do_normalize": True, "do_resize": True, "feature_extractor_type": "ViTFeatureExtractor",
           "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2, "size": 32}
    (DEST / "preprocessor_config.json").write_text(json.dumps(pre, indent=2) + "\n")


def check_safetensors(path: Path) -> list[str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        keys = sorted(f.keys())
        for k in keys:
            assert f.get_slice(k).get_dtype() == "F32", k
    assert "decoder.lm_head.weight" not in keys and "decoder.transformer.wte.weight" in keys
    assert "enc_to_dec_proj.weight" in keys and "encoder.embeddings.patch_embeddings.projection.weight" in keys
    return keys


# ----------------------------------------------------------------------------------------------------------------------
# Reference search: generate()'s rules as written in the docstring, without a KV cache
# ----------------------------------------------------------------------------------------------------------------------


def step_log_probs(model, enc_out, seqs: list[list[int]]) -> torch.Tensor:
    """log_softmax of the last-position logits for each full prefix (no cache); enc_out = encoder last_hidden_state."""
    ids = torch.tensor(seqs)
    with torch.inference_mode():
        out = model(encoder_outputs=(enc_out.expand(len(seqs), -1, -1),), decoder_input_ids=ids, use_cache=False)
    return torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)


def banned_tokens(seq: list[int], n: int) -> set[int]:
    L = len(seq)
    if n <= 0 or L < n:
        return set()
    prefix = seq[L - n + 1:]
    return {seq[i + n - 1] for i in range(L - n + 1) if seq[i:i + n - 1] == prefix}


def reference_search(model, enc_out, params: dict, gen_cfg: dict) -> tuple[list[tuple[list[int], float]], int]:
    """(returned hypotheses best first as (ids, penalised score), number of decoding steps)."""
    p = {"max_length": gen_cfg["max_length"], "num_beams": gen_cfg["num_beams"], "length_penalty": 1.0,
         "early_stopping": False, "no_repeat_ngram_size": 0}
    p.update({k: v for k, v in params.items() if k in p})
    if "max_new_tokens" in params:
        p["max_length"] = params["max_new_tokens"] + 1
    start, eos = gen_cfg["decoder_start_token_id"], gen_cfg["eos_token_id"]
    max_length, k, lp, es, ng = p["max_length"], p["num_beams"], p["length_penalty"], p["early_stopping"], \
        p["no_repeat_ngram_size"]
    prompt_len = 1
    if k == 1:  # greedy
        seq = [start]
        while True:
            logp = step_log_probs(model, enc_out, [seq])[0]
            for t in banned_tokens(seq, ng):
                logp[t] = -math.inf
            seq.append(int(torch.argmax(logp)))
            if seq[-1] == eos or len(seq) >= max_length:
                return [(seq, None)], len(seq) - 1
    running = [([start], 0.0)]  # step 1 only expands beam 0 (the others have -1e9)
    finished: list[tuple[list[int], float]] = []  # at most k, sorted by penalised score
    cur_len = 1
    improvement_possible = True
    while True:
        logp = step_log_probs(model, enc_out, [s for s, _ in running])
        cands = []
        for b, (s, sc) in enumerate(running):
            row = logp[b].clone()
            for t in banned_tokens(s, ng):
                row[t] = -math.inf
            tot = (torch.tensor(sc, dtype=torch.float32) + row)
            vals, idx = torch.topk(tot, 2 * k)
            cands += [(float(v), s + [int(t)]) for v, t in zip(vals, idx)]
        cands.sort(key=lambda c: -c[0])
        cands = cands[:2 * k]
        done = [c[1][-1] == eos or cur_len + 1 >= max_length for c in cands]
        running = [(s, v) for (v, s), d in zip(cands, done) if not d][:k]
        gen_len = cur_len + 1 - prompt_len
        new = [(s, v / gen_len ** lp) for r, ((v, s), d) in enumerate(zip(cands, done)) if d and r < k]
        finished = sorted(finished + new, key=lambda f: -f[1])[:k]
        cur_len += 1
        if len(finished) == k:
            best_len = (max_length if es == "never" and lp > 0 else cur_len) - prompt_len
            improvement_possible = improvement_possible and running[0][1] / best_len ** lp > finished[-1][1] \
                if running else False
        if not improvement_possible or (len(finished) == k and es is True) or all(done):
            return finished, cur_len - 1


# ----------------------------------------------------------------------------------------------------------------------
# References
# ----------------------------------------------------------------------------------------------------------------------


def cut(ids: list[int], eos: int, max_length: int) -> list[int]:
    """A returned sequence without the trailing padding: up to and including its first eos after the start token."""
    for i in range(1, len(ids)):
        if ids[i] == eos:
            return ids[: i + 1]
    assert len(ids) == max_length, (ids, max_length)
    return ids


def f32(x: float) -> float:
    return short_floats(torch.tensor([x]))[0]


def run_case(model, tok, pv: torch.Tensor, params: dict, gen_cfg: dict) -> dict:
    nb = params.get("num_beams", gen_cfg["num_beams"])
    eos = gen_cfg["eos_token_id"]
    max_length = params["max_new_tokens"] + 1 if "max_new_tokens" in params else params.get("max_length",
                                                                                          gen_cfg["max_length"])
    with torch.inference_mode():
        out = model.generate(pixel_values=pv, **params, return_dict_in_generate=True, output_scores=True,
                             num_return_sequences=nb)
    seqs = [cut(s, eos, max_length) for s in out.sequences.tolist()]
    entry = {"ids": seqs[0], "text": tok.decode(seqs[0], skip_special_tokens=True), "steps": len(out.scores)}
    if nb > 1:
        scores = out.sequences_scores.tolist()
        entry["best_two_scores"] = [f32(scores[0]), f32(scores[1])]
        entry["tied"] = bool(abs(scores[0] - scores[1]) < 1e-4)
        entry["beams"] = [{"ids": s, "score": f32(v)} for s, v in zip(seqs, scores)]
    return entry


def dump(path: Path, obj: dict) -> None:
    """Compact JSON with one image entry per line (diffable)."""
    lines = ["{"]
    keys = list(obj)
    for ki, key in enumerate(keys):
        sep = "," if ki < len(keys) - 1 else ""
        v = obj[key]
        if key == "cases":
            lines.append(f' "cases": [')
            for ci, case in enumerate(v):
                lines.append(f'  {{"name": {json.dumps(case["name"])}, "params": {json.dumps(case["params"])}, '
                             f'"images": [')
                for ii, e in enumerate(case["images"]):
                    lines.append("   " + json.dumps(e, ensure_ascii=False, separators=(",", ":"))
                                 + ("," if ii < len(case["images"]) - 1 else ""))
                lines.append("  ]}" + ("," if ci < len(v) - 1 else ""))
            lines.append(" ]" + sep)
        elif isinstance(v, list):
            lines.append(f" {json.dumps(key)}: [")
            for i, e in enumerate(v):
                lines.append("  " + json.dumps(e, ensure_ascii=False, separators=(",", ":"))
                             + ("," if i < len(v) - 1 else ""))
            lines.append(" ]" + sep)
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}{sep}")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    json.loads(path.read_text(encoding="utf-8"))


def main() -> None:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, Pillow {Image.__version__}, "
          f"numpy {np.__version__}")
    if DEST.exists():
        shutil.rmtree(DEST)
    DEST.mkdir(parents=True)

    tok = make_tokenizer()
    vocab_size = len(tok)
    model = make_model(tok)
    save_model(model)
    keys = check_safetensors(DEST / "model.safetensors")

    # everything below comes from the saved folder
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(DEST))
    check_tokenizer(tok)
    m = VisionEncoderDecoderModel.from_pretrained(str(DEST), attn_implementation="eager").eval()
    with torch.no_grad():
        for (k1, p1), (k2, p2) in zip(m.state_dict().items(), model.state_dict().items()):
            assert k1 == k2 and torch.equal(p1, p2), k1
    proc = SlowViTImageProcessor.from_pretrained(str(DEST))
    assert (proc.size["height"], proc.size["width"]) == (32, 32) and proc.resample == 2, (proc.size, proc.resample)
    gen_cfg = json.loads((DEST / "generation_config.json").read_text())
    assert m.generation_config.num_beams == NUM_BEAMS and m.generation_config.max_length == MAX_LENGTH
    eos = gen_cfg["eos_token_id"]

    names = sorted(p.name for p in IMAGES.iterdir() if p.is_file())
    pvs = {}
    for n in names:
        im = viewer_decode(IMAGES / n)
        pv = proc(images=im, return_tensors="pt")["pixel_values"]
        assert pv.shape == (1, 3, 32, 32) and pv.dtype == torch.float32
        r = np.asarray(im.resize((32, 32), Image.BILINEAR)).astype(np.float64) * (1 / 255)
        mine = (r.astype(np.float32) - np.float32(0.5)) / np.float32(0.5)
        err = float(np.abs(mine.transpose(2, 0, 1) - pv[0].numpy()).max())
        assert err <= 1e-6, (n, err)
        pvs[n] = pv

    out: dict = {"model": f"models/{NAME}", "preprocess": [], "encoder": None, "first_step_logits": None,
                 "cases": []}
    for n in PREPROCESS_IMAGES:  # a plain photo, a 3000x2000 downscale, a 40x1200 strip squashed to 32x32
        v = pvs[n][0]
        out["preprocess"].append({"file": f"images/{n}", "pixel_values_first16": short_floats(v.reshape(-1)[:16]),
                                  "sum": f32(float(v.double().sum())), "pixel_values": short_floats(v)})
    first = names[0]
    with torch.inference_mode():
        enc = m.encoder(pixel_values=pvs[first]).last_hidden_state[0]
        out["encoder"] = {"file": f"images/{first}", "last_hidden_state": [short_floats(row) for row in enc]}
        logits = m(pixel_values=pvs[first], decoder_input_ids=torch.tensor([[gen_cfg["decoder_start_token_id"]]]))
        out["first_step_logits"] = {"file": f"images/{first}", "logits": short_floats(logits.logits[0, -1])}
        # sdpa (the default attention) gives the same logits
        m_sdpa = VisionEncoderDecoderModel.from_pretrained(str(DEST)).eval()
        l2 = m_sdpa(pixel_values=pvs[first], decoder_input_ids=torch.tensor([[gen_cfg["decoder_start_token_id"]]]))
        sdpa_diff = float((l2.logits - logits.logits).abs().max())

    mismatches = 0
    for cname, params in CASES:
        case = {"name": cname, "params": params, "images": []}
        for n in names:
            e = run_case(m, tok, pvs[n], params, gen_cfg)
            # the docstring's rules, re-implemented without a KV cache, reproduce generate()
            with torch.inference_mode():
                enc_out = m.encoder(pixel_values=pvs[n]).last_hidden_state  # forward() projects it
            mine, steps = reference_search(m, enc_out, params, gen_cfg)
            if mine[0][0] != e["ids"] or steps != e["steps"] or ("beams" in e and (
                    [b["ids"] for b in e["beams"]] != [s for s, _ in mine]
                    or max(abs(b["score"] - s) for b, (_, s) in zip(e["beams"], mine)) > 1e-5)):
                mismatches += 1
                print(f"  MISMATCH {cname} {n}: generate {e['ids']} / {e.get('best_two_scores')}; "
                      f"steps {e['steps']}; reference_search {mine[:2]} steps {steps}")
            case["images"].append({"file": f"images/{n}", **e})
        out["cases"].append(case)
    assert mismatches == 0, mismatches
    dump(REF / f"{NAME}.json", out)

    # report
    print(f"{NAME}: {len(keys)} tensors, vocab {vocab_size}, sdpa vs eager first-step logits max diff {sdpa_diff:.2e}")
    by = {c["name"]: c for c in out["cases"]}
    print("greedy captions:")
    for e in by["greedy"]["images"]:
        print(f"  {e['file'][7:]:28s} {len(e['ids']) - 1:2d} tok {e['text']!r}")
    lens = [len(e["ids"]) - 1 for e in by["greedy"]["images"]]
    ended = sum(e["ids"][-1] == eos for e in by["greedy"]["images"])
    texts = [e["text"] for e in by["greedy"]["images"]]
    print(f"greedy: {len(set(texts))} distinct captions of {len(texts)}, generated lengths {sorted(lens)}, "
          f"{ended} end with eos, {sum(len(set(e['ids'][1:])) for e in by['greedy']['images'])} distinct-token total")
    assert len(set(texts)) >= len(texts) * 0.8 and ended >= 3 and sum(x <= 1 for x in lens) <= 2
    for c in out["cases"]:
        if "tied" in c["images"][0]:
            tied = sum(e["tied"] for e in c["images"])
            print(f"  {c['name']:46s} tied {tied:2d}/{len(c['images'])}, "
                  f"eos-ended {sum(e['ids'][-1] == eos for e in c['images']):2d}, "
                  f"differs from greedy on {sum(a['ids'] != b['ids'] for a, b in zip(c['images'], by['greedy']['images']))}")
    diff = lambda a, b: sum(x["ids"] != y["ids"] for x, y in zip(by[a]["images"], by[b]["images"]))  # noqa: E731
    for (a, b), lp in itertools.product((("true", "false"), ("false", "never"), ("true", "never")),
                                        ("", "_length_penalty_1.5")):
        ca, cb = by[f"beam3_early_stopping_{a}{lp}"]["images"], by[f"beam3_early_stopping_{b}{lp}"]["images"]
        print(f"  early_stopping {a} vs {b}{' (length_penalty 1.5)' if lp else ''}: answer differs on {sum(x['ids'] != y['ids'] for x, y in zip(ca, cb))}, "
              f"returned beams differ on {sum(x['beams'] != y['beams'] for x, y in zip(ca, cb))}, "
              f"step counts differ on {sum(x['steps'] != y['steps'] for x, y in zip(ca, cb))} images")
    print(f"early_stopping true vs false differ on {diff('beam3_early_stopping_true', 'beam3_early_stopping_false')}, "
          f"false vs never {diff('beam3_early_stopping_false', 'beam3_early_stopping_never')}, "
          f"true vs never {diff('beam3_early_stopping_true', 'beam3_early_stopping_never')}; "
          f"lp 2 vs 1 {diff('beam4_length_penalty_2', 'beam4')}, lp 0.5 vs 1 {diff('beam4_length_penalty_0.5', 'beam4')}; "
          f"ngram greedy {diff('greedy_no_repeat_ngram_2', 'greedy')}, ngram beam {diff('beam4_no_repeat_ngram_2', 'beam4')}; "
          f"default == beam4: {diff('default', 'beam4') == 0}")
    assert diff("default", "beam4") == 0
    for cname in ("greedy_no_repeat_ngram_2", "beam4_no_repeat_ngram_2"):  # no bigram twice, start token included
        for e in by[cname]["images"]:
            for ids in [b["ids"] for b in e.get("beams", [e])]:
                assert len(set(zip(ids, ids[1:]))) == len(ids) - 1, (cname, e["file"], ids)
    size = sum(p.stat().st_size for p in DEST.iterdir())
    print(f"{NAME}: folder {size} bytes; reference {(REF / f'{NAME}.json').stat().st_size} bytes")
    assert size < 1_000_000 and (REF / f"{NAME}.json").stat().st_size < 1_500_000


def write_pytorch_bin() -> None:
    """models/vit-gpt2-tiny-bin/: the same model as a legacy `pytorch_model.bin` (torch.save of the on-disk tensor
    names, zip format) and no safetensors, for the PyTorch checkpoint reader. Two tensors are stored as
    non-contiguous views (a transpose of a transpose) and two share one storage, as real checkpoints do."""
    from safetensors.torch import load_file
    source = DEST
    target = DEST.parent / "vit-gpt2-tiny-bin"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    for f in source.iterdir():
        if f.name != "model.safetensors":
            shutil.copy(f, target / f.name)
    tensors = load_file(source / "model.safetensors")
    state = {}
    for name, value in tensors.items():
        if name.endswith("mlp.c_fc.weight"):
            value = value.t().contiguous().t()      # same values, strides (1, rows)
        state[name] = value
    # Shared storage: the position embeddings and a copy of them as two views of one buffer.
    wpe = "decoder.transformer.wpe.weight"
    both = torch.cat([state[wpe].reshape(-1), state[wpe].reshape(-1)])
    state[wpe] = both[: state[wpe].numel()].view(state[wpe].shape)
    state["decoder.transformer.wpe_copy_for_tests"] = both[state[wpe].numel():].view(state[wpe].shape)
    state["decoder.transformer.position_ids_for_tests"] = torch.arange(8, dtype=torch.int64)  # a dtype Glimpse skips
    torch.save(state, target / "pytorch_model.bin")
    print(f"wrote {target / 'pytorch_model.bin'} ({(target / 'pytorch_model.bin').stat().st_size} bytes)")


if __name__ == "__main__":
    if sys.argv[1:] == ["bin"]:
        sys.exit(write_pytorch_bin())
    main()
    write_pytorch_bin()
