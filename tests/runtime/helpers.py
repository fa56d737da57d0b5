"""What the runtime tests share: a config, reading outputs, appending events,
finding the engine's processes."""

from __future__ import annotations

from pathlib import Path

import orjson

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
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def append_events(eve: Path, numbers: range) -> None:
    with eve.open("ab") as f:
        f.write(b"\n".join(orjson.dumps({"flow_id": i, "i": i}) for i in numbers) + b"\n")


def processes_titled(title: str) -> list[int]:
    """PIDs whose command line (set by setproctitle) starts with ``title``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmdline.startswith(title):
                found.append(int(entry.name))
    return found


def children_of(pid: int, title: str) -> list[int]:
    out = []
    for child in processes_titled(title):
        try:
            ppid = int(Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(child)
    return out
