"""``elasticsearch+http(s)://`` / ``opensearch+http(s)://``: the bulk API, item by item.

How documents travel:

1. :meth:`ElasticsearchSink.write_batch` (the engine's thread) makes each
   document's action line and adds it to the open request, which is sealed when
   it reaches ``bulk_max_docs`` documents or ``bulk_max_bytes`` bytes, or has
   been open for ``flush_interval`` seconds (a flusher thread). It returns at
   once unless the queue of sealed requests is full (below).
2. ``max_in_flight`` sender threads each POST one request at a time over a
   shared keep-alive connection pool, and read every item's status: delivered,
   duplicate (409 on ``create``), retried (429, 502-504 with exponential backoff
   and jitter; other 5xx up to ``max_retries`` times) or dead-lettered (mapping
   errors and other 4xx, with the document and the cluster's reason). See
   :mod:`.retry` for every status.
3. While the cluster is unreachable (connection errors, timeouts, 429/502-504
   for whole requests), senders keep retrying their request; the next
   ``max_in_flight`` sealed requests wait in memory, and the ones after them are
   written to the spill directory (a bounded on-disk FIFO, :mod:`.spill`). When
   the spill is full too, ``write_batch`` waits: the pipeline slows down
   (backpressure) and nothing is dropped. When the cluster answers again the
   spill is replayed first, oldest first.
4. :meth:`close` waits up to ``close_timeout`` seconds for every request to be
   settled; what is still undelivered then is written to the spill (replayed at
   the next start) or, if the spill is off or full, to the dead-letter file.

Guarantees: with ``action = "create"`` and ``doc_id = "hash"`` (the defaults)
each event is stored exactly once, however often it is re-sent (a retry of a
request the cluster had applied, a spill replayed after a crash) or re-processed
(a replay of the same file): the document id is the hash of the event's identity
(:func:`.encode.document_id`: its canonical JSON without MLE's annotations), so
a second copy is answered 409 and counted as a duplicate. Two documents of the
same record are therefore stored once. With ``doc_id = "none"`` (or ``action = "index"``
without ids) delivery is at least once. Documents are lost only with the
machine: those in memory (at most ``2 × max_in_flight`` requests plus the open
one) when the process is killed; everything spilled survives a restart.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson

from mle.connectors import Context, Endpoint
from mle.sinks.backoff import ThrottledLog
from mle.sinks.base import Sink
from mle.sinks.elasticsearch.config import OPTIONS, parse_config
from mle.sinks.elasticsearch.encode import ActionEncoder, Item, bulk_body, item_size
from mle.sinks.elasticsearch.queue import BulkRequest, RequestQueue
from mle.sinks.elasticsearch.response import error_text, read_bulk_response
from mle.sinks.elasticsearch.retry import RetryPolicy, Verdict, response_verdict
from mle.sinks.elasticsearch.service import BulkService, TransportError
from mle.sinks.elasticsearch.spill import Spill

log = logging.getLogger("mle.sinks.elasticsearch")

GET_SLICE = 0.5  # a sender notices shutdown within this


class _Aborted(Exception):
    """Shutdown came before these items were settled."""

    def __init__(self, pending: list[Item]) -> None:
        super().__init__(f"{len(pending)} items pending")
        self.pending = pending


class ElasticsearchSink(Sink):
    """Bulk indexing with per-item outcomes, retries, a dead-letter file and a disk spill."""

    OPTIONS: Mapping[str, type | tuple] = OPTIONS

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        self.config = parse_config(endpoint, options, context, tag)
        c = self.config
        self.counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._encoder = ActionEncoder(c.action, c.index, c.doc_id == "hash", c.id_ignore)
        self._policy = RetryPolicy(c.retry_initial, c.retry_max, c.max_retries)
        self._open_items: list[Item] = []
        self._open_bytes = 0
        self._open_since = 0.0
        self._open_lock = threading.Lock()
        self._in_transit = 0  # sealed by the flusher, not queued yet (flush() waits for them too)
        self._outage = threading.Event()
        self._abort = threading.Event()
        self._closing = threading.Event()
        self._deadline = float("inf")  # set by close(): producers waiting for room give up after it
        self._leftovers: list[tuple[BulkRequest, list[Item]]] = []
        self._service: BulkService | None = None
        self._spill: Spill | None = None
        self._queue: RequestQueue | None = None
        self._threads: list[threading.Thread] = []
        self._warn = ThrottledLog(log)
        self._last_error = ""

    @property
    def description(self) -> str:
        return f"{self.config.base_url}/{self.config.index}"

    # counters ---------------------------------------------------------------------------
    def _count(self, key: str, n: int = 1) -> None:
        with self._counts_lock:
            self.counts[key] += n

    # lifecycle ----------------------------------------------------------------------------
    def open(self) -> None:
        c = self.config
        self._service = BulkService(c)
        if c.spill_enabled:
            assert c.spill_dir is not None
            self._spill = Spill(c.spill_dir, c.spill_max_bytes)
            try:
                found = self._spill.recover()
            except OSError as exc:
                raise OSError(f"{self.endpoint.label}: spill directory {c.spill_dir}: {exc}") from None
            if found:
                self._count("recovered_requests", found)
                log.info("output %s: %d requests (%d bytes) left in %s by an earlier run will be sent first",
                         self.tag, found, self._spill.bytes, c.spill_dir)
        self._queue = RequestQueue(c.max_in_flight, self._spill, self._outage)
        for i in range(c.max_in_flight):
            thread = threading.Thread(target=self._sender, name=f"output-{self.tag}-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._flusher = threading.Thread(target=self._flush_loop, name=f"output-{self.tag}-flush", daemon=True)
        self._flusher.start()

    def write_batch(self, lines: list[bytes]) -> None:
        if not lines:
            return
        if self._queue is None:
            raise OSError(f"{self.endpoint.label}: output is not open")
        items = self._encoder.items(lines)
        sealed: list[BulkRequest] = []
        c = self.config
        with self._open_lock:
            for item in items:
                size = item_size(item)
                if self._open_items and self._open_bytes + size > c.bulk_max_bytes:
                    sealed.append(self._seal_locked())
                if not self._open_items:
                    self._open_since = time.monotonic()
                self._open_items.append(item)
                self._open_bytes += size
                if len(self._open_items) >= c.bulk_max_docs:
                    sealed.append(self._seal_locked())
        for request in sealed:
            self._enqueue(request)
        self._count("accepted", len(lines))
        self.stats.lines += len(lines)
        self.stats.bytes += sum(len(line) for line in lines)

    def _seal_locked(self) -> BulkRequest:
        request = BulkRequest(self._open_items, self._open_bytes)
        self._open_items, self._open_bytes = [], 0
        return request

    def _seal(self) -> BulkRequest | None:
        with self._open_lock:
            return self._seal_locked() if self._open_items else None

    def _enqueue(self, request: BulkRequest, give_up: Any = None) -> bool:
        assert self._queue is not None
        where = self._queue.put(request, give_up) if give_up else self._queue.put(request)
        if where == "spill":
            self._count("spilled_requests")
            self._count("spilled_documents", len(request.items))
            self._warn(logging.WARNING, "output %s: %s unreachable (%s): requests go to the spill directory "
                       "(%d bytes there)", self.tag, self.config.base_url, self._last_error,
                       self._spill.bytes if self._spill else 0)
        return where is not None

    def _flush_loop(self) -> None:
        interval = self.config.flush_interval
        while not self._closing.wait(min(0.25, interval / 4)):
            with self._open_lock:
                due = self._open_items and time.monotonic() - self._open_since >= interval
                request = self._seal_locked() if due else None
                if request is not None:
                    self._in_transit += 1
            if request is None:
                continue
            if not self._enqueue(request, self._past_deadline):
                self._leftovers.append((request, request.items))
            with self._open_lock:
                self._in_transit -= 1

    def _past_deadline(self) -> bool:
        return time.monotonic() > self._deadline

    def flush(self, timeout: float | None = None) -> bool:
        """Send the open request and wait until everything is settled (True), or until
        ``timeout`` seconds passed (False)."""
        if self._queue is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout

        def past() -> bool:
            return deadline is not None and time.monotonic() > deadline

        request = self._seal()
        if request is not None and not self._enqueue(request, past):
            with self._open_lock:  # put it back in front of the open request
                self._open_items[:0] = request.items
                self._open_bytes += request.size
            return False
        while self._in_transit:  # a request the flusher sealed is on its way into the queue
            if past():
                return False
            time.sleep(0.005)
        return self._queue.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        if self._queue is None:
            return
        c = self.config
        self._deadline = deadline = time.monotonic() + c.close_timeout
        self._closing.set()
        self._flusher.join()
        request = self._seal()
        if request is not None and not self._enqueue(request, self._past_deadline):
            self._leftovers.append((request, request.items))
        settled = self._queue.join(max(0.0, deadline - time.monotonic()))
        if not settled:
            self._abort.set()
        left = self._queue.close()
        for thread in self._threads:
            thread.join()
        self._leftovers.extend((r, r.items) for r in left)
        if self._leftovers:
            self._keep_leftovers()
        self._count_left_in_spill()
        assert self._service is not None
        self._service.close()
        self._queue = None
        log.info("output %s: %s", self.tag, self.summary())

    def summary(self) -> str:
        with self._counts_lock:
            counts = dict(self.counts)
        keys = ("accepted", "delivered", "duplicates", "dead_lettered", "retried_items", "spilled_requests",
                "replayed_requests", "left_in_spill")
        return ", ".join(f"{counts.get(k, 0)} {k.replace('_', ' ')}" for k in keys)

    def _keep_leftovers(self) -> None:
        """Shutdown with undelivered items: to the spill for the next start, else dead letters."""
        spill = self._spill
        lost = 0
        for request, items in self._leftovers:
            if request.spilled is not None and spill is not None:
                if not items:
                    spill.remove(request.spilled)
                elif len(items) != len(request.items):
                    spill.rewrite(request.spilled, bulk_body(items))
                continue
            if items and spill is not None and spill.push(bulk_body(items)) is not None:
                continue
            lost += len(items)
            self._dead_letter([doc for _, doc in items], "undelivered_at_shutdown",
                              f"not delivered within close_timeout ({self.config.close_timeout:.0f} s): "
                              f"{self._last_error or 'cluster busy'}")
        self._leftovers = []
        if lost:
            log.error("output %s: %d undelivered documents went to the dead-letter file", self.tag, lost)

    def _count_left_in_spill(self) -> None:
        """At close: every document in the spill folder (spilled during this run or an
        earlier one, never delivered) waits for the next start; count them all."""
        if self._spill is None:
            return
        left = self._spill.documents()
        with self._counts_lock:
            self.counts["left_in_spill"] = left
        self.stats.left_over = left
        self.stats.left_where = f"the spill folder {self.config.spill_dir}"
        if left:
            log.warning("output %s: %s did not take everything before shutdown: %d documents stay in %s and "
                        "will be sent at the next start", self.tag, self.config.base_url, left, self.config.spill_dir)

    # delivery (sender threads) ---------------------------------------------------------------
    def _sender(self) -> None:
        queue = self._queue
        assert queue is not None
        while not self._abort.is_set():
            request = queue.get(GET_SLICE)
            if request is None:
                if self._closing.is_set() and queue.unfinished <= 0:
                    return
                continue
            if request.spilled is not None:
                self._count("replayed_requests")
            try:
                self._deliver(request.items)
            except _Aborted as aborted:
                self._leftovers.append((request, aborted.pending))
                return
            except Exception as exc:  # a bug must not lose the request silently
                log.exception("output %s: sender failed", self.tag)
                self._dead_letter([doc for _, doc in request.items], "output_error", str(exc))
            queue.done(request)

    def _wait(self, attempt: int, pending: list[Item]) -> None:
        if self._abort.wait(self._policy.delay(attempt, random.random())):
            raise _Aborted(pending)

    def _deliver(self, items: list[Item]) -> None:
        """Settle every item (delivered, duplicate, dead-lettered) or raise _Aborted."""
        service = self._service
        assert service is not None
        action = self.config.action
        pending = items
        attempt = limited = 0
        while pending:
            if self._abort.is_set():
                raise _Aborted(pending)
            self._count("requests")
            try:
                status, body = service.post(bulk_body(pending))
            except TransportError as exc:
                self._unreachable(f"{exc}", "connection_errors")
                self._wait(attempt, pending)
                attempt += 1
                continue
            self._count(f"http_{status}")
            verdict = response_verdict(status)
            detail = ""
            if verdict is Verdict.ITEMS:
                try:
                    outcome = read_bulk_response(body, len(pending), action)
                except ValueError as exc:
                    verdict, detail = Verdict.RETRY_LIMITED, str(exc)
                else:
                    self._reachable()
                    pending, limited = self._settle_items(pending, outcome, limited)
                    if pending:
                        self._count("retried_items", len(pending))
                        self._wait(attempt, pending)
                        attempt += 1
                    continue
            if verdict is Verdict.SPLIT:
                if len(pending) == 1:
                    self._dead_letter([pending[0][1]], "too_large", f"HTTP 413: {_snippet(body)}")
                    return
                half = len(pending) // 2
                try:
                    self._deliver(pending[:half])
                except _Aborted as aborted:
                    raise _Aborted(aborted.pending + pending[half:]) from None
                pending = pending[half:]
                continue
            detail = detail or _response_reason(status, body)
            if verdict is Verdict.RETRY:
                self._unreachable(detail, "unavailable")
                self._wait(attempt, pending)
                attempt += 1
                continue
            if verdict is Verdict.RETRY_LIMITED:
                limited += 1
                if self._policy.gives_up(limited):
                    self._dead_letter([doc for _, doc in pending], "es_error",
                                      f"gave up after {limited} attempts: {detail}")
                    return
                self._warn(logging.WARNING, "output %s: %s (retrying)", self.tag, detail)
                self._wait(attempt, pending)
                attempt += 1
                continue
            self._dead_letter([doc for _, doc in pending], "es_request_rejected", detail)
            return

    def _settle_items(self, pending: list[Item], outcome: Any, limited: int) -> tuple[list[Item], int]:
        """Count and dead-letter per the item outcomes; returns the items to send again."""
        with self._counts_lock:
            self.counts["delivered"] += outcome.done
            self.counts["duplicates"] += outcome.duplicates
            for status, n in outcome.statuses.items():
                self.counts[f"item_{status}"] += n
        for index, status, reason in outcome.rejected:
            self._dead_letter([pending[index][1]], "es_rejected", f"{status} {reason}")
        again = list(outcome.retry)
        if outcome.retry_limited:
            limited += 1
            if self._policy.gives_up(limited):
                self._dead_letter([pending[i][1] for i in outcome.retry_limited], "es_error",
                                  f"item failed {limited} times with a server error")
            else:
                again += outcome.retry_limited
        return [pending[i] for i in sorted(again)], limited

    def _unreachable(self, reason: str, counter: str) -> None:
        self._count(counter)
        self._last_error = reason
        if not self._outage.is_set():
            self._outage.set()
        self._warn(logging.WARNING, "output %s: %s: %s (retrying with backoff)", self.tag, self.config.base_url,
                   reason)

    def _reachable(self) -> None:
        if self._outage.is_set():
            self._outage.clear()
            self._warn.reset()
            log.info("output %s: %s answers again", self.tag, self.config.base_url)

    def _dead_letter(self, documents: list[bytes], reason: str, detail: str) -> None:
        with self._counts_lock:
            self.counts["dead_lettered"] += len(documents)
            self.counts[f"dead_letter_{reason}"] += len(documents)
            self.stats.errors[reason] += len(documents)
        self._write_dead_letters(documents, reason, detail)


def _snippet(body: bytes, limit: int = 300) -> str:
    text = body[:limit].decode(errors="replace")
    return text + ("..." if len(body) > limit else "")


def _response_reason(status: int, body: bytes) -> str:
    """``HTTP 400: type: reason`` from an error response (its JSON ``error``, else its text)."""
    try:
        answer = orjson.loads(body)
        if isinstance(answer, dict) and "error" in answer:
            return f"HTTP {status}: {error_text(answer['error'])[1]}"
    except ValueError:
        pass
    return f"HTTP {status}: {_snippet(body)}"
