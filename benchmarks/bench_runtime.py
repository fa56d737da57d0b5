#!/usr/bin/env python3
"""The multiprocess runtime under the reference workload: events/s, latency, memory.

    python benchmarks/bench_runtime.py [--events 1000000] [--workers 1 2] [--scenario all]
                                       [--latency-seconds 20] [--no-latency]

For each scenario and worker count:

1. throughput: `mle replay --workers N` of the generated file (gen_eve.py, 1M lines by
   default), events/s as the engine reports it, and the peak RSS of every process
   (sampled from /proc while it runs; also at 25/50/75/100 % of the run to show
   whether memory grows with the number of events);
2. latency: `mle run --workers N` reading a unix stream socket, fed like Suricata
   feeds it at half the measured maximum rate, each event stamped with the time it
   was sent; the output is a unix socket this script listens on, so the arrival
   time is taken the moment the engine writes. Prints p50/p99/max.

Scenarios:
  pass-through  input script -> forwarding analyzer -> output
  hello-world   Dragonfly's hello-world chain, written anew: input script -> an analyzer
                doing one Redis INCR per event (command_line "INCR count:<type>",
                event_count annotation) -> write-to-log analyzer (output timestamp) -> output
  default-pipeline
                the repository's own pipeline: inputs/suricata-filter.lua routing by event
                type through every analyzer in analyzers/ (in their declared order), with
                shard_key = "src_ip" as the shipped config.lua sets it; printed next to
                pass-through at the same worker count, with the ratio (the speed budget:
                at least half of pass-through)
  dragonfly-pass-through, dragonfly-hello-world
                the same chains in a Dragonfly root (config/config.lua, filter/, analyzer/):
                analyzer order (each analyzer takes every event one at a time, as Dragonfly's
                threads did), one worker unless --workers says otherwise; hello-world's
                events run ahead (one command per event, proven from its source)

Every scenario runs with serial Redis semantics (README, "Redis from Lua").

With ``--dragonfly BIN`` (the C engine, rebuilt outside this repository as
benchmarks/README.md says; needs root for its /var/log) the same run first times the C
engine on the pass-through and hello-world chains (same scripts, same workload, its own
private Redis; c_engine.py) and prints MLE's ratio to it beside each MLE figure. Without
it, the figures PERFORMANCE.md gives for the C engine on this machine class (measured
2026-12, another day: hello-world 16,500 events/s, pass-through 40,000-43,000) are
printed instead; this machine's speed moves by a factor of two or more between days, so
only same-run ratios mean anything.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import c_engine
from workload import workload

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CPU: dict[str, float] = {}

# every script defines setup(): the C engine calls it in each script and stops without one
FILTER = "function setup() end\nfunction loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end\n"
FORWARD = "function setup() end\nfunction loop(msg) dragonfly.output_event(default_output, msg) end\n"
HELLO = """
function setup()
  conn = hiredis.connect()
  assert(conn:command("PING") == hiredis.status.PONG)
end
function loop(msg)
  local reply = conn:command_line("INCR count:" .. msg.event_type)
  msg.event_count = reply
  dragonfly.analyze_event(default_analyzer, msg)
end
"""
WRITE_TO_LOG = """
function setup() end
function loop(msg)
  msg.dragonfly_output_timestamp = os.date("!%Y-%m-%dT%TZ")
  dragonfly.output_event(default_output, msg)
end
"""


#: every root make_root() builds (also what bench_instructions.py and bench_lua_profile.py take)
SCENARIOS = ("pass-through", "hello-world", "default-pipeline", "dragonfly-pass-through", "dragonfly-hello-world")

C_ENGINE = {"pass-through": "40,000-43,000", "hello-world": "16,500"}  # PERFORMANCE.md, same workload


def make_default_root(root: Path, base: Path, input_uri: str, output_uri: str) -> Path:
    """The repository's own pipeline (its input script and every analyzer, shard_key
    src_ip) reading ``input_uri``, writing ``output_uri``."""
    shutil.copytree(REPO / "inputs", root / "inputs")
    shutil.copytree(REPO / "analyzers", root / "analyzers", ignore=shutil.ignore_patterns("tests", "*.md"))
    (root / "config.lua").write_text(
        f'inputs = {{ {{ tag = "eve", uri = "{input_uri}", script = "suricata-filter.lua" }} }}\n'
        f'outputs = {{ {{ tag = "out", uri = "{output_uri}" }} }}\n'
        f'mle = {{ shard_key = "src_ip", run_dir = "{base}/run-default-pipeline" }}\n'
    )
    return root


def make_root(base: Path, scenario: str, input_uri: str, output_uri: str) -> Path:
    """An MLE root, or a Dragonfly root for the dragonfly-* scenarios."""
    root = base / scenario
    shutil.rmtree(root, ignore_errors=True)
    if scenario == "default-pipeline":
        return make_default_root(root, base, input_uri, output_uri)
    dragonfly = scenario.startswith("dragonfly-")
    inputs, analyzers_dir = (root / "filter", root / "analyzer") if dragonfly else (root / "inputs", root / "analyzers")
    inputs.mkdir(parents=True)
    analyzers_dir.mkdir()
    (inputs / "filter.lua").write_text(FILTER)
    if scenario.endswith("pass-through"):
        (analyzers_dir / "forward.lua").write_text(FORWARD)
        analyzers = '{ tag = "forward", script = "forward.lua", default_analyzer = "", default_output = "out" }'
        first = "forward"
    else:
        (analyzers_dir / "hello-world.lua").write_text(HELLO)
        (analyzers_dir / "write-to-log.lua").write_text(WRITE_TO_LOG)
        analyzers = ('{ tag = "hello", script = "hello-world.lua", default_analyzer = "sink", default_output = "" },\n'
                     '  { tag = "sink", script = "write-to-log.lua", default_analyzer = "", default_output = "out" }')
        first = "hello"
    config = root / "config/config.lua" if dragonfly else root / "config.lua"
    config.parent.mkdir(exist_ok=True)
    config.write_text(
        f'inputs = {{ {{ tag = "eve", uri = "{input_uri}", script = "filter.lua", default_analyzer = "{first}" }} }}\n'
        f"analyzers = {{\n  {analyzers}\n}}\n"
        f'outputs = {{ {{ tag = "out", uri = "{output_uri}" }} }}\n'
        f'mle = {{ run_dir = "{base}/run-{scenario}" }}\n'
    )
    return root


def engine_pids(parent: int) -> dict[str, int]:
    """The engine's processes by title ("mle: worker-0" ...) plus the supervisor."""
    found = {"supervisor": parent}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and cmdline.startswith("mle: "):
            found[cmdline[5:].strip()] = int(entry.name)
        elif ppid == parent and ("valkey-server" in cmdline or "redis-server" in cmdline):
            found["redis"] = int(entry.name)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def throughput(root: Path, workers: int, events: int) -> tuple[float, dict[str, float], dict[str, list[float]]]:
    """events/s of a replay, peak RSS per process, RSS per process at 25/50/75/100 %."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mle", "replay", "-r", str(root), "--workers", str(workers), "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "200"},
    )
    peaks: dict[str, float] = {}
    cpu: dict[str, float] = {}
    samples: dict[str, list[tuple[float, float]]] = {}
    started = time.monotonic()
    stderr_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()), daemon=True)
    reader.start()
    while process.poll() is None:
        for name, pid in engine_pids(process.pid).items():
            rss = rss_mb(pid)
            cpu[name] = max(cpu.get(name, 0.0), cpu_seconds(pid))
            if rss:
                peaks[name] = max(peaks.get(name, 0.0), rss)
                samples.setdefault(name, []).append((time.monotonic() - started, rss))
        time.sleep(0.25)
    reader.join()
    stderr = b"".join(stderr_chunks).decode()
    if process.returncode != 0:
        raise SystemExit(f"mle replay failed:\n{stderr}")
    match = re.search(r"in ([\d.]+) s \(", stderr)
    seconds = float(match.group(1)) if match else time.monotonic() - started
    total = max(t for s in samples.values() for t, _ in s) if samples else 1.0
    quarters: dict[str, list[float]] = {}
    for name, points in samples.items():
        quarters[name] = []
        for fraction in (0.25, 0.5, 0.75, 1.0):
            before = [rss for t, rss in points if t <= fraction * total]
            quarters[name].append(before[-1] if before else 0.0)
    global CPU
    CPU = {name: seconds for name, seconds in cpu.items()}
    return events / seconds, peaks, quarters


def latency(root_base: Path, scenario: str, workers: int, eve: Path, rate: float, seconds: float) -> list[float]:
    """Latencies (ms) of events fed at ``rate`` events/s for ``seconds``."""
    sock_in = root_base / f"{scenario}-in.sock"
    sock_out = root_base / f"{scenario}-out.sock"
    for path in (sock_in, sock_out):
        path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock_out))
    listener.listen(1)
    root = make_root(root_base, scenario, f"unix://{sock_in}", f"unix://{sock_out}")
    process = subprocess.Popen([sys.executable, "-m", "mle", "run", "-r", str(root), "--workers", str(workers)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latencies: list[float] = []
    done = threading.Event()

    def receive() -> None:
        connection, _ = listener.accept()
        buffer = b""
        while not done.is_set() or buffer:
            chunk = connection.recv(1 << 20)
            if not chunk:
                break
            now = time.monotonic_ns()
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                start = line.find(b'"sent_ns":')
                if start >= 0:
                    end = line.find(b",", start)
                    latencies.append((now - int(line[start + 10:end])) / 1e6)

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    try:
        deadline = time.monotonic() + 60
        while not sock_in.exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("mle run did not open its input socket")
            time.sleep(0.05)
        writer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        writer.connect(str(sock_in))
        with eve.open("rb") as f:
            lines = [line.rstrip(b"\n") for _, line in zip(range(int(rate * seconds)), f, strict=False)]
        interval = 1.0 / rate
        started = time.monotonic()
        chunk = max(1, int(rate / 1000))  # send in 1 ms chunks, like a busy sensor's writes
        for i in range(0, len(lines), chunk):
            target = started + i * interval
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            stamp = b'{"sent_ns":%d,' % time.monotonic_ns()
            writer.sendall(b"".join(stamp + line[1:] + b"\n" for line in lines[i:i + chunk]))
        writer.close()
        deadline = time.monotonic() + 30
        while len(latencies) < len(lines) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=60)
        done.set()
        listener.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scenario", default="all", nargs="+",
                        choices=["all", *SCENARIOS])
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--dragonfly", type=Path, metavar="BIN",
                        help="the C engine's binary (benchmarks/README.md): run its pass-through and "
                             "hello-world chains in the same run and print MLE's ratio to it")
    args = parser.parse_args()
    eve = workload(args.events)
    scenarios = list(SCENARIOS) if "all" in args.scenario else list(args.scenario)
    if "default-pipeline" in scenarios and "pass-through" not in scenarios:
        scenarios.insert(scenarios.index("default-pipeline"), "pass-through")  # its reference
    print(f"{os.cpu_count()} cores; {args.events:,} events from gen_eve.py\n")
    rows = []
    passthrough: dict[int, float] = {}  # events/s of pass-through by worker count
    c_rates: dict[str, float] = {}  # the C engine's events/s by chain, measured in this run
    with tempfile.TemporaryDirectory(prefix="mle-bench-") as tmp:
        base = Path(tmp)

        def measure_c_engine(chain: str) -> None:
            """The C engine on the same chain and workload (once per chain, before MLE's run)."""
            if chain not in c_rates:
                out = base / f"c-{chain}-out.json"
                root = make_root(base / "c-engine", f"dragonfly-{chain}", f"file://{eve}", f"file://{out}")
                c_rates[chain] = c_engine.run(args.dragonfly, root, out, args.events, base)
                print(f"{'C engine ' + chain:<22} workers=-  {c_rates[chain]:>9,.0f} events/s  "
                      f"(Dragonfly MLE, this run)", flush=True)

        for scenario in scenarios:
            # a Dragonfly root keeps Dragonfly's order with its default single worker
            for workers in ([1] if scenario.startswith("dragonfly-") else args.workers):
                chain = scenario.removeprefix("dragonfly-")
                if args.dragonfly and chain in C_ENGINE:
                    measure_c_engine(chain)
                root = make_root(base, scenario, f"file://{eve}", f"file://{base}/{scenario}-out.json<")
                rate, peaks, quarters = throughput(root, workers, args.events)
                lat = [] if args.no_latency else latency(base, scenario, workers, eve, rate / 2,
                                                          args.latency_seconds)
                rows.append((scenario, workers, rate, lat, peaks, quarters))
                if len(lat) > 100:
                    p50, p99 = statistics.median(lat), statistics.quantiles(lat, n=100)[98]
                    latency_text = (f"latency at {rate / 2:,.0f}/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
                                    f"({len(lat):,} events)")
                else:
                    latency_text = "latency not measured" if args.no_latency else f"latency: only {len(lat)} events"
                if scenario == "pass-through":
                    passthrough[workers] = rate
                if scenario == "default-pipeline" and workers in passthrough:
                    reference = (f"pass-through {passthrough[workers]:,.0f}: ratio "
                                 f"{rate / passthrough[workers]:.2f}, budget >= 0.50")
                elif chain in c_rates:
                    reference = f"C engine this run: {c_rates[chain]:,.0f}, ratio {rate / c_rates[chain]:.2f}"
                else:
                    reference = f"C engine: {C_ENGINE[chain]}" if chain in C_ENGINE else "no reference"
                print(f"{scenario:<22} workers={workers}  {rate:>9,.0f} events/s  ({reference})  "
                      f"{latency_text}", flush=True)
                for name in sorted(peaks):
                    trend = " -> ".join(f"{v:.0f}" for v in quarters.get(name, []))
                    per_event = CPU.get(name, 0.0) / args.events * 1e6
                    print(f"    {name:<10} peak RSS {peaks[name]:6.0f} MB   at 25/50/75/100 %: {trend} MB   "
                          f"CPU {per_event:5.1f} us/event")
    return None


if __name__ == "__main__":
    main()
