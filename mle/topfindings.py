"""What a replay found: findings per analyzer and the most important events.

After ``mle replay`` the outputs' files hold every annotated event of the run (from
the offsets they had at the start: file outputs append, as Dragonfly's did). One
pass over the first file output counts the findings of each analyzer and keeps the
``n`` events of highest priority, which the summary shows, most important first.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from mle.findings import finding_record

_MARK = b'"findings":[{'


@dataclass
class RunFindings:
    """Findings of one run: counts per analyzer, events with findings, the top events."""

    per_analyzer: Counter = field(default_factory=Counter)
    events: int = 0
    top: list[tuple[float, int, dict, bytes]] = field(default_factory=list)  # (priority, order, record, line)

    def add(self, line: bytes, keep: int) -> None:
        if _MARK not in line:
            return
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError:
            return
        record = finding_record(document) if isinstance(document, dict) else None
        if record is None:
            return
        self.events += 1
        self.per_analyzer.update(f["analyzer"] for f in record["findings"])
        priority = record["priority"] if isinstance(record["priority"], int | float) else 0.0
        item = (float(priority), -self.events, record, line)
        if len(self.top) < keep:
            heapq.heappush(self.top, item)
        elif item[:2] > self.top[0][:2]:
            heapq.heapreplace(self.top, item)

    def ranked(self) -> list[tuple[dict, bytes]]:
        """The kept events, highest priority first (earlier first among equals)."""
        return [(record, line) for _, _, record, line in sorted(self.top, key=lambda i: i[:2], reverse=True)]


def scan(path: Path, offset: int, keep: int) -> RunFindings:
    """The findings in ``path`` from byte ``offset`` on (what this run wrote)."""
    found = RunFindings()
    if keep <= 0 or not path.is_file():
        return found
    with path.open("rb") as f:
        f.seek(offset)
        for line in f:
            found.add(line, keep)
    return found


def render(found: RunFindings, console: Console, where: str, limit: int = 10) -> None:
    """The findings section of the summary: counts per analyzer, the ``limit`` events of
    highest priority with every reason."""
    if not found.events:
        console.print(f"findings: none in {where}")
        return
    fired = ", ".join(f"{tag} {count:,}" for tag, count in found.per_analyzer.most_common())
    console.print(f"findings: {found.events:,} events with findings in {where} ({fired})")
    table = Table(show_edge=False, pad_edge=False)
    for name, justify in (("priority", "right"), ("event", "left"), ("analyzer: reason", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for record, _ in found.ranked()[:limit]:
        event = " ".join(str(record[k]) for k in ("timestamp", "event_type") if k in record)
        if "src_ip" in record:
            event += f" {record['src_ip']} -> {record.get('dest_ip', '?')}"
            if "dest_port" in record:
                event += f":{record['dest_port']}"
        reasons = "\n".join(f"{f['analyzer']}: {f['reason']}" for f in record["findings"])
        table.add_row(f"{record['priority']:.2f}", event, reasons)
    console.print(table)
