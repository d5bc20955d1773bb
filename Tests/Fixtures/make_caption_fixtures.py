#!/usr/bin/env python3
"""Generate Glimpse's image-captioning fixtures: a tiny random ViT + GPT-2 VisionEncoderDecoderModel laid out like
nlpconnect/vit-gpt2-image-captioning, its byte-level BPE tokenizer, and generate() references; and a tiny random
BlipForConditionalGeneration laid out like Salesforce/blip-image-captioning-base, its BERT WordPiece tokenizer, and
generate() references (see CONTRACT.md, section "Image captioning"; BLIP's notes are at the end of this docstring).

    HF_HUB_OFFLINE=1 python3 Tests/Fixtures/make_caption_fixtures.py        # everything (vit-gpt2, -bin, blip)
    HF_HUB_OFFLINE=1 python3 Tests/Fixtures/make_caption_fixtures.py bin    # only models/vit-gpt2-tiny-bin/
    HF_HUB_OFFLINE=1 python3 Tests/Fixtures/make_caption_fixtures.py blip   # only models/blip-tiny/ + its reference

Run by a developer, never by CI. Needs torch, transformers (5.x), tokenizers, Pillow, numpy, safetensors (and, through
make_fixtures.py / make_text_fixtures.py, scikit-image). Nothing is downloaded; the tokenizer is trained on the English
corpus of make_text_fixtures.py plus caption-like sentences, the weights are random. Deterministic: fixed seeds,
torch.set_num_threads(1), single-threaded tokenizer training, so re-running reproduces the same files for the same
library versions (checked with transformers 5.25.0, torch 2.13.0, tokenizers 0.23.3, Pillow 13.0.0).

Writes, next to this file:
  models/vit-gpt2-tiny/    config.json, generation_config.json, model.safetensors (F32), preprocessor_config.json,
                           tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json
  reference/vit-gpt2-tiny.json
  models/vit-gpt2-tiny-bin/  the same model as a legacy pytorch_model.bin (write_pytorch_bin)
  models/blip-tiny/        config.json, generation_config.json, model.safetensors (F32), preprocessor_config.json,
                           tokenizer.json, vocab.txt, tokenizer_config.json, special_tokens_map.json
  reference/blip-tiny.json

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

BLIP (models/blip-tiny, BlipForConditionalGeneration; transformers 5.25.0 models/blip/modeling_blip.py,
modeling_blip_text.py, configuration_blip.py, image_processing_pil_blip.py). blip_manual_forward() below is this
forward written from the raw checkpoint tensors and is asserted against transformers (float64: < 1e-10; float32:
vision 2e-6, logits 1.2e-4 of |logits| up to 31), and reference_search() with blip_step_log_probs (full prefixes,
no cache) reproduces every generate() reference (ids, scores, steps).
  Config: vision image_size 32, patch_size 8, hidden 32, 2 layers, 4 heads (head_dim 8), intermediate 64, gelu,
  layer_norm_eps 1e-5. text hidden 48, 2 layers, 4 heads (head_dim 12), intermediate 96, max_position_embeddings 64,
  gelu, layer_norm_eps 1e-12, encoder_hidden_size 32 (BlipConfig.__post_init__ forces it to the vision hidden size,
  so the cross-attention key/value project 32 -> 48), vocab 802, bos_token_id 800 ([DEC]), sep_token_id 3 ([SEP]),
  pad_token_id 0 ([PAD]), eos_token_id 2 (as BLIP base has it; here that is [CLS], and generate() never uses it).
  Checkpoint tensors (model.safetensors, 91, all F32; nn.Linear weights are [out, in], y = x W^T + b):
    vision_model.embeddings.class_embedding [1, 1, 32]; .patch_embedding.weight [32, 3, 8, 8] + .bias [32] (Conv2d,
      kernel = stride = 8); .position_embedding [1, 17, 32] (an nn.Parameter: no ".weight" suffix)
    vision_model.encoder.layers.N.{layer_norm1, self_attn.qkv [96, 32] + bias [96], self_attn.projection [32, 32],
      layer_norm2, mlp.fc1 [64, 32], mlp.fc2 [32, 64]} (.weight/.bias each); vision_model.post_layernorm
    text_decoder.bert.embeddings.{word_embeddings.weight [802, 48], position_embeddings.weight [64, 48],
      LayerNorm.weight/bias} (no token_type_embeddings, no pooler: BlipTextModel(add_pooling_layer=False))
    text_decoder.bert.encoder.layer.N.attention.self.{query, key, value} [48, 48], attention.output.dense [48, 48],
      attention.output.LayerNorm; crossattention.self.query [48, 48], crossattention.self.{key, value} [48, 32],
      crossattention.output.dense [48, 48], crossattention.output.LayerNorm; intermediate.dense [96, 48];
      output.dense [48, 96]; output.LayerNorm (all with .bias)
    text_decoder.cls.predictions.transform.dense [48, 48] + bias, transform.LayerNorm, cls.predictions.bias [802]
    NOT stored: text_decoder.cls.predictions.decoder.weight / .bias. _tied_weights_keys ties decoder.weight to
    bert.embeddings.word_embeddings.weight and decoder.bias to cls.predictions.bias (tie_word_embeddings true), so
    save_pretrained drops them. When a checkpoint does contain them, transformers 5.25 loads them and does NOT tie
    if their values differ (it logs "both are present in the checkpoints with different values, so we will NOT tie
    them"), so a loader should use decoder.weight / decoder.bias when present, else word_embeddings /
    cls.predictions.bias. A stored text_decoder.bert.embeddings.position_ids buffer (old checkpoints) is ignored.
  Preprocessing: viewer_decode, then BlipImageProcessorPil (the Pillow backend; BlipImageProcessor is the torchvision
    one): convert to RGB, PIL resize to exactly 32x32 with BICUBIC (resample 3; aspect ratio NOT kept, no crop) on
    the uint8 image, rescale float32(float64(v) * (1/255)), normalise (x - mean) / std in float32 with the OpenAI
    CLIP mean [0.48145466, 0.4578275, 0.40821073] and std [0.26862954, 0.26130258, 0.27577711] (as float32), NCHW.
    Bit-identical to that recipe on all 25 images.
  Vision (BlipVisionModel): x = [class_embedding; Conv2d patches in row-major order] + position_embedding -> [17, 32];
    per layer (pre-LN, eps 1e-5): qkv = LN1(x) Wqkv^T + b, split as reshape(17, 3, heads 4, head_dim 8): columns
    0..31 = q, 32..63 = k, 64..95 = v, each head-major (head h = 8h..8h+7); softmax(q k^T * 8^-0.5) v, no mask;
    x += projection(ctx); x += fc2(gelu(fc1(LN2(x)))) (exact erf GELU). last_hidden_state = post_layernorm(x):
    post_layernorm is applied to EVERY token (cls and the 16 patches); this [17, 32] is what generate() passes
    (vision_outputs[0]) as encoder_hidden_states. (pooler_output = post_layernorm applied once more to token 0;
    unused for captioning.)
  Text decoder (BlipTextLMHeadModel, BERT-style POST-LN): h = LayerNorm_emb(word_embeddings[ids] +
    position_embeddings[pos]) (eps 1e-12; no token type embeddings), pos = cache_length .. cache_length + n - 1,
    i.e. the absolute position in the sequence, [DEC] at 0 (with a KV cache each new token gets the next position).
    Per layer: h = LN(h + dense(SelfAttn(h))) with a causal mask (query i sees keys 0..i) and scale 1/sqrt(12);
    h = LN(h + dense(CrossAttn(q = h, k/v = image [17, 32] through key/value [48, 32]))) with no mask (every query
    sees all 17 image tokens; generate() passes an all-ones image mask); h = LN(h + output.dense(gelu(
    intermediate.dense(h)))). All LN eps 1e-12, heads split the 48 features head-major (12 each).
    LM head: t = transform.LayerNorm(gelu(transform.dense(h))); logits = t @ word_embeddings^T + cls.predictions.bias.
  generate() (BlipForConditionalGeneration.generate):
  * image_embeds = vision_model(pixel_values)[0]; image_attention_mask = ones [batch, 17].
  * Without input_ids the decoder prompt is built as [[bos_token_id, text_config.eos_token_id]] = [[800, 2]], then
    input_ids[:, 0] = bos and the LAST column is dropped: the prompt is exactly [[DEC]] (800), length 1. (With a
    text prompt from the processor, [CLS] a b [SEP], [CLS] is overwritten by [DEC] and the trailing [SEP] dropped.)
  * It calls text_decoder.generate(input_ids=prompt, eos_token_id=text_config.sep_token_id (3, [SEP]),
    pad_token_id=text_config.pad_token_id (0, [PAD]), encoder_hidden_states=image_embeds,
    encoder_attention_mask=ones, **kwargs): eos and pad are explicit arguments, so they override any generation
    config (and a caller cannot pass its own eos_token_id / pad_token_id: Python rejects the duplicate keyword).
  * text_decoder is a decoder-only GenerationMixin model with ITS OWN generation_config, built from text_config at
    construction (bos 800, eos 2, pad 0, no max_length, no num_beams). from_pretrained loads generation_config.json
    into the OUTER model's generation_config only, so nothing in generation_config.json (here max_length 16) reaches
    generate(); legacy generation keys inside config.json's text_config (Salesforce's has "max_length": 20,
    "num_beams": 1) are dropped when the config is loaded. So generate(pixel_values) with no kwargs = greedy
    (num_beams 1, do_sample false) with the global default max_length 20 + prompt length 1 = 21, capped at
    text_config.max_position_embeddings (64 here, 512 in BLIP base): at most 20 generated tokens
    (transformers warns "Using the model-agnostic default `max_length` (=21)").
  * max_length counts the [DEC] prompt token (decoder-only: the prompt is part of the sequence): max_length 16 = at
    most 15 generated tokens; max_new_tokens N = max_length N + 1.
  * Returned sequences START with [DEC] (800) (the prompt is kept); a sequence that finished early is padded with
    [PAD] (0) up to the longest returned one; the references store each cut right after its first [SEP] (or at
    max_length). Stopping: [SEP] generated or max_length reached.
  * Greedy / beam search / length_penalty / early_stopping / no_repeat_ngram_size follow exactly the rules above
    for vit-gpt2 with start token = [DEC], eos = [SEP] and decoder_prompt_len = 1 (the n-gram ban sees the full
    sequence including [DEC]).
  Tokenizer: BertTokenizer (tokenizers backend; BertTokenizerFast layout): BertNormalizer (clean_text,
    handle_chinese_chars, lowercase, strip_accents null = strip with lowercase), BertPreTokenizer, WordPiece
    (##, unk [UNK], max_input_chars_per_word 100), TemplateProcessing [CLS] $A [SEP]. 800 WordPiece tokens (ids
    0..799 = vocab.txt lines; [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4), then added special tokens [DEC] = 800
    (bos_token) and [ENC] = 801 (additional special token), as BLIP's init_tokenizer adds them to bert-base-uncased
    (not in vocab.txt, which holds the model vocabulary only; tokenizer.json's added_tokens has them).
    Captions are tok.decode(ids, skip_special_tokens=True) (= BlipProcessor.decode): every special token is dropped
    ([PAD] [UNK] [CLS] [SEP] [MASK] [DEC] [ENC]; several beam captions contain [MASK] (4) mid-sequence); the rest go
    through tokenizer.json's WordPiece decoder (prefix "##", cleanup true): a token other than the FIRST remaining
    one loses its "##" and is glued to the previous one, else gets a leading space; the first token keeps a "##"
    prefix as is (many captions here start with "##"); cleanup works per token (" ." " ?" " !" " ," lose the
    space; its multi-token patterns never match). transformers 5's clean_up_tokenization_spaces is false for it.
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


def reference_search(model, enc_out, params: dict, gen_cfg: dict, step_log_probs=step_log_probs) \
        -> tuple[list[tuple[list[int], float]], int]:
    """(returned hypotheses best first as (ids, penalised score), number of decoding steps). step_log_probs(model,
    enc_out, seqs) gives the last-position log-probs of each full prefix (BLIP passes its own)."""
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


# ======================================================================================================================
# BLIP (BlipForConditionalGeneration), laid out like Salesforce/blip-image-captioning-base
# ======================================================================================================================

BLIP_NAME = "blip-tiny"
BLIP_DEST = MODELS / BLIP_NAME
BLIP_N_LEARNED = 800  # WordPiece vocabulary (ids 0..799, vocab.txt); [DEC] = 800 and [ENC] = 801 are added tokens
BLIP_SEED = 5005
BLIP_GEN_MAX_LENGTH = 16  # written to generation_config.json; BlipForConditionalGeneration.generate() ignores it
BLIP_DEFAULT_MAX_LENGTH = 21  # what generate() really uses without kwargs: 20 new tokens + the [DEC] prompt
BLIP_STD = {
    "patch": 0.08, "cls_pos": 0.5, "vit_attn": 0.3, "vit_mlp": 0.25, "bias": 0.05,
    "word": 0.5, "pos": 1.0, "attn": 0.45, "cross_qk": 0.3, "cross_v": 0.1, "mlp": 0.4, "head": 0.4,
}  # (a larger cross-attention value std makes the image drown the prefix: one token repeated per image)
BLIP_SEP_SCALE = 8.0  # [SEP]'s output row: this times the unit "drift with position" direction (see blip_tune_sep)
BLIP_SEP_BIAS = 4.0  # added to cls.predictions.bias[SEP]

BLIP_CASES = [
    ("greedy", {"num_beams": 1, "max_length": 16, "do_sample": False}),
    ("greedy_max_new_tokens_10", {"num_beams": 1, "max_new_tokens": 10, "do_sample": False}),
    ("beam4", {"num_beams": 4, "max_length": 16}),
    ("beam4_no_repeat_ngram_2", {"num_beams": 4, "max_length": 16, "no_repeat_ngram_size": 2}),
    ("beam3_early_stopping_true_length_penalty_1.5",
     {"num_beams": 3, "max_length": 16, "early_stopping": True, "length_penalty": 1.5}),
    ("beam3_early_stopping_false_length_penalty_1.5",
     {"num_beams": 3, "max_length": 16, "early_stopping": False, "length_penalty": 1.5}),
    ("beam3_early_stopping_never_length_penalty_1.5",
     {"num_beams": 3, "max_length": 16, "early_stopping": "never", "length_penalty": 1.5}),
    ("beam4_max_new_tokens_10", {"num_beams": 4, "max_new_tokens": 10}),
    ("default", {}),
]


def blip_make_tokenizer():
    """BERT WordPiece (lowercase) trained on the vit-gpt2 corpus, then [DEC] (bos_token) and [ENC] (an additional
    special token) added exactly as BLIP's init_tokenizer does on bert-base-uncased."""
    from make_text_fixtures import train_wordpiece, write_vocab_txt
    from transformers import BertTokenizer  # transformers 5: BertTokenizerFast is BertTokenizer (tokenizers-backed)

    vocab = train_wordpiece(EN * 3 + CAPTIONS * 3, BLIP_N_LEARNED, True, None)
    assert len(vocab) == BLIP_N_LEARNED and sorted(vocab.values()) == list(range(BLIP_N_LEARNED)), len(vocab)
    hf = BertTokenizer(vocab=vocab, do_lower_case=True, strip_accents=None, tokenize_chinese_chars=True,
                       model_max_length=64)
    hf.add_special_tokens({"bos_token": "[DEC]"})
    hf.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    assert hf.convert_tokens_to_ids(["[DEC]", "[ENC]"]) == [BLIP_N_LEARNED, BLIP_N_LEARNED + 1], len(hf)
    assert len(hf) == BLIP_N_LEARNED + 2
    BLIP_DEST.mkdir(parents=True, exist_ok=True)
    hf.save_pretrained(str(BLIP_DEST))
    clean_config(BLIP_DEST, model_max_length=64)
    write_special_tokens_map(hf, BLIP_DEST)
    write_vocab_txt(hf.backend_tokenizer, BLIP_DEST)  # the 800 model tokens; [DEC]/[ENC] live in added_tokens
    return hf


def blip_check_tokenizer(tok) -> None:
    from tokenizers import Tokenizer
    from transformers import BertTokenizer

    raw = Tokenizer.from_file(str(BLIP_DEST / "tokenizer.json"))
    lines = (BLIP_DEST / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == BLIP_N_LEARNED and "[DEC]" not in lines
    from_txt = BertTokenizer(vocab=str(BLIP_DEST / "vocab.txt"), do_lower_case=True)
    for t in CAPTIONS + EN[:10] + ["A Man RIDING a horse.", "café ☕ 🐱", "xylophone quiz"]:
        a = tok(t)["input_ids"]
        assert a == raw.encode(t).ids == from_txt(t)["input_ids"], t
        assert a[0] == tok.cls_token_id and a[-1] == tok.sep_token_id
    assert tok("[DEC] a man [ENC]")["input_ids"][1] == tok.bos_token_id
    for ids in ([800, 18, 157, 3], [800, 60, 18, 3, 0, 0], [800, 1, 18, 801, 2, 4, 3], [800, 46, 47, 9, 7, 18],
                list(range(0, 802, 9))):
        assert tok.decode(ids, skip_special_tokens=True) == raw.decode(ids, skip_special_tokens=True), ids
        assert tok.decode(ids) == raw.decode(ids, skip_special_tokens=False), ids


def blip_make_config(tok):
    from transformers import BlipConfig

    vision = dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=64, layer_norm_eps=1e-5, hidden_act="gelu")
    text = dict(vocab_size=len(tok), hidden_size=48, encoder_hidden_size=32, num_hidden_layers=2,
                num_attention_heads=4, intermediate_size=96, max_position_embeddings=64, hidden_act="gelu",
                layer_norm_eps=1e-12, bos_token_id=tok.bos_token_id, sep_token_id=tok.sep_token_id,
                pad_token_id=tok.pad_token_id, eos_token_id=2)  # eos 2 as in BLIP base (only a dummy there too)
    cfg = BlipConfig(text_config=text, vision_config=vision)
    assert cfg.text_config.encoder_hidden_size == 32  # BlipConfig.__post_init__ sets it to vision hidden_size anyway
    return cfg


def blip_randomize(model, seed: int) -> None:
    """Seeded re-initialisation, parameter by parameter in named_parameters() order."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            n = lambda s: s * torch.randn(p.shape, generator=g)  # noqa: E731
            if "layer_norm" in name or "layernorm" in name or "LayerNorm" in name:
                p.copy_(1 + n(0.1) if name.endswith("weight") else n(0.05))
            elif name.endswith("bias") or name == "text_decoder.cls.predictions.bias":
                p.copy_(n(STD["bias"]))
            elif "patch_embedding" in name:
                p.copy_(n(BLIP_STD["patch"]))
            elif "class_embedding" in name or "embeddings.position_embedding" in name:
                p.copy_(n(BLIP_STD["cls_pos"]))
            elif name.startswith("vision_model.") and ".self_attn." in name:
                p.copy_(n(BLIP_STD["vit_attn"]))
            elif name.startswith("vision_model.") and ".mlp." in name:
                p.copy_(n(BLIP_STD["vit_mlp"]))
            elif name.endswith("word_embeddings.weight"):
                p.copy_(n(BLIP_STD["word"]))
            elif name.endswith("position_embeddings.weight"):
                p.copy_(n(BLIP_STD["pos"]))
            elif ".crossattention.self.value" in name:
                p.copy_(n(BLIP_STD["cross_v"]))
            elif ".crossattention." in name:
                p.copy_(n(BLIP_STD["cross_qk"]))
            elif ".attention." in name:
                p.copy_(n(BLIP_STD["attn"]))
            elif ".intermediate." in name or ".output.dense" in name:
                p.copy_(n(BLIP_STD["mlp"]))
            elif "cls.predictions.transform" in name:
                p.copy_(n(BLIP_STD["head"]))
            else:
                raise AssertionError(f"unhandled parameter {name}")


def blip_head_states(model, img: torch.Tensor, seqs: list[list[int]]) -> torch.Tensor:
    """cls.predictions.transform output (what the tied decoder multiplies) at every position, no cache."""
    with torch.inference_mode():
        h = model.text_decoder.bert(input_ids=torch.tensor(seqs), encoder_hidden_states=img.expand(len(seqs), -1, -1),
                                    is_decoder=True, use_cache=False).last_hidden_state
        return model.text_decoder.cls.predictions.transform(h)


def blip_tune_sep(model, imgs: list[torch.Tensor]) -> None:
    """Varied caption lengths: the [SEP] row of the tied word embeddings (never an input: generation stops at it) is
    set to BLIP_SEP_SCALE times the unit direction along which the head's hidden state drifts with the position
    (least squares over greedy runs with [SEP] banned, one per image), and its bias gets BLIP_SEP_BIAS added."""
    cfg = model.config.text_config
    sep, dec = cfg.sep_token_id, cfg.bos_token_id
    xs, ts = [], []
    for img in imgs:
        seq = [dec]
        with torch.inference_mode():
            for _ in range(15):
                logits = model.text_decoder(input_ids=torch.tensor([seq]), encoder_hidden_states=img,
                                            use_cache=False).logits[0, -1].clone()
                logits[sep] = -math.inf
                seq.append(int(torch.argmax(logits)))
        ts.append(blip_head_states(model, img, [seq])[0].clone())
        xs += list(range(len(seq)))
    t = torch.cat(ts).double()
    x = torch.tensor(xs, dtype=torch.float64)
    u = ((x - x.mean())[:, None] * (t - t.mean(0))).sum(0)
    u = (u / u.norm()).float()
    with torch.no_grad():
        model.text_decoder.bert.embeddings.word_embeddings.weight[sep] = BLIP_SEP_SCALE * u
        model.text_decoder.cls.predictions.bias[sep] += BLIP_SEP_BIAS


def blip_save(model, proc) -> None:
    model.generation_config.max_length = BLIP_GEN_MAX_LENGTH
    model.save_pretrained(str(BLIP_DEST), safe_serialization=True)
    clean_json(BLIP_DEST / "config.json")
    clean_json(BLIP_DEST / "generation_config.json")
    proc.save_pretrained(str(BLIP_DEST))


def blip_check_safetensors(path: Path) -> list[str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        keys = sorted(f.keys())
        for k in keys:
            assert f.get_slice(k).get_dtype() == "F32", k
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in keys}
    assert not any(k.startswith("text_decoder.cls.predictions.decoder.") for k in keys), keys
    assert shapes["text_decoder.cls.predictions.bias"] == (BLIP_N_LEARNED + 2,)
    assert shapes["text_decoder.bert.embeddings.word_embeddings.weight"] == (BLIP_N_LEARNED + 2, 48)
    assert shapes["vision_model.embeddings.class_embedding"] == (1, 1, 32)
    assert shapes["vision_model.embeddings.position_embedding"] == (1, 17, 32)
    assert shapes["vision_model.embeddings.patch_embedding.weight"] == (32, 3, 8, 8)
    assert shapes["vision_model.encoder.layers.0.self_attn.qkv.weight"] == (96, 32)
    assert shapes["text_decoder.bert.encoder.layer.0.crossattention.self.key.weight"] == (48, 32)
    assert not any("token_type" in k or "pooler" in k or k.startswith(("text_model", "visual_projection"))
                   for k in keys)
    return keys


def blip_manual_forward(t: dict, pv: torch.Tensor, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The docstring's BLIP forward from the raw checkpoint tensors: (vision last_hidden_state [17, 32], logits
    [len(ids), vocab]) for one image and one full prefix (positions 0..n-1, no cache)."""
    F = torch.nn.functional

    def lin(x, name):
        return x @ t[name + ".weight"].T + t[name + ".bias"]

    def ln(x, name, eps):
        return F.layer_norm(x, x.shape[-1:], t[name + ".weight"], t[name + ".bias"], eps)

    def attend(q, k, v, heads, mask=None):  # [n, d], [m, d], [m, d]; heads split the last dim in order
        n, d = q.shape
        hd = d // heads
        q, k, v = (z.reshape(z.shape[0], heads, hd).transpose(0, 1) for z in (q, k, v))
        s = q @ k.transpose(1, 2) / math.sqrt(hd)
        if mask is not None:
            s = s.masked_fill(mask, -math.inf)
        return (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(n, d)

    v = "vision_model."
    x = F.conv2d(pv, t[v + "embeddings.patch_embedding.weight"], t[v + "embeddings.patch_embedding.bias"], stride=8)
    x = x[0].flatten(1).T  # [16, 32], patches row-major
    x = torch.cat([t[v + "embeddings.class_embedding"][0], x]) + t[v + "embeddings.position_embedding"][0]
    for i in range(2):
        L = f"{v}encoder.layers.{i}."
        qkv = lin(ln(x, L + "layer_norm1", 1e-5), L + "self_attn.qkv")  # [17, 96] = q | k | v
        x = x + lin(attend(qkv[:, :32], qkv[:, 32:64], qkv[:, 64:], 4), L + "self_attn.projection")
        x = x + lin(F.gelu(lin(ln(x, L + "layer_norm2", 1e-5), L + "mlp.fc1")), L + "mlp.fc2")
    enc = ln(x, v + "post_layernorm", 1e-5)

    b = "text_decoder.bert."
    n = len(ids)
    h = t[b + "embeddings.word_embeddings.weight"][ids] + t[b + "embeddings.position_embeddings.weight"][:n]
    h = ln(h, b + "embeddings.LayerNorm", 1e-12)
    causal = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
    for i in range(2):
        L = f"{b}encoder.layer.{i}."
        a = attend(lin(h, L + "attention.self.query"), lin(h, L + "attention.self.key"),
                   lin(h, L + "attention.self.value"), 4, causal)
        h = ln(h + lin(a, L + "attention.output.dense"), L + "attention.output.LayerNorm", 1e-12)
        a = attend(lin(h, L + "crossattention.self.query"), lin(enc, L + "crossattention.self.key"),
                   lin(enc, L + "crossattention.self.value"), 4)
        h = ln(h + lin(a, L + "crossattention.output.dense"), L + "crossattention.output.LayerNorm", 1e-12)
        f = lin(F.gelu(lin(h, L + "intermediate.dense")), L + "output.dense")
        h = ln(h + f, L + "output.LayerNorm", 1e-12)
    c = "text_decoder.cls.predictions."
    h = ln(F.gelu(lin(h, c + "transform.dense")), c + "transform.LayerNorm", 1e-12)
    logits = h @ t[b + "embeddings.word_embeddings.weight"].T + t[c + "bias"]
    return enc, logits


def blip_step_log_probs(model, img, seqs: list[list[int]]) -> torch.Tensor:
    """reference_search's step for BLIP: the text decoder on each full prefix, no cache; img = vision output."""
    with torch.inference_mode():
        out = model.text_decoder(input_ids=torch.tensor(seqs), encoder_hidden_states=img.expand(len(seqs), -1, -1),
                                 use_cache=False)
    return torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)


def blip_main() -> None:
    import warnings

    from safetensors.torch import load_file
    from transformers import AutoTokenizer, BlipForConditionalGeneration, BlipProcessor

    try:  # transformers >= 5: the Pillow backend is its own class (BlipImageProcessor is the torchvision one)
        from transformers import BlipImageProcessorPil as SlowBlipImageProcessor
    except ImportError:  # transformers 4.x
        from transformers import BlipImageProcessor as SlowBlipImageProcessor

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, Pillow {Image.__version__}, "
          f"numpy {np.__version__}")
    if BLIP_DEST.exists():
        shutil.rmtree(BLIP_DEST)
    BLIP_DEST.mkdir(parents=True)

    tok = blip_make_tokenizer()
    torch.manual_seed(BLIP_SEED)
    model = BlipForConditionalGeneration(blip_make_config(tok)).eval()
    blip_randomize(model, BLIP_SEED)
    proc0 = SlowBlipImageProcessor(size={"height": 32, "width": 32})
    names = sorted(p.name for p in IMAGES.iterdir() if p.is_file())
    decoded = {n: viewer_decode(IMAGES / n) for n in names}
    with torch.inference_mode():
        imgs0 = [model.vision_model(pixel_values=proc0(images=decoded[n], return_tensors="pt")["pixel_values"])[0]
                 for n in names]
    blip_tune_sep(model, imgs0)
    blip_save(model, proc0)
    keys = blip_check_safetensors(BLIP_DEST / "model.safetensors")

    # everything below comes from the saved folder
    tok = AutoTokenizer.from_pretrained(str(BLIP_DEST))
    blip_check_tokenizer(tok)
    dec, sep, pad = tok.bos_token_id, tok.sep_token_id, tok.pad_token_id
    m = BlipForConditionalGeneration.from_pretrained(str(BLIP_DEST)).eval()
    with torch.no_grad():
        for (k1, p1), (k2, p2) in zip(m.state_dict().items(), model.state_dict().items()):
            assert k1 == k2 and torch.equal(p1, p2), k1
    tp = m.text_decoder.cls.predictions
    assert tp.decoder.weight.data_ptr() == m.text_decoder.bert.embeddings.word_embeddings.weight.data_ptr()
    assert tp.decoder.bias.data_ptr() == tp.bias.data_ptr()
    tc = m.config.text_config
    assert (tc.bos_token_id, tc.sep_token_id, tc.pad_token_id, tc.eos_token_id) == (dec, sep, pad, 2)
    # generation_config.json reaches the outer model only; generate() runs text_decoder.generate(), whose own
    # generation_config comes from text_config (no max_length) -> the global default (20 new tokens)
    assert m.generation_config.max_length == BLIP_GEN_MAX_LENGTH and m.text_decoder.generation_config.max_length is None
    proc = SlowBlipImageProcessor.from_pretrained(str(BLIP_DEST))
    assert (proc.size["height"], proc.size["width"]) == (32, 32) and proc.resample == 3, (proc.size, proc.resample)
    processor = BlipProcessor(image_processor=proc, tokenizer=tok)
    mean, std = np.array(proc.image_mean, dtype=np.float32), np.array(proc.image_std, dtype=np.float32)

    pvs, pv_err = {}, 0.0
    for n in names:
        im = decoded[n]
        pv = proc(images=im, return_tensors="pt")["pixel_values"]
        assert pv.shape == (1, 3, 32, 32) and pv.dtype == torch.float32
        assert torch.equal(pv, processor(images=im, return_tensors="pt")["pixel_values"])
        r = np.asarray(im.resize((32, 32), Image.BICUBIC)).astype(np.float64) * (1 / 255)
        mine = (r.astype(np.float32) - mean) / std
        pv_err = max(pv_err, float(np.abs(mine.transpose(2, 0, 1) - pv[0].numpy()).max()))
        pvs[n] = pv
    assert pv_err <= 1e-6, pv_err

    gen = {"decoder_start_token_id": dec, "eos_token_id": sep, "max_length": BLIP_DEFAULT_MAX_LENGTH, "num_beams": 1}
    out: dict = {"model": f"models/{BLIP_NAME}",
                 # what BlipForConditionalGeneration.generate() uses (see the docstring); generation_config.json's
                 # max_length (16) is NOT used: params {} = greedy with max_length 21
                 "generation": {"prompt_ids": [dec], "eos_token_id": sep, "pad_token_id": pad,
                                "default": {"max_length": BLIP_DEFAULT_MAX_LENGTH, "num_beams": 1},
                                "generation_config_json": {"max_length": BLIP_GEN_MAX_LENGTH, "used": False}},
                 "preprocess": [], "encoder": None, "first_step_logits": None, "cases": []}
    for n in PREPROCESS_IMAGES:
        v = pvs[n][0]
        out["preprocess"].append({"file": f"images/{n}", "pixel_values_first16": short_floats(v.reshape(-1)[:16]),
                                  "sum": f32(float(v.double().sum())), "pixel_values": short_floats(v)})
    first = names[0]
    tensors = load_file(BLIP_DEST / "model.safetensors")
    with torch.inference_mode():
        enc = m.vision_model(pixel_values=pvs[first])[0]
        out["encoder"] = {"file": f"images/{first}", "last_hidden_state": [short_floats(row) for row in enc[0]]}
        logits = m(pixel_values=pvs[first], input_ids=torch.tensor([[dec]])).logits
        out["first_step_logits"] = {"file": f"images/{first}", "logits": short_floats(logits[0, -1])}

    mismatches = 0
    for cname, params in BLIP_CASES:
        case = {"name": cname, "params": params, "images": []}
        for n in names:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Using the model-agnostic default `max_length` (=21)"
                e = run_case(m, tok, pvs[n], params, gen)
            assert e["ids"][0] == dec and processor.decode(e["ids"], skip_special_tokens=True) == e["text"]
            with torch.inference_mode():
                img = m.vision_model(pixel_values=pvs[n])[0]
            mine, steps = reference_search(m, img, params, gen, step_log_probs=blip_step_log_probs)
            if mine[0][0] != e["ids"] or steps != e["steps"] or ("beams" in e and (
                    [b["ids"] for b in e["beams"]] != [s for s, _ in mine]
                    or max(abs(b["score"] - s) for b, (_, s) in zip(e["beams"], mine)) > 1e-5)):
                mismatches += 1
                print(f"  MISMATCH {cname} {n}: generate {e['ids']} / {e.get('best_two_scores')}; "
                      f"steps {e['steps']}; reference_search {mine[:2]} steps {steps}")
            case["images"].append({"file": f"images/{n}", **e})
        out["cases"].append(case)
    assert mismatches == 0, mismatches
    by = {c["name"]: c for c in out["cases"]}

    # the docstring's forward, from the raw tensors, reproduces transformers (the default caption of each image, all
    # positions): to rounding in float64 (same algorithm), within float32 summation-order noise in float32
    import copy

    m64 = copy.deepcopy(m).double()
    t64 = {k: v.double() for k, v in tensors.items()}
    fwd_err = [0.0, 0.0, 0.0]
    for e in by["default"]["images"]:
        n = e["file"][7:]
        with torch.inference_mode():
            ref = m(pixel_values=pvs[n], input_ids=torch.tensor([e["ids"]]))
            ref64 = m64(pixel_values=pvs[n].double(), input_ids=torch.tensor([e["ids"]]))
        my_enc, my_logits = blip_manual_forward(tensors, pvs[n], e["ids"])
        fwd_err[0] = max(fwd_err[0], float((my_enc - ref.last_hidden_state[0]).abs().max()))
        fwd_err[1] = max(fwd_err[1], float((my_logits - ref.logits[0]).abs().max()))
        my_enc, my_logits = blip_manual_forward(t64, pvs[n].double(), e["ids"])
        fwd_err[2] = max(fwd_err[2], float((my_enc - ref64.last_hidden_state[0]).abs().max()),
                         float((my_logits - ref64.logits[0]).abs().max()))
    assert fwd_err[0] < 1e-5 and fwd_err[1] < 5e-4 and fwd_err[2] < 1e-10, fwd_err  # logits reach |31|
    dump(REF / f"{BLIP_NAME}.json", out)

    # report
    print(f"{BLIP_NAME}: {len(keys)} tensors, vocab {len(tok)} ([DEC] {dec}, [SEP] {sep}, [PAD] {pad}), pixel "
          f"max err {pv_err:.1e}, manual forward max err: float32 vision {fwd_err[0]:.1e}, logits {fwd_err[1]:.1e}; "
          f"float64 {fwd_err[2]:.1e}")
    print("greedy captions (max_length 16):")
    for e in by["greedy"]["images"]:
        print(f"  {e['file'][7:]:28s} {len(e['ids']) - 1:2d} tok {e['text']!r}")
    lens = [len(e["ids"]) - 1 for e in by["greedy"]["images"]]
    ended = sum(e["ids"][-1] == sep for e in by["greedy"]["images"])
    texts = [e["text"] for e in by["greedy"]["images"]]
    print(f"greedy: {len(set(texts))} distinct captions of {len(texts)}, generated lengths {sorted(lens)}, "
          f"{ended} end with [SEP]")
    assert len(set(texts)) >= len(texts) * 0.8 and ended >= 5 and sum(x <= 1 for x in lens) <= 2
    dl = [len(e["ids"]) - 1 for e in by["default"]["images"]]
    print(f"default (greedy, max_length {BLIP_DEFAULT_MAX_LENGTH}): generated lengths {sorted(dl)}, "
          f"{sum(e['ids'][-1] == sep for e in by['default']['images'])} end with [SEP]")
    assert max(dl) == BLIP_DEFAULT_MAX_LENGTH - 1
    for c in out["cases"]:
        if "tied" in c["images"][0]:
            tied = sum(e["tied"] for e in c["images"])
            differs = sum(a["ids"] != b["ids"] for a, b in zip(c["images"], by["greedy"]["images"]))
            print(f"  {c['name']:46s} tied {tied:2d}/{len(c['images'])}, "
                  f"[SEP]-ended {sum(e['ids'][-1] == sep for e in c['images']):2d}, differs from greedy on {differs}")
    diff = lambda a, b: sum(x["ids"] != y["ids"] for x, y in zip(by[a]["images"], by[b]["images"]))  # noqa: E731
    es = "beam3_early_stopping_{}_length_penalty_1.5"
    print(f"early_stopping (length_penalty 1.5) true vs false differ on {diff(es.format('true'), es.format('false'))}, "
          f"false vs never {diff(es.format('false'), es.format('never'))}, "
          f"true vs never {diff(es.format('true'), es.format('never'))}; "
          f"ngram beam {diff('beam4_no_repeat_ngram_2', 'beam4')}; default vs greedy {diff('default', 'greedy')}")
    for e in by["beam4_no_repeat_ngram_2"]["images"]:  # no bigram twice, [DEC] included
        for ids in [b["ids"] for b in e["beams"]]:
            assert len(set(zip(ids, ids[1:]))) == len(ids) - 1, (e["file"], ids)
    size = sum(p.stat().st_size for p in BLIP_DEST.iterdir())
    ref_size = (REF / f"{BLIP_NAME}.json").stat().st_size
    print(f"{BLIP_NAME}: folder {size} bytes; reference {ref_size} bytes")
    assert size < 1_000_000 and ref_size < 400_000

if __name__ == "__main__":
    if sys.argv[1:] == ["bin"]:
        sys.exit(write_pytorch_bin())
    if sys.argv[1:] == ["blip"]:
        sys.exit(blip_main())
    main()
    write_pytorch_bin()
    blip_main()
