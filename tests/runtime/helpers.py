"""What the runtime tests share: a config, reading outputs, appending events,
finding the engine's processes."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.conftest import children

FORWARD = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end"

TIMER = """
local armed = false
function loop(msg)
  if msg.timer then
    msg.fired_in = mle.worker
    dragonfly.output_event(default_output, msg)
    return
  end
  if not armed then
    armed = true
    dragonfly.timer_event(mle.tag, %s, {timer = true, armed_in = mle.worker})
  end
end"""


def config(eve: Path, out: str = "file://out.json", extra: str = "", analyzer: str = "") -> str:
    return f"""
        inputs = {{ {{ tag = "eve", uri = "file://{eve}", script = "f.lua", default_analyzer = "a" }} }}
        analyzers = {{ {{ tag = "a", script = "a.lua", default_analyzer = "", default_output = "out"{analyzer} }} }}
        outputs = {{ {{ tag = "out", uri = "{out}" }} }}
        mle = {{ batch_timeout_ms = 2 {extra} }}
        """


def lines_of(path: Path) -> list[dict]:
    """The complete JSON lines of an output file (a line being written is not one yet)."""
    data = path.read_bytes() if path.exists() else b""
    return [orjson.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]


def append_events(eve: Path, numbers: range) -> None:
    with eve.open("ab") as f:
        f.write(b"\n".join(orjson.dumps({"flow_id": i, "i": i}) for i in numbers) + b"\n")


def title_of(pid: int) -> str:
    """A process's command line (what setproctitle set), "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children_of(pid: int, title: str) -> list[int]:
    """Processes started by ``pid`` whose title starts with ``title``."""
    return [child for child in children(pid) if title_of(child).startswith(title)]
