"""The end-of-run report: per-script table, inputs, outputs, dead letters, exit status.

Counters come from :meth:`mle.worker.Worker.counters` (one dict per worker) and
add up: :func:`add_counters` sums them, :func:`counters_since` takes what changed
between two readings of one worker (the multiprocess runtime ships those deltas
with each batch's results, so the counts cover exactly the work that was written,
a killed worker's included).

Where every line goes, per stage:

- an input's lines = records + rejected (dead-lettered, the input script gets nil) + blank;
- a script's ``in`` = ``out`` + ``dropped`` when it sends each event on at most once
  (``out`` counts every send; a failed event the engine passed on counts in ``out``,
  one with nowhere to go in ``dropped``); an output script's failures are
  dead-lettered and counted in ``errors`` only;
- an output's documents = delivered + dead-lettered + left over (e.g. in a spill
  folder, sent at the next start).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

NUMERIC = ("n_in", "n_out", "n_drop", "n_err", "n_redis", "time")
SCALARS = ("blank", "engine_errors", "redis_round_trips", "redis_commands", "dead_letters")
MAPS = ("unknown", "lines_in", "rejected")

EXIT_OK, EXIT_INCOMPLETE, EXIT_NOT_LOADED = 0, 1, 3


def add_counters(total: dict, part: dict) -> dict:
    """Add one worker's counters (or a :func:`counters_since` delta) to ``total``
    (changed in place and returned; start from ``{}``)."""
    total["runtime"] = total.get("runtime") or part.get("runtime", "")
    rows = total.setdefault("scripts", [])
    by_key = {(r["kind"], r["tag"]): r for r in rows}
    for row in part.get("scripts", []):
        merged = by_key.get((row["kind"], row["tag"]))
        if merged is None:
            merged = {**row, **{k: 0 for k in NUMERIC}, "quarantined": False}
            by_key[(row["kind"], row["tag"])] = merged
            rows.append(merged)
        for k in NUMERIC:
            merged[k] += row.get(k, 0)
        merged["quarantined"] = merged["quarantined"] or row["quarantined"]
        types = {t for r in (merged, row) for t in r.get("quarantined_types", "").split(",") if t}
        merged["quarantined_types"] = ",".join(sorted(types))
    rows.sort(key=lambda r: r["id"])
    for name in MAPS:
        target = total.setdefault(name, {})
        for key, n in part.get(name, {}).items():
            target[key] = target.get(key, 0) + n
    for name in SCALARS:
        total[name] = total.get(name, 0) + part.get(name, 0)
    errors = total.setdefault("load_errors", [])
    errors += [e for e in part.get("load_errors", []) if e not in errors]
    return total


def counters_since(now: dict, before: dict | None) -> dict:
    """What changed between two readings of one worker's counters (``before`` None:
    everything); scripts whose counts did not change are left out."""
    if before is None:
        return now
    old_rows = {r["id"]: r for r in before["scripts"]}
    rows = []
    for row in now["scripts"]:
        old = old_rows.get(row["id"])
        if old is None:
            rows.append(row)
        elif any(row.get(k, 0) != old.get(k, 0) for k in NUMERIC) or row["quarantined"] != old["quarantined"]:
            rows.append({**row, **{k: row.get(k, 0) - old.get(k, 0) for k in NUMERIC}})
    delta: dict[str, Any] = {"runtime": now["runtime"], "scripts": rows}
    for name in MAPS:
        delta[name] = {k: n - before[name].get(k, 0) for k, n in now[name].items() if n != before[name].get(k, 0)}
    for name in SCALARS:
        delta[name] = now[name] - before[name]
    delta["load_errors"] = [e for e in now["load_errors"] if e not in before["load_errors"]]
    return delta


@dataclass
class OutputReport:
    """What became of the documents one output accepted."""

    tag: str
    where: str
    lines: int  # documents the output accepted
    dead_lettered: int = 0  # accepted, then given up on: in the dead-letter file
    left_over: int = 0  # accepted and not delivered at the end, kept for the next start
    left_where: str = ""  # where the left-over documents wait
    existing: int = 0  # lines the output file already held when the run started (file outputs append)

    @property
    def undelivered(self) -> int:
        return self.dead_lettered + self.left_over

    def as_dict(self) -> dict:
        """Plain data (to cross a process boundary); ``OutputReport(**d)`` restores it."""
        return asdict(self)


@dataclass
class Summary:
    """Counts of one run, merged over every worker, in the shape the table and tests read."""

    seconds: float
    runtime: str
    scripts: list[dict]
    lines_in: dict[str, int]
    rejected: dict[str, Counter] = field(default_factory=dict)  # input tag -> reason -> count
    blank_lines: int = 0
    outputs: list[OutputReport] = field(default_factory=list)
    dead_letters: int = 0
    dead_letter_path: str = ""
    unknown_tags: dict[str, int] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)
    redis_round_trips: int = 0
    redis_commands: int = 0
    workers: int = 0
    restarts: int = 0  # workers replaced after a crash or a hang
    poison: int = 0  # records dead-lettered because they killed a worker twice
    input_failures: list[str] = field(default_factory=list)  # inputs that stopped before their end, why

    @classmethod
    def from_counters(cls, seconds: float, counters: dict, outputs: list[OutputReport], dead_letters: int,
                      dead_letter_path: str) -> Summary:
        """The summary of counters added up by :func:`add_counters`."""
        rejected: dict[str, Counter] = {}
        for key, count in counters.get("rejected", {}).items():
            tag, _, reason = key.partition("\t")
            rejected.setdefault(tag, Counter())[reason] += count
        return cls(
            seconds=seconds,
            runtime=counters.get("runtime", ""),
            scripts=counters.get("scripts", []),
            lines_in=dict(counters.get("lines_in", {})),
            rejected=rejected,
            blank_lines=counters.get("blank", 0),
            outputs=outputs,
            dead_letters=dead_letters,
            dead_letter_path=dead_letter_path,
            unknown_tags=dict(counters.get("unknown", {})),
            load_errors=list(counters.get("load_errors", [])),
            redis_round_trips=counters.get("redis_round_trips", 0),
            redis_commands=counters.get("redis_commands", 0),
        )

    @classmethod
    def merge(cls, seconds: float, counters: list[dict], outputs: list[OutputReport], dead_letters: int,
              dead_letter_path: str) -> Summary:
        """Add up the counters of every worker (``Worker.counters()``)."""
        total: dict = {}
        for part in counters:
            add_counters(total, part)
        return cls.from_counters(seconds, total, outputs, dead_letters, dead_letter_path)

    @property
    def total_lines(self) -> int:
        return sum(self.lines_in.values())

    @property
    def total_rejected(self) -> int:
        return sum(sum(c.values()) for c in self.rejected.values())

    @property
    def undelivered(self) -> int:
        """Documents the outputs accepted and did not deliver."""
        return sum(o.undelivered for o in self.outputs)

    def exit_status(self) -> int:
        """3 when a script failed to load (--keep-going), 1 when an input stopped before its
        end or an output did not deliver everything it accepted, else 0."""
        if self.load_errors:
            return EXIT_NOT_LOADED
        if self.input_failures or self.undelivered:
            return EXIT_INCOMPLETE
        return EXIT_OK

    def render(self, console: Console, where: str = "the configured inputs") -> None:
        """Print the report."""
        rate = self.total_lines / self.seconds if self.seconds > 0 else 0.0
        workers = f", {self.workers} workers" if self.workers > 1 else ""
        console.print(
            f"[bold]MLE[/bold]: {self.total_lines:,} lines from {where} in {self.seconds:.2f} s "
            f"({rate:,.0f} lines/s), {self.runtime}{workers}"
        )
        table = Table(show_edge=False, header_style="bold")
        for name, justify in (("script", "left"), ("kind", "left"), ("in", "right"), ("out", "right"),
                              ("dropped", "right"), ("errors", "right"), ("redis", "right"), ("time", "right"),
                              ("", "left")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for row in self.scripts:
            table.add_row(
                row["tag"], row["kind"], f'{row["n_in"]:,}', f'{row["n_out"]:,}', f'{row.get("n_drop", 0):,}',
                f'[red]{row["n_err"]:,}[/red]' if row["n_err"] else "0",
                f'{row["n_redis"]:,}', f'{row["time"]:.2f} s',
                (f'[red]quarantined for {row["quarantined_types"]}[/red]' if row.get("quarantined_types")
                 else "[red]quarantined[/red]" if row["quarantined"] else ""),
            )
        console.print(table)
        for tag, count in self.lines_in.items():
            reasons = self.rejected.get(tag, Counter())
            detail = ", ".join(f"{r}: {n:,}" for r, n in sorted(reasons.items()))
            console.print(
                f"input  {tag}: {count:,} lines"
                + (f", [yellow]{sum(reasons.values()):,} rejected ({detail})[/yellow]" if reasons else "")
                + (f", {self.blank_lines:,} blank" if self.blank_lines else "")
            )
        for failure in self.input_failures:
            console.print(f"[red]input failed: {failure}[/red]")
        for out in self.outputs:
            held = f" (appended: the file already held {out.existing:,} lines)" if out.existing else ""
            console.print(f"output {out.tag}: {out.lines:,} lines -> {out.where}{held}")
            if out.undelivered:
                parts = []
                if out.dead_lettered:
                    parts.append(f"{out.dead_lettered:,} dead-lettered")
                if out.left_over:
                    parts.append(f"{out.left_over:,} left in {out.left_where} (sent at the next start)")
                console.print(f"[red]output {out.tag}: {out.undelivered:,} not delivered: {', '.join(parts)}[/red]")
        if self.redis_commands:
            console.print(f"redis  {self.redis_commands:,} commands in {self.redis_round_trips:,} round trips")
        for key, count in sorted(self.unknown_tags.items()):
            kind, _, tag = key.partition(":")
            console.print(
                f"[yellow]{count:,} events sent to unconfigured {'analyzer' if kind == 'a' else 'output'} "
                f'tag "{tag}" (dropped)[/yellow]'
            )
        if self.restarts:
            console.print(f"[red]{self.restarts} worker restarts ({self.poison} records dead-lettered)[/red]")
        if self.dead_letters:
            console.print(f"[yellow]{self.dead_letters:,} dead letters -> {self.dead_letter_path}[/yellow]")
        for error in self.load_errors:
            console.print(f"[red]not loaded: {error}[/red]")


def summarize_pipeline(pipeline: Any, seconds: float, sources: list[Any]) -> Summary:
    """The summary of a single-process :class:`mle.pipeline.Pipeline` run over ``sources``."""
    counters = [*pipeline.retired, pipeline.worker.counters()]
    dead = pipeline.dead_letters
    summary = Summary.merge(seconds, counters, pipeline.delivery.output_reports(), dead.count, str(dead.path))
    lines: Counter = Counter()
    for source in sources:  # every line read, those of an input that failed included
        lines[source.tag] += source.stats.lines
    summary.lines_in = dict(lines)
    summary.input_failures = [s.stats.failure for s in sources if s.stats.failure]
    return summary
