"""The streams the library tests feed to a unit and to its reference: seeded
synthetic values and real ones (tests/data/slips-flows.csv.gz, ndpi-names.txt.gz)."""

from __future__ import annotations

import csv
import gzip
import io
from functools import cache

import numpy as np

from tests.conftest import DATA


def normal(n: int = 5000, seed: int = 1, mean: float = 50.0, std: float = 10.0) -> list[float]:
    """Seeded normal values with a few large outliers (every 500th value x 10)."""
    values = np.random.default_rng(seed).normal(mean, std, n)
    values[::500] *= 10
    return values.tolist()


@cache
def flows() -> list[dict]:
    """The 3,512 real flow records (sorted by start time), numbers converted."""
    text = gzip.decompress((DATA / "slips-flows.csv.gz").read_bytes()).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        row["start"] = float(row["start"])
        for key in ("dest_port", "bytes_toserver", "bytes_toclient", "pkts_toserver"):
            row[key] = int(row[key])
    return rows


@cache
def names() -> list[str]:
    """The 2,647 real DNS query names and TLS SNIs, in record order."""
    return gzip.decompress((DATA / "ndpi-names.txt.gz").read_bytes()).decode().split()


def bytes_toserver() -> list[float]:
    """Bytes sent by the client of each real flow (heavy-tailed, all > 0)."""
    return [float(f["bytes_toserver"]) for f in flows()]


def zipf_items(n: int = 20000, seed: int = 2, a: float = 1.3) -> list[str]:
    """Seeded Zipf-distributed item names (a few heavy hitters, a long tail)."""
    return [f"item{k}" for k in np.random.default_rng(seed).zipf(a, n).tolist()]
