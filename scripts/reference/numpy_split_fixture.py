"""Writes test/fixtures/numpy-split.json with real numpy and sklearn (Debian's python3-numpy,
python3-sklearn): the notebook's train_test_split(X, y, test_size=0.1, random_state=70) of the
50,000 CIFAR-10 training images, and smaller splits with other seeds and sizes.

    /usr/bin/python3 scripts/reference/numpy_split_fixture.py
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.model_selection import train_test_split

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "fixtures" / "numpy-split.json"


def split(n, fraction, seed):
    indices = np.arange(n)
    train, test = train_test_split(indices, test_size=fraction, random_state=seed)
    # train_test_split takes RandomState(seed).permutation(n): test first, then train.
    permutation = np.random.RandomState(seed).permutation(n)
    assert (permutation[: len(test)] == test).all() and (permutation[len(test):] == train).all()
    return {"n": n, "fraction": fraction, "seed": seed, "test": test.tolist(), "train": train.tolist()}


notebook = split(50_000, 0.1, 70)
cases = [split(n, fraction, seed) for n, fraction, seed in [(1000, 0.1, 0), (1000, 0.25, 1), (777, 0.1, 12345), (60, 0.1, 2**31 - 1)]]
first_draws = np.random.RandomState(70).randint(0, 2**32, size=8, dtype=np.uint32).tolist()  # raw MT19937 outputs
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(
    json.dumps(
        {
            "generator": f"numpy {np.__version__}, sklearn {sklearn.__version__}",
            # The notebook's split: the 5,000 validation indices in order, and the train order's ends.
            "notebook": {"validation": notebook["test"], "trainHead": notebook["train"][:100], "trainTail": notebook["train"][-100:], "trainSum": int(sum(notebook["train"]))},
            "cases": cases,
            "mt19937Seed70Uint32": first_draws,
        }
    )
)
print(f"wrote {OUT}")
