"""A Dragonfly MLE root runs unmodified: config/config.lua, filter/, analyzer/,
a filter, two chained analyzers (Redis via command_line, require, io.open in
setup, string keys built from numbers) and a file output."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.conftest import run_mle

CONFIG = """
-- Dragonfly MLE configuration (as shipped in config/config.lua)
redis_host = "{redis}"
redis_port = "0"

inputs = {{
   {{ tag="eve", uri="file://{eve}", script="suricata-filter.lua", default_analyzer="hello" }},
}}

analyzers = {{
   {{ tag="hello", script="hello-world.lua", default_analyzer="sink", default_output="" }},
   {{ tag="sink", script="write-to-log.lua", default_analyzer="", default_output="log" }},
}}

outputs = {{
   {{ tag="log", uri="file://eve-mle.log" }},
}}
"""

FILTER = """
function setup()
    print (">>>>>>>> suricata filter")
end

function loop(msg)
    local eve = msg
    if eve ~= nil and eve.event_type ~= nil then
        dragonfly.analyze_event(default_analyzer, eve)
    end
end
"""

UTILS = """
function check_fields(event, fields)
    for _, name in ipairs(fields) do
        if event[name] == nil then return false end
    end
    return true
end

function ip_to_long(ip)
    local o1, o2, o3, o4 = ip:match("(%d+)%.(%d+)%.(%d+)%.(%d+)")
    if not o1 then return nil end
    return 2^24 * o1 + 2^16 * o2 + 2^8 * o3 + o4
end
"""

HELLO = """
require 'analyzer/utils'
local internal = {}

function setup()
    conn = hiredis.connect()
    assert(conn:command("PING") == hiredis.status.PONG)
    local file = assert(io.open("analyzer/internal-nets.txt", "r"))
    for line in file:lines() do internal[line] = true end
    file:close()
end

function loop(msg)
    if not check_fields(msg, {"event_type", "src_ip"}) then
        dragonfly.log_event("missing fields")
        return
    end
    local reply = conn:command_line("INCR count:" .. msg.event_type)
    msg.event_count = reply
    local net = msg.src_ip:match("^(%d+%.%d+)%.")
    msg.internal = internal[net] == true
    msg.ip_key = "ip:" .. ip_to_long(msg.src_ip)
    dragonfly.analyze_event(default_analyzer, msg)
end
"""

WRITE_TO_LOG = """
function setup()
    print (">>>>>>>> write-to-log")
end

function loop(msg)
    if msg.dragonfly_ingest_timestamp_unix then
        msg.dragonfly_latency = os.time() - msg.dragonfly_ingest_timestamp_unix
    end
    msg.dragonfly_output_timestamp = os.date("!%Y-%m-%dT%TZ")
    dragonfly.output_event(default_output, msg)
end
"""

EVENTS = [
    {"timestamp": "2019-04-22T13:45:09.000759+0000", "flow_id": 1351273314654466, "event_type": "dns",
     "src_ip": "10.0.0.1", "dest_ip": "8.8.8.8", "dns": {"rrname": "example.com"}},
    {"timestamp": "2019-04-22T13:45:10.000001+0000", "flow_id": 2, "event_type": "flow",
     "src_ip": "192.168.1.20", "dest_ip": "10.0.0.1"},
    {"timestamp": "2019-04-22T13:45:11.5+0000", "flow_id": 3, "event_type": "dns",
     "src_ip": "10.0.7.9", "dest_ip": "8.8.4.4", "dns": {"rrname": "example.org"}},
    {"event_type": "stats"},  # no src_ip: logged by hello, not forwarded (Dragonfly's behaviour)
]


def dragonfly_root(tmp_path: Path, redis_socket: str) -> Path:
    root = tmp_path / "dragonfly-mle"
    eve = tmp_path / "eve.json"
    eve.write_bytes(b"\n".join(orjson.dumps(e) for e in EVENTS) + b"\nnot json at all\n")
    files = {
        "config/config.lua": CONFIG.format(redis=redis_socket, eve=eve),
        "filter/suricata-filter.lua": FILTER,
        "analyzer/utils.lua": UTILS,
        "analyzer/hello-world.lua": HELLO,
        "analyzer/write-to-log.lua": WRITE_TO_LOG,
        "analyzer/internal-nets.txt": "10.0\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("runtime, ip_key", [("auto", "ip:167772161"), ("lua54", "ip:167772161.0")])
def test_dragonfly_root_runs_unmodified(tmp_path, redis_server, redis_client, runtime, ip_key):
    root = dragonfly_root(tmp_path, redis_server.unix_socket)
    # one worker: Dragonfly had one thread per analyzer, and the counts below depend on event order
    result = run_mle("replay", "-r", str(root), "--runtime", runtime, "--workers", "1")
    assert result.returncode == 0, result.stderr.decode()
    assert ("luajit" if runtime == "auto" else "lua54") in result.stderr.decode()

    out = [orjson.loads(line) for line in (root / "var/log/eve-mle.log").read_bytes().splitlines()]
    assert [(e["flow_id"], e["event_type"], e["event_count"], e["internal"]) for e in out] == [
        (1351273314654466, "dns", 1, True),
        (2, "flow", 1, False),
        (3, "dns", 2, True),
    ]
    assert all(e["dragonfly_output_timestamp"].endswith("Z") for e in out)
    # LuaJIT prints integral numbers without ".0"; Lua 5.4 does not: this is why a
    # Dragonfly root runs on LuaJIT unless told otherwise
    assert out[0]["ip_key"] == ip_key
    # the original fields are intact, byte for byte, in front of the additions
    first = (root / "var/log/eve-mle.log").read_bytes().splitlines()[0]
    assert first.startswith(orjson.dumps(EVENTS[0])[:-1] + b",")
    assert redis_client.get("count:dns") == b"2"
    assert [orjson.loads(line) for line in (root / "var/log/mle.log").read_bytes().splitlines()] == [
        "missing fields"
    ]
    assert "1 rejected (not_json: 1)" in result.stderr.decode()
