"""Regenerates resampler_expectations.json: Pillow's resize of small synthetic RGB
images, used by PillowResamplerTests to check the Swift resampler bit for bit.

Run from anywhere: python3 Tests/GlimpseImageTests/make_resampler_expectations.py
Inputs are not stored: both sides generate them with the same LCG (see `pixels`).
"""
import json
import os
import random

from PIL import Image


def pixels(width, height, seed):
    """Deterministic RGB bytes: 32-bit LCG (Numerical Recipes), high byte of each state,
    mixed with a smooth gradient so both noise and edges are exercised."""
    state = seed & 0xFFFFFFFF
    out = bytearray()
    for y in range(height):
        for x in range(width):
            for c in range(3):
                state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
                noise = state >> 24
                smooth = (x * 255 // max(width - 1, 1) + y * 255 // max(height - 1, 1) + c * 85) % 256
                out.append(noise if (x + y + c) % 3 == 0 else smooth)
    return bytes(out)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(h, "x")


CASES = [
    # (in_w, in_h, out_w, out_h, filter, seed)
    (17, 11, 40, 29, Image.Resampling.BICUBIC, 1),    # upscale, non-integer factors
    (31, 23, 12, 9, Image.Resampling.BICUBIC, 2),     # downscale 2.58x / 2.56x
    (64, 48, 7, 5, Image.Resampling.BICUBIC, 3),      # strong downscale
    (1, 13, 1, 5, Image.Resampling.BICUBIC, 4),       # 1 pixel wide, vertical pass only
    (13, 1, 29, 1, Image.Resampling.BICUBIC, 5),      # 1 pixel high, horizontal pass only
    (1, 1, 3, 4, Image.Resampling.BICUBIC, 6),        # single pixel upscaled
    (20, 30, 20, 13, Image.Resampling.BICUBIC, 7),    # width unchanged: horizontal pass skipped
    (25, 18, 9, 18, Image.Resampling.BICUBIC, 8),     # height unchanged: vertical pass skipped
    (300, 200, 224, 149, Image.Resampling.BICUBIC, 9),  # CLIP-like
    (403, 301, 299, 224, Image.Resampling.BICUBIC, 10),
    # Pillow 13 runs the vertical pass first when the height shrinks by more than
    # twice as many pixels as the width: these take that order.
    (20, 60, 15, 20, Image.Resampling.BICUBIC, 18),
    (150, 500, 60, 200, Image.Resampling.BICUBIC, 19),    # tall photo, aspect kept
    (60, 60, 61, 58, Image.Resampling.BICUBIC, 20),       # width grows, height shrinks
    (60, 60, 58, 55, Image.Resampling.BICUBIC, 21),       # just past the tie
    (60, 60, 58, 56, Image.Resampling.BICUBIC, 22),       # the tie: horizontal first
    (160, 160, 131, 97, Image.Resampling.BILINEAR, 23),
    (31, 23, 12, 9, Image.Resampling.BILINEAR, 11),
    (17, 11, 40, 29, Image.Resampling.BILINEAR, 12),
    (31, 23, 12, 9, Image.Resampling.LANCZOS, 13),
    (31, 23, 12, 9, Image.Resampling.HAMMING, 14),
    (31, 23, 12, 9, Image.Resampling.BOX, 15),
    (17, 11, 40, 29, Image.Resampling.NEAREST, 16),
    (31, 23, 12, 9, Image.Resampling.NEAREST, 17),
]


def random_cases(count=150):
    """Random sizes (up- and downscaling, every filter) with a fixed seed."""
    rng = random.Random(7)
    filters = [Image.Resampling.BICUBIC] * 3 + [Image.Resampling.BILINEAR, Image.Resampling.LANCZOS,
                                                Image.Resampling.BOX, Image.Resampling.HAMMING,
                                                Image.Resampling.NEAREST]
    return [(rng.randint(1, 90), rng.randint(1, 90), rng.randint(1, 130), rng.randint(1, 130),
             rng.choice(filters), 1000 + i) for i in range(count)]


def main():
    cases = []
    for in_w, in_h, out_w, out_h, resample, seed in CASES + random_cases():
        image = Image.frombytes("RGB", (in_w, in_h), pixels(in_w, in_h, seed))
        out = image.resize((out_w, out_h), resample=resample).tobytes()
        case = {"in_width": in_w, "in_height": in_h, "out_width": out_w, "out_height": out_h,
                "filter": int(resample), "seed": seed}
        if len(out) <= 600:
            case["pixels_hex"] = out.hex()
        else:
            case["pixels_fnv1a64"] = fnv1a64(out)
        cases.append(case)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Resources", "resampler_expectations.json")
    with open(path, "w") as f:
        json.dump({"pillow_version": Image.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
