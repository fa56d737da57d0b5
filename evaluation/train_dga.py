"""Train the dga analyzer's offline model and export it for the engine.

What it learns: P(the registrable label of a DNS name was machine-generated), by a
scikit-learn logistic regression over

- eight character features of the label (evaluation/dnsfeatures.py ``LEXICAL``:
  length, Shannon entropy, digit, vowel and hyphen ratios, longest consonant run,
  distinct characters, letter/digit switches), and
- its character bigrams and trigrams (ends marked with ".") hashed into
  ``--buckets`` buckets with MLE's stable hash (mle.models.hashing), so the Lua
  analyzer computes the same features with a few table lookups.

Data (/work/shared/data/dga, ``--data``): the pjabes benign and DGA lists and the
andrewaeva set (8 families x 1,000 + 1,000 Alexa names). Each name is reduced to its
registrable label (mle.domain's public suffix rules), labels are deduplicated (a
label in both classes is dropped), labels the analyzer does not score (shorter than
``--min-length`` or with other characters than a-z, 0-9, "-") are left out.
The train/test split is deterministic: a label is held out when
stable_hash(seed + label) % 5 == 0 (pjabes) or % 2 == 0 (andrewaeva); evaluation/dga.py
tests on exactly those held-out labels. ``--exclude-family F`` leaves one andrewaeva
family out of training altogether (leave-one-family-out).

The fitted model is pickled and exported with ``mle export-model`` (feature names:
the eight lexical names, then g0 .. g<buckets-1>) to ``--out``
(default analyzers/data/dga-model.json)::

    .venv/bin/pip install -e '.[export]'        # scikit-learn
    .venv/bin/python evaluation/train_dga.py    # ~20 s; prints the held-out ROC AUC
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dnsfeatures import (
    LEXICAL,
    ROOT,
    lexical,
    ngram_buckets,
    read_andrewaeva,
    read_pjabes,
    scorable,
    split,
)

from mle.export import stable_hash

DEFAULT_DATA = Path("/work/shared/data")
DEFAULT_OUT = ROOT / "analyzers" / "data" / "dga-model.json"
BUCKETS = 4096
MIN_LENGTH = 6
SEED = "mle-dga-1"
C = 1.0


@dataclass
class Dataset:
    """Labels by role: (label, y) pairs for training and testing, families apart."""

    train: list[tuple[str, int]] = field(default_factory=list)
    test: list[tuple[str, int]] = field(default_factory=list)
    # andrewaeva: family -> (train labels, test labels); "alexa" is the legitimate one
    families: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    # a full name each label came from (the first seen), to replay as a DNS query
    names: dict[str, str] = field(default_factory=dict)


def held_out(label: str, modulus: int, seed: str = SEED) -> bool:
    """The deterministic split: held out when stable_hash(seed + label) % modulus == 0."""
    return stable_hash(seed + label) % modulus == 0


def registrable_labels(names: Iterable[str], min_length: int, seen: dict[str, str]) -> set[str]:
    """The scorable registrable labels of some names (``seen``: label -> first name)."""
    out = set()
    for name in names:
        label = split(name)[1]
        if label is not None and scorable(label, min_length):
            out.add(label)
            seen.setdefault(label, name.lower())
    return out


def load(data: Path, min_length: int = MIN_LENGTH, seed: str = SEED) -> Dataset:
    """Read, reduce, deduplicate and split the three lists."""
    dga_dir = data / "dga"
    ds = Dataset()
    benign = registrable_labels(read_pjabes(dga_dir / "pjabes-benign.csv.gz"), min_length, ds.names)
    dga = registrable_labels(read_pjabes(dga_dir / "pjabes-dga.csv.gz"), min_length, ds.names)
    families: dict[str, set[str]] = {}
    for _cls, family, name in read_andrewaeva(dga_dir / "dga-families-andrewaeva-9k.csv"):
        families.setdefault(family, set()).update(registrable_labels([name], min_length, ds.names))
    legit = benign | families.get("alexa", set())
    bad = dga | {lab for f, labs in families.items() if f != "alexa" for lab in labs}
    both = legit & bad
    for labels, y in ((benign - both, 0), (dga - both, 1)):
        for label in sorted(labels):
            (ds.test if held_out(label, 5, seed) else ds.train).append((label, y))
    for family, labels in sorted(families.items()):
        labels = labels - both
        train = sorted(lab for lab in labels if not held_out(lab, 2, seed))
        test = sorted(lab for lab in labels if held_out(lab, 2, seed))
        ds.families[family] = (train, test)
    return ds


def matrix(labels: list[str], buckets: int):
    """The feature matrix (lexical columns, then the hashed n-gram buckets)."""
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    width = len(LEXICAL)
    for i, label in enumerate(labels):
        lx = lexical(label)
        for j, name in enumerate(LEXICAL):
            rows.append(i)
            cols.append(j)
            vals.append(lx[name])
        for b, v in ngram_buckets(label, buckets).items():
            rows.append(i)
            cols.append(width + b)
            vals.append(v)
    return csr_matrix((vals, (rows, cols)), shape=(len(labels), width + buckets))


def training_rows(ds: Dataset, exclude_family: str | None = None) -> tuple[list[str], list[int]]:
    """Training labels and targets: pjabes' training part plus andrewaeva's training
    halves (without ``exclude_family``)."""
    labels = [lab for lab, _ in ds.train]
    ys = [y for _, y in ds.train]
    for family, (train, _test) in ds.families.items():
        if family == exclude_family:
            continue
        labels += train
        ys += [0 if family == "alexa" else 1] * len(train)
    return labels, ys


def fit(labels: list[str], ys: list[int], buckets: int = BUCKETS, c: float = C):
    """A fitted LogisticRegression (balanced classes, lbfgs; deterministic)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(matrix(labels, buckets), ys)
    return model


def export(model: object, out: Path, buckets: int) -> None:
    """Pickle the model and write its JSON with ``mle export-model``."""
    names = list(LEXICAL) + [f"g{b}" for b in range(buckets)]
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pkl = Path(tmp) / "dga.pkl"
        pkl.write_bytes(pickle.dumps(model))
        mle = Path(sys.executable).parent / "mle"
        command = [str(mle)] if mle.exists() else [sys.executable, "-m", "mle"]
        subprocess.run([*command, "export-model", str(pkl), str(out), "--feature-names", ",".join(names)],
                       check=True, capture_output=True)
    # shorter numbers: 7 significant digits are plenty for weights (keeps the file small)
    doc = json.loads(out.read_text())
    doc["coef"] = [[float(f"{w:.7g}") for w in row] for row in doc["coef"]]
    doc["intercept"] = [float(f"{w:.7g}") for w in doc["intercept"]]
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")


def main() -> None:
    """Train on the lists under --data and export the model to --out."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with dga/ (default %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="model JSON (default %(default)s)")
    parser.add_argument("--buckets", type=int, default=BUCKETS, help="hashed n-gram buckets (default %(default)s)")
    parser.add_argument("--min-length", type=int, default=MIN_LENGTH,
                        help="shortest label scored (default %(default)s)")
    parser.add_argument("--exclude-family", help="leave this andrewaeva family out of training")
    parser.add_argument("--seed", default=SEED, help="salt of the deterministic split (default %(default)s)")
    args = parser.parse_args()
    from sklearn.metrics import roc_auc_score

    ds = load(args.data, args.min_length, args.seed)
    labels, ys = training_rows(ds, args.exclude_family)
    model = fit(labels, ys, args.buckets)
    test = [lab for lab, _ in ds.test]
    auc = roc_auc_score([y for _, y in ds.test], model.predict_proba(matrix(test, args.buckets))[:, 1])
    export(model, args.out, args.buckets)
    print(f"trained on {len(labels)} labels ({sum(ys)} DGA); held-out pjabes ROC AUC {auc:.4f} "
          f"(Python); wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
