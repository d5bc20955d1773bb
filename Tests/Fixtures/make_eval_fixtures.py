#!/usr/bin/env python3
"""Generate the `glimpse eval` fixtures: one small image-caption dataset written in every format eval reads, and a
metric reference computed with LAION clip_benchmark's retrieval logic.

    python3 Tests/Fixtures/make_eval_fixtures.py

Run by a developer, never by CI; needs torch and numpy. Deterministic (fixed seed).

Writes, next to this file:
  eval/flickr30k_test_karpathy.txt  clip_benchmark's Flickr layout: header "image,caption", then image,caption lines
  eval/coco_test_karpathy.json      COCO captions layout (images[].id/file_name, annotations[].image_id/caption)
  eval/dataset_karpathy.json        Karpathy's layout (images[].filename/split/sentences[].raw); extra images in the
                                    "train" and "val" splits that --split test must leave out
  eval/captions.csv                 RFC 4180 CSV with a header (quoted captions holding commas and quotes)
  eval/captions.tsv                 the same, tab-separated, columns swapped (caption first)
  eval/image_list.txt + eval/captions_de.txt   an image list and one caption per image (the XTD-10 layout)
  reference/eval-metrics.json       synthetic embeddings with exact ties and their clip_benchmark metrics

All formats describe the same dataset (images in the same order), except image_list (one German caption per image).
The images are the committed fixture photos in Tests/Fixtures/images.

Metric reference. clip_benchmark (zeroshot_retrieval.py) computes
    scores = texts_emb @ images_emb.T; positive_pairs[t, texts_image_index[t]] = True
    image_retrieval_recall@k = mean over texts of (recall_at_k(scores, positive_pairs, k) > 0)
    text_retrieval_recall@k  = mean over images of (recall_at_k(scores.T, positive_pairs.T, k) > 0)
with recall_at_k counting positives among torch.topk(scores, k). torch.topk's order among equal scores is
unspecified, so this script ranks with a stable descending sort (equal scores: lower index first), the rule Glimpse
documents; without ties the two are the same. Embedding components are multiples of 1/4 so that every dot product
is exact in float32 whatever the summation order: ties are real ties on both sides. MRR and median rank use the
rank of the first positive under the same order (median of an even count = mean of the middle two, as numpy).
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
OUT = HERE / "eval"

# (image, captions) of the test split, in order. Several captions per image, some with commas and quotes.
TEST = [
    ("astronaut_baseline.jpg", ["An astronaut in a white suit, smiling", "A woman in a space suit poses with a flag",
                                "Portrait of an astronaut"]),
    ("camera_gray.jpg", ["A black and white photo of a man with a camera", "A cameraman on a field, tripod in front"]),
    ("chelsea_palette.png", ["A cat looking to the side", "A tabby cat, close up", "Chelsea the cat",
                             "An orange and brown cat with \"stripes\""]),
    ("coffee_large.jpg", ["A cup of coffee on a saucer", "Coffee, seen from above"]),
    ("moon_gray.png", ["The surface of the moon", "Craters on the moon, grey"]),
    ("rocket.bmp", ["A rocket on a launch pad", "A space shuttle before launch"]),
    ("coins_gray_trns.png", ["Old coins laid out in rows", "Many coins on a table"]),
    ("colorwheel_transparent.gif", ["A colour wheel", "A circle of colours, transparent background"]),
    ("tall_40x1200.jpg", ["A very tall thin strip of an image"]),
    ("wide_1200x40.png", ["A very wide, thin strip of an image"]),
]
EXTRA = [("astronaut.tiff", "train", ["A training-split astronaut"]), ("rocket_444.jpg", "val", ["A validation rocket"])]
GERMAN = ["Ein Astronaut im weißen Anzug", "Ein Kameramann auf einem Feld", "Eine Katze schaut zur Seite",
          "Eine Tasse Kaffee", "Die Oberfläche des Mondes", "Eine Rakete auf der Startrampe", "Alte Münzen in Reihen",
          "Ein Farbkreis", "Ein sehr hoher, schmaler Streifen", "Ein sehr breiter, schmaler Streifen"]


def write_datasets() -> None:
    OUT.mkdir(exist_ok=True)
    pairs = [(image, caption) for image, captions in TEST for caption in captions]
    with open(OUT / "flickr30k_test_karpathy.txt", "w", encoding="utf-8") as f:
        f.write("image,caption\n")
        for image, caption in pairs:
            f.write(f"{image},{caption}\n")

    coco_images = [{"id": 100 + i, "file_name": image, "height": 1, "width": 1} for i, (image, _) in enumerate(TEST)]
    annotations, n = [], 1
    for i, (image, captions) in enumerate(TEST):
        for caption in captions:
            annotations.append({"id": n, "image_id": 100 + i, "caption": caption})
            n += 1
    random.Random(7).shuffle(annotations)  # order must not matter: captions are grouped by image_id
    (OUT / "coco_test_karpathy.json").write_text(json.dumps({"images": coco_images, "annotations": annotations}, indent=1,
                                                            ensure_ascii=False) + "\n", encoding="utf-8")

    karpathy = []
    for image, split, captions in EXTRA[:1]:
        karpathy.append({"filename": image, "split": split, "sentences": [{"raw": c} for c in captions]})
    for image, captions in TEST:
        karpathy.append({"filename": image, "split": "test", "sentences": [{"raw": c, "tokens": c.lower().split()} for c in captions]})
    for image, split, captions in EXTRA[1:]:
        karpathy.append({"filename": image, "split": split, "sentences": [{"raw": c} for c in captions]})
    (OUT / "dataset_karpathy.json").write_text(json.dumps({"dataset": "fixture", "images": karpathy}, indent=1, ensure_ascii=False)
                                               + "\n", encoding="utf-8")

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", "caption"])
    writer.writerows(pairs)
    (OUT / "captions.csv").write_text(buffer.getvalue(), encoding="utf-8")
    with open(OUT / "captions.tsv", "w", encoding="utf-8") as f:
        f.write("caption\timage\n")
        for image, caption in pairs:
            f.write(f"{caption}\t{image}\n")

    (OUT / "image_list.txt").write_text("".join(image + "\n" for image, _ in TEST), encoding="utf-8")
    (OUT / "captions_de.txt").write_text("".join(c + "\n" for c in GERMAN), encoding="utf-8")


def clip_benchmark_recall_at_k(scores: torch.Tensor, positive_pairs: torch.Tensor, k: int) -> torch.Tensor:
    """clip_benchmark's recall_at_k, with a stable sort in place of torch.topk (see the module docstring)."""
    nb_texts, nb_images = scores.shape
    topk_indices = torch.sort(scores, dim=1, descending=True, stable=True)[1][:, :k]
    nb_positive = positive_pairs.sum(dim=1)
    topk_indices_onehot = torch.nn.functional.one_hot(topk_indices, num_classes=nb_images)
    positive_pairs_reshaped = positive_pairs.view(nb_texts, 1, nb_images)
    nb_true_positive = torch.logical_and(topk_indices_onehot, positive_pairs_reshaped).sum(dim=(1, 2))
    return nb_true_positive / nb_positive


def first_positive_ranks(scores: torch.Tensor, positive_pairs: torch.Tensor) -> list[int]:
    order = torch.sort(scores, dim=1, descending=True, stable=True)[1]
    ranks = []
    for row in range(scores.shape[0]):
        hits = positive_pairs[row][order[row]].nonzero()
        ranks.append(int(hits[0]) + 1)
    return ranks


def summary(scores: torch.Tensor, positive_pairs: torch.Tensor, ks: list[int]) -> dict:
    out = {f"recall@{k}": float((clip_benchmark_recall_at_k(scores, positive_pairs, k) > 0).float().mean()) for k in ks}
    ranks = first_positive_ranks(scores, positive_pairs)
    out["mrr"] = float(np.mean([1.0 / r for r in ranks]))
    out["median_rank"] = float(np.median(ranks))
    out["ranks"] = ranks
    return out


def write_metric_reference() -> None:
    rng = np.random.default_rng(20261203)
    n_images, dim = 9, 6
    images = rng.integers(-2, 3, size=(n_images, dim)).astype(np.float32) / 4
    images[4] = images[1]                       # two images with the same embedding: ties for every text
    images[7] = 0                               # an image with no usable vector (scores 0 everywhere)
    owners = [0, 0, 0, 1, 2, 2, 3, 4, 4, 4, 4, 5, 6, 6, 7, 8, 8, 1]
    texts = rng.integers(-2, 3, size=(len(owners), dim)).astype(np.float32) / 4
    texts[5] = texts[4]                         # two captions of image 2 with the same embedding
    texts[10] = texts[3]                        # captions of different images with the same embedding
    for t, i in enumerate(owners):              # most captions lean towards their image, a few do not
        if t % 4 != 3:
            texts[t] = texts[t] / 2 + images[i]
    texts = np.round(texts * 4) / 4
    scores = torch.from_numpy(texts) @ torch.from_numpy(images).T
    positive = torch.zeros_like(scores, dtype=torch.bool)
    positive[torch.arange(len(owners)), torch.tensor(owners)] = True
    ks = [1, 2, 5, 10]
    reference = {
        "texts": texts.tolist(), "images": images.tolist(), "text_image": owners, "ks": ks,
        "text_to_image": summary(scores, positive, ks),
        "image_to_text": summary(scores.T, positive.T, ks),
    }
    assert len(set(scores.tolist()[0])) < n_images, "the fixture must contain ties"
    (HERE / "reference" / "eval-metrics.json").write_text(json.dumps(reference, indent=1) + "\n")
    print(json.dumps({k: v for k, v in reference["text_to_image"].items() if k != "ranks"}),
          json.dumps({k: v for k, v in reference["image_to_text"].items() if k != "ranks"}))


if __name__ == "__main__":
    write_datasets()
    write_metric_reference()
