"""The multiprocess runtime: sharding, drain, crashes, stuck scripts, timers, backpressure.

Every test runs the real `mle` command with worker processes and reads what it wrote.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from tests.conftest import run_mle, summary_rows
from tests.runtime.helpers import FORWARD, TIMER, append_events, children_of, config, lines_of, title_of
from tests.waiting import wait_for


def flow_events(flows: int, per_flow: int) -> list[bytes]:
    """Interleaved events of many flows, each carrying its position in its flow."""
    events = []
    for seq in range(per_flow):
        for flow in range(flows):
            events.append(orjson.dumps({"flow_id": 1_000_003 * flow + 7, "seq": seq, "event_type": "flow"}))
    # events without a flow_id: both directions of one conversation must meet in one worker
    for i in range(20):
        a, b = ("10.0.0.1", 1234), ("192.0.2.9", 443)
        src, dst = (a, b) if i % 2 == 0 else (b, a)
        events.append(orjson.dumps({"event_type": "netflow", "src_ip": src[0], "src_port": src[1],
                                    "dest_ip": dst[0], "dest_port": dst[1], "proto": "TCP", "n": i}))
    return events


ORDER_CHECK = """
local last = {}
function loop(msg)
  msg.worker = mle.worker
  if msg.flow_id then
    local previous = last[msg.flow_id]
    msg.in_order = (previous == nil and msg.seq == 0) or msg.seq == previous + 1
    last[msg.flow_id] = msg.seq
  end
  dragonfly.output_event(default_output, msg)
end"""


def test_every_event_of_a_flow_goes_to_one_worker_in_order(make_root, tmp_path):
    eve = tmp_path / "eve.json"
    eve.write_bytes(b"\n".join(flow_events(flows=40, per_flow=50)) + b"\n")
    root = make_root(config(eve, extra=", batch_size = 16"), inputs={"f.lua": FORWARD},
                     analyzers={"a.lua": ORDER_CHECK})
    result = run_mle("replay", "-r", str(root), "--workers", "2")
    assert result.returncode == 0, result.stderr.decode()
    out = lines_of(root / "var/log/out.json")
    assert len(out) == 40 * 50 + 20
    workers_of: dict[int, set[int]] = {}
    for event in out:
        if "flow_id" in event:
            workers_of.setdefault(event["flow_id"], set()).add(event["worker"])
            assert event["in_order"], event
    assert all(len(w) == 1 for w in workers_of.values())
    assert {w for ws in workers_of.values() for w in ws} == {0, 1}  # both workers had flows
    assert len({e["worker"] for e in out if e["event_type"] == "netflow"}) == 1


@pytest.mark.parametrize("to", ["supervisor", "process group"])
def test_sigterm_drains_with_exact_counts(make_root, tmp_path, engine, to):
    """SIGTERM to the engine drains it; so does SIGTERM to its whole process group (what
    `timeout`, `kill -- -PGID` and service managers that signal every process send):
    the workers leave the stopping to the supervisor."""
    eve = tmp_path / "eve.json"
    good = [orjson.dumps({"flow_id": i, "event_type": "dns", "i": i}) for i in range(30_000)]
    lines = [*good[:15_000], b"{broken", b"\xff\xfe", *good[15_000:]]
    eve.write_bytes(b"\n".join(lines) + b"\n")
    root = make_root(config(eve), inputs={"f.lua": FORWARD},
                     analyzers={"a.lua": "function loop(m) dragonfly.output_event(default_output, m) end"})
    process = engine(root, "--workers", "2", own_group=True)
    out = root / "var/log/out.json"
    wait_for(lambda: out.exists() and out.stat().st_size > 0, what="first output")
    if to == "supervisor":
        process.send_signal(signal.SIGTERM)
    else:
        os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert "restart" not in stderr.decode().split("MLE:")[0], stderr.decode()
    read = int(re.search(r"([\d,]+) lines from", stderr.decode()).group(1).replace(",", ""))
    written = lines_of(out)
    dead = lines_of(root / "var/log/dead-letter.jsonl")
    assert read == len(written) + len(dead)  # in = out + dead-lettered
    assert len({e["i"] for e in written}) == len(written)  # nothing twice
    assert not list((root / "var/run").glob("mle-*.ipc")) and not (root / "var/run/redis.sock").exists()


def test_a_killed_worker_is_replaced_and_nothing_is_lost(make_root, tmp_path, engine):
    eve = tmp_path / "eve.json"
    total = 40_000
    eve.write_bytes(b"\n".join(orjson.dumps({"flow_id": i, "i": i}) for i in range(total)) + b"\n")
    slow = "function loop(m) local x = 0 for i = 1, 3000 do x = x + i end dragonfly.output_event(default_output, m) end"
    root = make_root(config(eve), inputs={"f.lua": FORWARD}, analyzers={"a.lua": slow})
    process = engine(root, "--workers", "2")
    out = root / "var/log/out.json"
    wait_for(lambda: out.exists() and out.stat().st_size > 0, what="first output")
    victims = children_of(process.pid, "mle: worker-0")
    assert len(victims) == 1
    os.kill(victims[0], signal.SIGKILL)
    try:
        wait_for(lambda: len(out.read_bytes().splitlines()) >= total, what="every event after the restart")
    except AssertionError as timeout:  # say what is missing and what the engine logged
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        lines = out.read_bytes().splitlines()
        missing = sorted(set(range(total)) - {orjson.loads(x)["i"] for x in lines})
        raise AssertionError(f"{len(lines)} lines, {len(missing)} missing (first {missing[:5]}):\n"
                             f"{err.decode()[-3000:]}") from timeout
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert "1 worker restarts" in stderr.decode()
    seen = [e["i"] for e in lines_of(out)]
    assert sorted(seen) == list(range(total))  # every event, exactly once
    # and counted once: the killed worker's events are in the scripts' counts
    rows = summary_rows(stderr)
    assert (rows["eve"]["in"], rows["eve"]["out"], rows["a"]["in"], rows["a"]["out"]) == (total,) * 4, stderr.decode()


STUCK = """
function loop(msg)
  if msg.evil then
    while true do end  -- no instruction budget (max_instructions = 0): only the watchdog stops this
  end
  dragonfly.output_event(default_output, msg)
end"""


def test_a_stuck_script_is_stopped_quarantined_and_its_event_dead_lettered(make_root, tmp_path):
    eve = tmp_path / "eve.json"
    events = [{"flow_id": 5, "i": i} for i in range(30)]
    events[10]["evil"] = True
    eve.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    root = make_root(config(eve, extra=", worker_timeout = 1, max_instructions = 0"), inputs={"f.lua": FORWARD},
                     analyzers={"a.lua": STUCK})
    result = run_mle("replay", "-r", str(root), "--workers", "1", timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    stderr = result.stderr.decode()
    assert "quarantining analyzer a" in stderr
    out = {e["i"]: e for e in lines_of(root / "var/log/out.json")}
    assert sorted(out) == [i for i in range(30) if i != 10]
    dead = lines_of(root / "var/log/dead-letter.jsonl")
    assert len(dead) == 1 and dead[0]["reason"] == "worker_crash"
    assert "in analyzer a" in dead[0]["detail"] and orjson.loads(dead[0]["line"])["i"] == 10
    # events after the culprit still go on, marked as not analyzed
    assert out[29]["mle"]["errors"][0]["error"] == "skipped: script is quarantined"


def test_timers_fire_in_the_worker_that_armed_them(make_root, tmp_path, engine):
    eve = tmp_path / "eve.json"
    eve.write_bytes(b"\n".join(orjson.dumps({"flow_id": i}) for i in range(200)) + b"\n")
    root = make_root(config(eve), inputs={"f.lua": FORWARD}, analyzers={"a.lua": TIMER % "0.2"})
    process = engine(root, "--workers", "2")
    out = root / "var/log/out.json"
    wait_for(lambda: len(lines_of(out)) == 2, what="one timer per worker")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    fired = lines_of(out)
    assert sorted((e["armed_in"], e["fired_in"]) for e in fired) == [(0, 0), (1, 1)]


def test_pending_timers_fire_once_at_the_end_of_a_replay(make_root, tmp_path):
    eve = tmp_path / "eve.json"
    eve.write_bytes(b"\n".join(orjson.dumps({"flow_id": i}) for i in range(200)) + b"\n")
    root = make_root(config(eve), inputs={"f.lua": FORWARD}, analyzers={"a.lua": TIMER % "3600"})
    assert run_mle("replay", "-r", str(root), "--workers", "2").returncode == 0
    assert sorted(e["fired_in"] for e in lines_of(root / "var/log/out.json")) == [0, 1]


def source_read_position(pid: int, path: Path) -> int | None:
    """Where the process's open file ``path`` is read up to (from /proc/PID/fdinfo)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == str(path):
                return int(Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text().split()[1])
        except OSError:
            continue
    return None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.slow
def test_a_slow_output_stops_the_reading_and_nothing_is_lost(make_root, tmp_path, engine):
    eve = tmp_path / "eve.json"
    total = 200_000
    eve.write_bytes(b"\n".join(orjson.dumps({"flow_id": i, "i": i, "pad": "x" * 300}) for i in range(total)) + b"\n")
    fifo = tmp_path / "slow-reader.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the output's reader, not reading yet
    root = make_root(config(eve, out=f"file://{fifo}"), inputs={"f.lua": FORWARD},
                     analyzers={"a.lua": "function loop(m) dragonfly.output_event(default_output, m) end"})
    process = engine(root, "--workers", "2")
    wait_for(lambda: children_of(process.pid, "mle: source"), what="the source process")
    source = children_of(process.pid, "mle: source")[0]
    wait_for(lambda: source_read_position(source, eve) is not None, what="the source opening the input")

    def stalled() -> bool:
        first = source_read_position(source, eve)
        time.sleep(1.0)
        return first == source_read_position(source, eve)

    wait_for(stalled, what="the source to stop reading")
    position = source_read_position(source, eve)
    assert position is not None and position < eve.stat().st_size / 2  # most of the input is still unread
    engine_pids = [process.pid, *children_of(process.pid, "mle: ")]
    assert all(rss_mb(pid) < 200 for pid in engine_pids)  # bounded queues: memory stays small

    received = bytearray()
    os.set_blocking(reader, True)
    while received.count(b"\n") < total:
        chunk = os.read(reader, 1 << 20)
        if not chunk:
            break
        received += chunk
    os.close(reader)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    seen = sorted(orjson.loads(line)["i"] for line in bytes(received).splitlines())
    assert seen == list(range(total))
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def forwarding_engine(make_root, tmp_path: Path, engine) -> tuple[subprocess.Popen, Path, Path]:
    """A 2-worker `mle run` that forwarded its first 100 events: (process, eve file, output file)."""
    eve = tmp_path / "eve.json"
    append_events(eve, range(100))
    root = make_root(config(eve), inputs={"f.lua": FORWARD},
                     analyzers={"a.lua": "function loop(m) dragonfly.output_event(default_output, m) end"})
    process = engine(root, "--workers", "2")
    out = root / "var/log/out.json"
    wait_for(lambda: len(lines_of(out)) == 100, what="the first 100 events")
    return process, eve, out


def test_sighup_reopens_outputs_in_the_sink_process(make_root, tmp_path, engine):
    process, eve, out = forwarding_engine(make_root, tmp_path, engine)
    out.rename(out.with_name("out.json.1"))
    process.send_signal(signal.SIGHUP)
    wait_for(out.exists, what="the output reopened under its name")
    append_events(eve, range(100, 150))
    wait_for(lambda: len(lines_of(out)) == 50, what="new events in the new file")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_sigusr2_prints_where_each_process_waits_and_the_engine_goes_on(make_root, tmp_path, engine):
    process, eve, out = forwarding_engine(make_root, tmp_path, engine)
    assert title_of(process.pid).startswith("mle: run")
    engine_pids = [process.pid, *children_of(process.pid, "mle: ")]
    assert len(engine_pids) == 5  # supervisor, source, 2 workers, sink
    for pid in engine_pids:
        os.kill(pid, signal.SIGUSR2)
    append_events(eve, range(100, 150))
    wait_for(lambda: len(lines_of(out)) == 150, what="events after the stack dumps")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    stderr = process.stderr.read().decode()
    assert stderr.count("Current thread") == 5, stderr
    assert "source_proc.py" in stderr and "worker_proc.py" in stderr and "sink_proc.py" in stderr
