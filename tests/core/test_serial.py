"""Serial semantics: every Redis reply a script gets is the one a one-at-a-time run gives.

The oracle is literally a one-at-a-time replay: redis-py sends the same commands, each a
blocking call, one event after another in file order, to an empty Redis. The engine
runs the real CLI (`mle replay`) with its default settings (rounds of 64 events whose
commands share round trips, one or more worker processes) and must hand every event
exactly the oracle's replies. Keys are per shard (per flow by default, per host with
``shard_key = "src_ip"``): state shared by several shards is updated concurrently, as
documented; in a Dragonfly root (analyzer order, one worker) even global keys read
serially.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from pathlib import Path

import orjson
import pytest
import redis as redis_py

from tests.conftest import REPO, run_mle

SAMPLE = REPO / "data/eve/sample.eve.json.gz"  # 2,325 real records, 827 flows, up to 68 events per flow

MLE_CONFIG = """
inputs = { { tag = "eve", uri = "file://x", script = "f.lua", default_analyzer = "a" } }
analyzers = { { tag = "a", script = "a.lua", default_analyzer = "", default_output = "out" } }
outputs = { { tag = "out", uri = "file://out.json" } }
%s
"""
FORWARD = """
function loop(msg)
  if msg == nil then return end
  if msg.%s ~= nil then dragonfly.analyze_event(default_analyzer, msg) else dragonfly.output_event("out", msg) end
end
"""
# set add + count, get + set, hash read + write: six commands, each built from the replies before it
READ_MODIFY_WRITE = """
local c
function setup() c = assert(hiredis.connect()) end
function loop(msg)
  local key = tostring(msg.%s)
  c:command("SADD", "s:" .. key, msg.event_type .. "@" .. tostring(msg.timestamp))
  local card = c:command("SCARD", "s:" .. key)
  local n = (tonumber(c:command("GET", "n:" .. key)) or 0) + 1
  c:command("SET", "n:" .. key, n)
  local prev = c:command("HGET", "h:" .. key, "last")
  c:command("HSET", "h:" .. key, "last", msg.event_type .. "#" .. n)
  msg.serial = { card = card, n = n, prev = prev == hiredis.NIL and "" or prev }
  dragonfly.output_event(default_output, msg)
end
"""


def one_at_a_time(records: list[dict], key_field: str, client: redis_py.Redis) -> dict[str, list[dict]]:
    """The replies of a one-at-a-time run, per key, in file order."""
    expected: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        if record.get(key_field) is None:
            continue
        key = str(record[key_field])
        client.sadd(f"s:{key}", f"{record['event_type']}@{record['timestamp']}")
        card = client.scard(f"s:{key}")
        n = int(client.get(f"n:{key}") or 0) + 1
        client.set(f"n:{key}", n)
        prev = client.hget(f"h:{key}", "last")
        client.hset(f"h:{key}", "last", f"{record['event_type']}#{n}")
        expected[key].append({"card": card, "n": n, "prev": prev.decode() if prev else ""})
    return expected


def replies_by_key(out: Path, key_field: str) -> dict[str, list[dict]]:
    got: dict[str, list[dict]] = defaultdict(list)
    for line in out.read_bytes().splitlines():
        event = orjson.loads(line)
        if "serial" in event:
            got[str(event[key_field])].append(event["serial"])
    return got


def read_records(path: Path) -> list[dict]:
    records = []
    with gzip.open(path, "rb") as f:
        for line in f:
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue  # the sample's one truncated record
    return records


def replay(root: Path, data: Path, tmp_path: Path, *args: str) -> tuple[Path, str]:
    out = tmp_path / "out.json"
    out.unlink(missing_ok=True)
    result = run_mle("replay", str(data), "-r", str(root), "--out", str(out), "--no-progress", *args)
    assert result.returncode == 0, result.stderr.decode()
    return out, result.stderr.decode()


@pytest.mark.parametrize("workers", ["0", "1", "2"])
def test_read_modify_write_per_flow_reads_as_one_at_a_time(make_root, tmp_path, redis_client, workers):
    root = make_root(MLE_CONFIG % "", inputs={"f.lua": FORWARD % "flow_id"},
                     analyzers={"a.lua": READ_MODIFY_WRITE % "flow_id"})
    expected = one_at_a_time(read_records(SAMPLE), "flow_id", redis_client)
    out, _ = replay(root, SAMPLE, tmp_path, "--workers", workers)
    got = replies_by_key(out, "flow_id")
    assert sum(map(len, got.values())) == sum(map(len, expected.values())) == 2324
    wrong = {key: (got[key], want) for key, want in expected.items() if got[key] != want}
    assert not wrong, f"{len(wrong)} of {len(expected)} flows read replies a one-at-a-time run does not give"


def test_one_shard_of_many_events_is_serial(make_root, tmp_path, redis_client):
    # 600 events of one flow, with 200 events of other flows between them
    lines = []
    for i in range(800):
        flow = 7 if i % 4 else 1000 + i
        lines.append(orjson.dumps({"timestamp": f"t{i}", "flow_id": flow, "event_type": "flow", "i": i}))
    data = tmp_path / "one-flow.json"
    data.write_bytes(b"\n".join(lines) + b"\n")
    root = make_root(MLE_CONFIG % "", inputs={"f.lua": FORWARD % "flow_id"},
                     analyzers={"a.lua": READ_MODIFY_WRITE % "flow_id"})
    expected = one_at_a_time([orjson.loads(line) for line in lines], "flow_id", redis_client)
    out, _ = replay(root, data, tmp_path)
    got = replies_by_key(out, "flow_id")
    assert [r["n"] for r in got["7"]] == list(range(1, 601))
    assert got == expected


def test_per_host_state_with_a_host_shard_key(make_root, tmp_path, redis_client):
    root = make_root(MLE_CONFIG % 'mle = { shard_key = "src_ip" }', inputs={"f.lua": FORWARD % "src_ip"},
                     analyzers={"a.lua": READ_MODIFY_WRITE % "src_ip"})
    expected = one_at_a_time(read_records(SAMPLE), "src_ip", redis_client)
    out, _ = replay(root, SAMPLE, tmp_path)
    assert replies_by_key(out, "src_ip") == expected


# --- a Dragonfly root: each analyzer takes every event in one order, as Dragonfly's threads did

DRAGONFLY_CONFIG = """
redis_host = ""
redis_port = ""
inputs = { { tag="eve", uri="file://x", script="filter.lua", default_analyzer="a" } }
analyzers = {
  { tag="a", script="%s", default_analyzer="sink", default_output="" },
  { tag="sink", script="sink.lua", default_analyzer="", default_output="log" },
}
outputs = { { tag="log", uri="file://log.json" } }
"""
FILTER = "function loop(msg) if msg ~= nil then dragonfly.analyze_event(default_analyzer, msg) end end"
SINK = "function loop(msg) dragonfly.output_event(default_output, msg) end"
# global state, read and written by separate commands (as Dragonfly's hll and counters do)
GLOBAL_RMW = """
function setup() conn = hiredis.connect() end
function loop(msg)
  conn:command_line("PFADD hosts " .. tostring(msg.src_ip))
  msg.hosts = conn:command_line("PFCOUNT hosts")
  local n = conn:command_line("GET total")
  if n == hiredis.NIL then n = 0 end
  msg.total = n + 1
  conn:command_line("SET total " .. msg.total)
  msg.ratio = msg.hosts / msg.total
  dragonfly.analyze_event(default_analyzer, msg)
end
"""
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


def dragonfly_root(make_root, analyzer: str, source: str) -> Path:
    return make_root(DRAGONFLY_CONFIG % analyzer, inputs={"filter.lua": FILTER},
                     analyzers={analyzer: source, "sink.lua": SINK}, layout="dragonfly")


def test_dragonfly_root_reads_global_state_one_event_at_a_time(make_root, tmp_path, redis_client):
    root = dragonfly_root(make_root, "global.lua", GLOBAL_RMW)
    records = read_records(SAMPLE)
    hosts: list[int] = []
    for total, record in enumerate(records, 1):
        redis_client.pfadd("hosts", str(record.get("src_ip")))
        hosts.append(redis_client.pfcount("hosts"))
        assert total  # the oracle's total is the event's position
    out, _ = replay(root, SAMPLE, tmp_path)
    events = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [e["total"] for e in events] == list(range(1, len(records) + 1))
    assert [e["hosts"] for e in events] == hosts
    # numbers the scripts computed are written as Dragonfly's cjson wrote them (14 significant digits)
    ratio = re.search(rb'"ratio":([^,}]+)', out.read_bytes().splitlines()[2]).group(1)
    assert ratio == f"{float(f'{hosts[2] / 3:.14g}')!r}".encode()


def test_one_command_scripts_share_round_trips_in_analyzer_order(make_root, tmp_path):
    root = dragonfly_root(make_root, "hello-world.lua", HELLO)
    out, stderr = replay(root, SAMPLE, tmp_path)
    events = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    seen: dict[str, int] = defaultdict(int)
    for event in events:  # each event got the count of its type up to itself: serial replies
        if "event_type" not in event:
            assert event["mle"]["errors"]  # the script failed on it: concatenating nil
            continue
        seen[event["event_type"]] += 1
        assert event["event_count"] == seen[event["event_type"]]
    commands, round_trips = map(int, re.search(r"redis\s+([\d,]+) commands in ([\d,]+) round trips",
                                               stderr.replace(",", "")).groups())
    assert commands == sum(seen.values()) + 1  # the INCRs and setup's PING
    assert round_trips < len(events) / 20  # events ran ahead: ~one round trip per round of 64


def test_numbers_keep_full_precision_in_an_mle_root(make_root, tmp_path):
    root = make_root(MLE_CONFIG % "", inputs={"f.lua": FORWARD % "flow_id"}, analyzers={
        "a.lua": "function loop(msg) msg.ratio = 2 / 3 dragonfly.output_event(default_output, msg) end"})
    out, _ = replay(root, SAMPLE, tmp_path, "--workers", "0")
    first = out.read_bytes().splitlines()[0]
    assert b'"ratio":0.6666666666666666' in first
    with gzip.open(SAMPLE) as f:
        original = f.readline()
    assert re.search(rb'"flow_id":(\d+)', first).group(1) == re.search(rb'"flow_id":(\d+)', original).group(1)
