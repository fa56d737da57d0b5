"""A changed indicator list reaches the running ioc analyzer: `mle run` watches
analyzers/data/ as well as the scripts, reloads, and setup() reads the lists anew."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson

from tests.runtime.helpers import lines_of
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
CONFIG = """
inputs = {{ {{ tag = "eve", uri = "file://{eve}", script = "route.lua" }} }}
analyzers = {{ {{ tag = "ioc", script = "ioc.lua", settings = {{ files = {{ "test.txt" }} }} }} }}
outputs = {{ {{ tag = "out", uri = "file://out.json" }} }}
mle = {{ batch_timeout_ms = 2, workers = 0 }}
"""


def append_flows(eve: Path, numbers: range) -> None:
    """Flows to 192.0.2.7, numbered."""
    with eve.open("ab") as f:
        for i in numbers:
            f.write(orjson.dumps({"flow_id": i, "i": i, "event_type": "flow", "src_ip": "10.0.0.5",
                                  "dest_ip": "192.0.2.7", "timestamp": "2025-01-29T12:00:00.000000+0000"}) + b"\n")


def test_a_changed_list_is_picked_up(make_root, tmp_path, engine) -> None:
    eve = tmp_path / "eve.json"
    append_flows(eve, range(5))
    root = make_root(CONFIG.format(eve=eve), inputs={"route.lua": "function loop(msg) mle.route(msg) end"},
                     analyzers={"ioc.lua": (REPO / "analyzers/ioc.lua").read_text()},
                     files={"analyzers/data/ioc/test.txt": "198.51.100.1  # something else\n"})
    process = engine(root)
    out = root / "var/log/out.json"
    wait_for(lambda: len(lines_of(out)) == 5, what="the first events")
    assert not any(e["mle"].get("findings") for e in lines_of(out))

    (root / "analyzers/data/ioc/test.txt").write_text("192.0.2.7  # test C2\n")
    counter = [5]

    def flagged() -> bool:
        append_flows(eve, range(counter[0], counter[0] + 2))
        counter[0] += 2
        return any(e["mle"].get("findings") for e in lines_of(out)[-2:])

    wait_for(flagged, interval=0.3, timeout=60, what="the changed list to be read")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    reasons = {f["reason"] for e in lines_of(out) for f in e["mle"].get("findings", [])}
    assert reasons == {"dest_ip 192.0.2.7 is on test.txt (test C2)"}
