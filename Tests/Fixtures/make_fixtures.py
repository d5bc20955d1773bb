#!/usr/bin/env python3
"""Generate Glimpse's test fixtures (see CONTRACT.md next to this file).

    HF_HUB_OFFLINE=1 python3 Tests/Fixtures/make_fixtures.py

Needs torch, transformers (5.x), tokenizers, Pillow, numpy, scikit-image, safetensors and open-clip-torch (only for
its bundled BPE vocabulary and, as a cross-check, its original OpenAI tokenizer). Nothing is downloaded: the
vocabulary comes from open_clip's package data, photos from scikit-image's bundled samples, models are random.
Deterministic: fixed seeds everywhere, so re-running reproduces the same files (for the same library versions).

Writes, next to this file:
  models/clip-tiny-f32/  models/clip-tiny-f16/  images/  images/broken/  reference/

Preprocessing rules (transformers CLIPImageProcessorPil == the Pillow path of the CLIP image processor; read from
transformers/image_transforms.py + image_processing_backends.py, transformers 5.23.0, Pillow 13.0.0). The Swift side
must copy them exactly:
  * input: the viewer-faithful decode below (8-bit RGB). The processor's own convert_to_rgb is then a no-op.
  * resize ("shortest_edge": S, default_to_square=False): short, long = sorted(w, h) (if w == h, w is "short");
        new_short = S
        new_long  = int(S * long / short)      # Python: exact integer product, true division, then TRUNCATION
    so (w=640, h=427, S=224) -> 335 x 224 (335.737... truncated, not rounded). If w <= h the width is the short side.
    Resampling: PIL.Image.resize((new_w, new_h), Image.BICUBIC) on the uint8 RGB image, reducing_gap=None, no box
    (Pillow's separable convolution, cubic a = -0.5, support 2 scaled by the downscale factor, i.e. antialiased),
    result rounded/clamped to uint8 by Pillow.
  * center crop to (crop_h, crop_w):
        top  = (H - crop_h) // 2       # floor
        left = (W - crop_w) // 2       # floor
    crop = img[top:top+crop_h, left:left+crop_w]. (Pads with zeros if smaller; never happens here since S >= crop.)
  * rescale: float32(float64(v) * (1/255))  -- computed in float64 then cast to float32
  * normalize: (x - float32(mean_c)) / float32(std_c) in float32, CLIP mean (0.48145466, 0.4578275, 0.40821073),
    std (0.26862954, 0.26130258, 0.27577711). Layout NCHW.

Viewer-faithful decode (viewer_decode below): Pillow open, frame 0, ImageOps.exif_transpose, 16-bit samples -> 8 bit
by v >> 8 (Pillow itself already does this for 16-bit RGB/RGBA PNG; 16-bit grey opens as "I;16" and is shifted here),
alpha (RGBA, LA, PA, P or L with a tRNS/transparency entry) composited over opaque white with
PIL.Image.alpha_composite, which is exactly  out = round((c * a + 255 * (255 - a)) / 255)  (checked for all c, a),
then convert("RGB") (L -> RGB replicates; CMYK -> RGB is Pillow's naive conversion, hence "cmyk": true = loose).

Text: ids come from the *fast* tokenizer (in transformers 5 the only one: CLIPTokenizer is tokenizers-backed),
tok(text, truncation=True, max_length=77)["input_ids"]; features are get_text_features(input_ids) with one text per
call and no attention mask. The text tower pools the hidden state at the FIRST position whose id == eos_token_id
(49407), not at argmax(ids) -- that matters for texts that contain a literal "<|endoftext|>".
Tokenizer facts the Swift side must copy (all asserted in check_tokenizer / visible in reference/texts.json):
  * "<|startoftext|>" / "<|endoftext|>" written literally in the text are added special tokens, matched on the raw
    text (case-sensitive, before normalisation): "a <|endoftext|> b" -> [49406, 320, 49407, 321, 49407].
    "<|ENDOFTEXT|>" is not special: it is lowercased and then BPE'd as ordinary text.
  * normalizer: NFC, then every regex \s+ run -> " " (Oniguruma \s: includes NBSP, U+3000, U+2028, U+0085, but not
    U+200B / U+FEFF), then per-character lowercase (no final-sigma rule: "ΣΑΣ" -> "σασ"; "İ" -> "i̇").
    No ftfy, no html.unescape (OpenAI's original tokenizer does both; it differs on ~26 of these texts).
  * pre-tokenizer: Split(regex <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|
    [^\s\p{L}\p{N}]+, matches kept, the rest removed), then ByteLevel(add_prefix_space=False, use_regex=True): the
    GPT-2 regex splits the pieces once more (only changes anything for a lowercased "<|endoftext|>" piece, which
    becomes "<|", "endoftext", "|>").
  * BPE: end_of_word_suffix "</w>", no continuing prefix, merges by rank; then truncation of the content to 75 and
    the post-processor wraps it in 49406 ... 49407.
Activations: "quick_gelu" = x * sigmoid(1.702 x); "gelu" = exact erf GELU. LayerNorm eps 1e-5 everywhere.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
import sys
import zlib
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
from PIL import Image, ImageOps

import transformers
from transformers import CLIPConfig, CLIPModel, CLIPTokenizerFast

try:  # transformers >= 5: the Pillow backend is its own class (CLIPImageProcessor is the torchvision one)
    from transformers import CLIPImageProcessorPil as SlowCLIPImageProcessor
except ImportError:  # transformers 4.x: CLIPImageProcessor is the slow (Pillow) one
    from transformers import CLIPImageProcessor as SlowCLIPImageProcessor

import skimage.data
import skimage.transform

ROOT = Path(__file__).resolve().parent
MODELS = ROOT / "models"
IMAGES = ROOT / "images"
BROKEN = IMAGES / "broken"
REF = ROOT / "reference"
CROPS = REF / "crops"

VOCAB_SIZE = 49408
BOS, EOS = 49406, 49407
MAX_LEN = 77


# ----------------------------------------------------------------------------------------------------------------------
# Tokenizer
# ----------------------------------------------------------------------------------------------------------------------


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP byte -> printable unicode char table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def build_vocab(workdir: Path) -> tuple[Path, Path]:
    import open_clip

    bpe = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.open(bpe).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == VOCAB_SIZE == len(set(vocab)), len(vocab)
    assert vocab.index("<|startoftext|>") == BOS and vocab.index("<|endoftext|>") == EOS
    workdir.mkdir(parents=True, exist_ok=True)
    vocab_path = workdir / "vocab.json"
    merges_path = workdir / "merges.txt"
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False, separators=(",", ":"))
    with open(merges_path, "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for m in merges:
            f.write(" ".join(m) + "\n")
    return vocab_path, merges_path


SPECIAL_TOKENS_MAP = {
    "bos_token": {"content": "<|startoftext|>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
    "eos_token": {"content": "<|endoftext|>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
    "pad_token": "<|endoftext|>",
    "unk_token": {"content": "<|endoftext|>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
}


def make_tokenizer(workdir: Path) -> CLIPTokenizerFast:
    build_vocab(workdir)
    # transformers 5: CLIPTokenizerFast is CLIPTokenizer (tokenizers-backed) and builds itself from vocab.json +
    # merges.txt in a folder (no slow->fast conversion involved).
    tok = CLIPTokenizerFast.from_pretrained(str(workdir), model_max_length=MAX_LEN)
    assert len(tok) == VOCAB_SIZE
    assert tok("a photo of a cat")["input_ids"] == [BOS, 320, 1125, 539, 320, 2368, EOS]
    return tok


def write_tokenizer_files(tok: CLIPTokenizerFast, vocab_dir: Path, dest: Path, with_tokenizer_json: bool) -> None:
    tmp = dest / "_tok"
    tok.save_pretrained(str(tmp))
    cfg = json.loads((tmp / "tokenizer_config.json").read_text())
    for k in ("is_local", "local_files_only"):  # machine-local noise
        cfg.pop(k, None)
    cfg["model_max_length"] = MAX_LEN
    (dest / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")
    smap = tmp / "special_tokens_map.json"
    if smap.exists():
        shutil.copy(smap, dest / "special_tokens_map.json")
    else:  # transformers 5 no longer writes it; write the classic CLIP one
        (dest / "special_tokens_map.json").write_text(json.dumps(SPECIAL_TOKENS_MAP, indent=2) + "\n")
    if with_tokenizer_json:
        # Same content as save_pretrained's file, re-serialised without indentation (3.6 MB -> ~1.6 MB): the
        # pretty-printed form puts every merge pair on four lines.
        tj = json.loads((tmp / "tokenizer.json").read_text(encoding="utf-8"))
        with open(dest / "tokenizer.json", "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False, separators=(",", ":"))
    else:
        shutil.copy(vocab_dir / "vocab.json", dest / "vocab.json")
        shutil.copy(vocab_dir / "merges.txt", dest / "merges.txt")
    shutil.rmtree(tmp)


# ----------------------------------------------------------------------------------------------------------------------
# Texts
# ----------------------------------------------------------------------------------------------------------------------


def make_texts() -> list[str]:
    captions = [
        "a photo of a cat",
        "a photo of a dog",
        "an astronaut in a white space suit",
        "a cup of coffee on a saucer",
        "a rocket on the launch pad",
        "a tabby cat looking at the camera",
        "the moon seen through a telescope",
        "a pile of old coins",
        "a man holding a camera",
        "a red car parked on the street",
        "two people walking on the beach at sunset",
        "a bowl of fresh fruit on a wooden table",
        "a snowy mountain under a clear blue sky",
        "a child riding a bicycle in the park",
        "a plate of spaghetti with tomato sauce",
        "a black and white photograph of a city",
        "a close-up of a flower with a bee",
        "an aerial view of a river winding through a forest",
        "a crowded market in the evening",
        "a dog catching a frisbee",
        "a bird sitting on a branch",
        "a boat on a calm lake",
        "a person typing on a laptop",
        "a kitchen with white cabinets",
        "a bedroom with a large window",
        "a train crossing a bridge",
        "a group of friends at a birthday party",
        "a screenshot of a spreadsheet",
        "a diagram of the solar system",
        "a handwritten note on yellow paper",
        "a blurry photo taken at night",
        "a sunset over the ocean",
        "fireworks over a city skyline",
        "a horse running in a field",
        "a cake with lit candles",
        "a street sign in the rain",
        "a pair of running shoes",
        "a stack of books on a desk",
        "a microscope image of cells",
        "a galaxy in deep space",
        "an old man reading a newspaper",
        "a baby sleeping in a crib",
        "a lighthouse on a rocky coast",
        "a field of sunflowers",
        "a cat sleeping on a keyboard",
        "a waterfall in the jungle",
        "a plane taking off from an airport",
        "a bowl of ramen",
        "a selfie in front of the eiffel tower",
        "a receipt from a grocery store",
        "a whiteboard full of equations",
        "a painting of a woman with a pearl earring",
        "a cartoon drawing of a robot",
        "a traffic jam on the highway",
        "a dark room lit by a single candle",
        "snow",
        "cat",
        "dog",
        "beach",
        "mountains",
        "food",
        "receipt",
        "Cat",
        "CAT",
        "A Photo Of A Cat",
        "A PHOTO OF A CAT",
        "photo of my passport",
        "invoice",
        "wedding",
        "graduation ceremony",
        "my kids at the zoo",
        "christmas tree with presents",
        "halloween costumes",
        "the quick brown fox jumps over the lazy dog",
        "pack my box with five dozen liquor jugs",
        "sphinx of black quartz, judge my vow",
        "a photo of a cat.",
        "a photo of a cat, a dog, and a bird",
        "a photo of a cat; a photo of a dog",
        "a photo of a cat (black) [white] {gray}",
        "a photo of a \"cat\"",
        "a photo of a 'cat'",
        "a photo of a cat/dog",
        "a photo of a cat-dog",
        "a photo of a cat_dog",
        "photosynthesis",
        "antidisestablishmentarianism",
        "supercalifragilisticexpialidocious",
        "pneumonoultramicroscopicsilicovolcanoconiosis",
        "llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
        "iPhone screenshot",
        "McDonald's",
        "O'Brien's pub",
        "rock'n'roll",
        "e-mail",
        "x-ray of a hand",
        "hello</w>",
        "</w>",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    ]
    accents = [
        "café au lait",
        "crème brûlée",
        "naïve façade",
        "jalapeño",
        "piñata at a party",
        "Über den Wolken",
        "Müller's bäckerei",
        "Straße",
        "STRASSE",
        "São Paulo",
        "Ångström",
        "Smørrebrød",
        "Kraków",
        "Dvořák",
        "İstanbul",
        "ıi Iİ",
        "ΣΑΣ",
        "ΟΔΥΣΣΕΥΣ",
        "Ǆǅǆ",
        "ﬁne ﬂowers",
        "ＡＢＣ ｆｕｌｌｗｉｄｔｈ",
        "Москва",
        "Привет, мир!",
        "Ελληνικά",
        "مرحبا بالعالم",
        "שלום עולם",
        "नमस्ते दुनिया",
        "สวัสดีชาวโลก",
        "Tiếng Việt có dấu",
    ]
    combining = [
        "e\u0301",
        "cafe\u0301",
        "cafe\u0301 vs caf\u00e9",
        "n\u0303",
        "a\u0308\u0301",
        "q\u0301",
        "\u0301",
        "\u212b",  # ANGSTROM SIGN, NFC -> U+00C5
        "\u1e9b\u0323",
        "Zalgo t\u0337\u0321e\u0336\u0327x\u0334t",
        "\u1100\u1161\u11a8",  # conjoining jamo, NFC -> U+AC01
    ]
    cjk = [
        "你好世界",
        "一只猫的照片",
        "北京天安门",
        "猫",
        "日本語のテキスト",
        "東京タワーの写真",
        "ねこ",
        "カタカナ",
        "ｶﾀｶﾅ",
        "한국어",
        "고양이 사진",
        "서울의 야경",
        "猫 cat ねこ 고양이",
        "中文，标点。",
        "全角　スペース",
    ]
    emoji = [
        "🐱",
        "a photo of a 🐱",
        "🐶🐱🐭",
        "👍🏽",
        "👩‍👩‍👧",
        "👨‍💻 at work",
        "🏳️‍🌈",
        "🇫🇷",
        "🇯🇵🇺🇸🇩🇪",
        "❤️",
        "☕ and 🍰",
        "🎉🎉🎉 party",
        "😀😃😄😁😆😅😂🤣",
        "✨sparkles✨",
        "©®™",
    ]
    urls = [
        "https://example.com",
        "http://www.example.org/path/to/page.html?q=1&r=2#frag",
        "www.google.com",
        "john.doe@example.com",
        "mailto:someone@example.org",
        "ftp://files.example.net/pub/file.tar.gz",
        "see https://github.com/openai/CLIP for details",
        "user_name+tag@sub.domain.co.uk",
        "C:\\Users\\photos\\IMG_0001.JPG",
        "/home/user/Pictures/2023-07-14 beach.png",
        "#hashtag @mention",
        "café&amp;bar &lt;b&gt;",
    ]
    punct = [
        "!!!???",
        "...",
        "…",
        "—",
        "a — b – c - d",
        "wow!!!",
        "what?!",
        "hmm...",
        "(((nested)))",
        "[]{}()<>",
        "***",
        "---",
        "___",
        "~!@#$%^&*()_+",
        "«quotes» „German“ “curly” ‘single’",
        "it’s",
        "don’t",
        "a.b.c",
        "!",
        "?",
        ",",
        "' '",
        "''",
        "'",
        "'s",
        "''s",
        "'''",
        "!'s",
    ]
    numbers = [
        "1",
        "12345",
        "2023",
        "photos from 2019",
        "3.14159",
        "1,000,000",
        "-42",
        "+1 (555) 123-4567",
        "10:30 am",
        "2023-07-14",
        "1st 2nd 3rd 4th",
        "100%",
        "$19.99",
        "€5",
        "0x1F",
        "١٢٣ Arabic-Indic digits",
        "①②③",
        "Ⅻ",
        "²³",
        "½ cup",
        "12345678901234567890",
        "room 101",
        "iPhone 15 Pro",
        "4K HDR",
    ]
    contractions = [
        "don't",
        "it's",
        "we'll",
        "IT'S",
        "It's",
        "I'm",
        "you're",
        "they've",
        "she'd",
        "can't won't shouldn't",
        "WE'LL",
        "I'M HERE",
        "DON'T",
        "y'all",
        "it's a cat's toy",
        "the dogs' bowls",
        "'twas",
        "let's go",
    ]
    whitespace = [
        "a\tb",
        "a\nb",
        "a\r\nb",
        "a  b",
        "a        b",
        "  leading spaces",
        "trailing spaces   ",
        "\ttabbed\t",
        "line one\nline two\nline three",
        "a\u00a0b",  # NBSP
        "a\u3000b",  # ideographic space
        "a\u2003b",  # em space
        "a\u200bb",  # zero width space (not whitespace)
        "a\ufeffb",  # BOM / ZWNBSP
        "a\u0085b",  # NEL
        "a\u2028b",  # line separator
        "a\x0bb\x0cc",  # VT, FF
        "a\x1cb",  # file separator (Python isspace, not Unicode White_Space)
        "a\x07b",  # BEL
        "a\u00adb",  # soft hyphen
        "a\u200db",  # ZWJ alone
    ]
    specials = [
        "<|endoftext|>",
        "<|startoftext|>",
        "<|startoftext|> hi",
        "a <|endoftext|> b",
        "<|endoftext|>x",
        "x<|endoftext|>",
        "<|endoftext|><|endoftext|>",
        "<|endoftext",
        "endoftext|>",
        "< | endoftext | >",
        "<|ENDOFTEXT|>",
        "<|EndOfText|>",
        "<|startoftext|>",
        "<|startoftext|><|endoftext|>",
        "< |endoftext|>",
        "<||endoftext||>",
        "<start_of_text>",
        "<end_of_text>",
        "[CLS] [SEP] [PAD]",
        "<s> </s> <unk> <pad>",
    ]
    empty = ["", " ", "   ", "\t", "\n", "\n\t  \r\n", "\u3000"]
    words = [
        "photo", "cat", "dog", "sunset", "mountain", "river", "the", "a", "of", "beautiful", "old", "city",
        "street", "light", "night", "blue", "green", "red", "house", "tree", "water", "people", "car", "sky",
    ]
    rng = np.random.default_rng(1234)
    long_300 = " ".join(words[i] for i in rng.integers(0, len(words), 300))
    long_2000 = ("The quick brown fox jumps over the lazy dog. " * 50)[:2000]
    long_unbroken = "a" * 2000
    long_cjk = "猫" * 200
    long_emoji = "🐱" * 100
    boundary = ["cat " * 74, ("cat " * 75).strip(), ("cat " * 76).strip(), ("cat " * 77).strip(), "! " * 80]
    long_texts = [long_300, long_2000, long_unbroken, long_cjk, long_emoji, *boundary]

    texts = (captions + accents + combining + cjk + emoji + urls + punct + numbers + contractions + whitespace
             + specials + empty + long_texts)
    # keep order, drop exact duplicates
    seen: set[str] = set()
    out = []
    for t in texts:
        if t not in seen:
            seen.add(t)
            out.append(t)
    assert len(out) >= 220, len(out)
    return out


def tokenize(tok: CLIPTokenizerFast, text: str) -> list[int]:
    return tok(text, truncation=True, max_length=MAX_LEN)["input_ids"]


def check_tokenizer(tok: CLIPTokenizerFast, texts: list[str]) -> None:
    """Assert the behaviour the Swift side relies on; compare with OpenAI's original tokenizer (open_clip)."""
    t = lambda s: tokenize(tok, s)
    assert t("") == [BOS, EOS]
    assert t("   ") == [BOS, EOS]
    assert t("12345") == [BOS, 272, 273, 274, 275, 276, EOS]  # one token per digit
    assert t("IT'S") == t("it's") == [BOS, 585, 568, EOS]  # lowercased before the contraction split
    assert t("e\u0301") == t("\u00e9")  # NFC
    assert t("a\tb\n c") == t("a b c")  # any \s run -> one space
    # literal special tokens in the input are matched (case-sensitively, before normalisation) as added tokens
    assert t("<|endoftext|>") == [BOS, EOS, EOS]
    assert t("<|startoftext|> hi") == [BOS, BOS, 1883, EOS]
    assert EOS not in t("<|ENDOFTEXT|>")[1:-1]
    # lowercase is per character (no final-sigma rule): ΣΑΣ -> σασ
    assert tok.convert_ids_to_tokens(t("ΣΑΣ"))[-2].endswith("ĥ</w>")
    for s in texts:
        ids = t(s)
        assert ids[0] == BOS and ids[-1] == EOS and len(ids) <= MAX_LEN, s
    assert len(t(texts[-1])) == MAX_LEN
    # the backend must be what we believe it is
    tj = json.loads(tok.backend_tokenizer.to_str())
    assert [n["type"] for n in tj["normalizer"]["normalizers"]] == ["NFC", "Replace", "Lowercase"]
    assert [p["type"] for p in tj["pre_tokenizer"]["pretokenizers"]] == ["Split", "ByteLevel"]

    try:
        from open_clip.tokenizer import SimpleTokenizer
    except ImportError:
        return
    st = SimpleTokenizer()
    diffs = []
    for s in texts:
        ref = st(s)[0].tolist()
        ref = ref[: ref.index(EOS) + 1] if EOS in ref else ref
        if ref != t(s):
            diffs.append(s)
    print(f"tokenizer: {len(texts) - len(diffs)}/{len(texts)} texts agree with OpenAI's original tokenizer "
          f"(ftfy + html.unescape + python lower()); differing: {[d[:30] for d in diffs]}")


# ----------------------------------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------------------------------


def model_config(act: str, image_size: int, patch_size: int) -> CLIPConfig:
    text = dict(
        vocab_size=VOCAB_SIZE, hidden_size=16, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        max_position_embeddings=MAX_LEN, hidden_act=act, projection_dim=16,
        bos_token_id=BOS, eos_token_id=EOS, pad_token_id=1,
    )
    vision = dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_channels=3,
        image_size=image_size, patch_size=patch_size, hidden_act=act, projection_dim=16,
    )
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)


def make_model(seed: int, act: str, image_size: int, patch_size: int) -> CLIPModel:
    torch.manual_seed(seed)
    model = CLIPModel(model_config(act, image_size, patch_size)).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            noise = torch.randn(p.shape, generator=g)
            is_norm = ("layer_norm" in name or "layrnorm" in name or "layernorm" in name)
            if is_norm and name.endswith(".weight"):
                p.copy_(1.0 + 0.1 * noise)  # LayerNorm gains around 1
            elif name.endswith(".bias") or name.endswith("class_embedding"):
                p.copy_(0.05 * noise)  # non-trivial biases (incl. LayerNorm betas)
            else:
                p.add_(0.02 * noise)
    return model


def save_model(model: CLIPModel, dest: Path, dtype: torch.dtype) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    m = model.to(dtype)
    try:
        m.save_pretrained(str(dest), safe_serialization=True)
    except TypeError:  # newer transformers: safetensors is the only format
        m.save_pretrained(str(dest))
    model.to(torch.float32)
    cfg = json.loads((dest / "config.json").read_text())
    assert "text_config" in cfg and "vision_config" in cfg, cfg.keys()


def load_model(path: Path) -> CLIPModel:
    m = CLIPModel.from_pretrained(str(path), dtype=torch.float32, attn_implementation="eager")
    return m.eval()


def check_safetensors(path: Path, want: str) -> list[str]:
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    assert dtypes == {want}, (path, dtypes)
    return sorted(k for k in header if k != "__metadata__")


# ----------------------------------------------------------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------------------------------------------------------


def png_16bit(path: Path, arr: np.ndarray) -> None:
    """Minimal 16-bit PNG writer (colour type 0 for HxW, 2 for HxWx3, 6 for HxWx4), big-endian samples."""
    arr = np.asarray(arr, dtype=">u2")
    h, w = arr.shape[:2]
    ctype = 0 if arr.ndim == 2 else {3: 2, 4: 6}[arr.shape[2]]
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def pil(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(a))


def resized(a: np.ndarray, w: int, h: int) -> Image.Image:
    return pil(a).resize((w, h), Image.LANCZOS)


def with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def make_images() -> dict[str, dict]:
    """Returns {file name: flags}."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    BROKEN.mkdir(parents=True, exist_ok=True)
    astro = skimage.data.astronaut()  # 512x512 RGB
    coffee = skimage.data.coffee()  # 400x600 RGB
    chelsea = skimage.data.chelsea()  # 300x451 RGB
    rocket = skimage.data.rocket()  # 427x640 RGB
    camera = skimage.data.camera()  # 512x512 L
    moon = skimage.data.moon()  # 512x512 L
    coins = skimage.data.coins()  # 303x384 L
    hubble = skimage.data.hubble_deep_field()  # 872x1000 RGB
    colorwheel = skimage.data.colorwheel()  # 370x371 RGB
    flags: dict[str, dict] = {}

    def add(name: str, **kw) -> Path:
        flags[name] = {"large": kw.get("large", False), "cmyk": kw.get("cmyk", False)}
        return IMAGES / name

    # JPEG
    pil(astro).save(add("astronaut_baseline.jpg"), quality=88)
    pil(coffee).save(add("coffee_progressive.jpg"), quality=85, progressive=True)
    pil(camera).save(add("camera_gray.jpg"), quality=85)  # 8-bit greyscale JPEG (1 component)
    resized(rocket, 200, 134).save(add("rocket_444.jpg"), quality=90, subsampling=0)  # 4:4:4 chroma
    # EXIF orientation (same photo; non-square so that rotations are visible)
    base = resized(rocket, 150, 100)
    for o in (3, 6, 8):
        base.save(add(f"rocket_exif{o}.jpg"), quality=88, exif=with_orientation(o))
    # CMYK JPEG (Pillow's RGB->CMYK is naive; so is its CMYK->RGB: loose reference)
    resized(rocket, 320, 214).convert("CMYK").save(add("rocket_cmyk.jpg", cmyk=True), quality=90)
    # large (>= 3000 px long side) by upscaling a sample photo
    pil(coffee).resize((3000, 2000), Image.BICUBIC).save(add("coffee_large.jpg", large=True), quality=50)

    # PNG
    pil(moon).resize((256, 256), Image.LANCZOS).save(add("moon_gray.png"), optimize=True)
    pal = resized(chelsea, 180, 120).quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal.save(add("chelsea_palette.png"), optimize=False)
    # palette PNG with tRNS: per-entry alpha (some fully transparent, some partial)
    palt = resized(rocket, 240, 160).quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    alphas = bytes([0, 64, 128, 192] + [255] * 28)
    palt.save(add("rocket_palette_trns.png"), transparency=alphas)
    # RGBA with real partial transparency: radial alpha ramp + fully transparent corner block
    rgba = np.array(pil(astro).resize((160, 160), Image.LANCZOS).convert("RGBA"))
    yy, xx = np.mgrid[0:160, 0:160]
    r = np.sqrt((yy - 80.0) ** 2 + (xx - 80.0) ** 2)
    rgba[..., 3] = np.clip(255 - (r - 40) * 3.5, 0, 255).astype(np.uint8)
    rgba[:25, :25, 3] = 0
    pil(rgba).save(add("astronaut_rgba.png"))
    # LA (grey + alpha)
    la = np.stack([np.array(resized(coins, 192, 152)), np.tile(np.linspace(0, 255, 192), (152, 1)).astype(np.uint8)], -1)
    Image.fromarray(la, "LA").save(add("coins_gray_alpha.png"))
    # greyscale with tRNS (one grey level transparent)
    gt = resized(coins, 192, 152).point(lambda v: (v // 16) * 16)
    gt.save(add("coins_gray_trns.png"), transparency=128)
    # 16-bit RGB and 16-bit grey, with non-trivial low bytes
    rng = np.random.default_rng(7)
    f = skimage.transform.resize(astro, (112, 112), anti_aliasing=True)  # float64 in [0, 1]
    v16 = np.clip(np.round(f * 65535), 0, 65535).astype(np.uint16)  # low bytes non-trivial
    png_16bit(add("astronaut_rgb16.png"), v16)
    g16 = np.clip(np.round(skimage.transform.resize(camera, (128, 128), anti_aliasing=True) * 65535
                           + rng.integers(-300, 300, (128, 128))), 0, 65535).astype(np.uint16)
    png_16bit(add("camera_gray16.png"), g16)
    # tiny, very wide, very tall
    resized(astro, 3, 5).save(add("tiny_3x5.png"))
    resized(hubble, 1200, 40).save(add("wide_1200x40.png"))
    pil(rocket[:, 250:290]).resize((40, 1200), Image.BICUBIC).save(add("tall_40x1200.jpg"), quality=85)

    # GIF: 2 frames (the first counts), and one with a transparent index
    f0 = resized(chelsea, 120, 80).quantize(colors=128, dither=Image.Dither.NONE)
    f1 = ImageOps.invert(resized(chelsea, 120, 80)).quantize(colors=128, dither=Image.Dither.NONE)
    f0.save(add("chelsea_anim.gif"), save_all=True, append_images=[f1], duration=200, loop=0)
    wheel = resized(colorwheel, 160, 160).quantize(colors=63, dither=Image.Dither.NONE)
    wa = np.array(wheel)
    wa[:, :40] = 63  # a band with the transparent index
    wp = Image.fromarray(wa, "P")
    pal_bytes = wheel.getpalette()[: 63 * 3] + [0, 255, 0]
    wp.putpalette(pal_bytes)
    wp.save(add("colorwheel_transparent.gif"), transparency=63)

    # WebP (lossy), TIFF, BMP
    pil(coffee).resize((180, 120), Image.LANCZOS).save(add("coffee_lossy.webp"), quality=75, lossless=False)
    resized(astro, 128, 128).save(add("astronaut.tiff"), compression="tiff_lzw")
    resized(rocket, 160, 107).save(add("rocket.bmp"))

    # broken files
    (BROKEN / "empty.png").write_bytes(b"")
    jpg = (IMAGES / "astronaut_baseline.jpg").read_bytes()
    (BROKEN / "truncated.jpg").write_bytes(jpg[: int(len(jpg) * 0.3)])
    (BROKEN / "notes.png").write_text("These are my notes, not a PNG.\nShopping: milk, eggs, bread.\n")

    # checks on what we wrote
    with Image.open(IMAGES / "astronaut_rgb16.png") as im:
        assert im.mode == "RGB", im.mode
        assert np.array_equal(np.asarray(im), (v16 >> 8).astype(np.uint8)), "Pillow does not take the high byte"
    with Image.open(IMAGES / "camera_gray16.png") as im:
        assert im.mode.startswith("I"), im.mode
        assert np.array_equal(np.asarray(im).astype(np.uint16), g16)
    with Image.open(IMAGES / "chelsea_anim.gif") as im:
        assert getattr(im, "n_frames", 1) == 2
    with Image.open(IMAGES / "colorwheel_transparent.gif") as im:
        ti = im.info.get("transparency")
        assert ti is not None and (np.asarray(im)[:, :40] == ti).all(), im.info
    with Image.open(IMAGES / "coffee_progressive.jpg") as im:
        assert im.info.get("progressive") or im.info.get("progression")
    with Image.open(IMAGES / "coffee_large.jpg") as im:
        assert max(im.size) >= 3000
    for o in (3, 6, 8):
        with Image.open(IMAGES / f"rocket_exif{o}.jpg") as im:
            assert im.getexif().get(0x0112) == o
    for b in sorted(BROKEN.iterdir()):
        try:
            viewer_decode(b)
        except Exception:  # UnidentifiedImageError for empty.png / notes.png, OSError for truncated.jpg
            pass
        else:
            raise AssertionError(f"{b} decodes")
    return flags


def viewer_decode(path: Path) -> Image.Image:
    """The reference decode the Swift decoder must match (CONTRACT.md)."""
    with Image.open(path) as im:
        im.seek(0)  # first frame
        im = ImageOps.exif_transpose(im)  # returns a loaded copy (transposed if orientation != 1)
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im).astype(np.int64)
        assert a.min() >= 0 and a.max() <= 65535, (path, a.min(), a.max())
        im = Image.fromarray((a >> 8).astype(np.uint8), "L")  # transparency of 16-bit grey not handled (none here)
    if "A" in im.getbands() or im.info.get("transparency") is not None:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)  # == round((c*a + 255*(255-a)) / 255)
    return im.convert("RGB")


def crop_like_processor(im: Image.Image, shortest_edge: int, crop: int) -> np.ndarray:
    w, h = im.size
    if w <= h:
        nw, nh = shortest_edge, int(shortest_edge * h / w)
    else:
        nw, nh = int(shortest_edge * w / h), shortest_edge
    r = np.asarray(im.resize((nw, nh), Image.BICUBIC))
    top, left = (nh - crop) // 2, (nw - crop) // 2
    return r[top : top + crop, left : left + crop]


# ----------------------------------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------------------------------

MODEL_SPECS = {
    "clip-tiny-f32": dict(seed=1001, act="quick_gelu", image_size=224, patch_size=32, dtype=torch.float32,
                          st="F32", shortest_edge=224, crop=224, tokenizer_json=True),
    "clip-tiny-f16": dict(seed=2002, act="gelu", image_size=64, patch_size=16, dtype=torch.float16,
                          st="F16", shortest_edge=72, crop=64, tokenizer_json=False),
}


def fl(t: torch.Tensor) -> list[float]:
    return [float(x) for x in t.detach().to(torch.float32).reshape(-1).tolist()]


def cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.reshape(1, -1), b.reshape(1, -1)).item())


def main() -> None:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # bit-stable reductions
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, Pillow {Image.__version__}, "
          f"numpy {np.__version__}")
    for d in (MODELS, IMAGES, REF):
        if d.exists():
            shutil.rmtree(d)
    CROPS.mkdir(parents=True)

    # tokenizer + texts
    vocab_dir = ROOT / "_vocab_tmp"
    tok = make_tokenizer(vocab_dir)
    texts = make_texts()
    check_tokenizer(tok, texts)
    ids_list = [tokenize(tok, t) for t in texts]
    (REF / "texts.json").write_text(
        json.dumps([{"text": t, "ids": ids} for t, ids in zip(texts, ids_list)], ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8")

    # images
    flags = make_images()
    names = sorted(flags)
    decoded = {n: viewer_decode(IMAGES / n) for n in names}

    for mname, spec in MODEL_SPECS.items():
        dest = MODELS / mname
        model = make_model(spec["seed"], spec["act"], spec["image_size"], spec["patch_size"])
        save_model(model, dest, spec["dtype"])
        keys = check_safetensors(dest / "model.safetensors", spec["st"])
        write_tokenizer_files(tok, vocab_dir, dest, spec["tokenizer_json"])
        proc = SlowCLIPImageProcessor(size={"shortest_edge": spec["shortest_edge"]},
                                      crop_size={"height": spec["crop"], "width": spec["crop"]})
        proc.save_pretrained(str(dest))

        # reference = the saved files reloaded in float32 (for f16: the f16-rounded weights, computed in f32)
        ref_model = load_model(dest)
        with torch.no_grad():
            for (k, p), (k2, p2) in zip(ref_model.state_dict().items(), model.state_dict().items()):
                assert k == k2
                if spec["dtype"] == torch.float32:
                    assert torch.equal(p, p2), k
                else:
                    assert torch.equal(p, p2.half().float()), k
        out = {"texts": [], "images": []}
        with torch.inference_mode():
            for t, ids in zip(texts, ids_list):
                e = ref_model.get_text_features(input_ids=torch.tensor([ids])).pooler_output[0]
                out["texts"].append({"text": t, "embedding": fl(e)})
            for n in names:
                im = decoded[n]
                pv = proc(images=im, return_tensors="pt")["pixel_values"]
                assert pv.shape == (1, 3, spec["crop"], spec["crop"]) and pv.dtype == torch.float32
                c = crop_like_processor(im, spec["shortest_edge"], spec["crop"])
                mine = (c.astype(np.float64) * (1 / 255)).astype(np.float32)
                mine = (mine - np.array(proc.image_mean, np.float32)) / np.array(proc.image_std, np.float32)
                err = np.abs(mine.transpose(2, 0, 1) - pv[0].numpy()).max()
                assert err <= 1e-6, (n, err)
                if mname == "clip-tiny-f32":
                    Image.fromarray(c, "RGB").save(CROPS / f"{n}.png", optimize=True)
                e = ref_model.get_image_features(pixel_values=pv).pooler_output[0]
                entry = {"file": f"images/{n}", "embedding": fl(e), "large": flags[n]["large"],
                         "cmyk": flags[n]["cmyk"]}
                if mname == "clip-tiny-f32":
                    entry["crop"] = f"reference/crops/{n}.png"
                out["images"].append(entry)
        (REF / f"{mname}.json").write_text(json.dumps(out, ensure_ascii=False) + "\n", encoding="utf-8")
        sanity(mname, model, ref_model, proc, decoded, texts, ids_list, out, spec)
        print(f"{mname}: {len(keys)} tensors, {len(out['texts'])} texts, {len(out['images'])} images")

    shutil.rmtree(vocab_dir)

    # the saved folders load back to the same tokenizer (f32: tokenizer.json; f16: vocab.json + merges.txt)
    for mname in MODEL_SPECS:
        t2 = CLIPTokenizerFast.from_pretrained(str(MODELS / mname))
        assert [tokenize(t2, t) for t in texts] == ids_list, mname
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(MODELS / "clip-tiny-f32" / "tokenizer.json"))
    raw.enable_truncation(MAX_LEN)
    assert [raw.encode(t).ids for t in texts] == ids_list
    print("tokenizer files reload to identical ids for all texts")


def sanity(mname, model, ref_model, proc, decoded, texts, ids_list, out, spec) -> None:
    """Recompute a few outputs independently; report how discriminative the tiny models are."""
    # 1. in-memory model (f16: rounded to f16 and back) reproduces the stored embeddings
    m = model
    if spec["dtype"] == torch.float16:
        m = make_model(spec["seed"], spec["act"], spec["image_size"], spec["patch_size"])
        m.half().float()
    m = m.eval()
    with torch.inference_mode():
        tx = torch.stack([m.get_text_features(input_ids=torch.tensor([ids])).pooler_output[0] for ids in ids_list[:20]])
        ref_tx = torch.tensor([e["embedding"] for e in out["texts"][:20]])
        c_t = min(cos(a, b) for a, b in zip(tx, ref_tx))
        im_names = list(decoded)[:5]
        pv = torch.cat([proc(images=decoded[n], return_tensors="pt")["pixel_values"] for n in im_names])
        iv = m.get_image_features(pixel_values=pv).pooler_output  # batched this time
        ref_iv = torch.tensor([e["embedding"] for e in out["images"][:5]])
        c_i = min(cos(a, b) for a, b in zip(iv, ref_iv))
        # padded batch with attention mask gives the same text features (eos pooling, causal mask)
        batch = [ids_list[0], ids_list[5]]
        L = max(map(len, batch))
        inp = torch.tensor([b + [EOS] * (L - len(b)) for b in batch])
        msk = torch.tensor([[1] * len(b) + [0] * (L - len(b)) for b in batch])
        pad_t = m.get_text_features(input_ids=inp, attention_mask=msk).pooler_output
        c_p = min(cos(a, b) for a, b in zip(pad_t, ref_tx[[0, 5]]))
        # discriminativeness: channel swap, 1-level change, different texts
        pv_swap = pv[:1, [2, 1, 0]]
        c_swap = cos(m.get_image_features(pixel_values=pv_swap).pooler_output[0], iv[0])
        pv_1 = pv[:1] + (1 / 255) / torch.tensor(proc.image_std).view(1, 3, 1, 1)
        c_one = cos(m.get_image_features(pixel_values=pv_1).pooler_output[0], iv[0])
    all_img = torch.tensor([e["embedding"] for e in out["images"]])
    all_img = torch.nn.functional.normalize(all_img, dim=-1)
    sim = all_img @ all_img.T
    off = sim[~torch.eye(len(sim), dtype=torch.bool)]
    all_txt = torch.nn.functional.normalize(torch.tensor([e["embedding"] for e in out["texts"]]), dim=-1)
    simt = all_txt @ all_txt.T
    offt = simt[~torch.eye(len(simt), dtype=torch.bool)]
    print(f"{mname}: recompute cos text {c_t:.7f} image(batched) {c_i:.7f} padded-batch text {c_p:.7f}; "
          f"RGB->BGR cos {c_swap:.4f}; +1/255 cos {c_one:.6f}; image-image cos mean {off.mean():.3f} max "
          f"{off.max():.3f}; text-text cos mean {offt.mean():.3f} max {offt.max():.4f}; "
          f"|img emb| mean {torch.tensor([e['embedding'] for e in out['images']]).norm(dim=-1).mean():.3f}")
    assert c_t > 0.99999 and c_i > 0.99999 and c_p > 0.99999


if __name__ == "__main__":
    sys.exit(main())
