"""Which worker an event goes to, read from the raw line without decoding it.

Every event of one flow must reach the same worker, in arrival order. Suricata
gives every event of a flow (both directions, every protocol record, the alerts
and the final flow record) the same ``flow_id``; that is the default key. Events
without one fall back to the 5-tuple, made symmetric so both directions of a
conversation agree, and events with neither (stats) to a hash of the line.
``shard_key = "src_ip"`` (any top-level string field) keeps per-host state of an
analyzer in one worker.

Measured: about 0.7 us per line for the flow_id key (two ``bytes.find`` and an
``int``), against 3.6 us for decoding the JSON.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

Sharder = Callable[[bytes], int]

_TUPLE_FIELDS = (b'"src_ip":', b'"src_port":', b'"dest_ip":', b'"dest_port":', b'"proto":')


def _field(line: bytes, name: bytes) -> bytes | None:
    """The raw text of a top-level scalar field (quotes stripped), or None."""
    start = line.find(name)
    if start < 0:
        return None
    start += len(name)
    while start < len(line) and line[start] in b" \t":
        start += 1
    if line[start : start + 1] == b'"':
        end = line.find(b'"', start + 1)
        return line[start + 1 : end] if end > 0 else None
    end = start
    while end < len(line) and line[end] not in b",} \t":
        end += 1
    return line[start:end] or None


def five_tuple_key(line: bytes) -> bytes | None:
    """A direction-independent key from src/dest ip and port and proto, or None."""
    src_ip, src_port, dest_ip, dest_port, proto = (_field(line, name) for name in _TUPLE_FIELDS)
    if src_ip is None or dest_ip is None:
        return None
    a = (src_ip, src_port or b"")
    b = (dest_ip, dest_port or b"")
    low, high = (a, b) if a <= b else (b, a)
    return b"|".join((*low, *high, proto or b""))


def make_sharder(key: str, workers: int) -> Sharder:
    """A function mapping a raw EVE line to a worker index in ``range(workers)``."""
    if workers <= 1:
        return lambda line: 0
    if key in ("flow_id", "flow"):

        def by_flow(line: bytes) -> int:
            start = line.find(b'"flow_id":')
            if start >= 0:
                end = line.find(b",", start + 10)
                try:
                    return int(line[start + 10 : end if end > 0 else -1]) % workers
                except ValueError:
                    pass
            tuple_key = five_tuple_key(line)
            return zlib.crc32(tuple_key if tuple_key is not None else line) % workers

        return by_flow
    if key in ("5-tuple", "five_tuple"):

        def by_tuple(line: bytes) -> int:
            tuple_key = five_tuple_key(line)
            return zlib.crc32(tuple_key if tuple_key is not None else line) % workers

        return by_tuple
    field = b'"' + key.encode() + b'":'

    def by_field(line: bytes) -> int:
        value = _field(line, field)
        return zlib.crc32(value if value is not None else line) % workers

    return by_field


def make_splitter(key: str, workers: int) -> Callable[[list[bytes]], list[list[bytes]]]:
    """Split a batch of lines into one list per worker (one call per batch; the usual
    flow_id key is read inline, without a function call per line)."""
    if workers <= 1:
        return lambda lines: [lines]
    if key not in ("flow_id", "flow"):
        shard = make_sharder(key, workers)

        def split_by(lines: list[bytes]) -> list[list[bytes]]:
            out: list[list[bytes]] = [[] for _ in range(workers)]
            for line in lines:
                out[shard(line)].append(line)
            return out

        return split_by
    fallback = make_sharder("5-tuple", workers)

    def split_by_flow(lines: list[bytes]) -> list[list[bytes]]:
        out: list[list[bytes]] = [[] for _ in range(workers)]
        appends = [bucket.append for bucket in out]
        for line in lines:
            start = line.find(b'"flow_id":')
            if start >= 0:
                end = line.find(b",", start + 10)
                try:
                    appends[int(line[start + 10 : end if end > 0 else -1]) % workers](line)
                    continue
                except ValueError:
                    pass
            appends[fallback(line)](line)
        return out

    return split_by_flow


LaneKey = Callable[[dict], object]


def _tuple_lane(record: dict) -> str | None:
    """The direction-independent 5-tuple of a decoded record, or None."""
    src, dest = record.get("src_ip"), record.get("dest_ip")
    if src is None or dest is None:
        return None
    a = f"{src}|{record.get('src_port', '')}"
    b = f"{dest}|{record.get('dest_port', '')}"
    low, high = (a, b) if a <= b else (b, a)
    return f"{low}|{high}|{record.get('proto', '')}"


def make_lane_key(key: str) -> LaneKey:
    """The lane of a decoded record inside a worker: the same key the source shards by
    (so every event of a shard reaches one worker, and there one lane), or None for an
    event that is a lane of its own. Lane keys are compared, never hashed to workers."""
    if key in ("flow_id", "flow"):

        def by_flow(record: dict) -> object:
            flow_id = record.get("flow_id")
            return flow_id if flow_id is not None else _tuple_lane(record)

        return by_flow
    if key in ("5-tuple", "five_tuple"):
        return _tuple_lane

    def by_field(record: dict) -> object:
        value = record.get(key)
        return value if type(value) in (str, int) else None

    return by_field
