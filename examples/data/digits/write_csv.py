#!/usr/bin/env python3
"""Writes the digits CSV files of examples/digits_mlp.noma from the copy of
the UCI "Optical Recognition of Handwritten Digits" data that scikit-learn
ships inside its package (`sklearn.datasets.load_digits`: 1,797 8x8 images,
pixels 0..16). Nothing is downloaded. scikit-learn is an optional extra
(`pip install -e '.[digits]'`); the CSV files it writes are checked in, so
the example and its tests do not need it.

    python examples/data/digits/write_csv.py            # rewrite the four files
    python examples/data/digits/write_csv.py --check    # exit 1 if they differ

The split is stratified and fixed (SPLIT_SEED): 1,437 training images and
360 test images, each class in the same proportion in both. Each file is one
row per image, integers only, after a `#` comment line saying where it comes
from (NOMA's `load_csv` skips comments):

    train_x.csv  [1437, 64]  pixels, row-major 8x8, 0..16
    train_y.csv  [1437, 1]   the digit, 0..9
    test_x.csv   [360, 64]
    test_y.csv   [360, 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPLIT_SEED = 12
"""The seed of the split; any fixed value would do (12: the issue's number)."""
TEST_IMAGES = 360
FILES = ("train_x", "train_y", "test_x", "test_y")
HEADER = (
    "# {name}: the 8x8 handwritten digits bundled with scikit-learn (UCI Optical Recognition of "
    "Handwritten Digits, CC BY 4.0), written by examples/data/digits/write_csv.py; see README.md\n"
)


def split_digits() -> dict[str, np.ndarray]:
    """The four arrays, as integers, from scikit-learn's bundled copy."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        sys.exit(
            "write_csv.py: error: scikit-learn is not installed "
            "(pip install -e '.[digits]'); the checked-in CSV files do not need it"
        )
    images, labels = load_digits(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        images.astype(np.int64),
        labels.astype(np.int64),
        test_size=TEST_IMAGES,
        random_state=SPLIT_SEED,
        stratify=labels,
    )
    return {
        "train_x": train_x,
        "train_y": train_y.reshape(-1, 1),
        "test_x": test_x,
        "test_y": test_y.reshape(-1, 1),
    }


def csv_text(name: str, array: np.ndarray) -> str:
    rows = (",".join(str(int(v)) for v in row) for row in array)
    return HEADER.format(name=name) + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the files instead of writing them"
    )
    parser.add_argument("--output", type=Path, default=HERE, help="the folder to write to")
    args = parser.parse_args(argv)
    texts = {name: csv_text(name, array) for name, array in split_digits().items()}
    if args.check:
        stale = [
            name
            for name, text in texts.items()
            if not (args.output / f"{name}.csv").is_file()
            or (args.output / f"{name}.csv").read_text() != text
        ]
        for name in stale:
            print(f"write_csv.py: {args.output / name}.csv is not what it writes", file=sys.stderr)
        return 1 if stale else 0
    args.output.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (args.output / f"{name}.csv").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
