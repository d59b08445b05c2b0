"""detect_mode accuracy on images its tests never saw: crops of the shipped photograph.

The tests tune on synthetic gradients; this script measures on random
crops of `keras_deprocess/data/astronaut.png`, in three conditions:

- uint8: crops as loaded (whole numbers in pixel space);
- float: the crops scaled by a random factor in [0.9, 1] plus uniform
  noise in [0, 1) (no longer whole numbers), clipped to [0, 255];
- low-contrast float: the float crops squeezed into [64, 192].

Run: python benchmarks/detect_accuracy.py [--crops 50]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from keras_deprocess import detect_mode, preprocess_input
from keras_deprocess.cli import load_demo_image

SPECS = ["caffe", "tf", "torch", "identity", "imagenet", "clip", "half", "inception"]
# Specs with the same map are one candidate; the right answer is the merged name.
ANSWER = {"imagenet": "torch", "half": "tf", "inception": "tf"}


def crops(count: int, seed: int) -> dict[str, list[np.ndarray]]:
    image = load_demo_image()
    rng = np.random.default_rng(seed)
    conditions: dict[str, list[np.ndarray]] = defaultdict(list)
    for _ in range(count):
        size = int(rng.integers(32, 65))
        top, left = rng.integers(0, 128 - size + 1, 2)
        crop = image[top : top + size, left : left + size]
        noisy = np.clip(crop * rng.uniform(0.9, 1.0) + rng.uniform(0, 1, crop.shape), 0, 255)
        conditions["uint8"].append(crop)
        conditions["float"].append(noisy)
        conditions["low-contrast float"].append(64 + noisy / 2)
    return conditions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--crops", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    print(f"detect_mode top-1 accuracy on {args.crops} crops of the shipped photo per condition and spec")
    print(f"{'condition':<20}" + "".join(f"{s:>10}" for s in SPECS) + f"{'overall':>10}")
    for condition, images in crops(args.crops, args.seed).items():
        right = {s: 0 for s in SPECS}
        confidence = {s: 0.0 for s in SPECS}
        for image in images:
            for spec in SPECS:
                x = preprocess_input(image, spec, data_format="channels_last").astype(np.float32)
                best = detect_mode(x, data_format="channels_last")[0]
                if best.name == ANSWER.get(spec, spec):
                    right[spec] += 1
                    confidence[spec] += best.confidence
        total = sum(right.values()) / (len(images) * len(SPECS))
        print(
            f"{condition:<20}"
            + "".join(f"{right[s] / len(images):>10.0%}" for s in SPECS)
            + f"{total:>10.1%}"
        )
        mean_confidence = [confidence[s] / max(right[s], 1) for s in SPECS]
        print(f"{'  mean confidence':<20}" + "".join(f"{c:>10.2f}" for c in mean_confidence))


if __name__ == "__main__":
    main()
