"""Reading a Redis stream through a consumer group, acknowledging only what the
outputs accepted (Suricata 8 ``redis.mode: stream``; each entry holds the record in
field ``eve``).

Delivery: at least once. An entry is acknowledged (``XACK``) in the batch's
``on_done``, i.e. after every output accepted the batch's results. Until then it
stays in the group's pending list, so:

* after a crash or restart of MLE, the consumer (same name: by default the host
  name and the input's tag) first re-reads its own pending entries (read id ``0``),
  then new ones (``>``);
* entries pending at a consumer that is gone for good are claimed with
  ``XAUTOCLAIM`` once they have been idle ``claim_idle_ms`` (0 = never);
* when Redis restarts, the reader reconnects; acknowledgements that failed during
  the outage are kept and sent first, and pending entries already being processed
  are not read twice. With persistence (AOF/RDB) on the server, nothing that was
  pending or new is lost.

An entry without the field (or trimmed away by ``MAXLEN`` while pending) cannot be
processed: it is counted, dead-lettered when possible, and acknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from mle.deadletter import DeadLetterWriter
from mle.sources.base import SourceStats
from mle.sources.faults import count_fault
from mle.sources.framing import split_record

log = logging.getLogger("mle.input")

Entry = tuple[bytes, dict | None]


class StreamReader:
    """XREADGROUP/XACK for one stream, group and consumer."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        *,
        group: str,
        consumer: str,
        field: str,
        start: str,
        claim_idle_ms: int,
        max_line_bytes: int,
        stats: SourceStats,
        label: str,
        dead_letters: DeadLetterWriter | None,
        source_name: str,
    ) -> None:
        self.client = client
        self.key = key
        self.group = group
        self.consumer = consumer
        self.field = field.encode()
        self.start = start
        self.claim_idle_ms = claim_idle_ms
        self.max_line_bytes = max_line_bytes
        self.stats = stats
        self.label = label
        self.dead_letters = dead_letters
        self.source_name = source_name
        self.acked = 0
        self.closed = False
        self._lock = threading.Lock()
        self._in_flight: set[bytes] = set()  # read, handed on, not acknowledged yet
        self._unacked: list[bytes] = []  # processed, but XACK failed: send first after reconnecting
        self._pending_from: bytes | None = b"0"  # re-reading our own pending list from this id
        self._next_claim = 0.0

    # setup -----------------------------------------------------------------------------
    def setup(self) -> None:
        """After (re)connecting: make sure the group exists, send acknowledgements that
        failed, claim abandoned entries, and re-read our pending list first."""
        try:
            self.client.xgroup_create(self.key, self.group, id=self.start, mkstream=True)
            log.info("%s: created consumer group %r on stream %r", self.label, self.group, self.key)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._flush_acks()
        self._claim(time.monotonic())
        self._pending_from = b"0"

    def _claim(self, now: float) -> None:
        if not self.claim_idle_ms or now < self._next_claim:
            return
        self._next_claim = now + self.claim_idle_ms / 1000
        cursor: bytes | str = "0-0"
        claimed = 0
        while True:
            # (not JUSTID: redis-py then drops the cursor); the entries are read again from
            # our pending list below, in order
            reply = self.client.xautoclaim(self.key, self.group, self.consumer, self.claim_idle_ms,
                                           start_id=cursor, count=500)
            cursor = reply[0]
            claimed += len(reply[1])
            if cursor in (b"0-0", "0-0"):
                break
        if claimed:
            log.warning("%s: claimed %d entries left pending by other consumers", self.label, claimed)
            self._pending_from = b"0"

    # reading ---------------------------------------------------------------------------
    def read(self, max_lines: int, block: float) -> tuple[list[bytes], int, Callable[[], None] | None]:
        """Lines of up to ``max_lines`` entries (waiting up to ``block`` s for new ones),
        the bytes read, and the acknowledgement to run once they are processed."""
        self._flush_acks()
        self._claim(time.monotonic())
        entries: list[Entry] = []
        if self._pending_from is not None:
            entries = self._read_pending(max_lines)
        if not entries and self._pending_from is None:
            reply = self.client.xreadgroup(self.group, self.consumer, {self.key: ">"}, count=max_lines,
                                           block=int(block * 1000) if block > 0 else None)
            entries = reply[0][1] if reply else []
        return self._lines(entries)

    def _read_pending(self, max_lines: int) -> list[Entry]:
        """Our pending entries not being processed right now (after a restart: all)."""
        assert self._pending_from is not None
        reply = self.client.xreadgroup(self.group, self.consumer, {self.key: self._pending_from}, count=max_lines)
        entries = reply[0][1] if reply else []
        if not entries:
            self._pending_from = None
            return []
        self._pending_from = entries[-1][0]
        with self._lock:
            fresh = [e for e in entries if e[0] not in self._in_flight]
        if fresh:
            log.info("%s: re-reading %d pending entries", self.label, len(fresh))
        return fresh

    def _lines(self, entries: list[Entry]) -> tuple[list[bytes], int, Callable[[], None] | None]:
        if not entries:
            return [], 0, None
        lines: list[bytes] = []
        ids: list[bytes] = []
        unusable: list[bytes] = []
        size = 0
        field = self.field
        for entry_id, fields in entries:
            value = fields.get(field) if fields else None
            if value is None:
                unusable.append(entry_id)
                self._unusable(entry_id, fields)
                continue
            ids.append(entry_id)
            size += len(value)
            lines.extend(split_record(value, self.max_line_bytes))
        if unusable:
            self.ack(unusable)
        if not ids:
            return lines, size, None
        with self._lock:
            self._in_flight.update(ids)
        return lines, size, lambda: self.ack(ids)

    def _unusable(self, entry_id: bytes, fields: dict | None) -> None:
        reason = "stream_entry_trimmed" if not fields else "stream_entry_without_field"
        detail = f"entry {entry_id.decode()} has no field {self.field.decode()!r}"
        count_fault(self.stats, self.label, reason, detail)
        if fields and self.dead_letters is not None:
            text = b" ".join(k + b"=" + v for k, v in fields.items())
            self.dead_letters.write(self.source_name, reason, detail, text)

    # acknowledging -----------------------------------------------------------------------
    def ack(self, ids: list[bytes]) -> None:
        """Acknowledge processed entries (any thread). If Redis is unreachable they are
        kept and acknowledged after the reconnect; they stay pending meanwhile."""
        try:
            self.acked += self.client.xack(self.key, self.group, *ids)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            with self._lock:
                self._unacked.extend(ids)
            count_fault(self.stats, self.label, "redis_ack_deferred", str(exc), n=len(ids))
        except redis.RedisError as exc:  # e.g. NOGROUP: the server lost the group; nothing to acknowledge
            count_fault(self.stats, self.label, "redis_ack_failed", str(exc), n=len(ids))
        finally:
            with self._lock:
                self._in_flight.difference_update(ids)
            if self.closed:  # acknowledgements after close (the engine drains): no connection left behind
                self.client.connection_pool.disconnect()

    def _flush_acks(self) -> None:
        with self._lock:
            ids, self._unacked = self._unacked, []
        if ids:
            try:
                self.acked += self.client.xack(self.key, self.group, *ids)
            except BaseException:
                with self._lock:
                    self._unacked[:0] = ids
                raise

    def close(self) -> None:
        """Nothing to release: the connection is the source's (acknowledgements may still come)."""

    @property
    def in_flight(self) -> int:
        """Entries handed on and not acknowledged yet."""
        with self._lock:
            return len(self._in_flight) + len(self._unacked)
