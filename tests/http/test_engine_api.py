"""The HTTP API of a real `mle run` (subprocess, private Redis, real workers):
feedback that changes an online model's next score, reload, metrics, health
while a worker is killed and replaced, and the single-process engine."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import orjson
import pytest
import redis as redis_py
from prometheus_client.parser import text_string_to_metric_families

from tests.http.helpers import Api, engine_log
from tests.runtime.helpers import children_of, lines_of
from tests.waiting import wait_for

CONFIG = """
inputs = {{ {{ tag = "eve", uri = "tail://{eve}<", script = "f.lua", default_analyzer = "learner" }} }}
analyzers = {{ {{ tag = "learner", script = "learner.lua", default_analyzer = "", default_output = "out" }} }}
outputs = {{ {{ tag = "out", uri = "file://out.json" }} }}
mle = {{ batch_timeout_ms = 2 }}
"""
FORWARD = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end"
# an online model in miniature: an analyst's "malicious" on a flow makes its next events score 1
LEARNER = """
local c
function setup() c = assert(hiredis.connect()) end
function loop(msg)
  local bad = tonumber(c:command("HGET", "verdicts", tostring(msg.flow_id))) or 0
  if bad > 0 then mle.finding(msg, 1, "flow " .. tostring(msg.flow_id) .. " marked malicious by an analyst")
  else mle.score(msg, 0) end
  dragonfly.output_event(default_output, msg)
end
function feedback(fb)
  c:command("HSET", "taken_by", tostring(fb.flow_id), mle.worker)
  if fb.verdict == "malicious" then c:command("HINCRBY", "verdicts", tostring(fb.flow_id), 1) end
end
"""


def start(make_root, tmp_path: Path, serving, *args: str, setup: str = "") -> tuple[Path, Path, Api]:
    eve = tmp_path / "eve.json"
    eve.touch()
    root = make_root(CONFIG.format(eve=eve), inputs={"f.lua": FORWARD}, analyzers={"learner.lua": LEARNER + setup})
    serving(root, *args)
    api = Api.of(root / "var/run")
    wait_for(lambda: api.get("/health")[0] == 200, what="the engine ready", timeout=60)
    return root, eve, api


def send(eve: Path, *events: dict) -> None:
    with eve.open("ab") as f:
        f.write(b"".join(orjson.dumps(e) + b"\n" for e in events))


def scores(out: Path) -> list[tuple[int, float]]:
    return [(e["flow_id"], e["mle"]["scores"]["learner"]) for e in lines_of(out)]


def metric_samples(api: Api) -> dict[tuple, float]:
    status, text = api.get("/metrics")
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode()) for s in family.samples}


@pytest.mark.parametrize("workers", ["2", "0"])
def test_a_verdict_reaches_the_worker_of_its_flow_and_changes_the_next_score(make_root, tmp_path, serving, workers):
    root, eve, api = start(make_root, tmp_path, serving, "--workers", workers)
    out = root / "var/log/out.json"
    send(eve, {"flow_id": 10, "src_ip": "10.0.0.1"}, {"flow_id": 11, "src_ip": "10.0.0.2"})
    wait_for(lambda: len(lines_of(out)) == 2, what="the first two events")
    # by flow_id, and by the event itself
    assert api.post("/feedback", {"flow_id": 10, "verdict": "malicious", "note": "C2 beacon"}) == \
        (200, {"taken": 1, "worker": 0, "verdict": "malicious"})
    assert api.post("/feedback", {"event": {"flow_id": 11, "src_ip": "10.0.0.2"}, "verdict": "malicious",
                                  "analyzer": "learner"}) == \
        (200, {"taken": 1, "worker": 1 if workers == "2" else 0, "verdict": "malicious"})
    send(eve, {"flow_id": 10}, {"flow_id": 11}, {"flow_id": 12})
    wait_for(lambda: len(lines_of(out)) == 5, what="the next events")
    assert sorted(scores(out)) == [(10, 0.0), (10, 1.0), (11, 0.0), (11, 1.0), (12, 0.0)]
    wait_for(lambda: metric_samples(api)[("mle_findings_written_total", ())] == 2, what="two findings counted",
             timeout=10)
    page = api.get("/status")[1]
    reasons = {f["findings"][0]["reason"] for f in page["findings"]}
    assert reasons == {"flow 10 marked malicious by an analyst", "flow 11 marked malicious by an analyst"}


def test_feedback_runs_in_the_worker_that_owns_the_flow(make_root, tmp_path, serving):
    root, _, api = start(make_root, tmp_path, serving, "--workers", "2")
    answers = {flow: api.post("/feedback", {"flow_id": flow, "verdict": "benign"})[1] for flow in (4, 7, 9)}
    assert {flow: a["worker"] for flow, a in answers.items()} == {4: 0, 7: 1, 9: 1}
    # the private Redis of that engine holds which worker ran each verdict
    client = redis_py.Redis(unix_socket_path=str(root / "var/run/redis.sock"))
    assert {int(k): int(v) for k, v in client.hgetall("taken_by").items()} == {4: 0, 7: 1, 9: 1}
    client.close()


def test_reload_over_http_is_sighup(make_root, tmp_path, serving):
    root, eve, api = start(make_root, tmp_path, serving, "--workers", "2")
    out = root / "var/log/out.json"
    script = root / "analyzers/learner.lua"
    script.write_text("function loop(msg) msg.version = 2 dragonfly.output_event(default_output, msg) end")
    assert api.post("/reload") == (200, {"reloaded": True})
    send(eve, {"flow_id": 1}, {"flow_id": 2})
    wait_for(lambda: len(lines_of(out)) == 2, what="events after the reload")
    assert [e["version"] for e in lines_of(out)] == [2, 2]
    script.write_text("function loop(msg) this is not Lua end")
    status, answer = api.post("/reload")
    assert (status, answer["reloaded"]) == (422, False)
    assert "learner.lua:1:" in answer["error"]  # the answer names the script, line and problem
    assert "learner.lua" in engine_log(root)  # the log names the script
    send(eve, {"flow_id": 3})
    wait_for(lambda: len(lines_of(out)) == 3, what="the old scripts still running")
    wait_for(lambda: api.get("/health")[0] == 200, what="every process healthy (reports arrive each second)")


def test_metrics_count_what_went_through(make_root, tmp_path, serving):
    root, eve, api = start(make_root, tmp_path, serving, "--workers", "2")
    out = root / "var/log/out.json"
    send(eve, *({"flow_id": i} for i in range(100)))
    with eve.open("ab") as f:
        f.write(b"not json\n")
    wait_for(lambda: len(lines_of(out)) == 100, what="100 events written")

    def counted() -> dict | None:
        m = metric_samples(api)
        # every process reports on its own clock: wait until each count this test reads is in
        complete = (m.get(("mle_output_documents_total", (("output", "out"),))) == 100
                    and m.get(("mle_input_lines_total", (("input", "eve"),))) == 101  # the source's own report
                    and m.get(("mle_input_rejected_total", (("input", "eve"), ("reason", "not_json")))) == 1
                    and m.get(("mle_dead_letters_total", ())) == 1
                    and m.get(("mle_script_events_in_total", (("kind", "analyzer"), ("script", "learner")))) == 100)
        return m if complete else None

    m = wait_for(counted, what="the counters of every event", timeout=10)
    analyzer = (("kind", "analyzer"), ("script", "learner"))
    assert m[("mle_input_lines_total", (("input", "eve"),))] == 101
    assert m[("mle_input_rejected_total", (("input", "eve"), ("reason", "not_json")))] == 1
    assert m[("mle_script_events_in_total", analyzer)] == 100
    assert m[("mle_script_redis_commands_total", analyzer)] == 100
    assert m[("mle_redis_commands_total", ())] >= 100
    assert 1 <= m[("mle_redis_round_trips_total", ())] <= 100
    assert m[("mle_dead_letters_total", ())] == 1
    assert m[("mle_event_latency_seconds_count", ())] == 101  # the rejected line was read and handled too
    assert m[("mle_event_latency_seconds_bucket", (("le", "+Inf"),))] == 101
    assert m[("mle_process_up", (("process", "worker-1"),))] == 1


def test_health_while_a_worker_is_killed_and_replaced(make_root, tmp_path, serving):
    slow_setup = "\nlocal started = os.clock() while os.clock() - started < 1.5 do end"  # a slow start
    _, _, api = start(make_root, tmp_path, serving, "--workers", "2", setup=slow_setup)
    status, health = api.get("/health")
    assert (status, health["live"], health["ready"]) == (200, True, True)
    assert set(health["processes"]) == {"supervisor", "source", "worker-0", "worker-1", "sink", "redis"}
    engine_pid = health["processes"]["supervisor"]["pid"]
    [victim] = children_of(engine_pid, "mle: worker-1")
    assert health["processes"]["worker-1"]["pid"] == victim
    os.kill(victim, signal.SIGKILL)

    def replacing() -> dict | None:
        status, health = api.get("/health")
        worker = health["processes"]["worker-1"]
        return health if status == 503 and worker["pid"] != victim and worker["state"] == "starting" else None

    health = wait_for(replacing, what="/health showing the replacement starting", interval=0.05)
    assert health["live"] is True  # the engine is alive while a worker is being replaced
    wait_for(lambda: api.get("/health")[0] == 200, what="ready again", timeout=60)
    status, health = api.get("/health")
    assert health["processes"]["worker-1"]["pid"] not in (victim, None)
    assert metric_samples(api)[("mle_worker_restarts_total", ())] == 1


def test_analyzers_show_the_event_types_a_dropped_in_analyzer_declares(make_root, tmp_path, serving):
    eve = tmp_path / "eve.json"
    eve.touch()
    declares = 'analyzer = { event_types = { "tls", "quic" } }\nfunction loop(m) end'
    root = make_root(CONFIG.format(eve=eve), inputs={"f.lua": FORWARD},
                     analyzers={"learner.lua": LEARNER, "tls-watch.lua": declares},
                     files={"analyzers/tls-watch.md": "Watches TLS.\n"})
    serving(root, "--workers", "2")
    api = Api.of(root / "var/run")
    wait_for(lambda: api.get("/health")[0] == 200, what="the engine ready")
    answer = wait_for(lambda: (a := api.get("/analyzers/tls-watch")[1]).get("event_types") and a,
                      what="the declaration reported", timeout=10)
    assert (answer["event_types"], answer["status"], answer["doc"]["content"]) == (["tls", "quic"], "running",
                                                                                   "Watches TLS.\n")
    assert api.get("/analyzers/learner")[1]["event_types"] is None
