"""The end-of-run report: per-script table, inputs, outputs, dead letters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from mle.pipeline import Pipeline
from mle.sources.base import Source


@dataclass
class Summary:
    """Counts of one run, in the shape the table and tests read."""

    seconds: float
    runtime: str
    scripts: list[dict]
    lines_in: dict[str, int]
    rejected: dict[str, Counter] = field(default_factory=dict)  # input tag -> reason -> count
    blank_lines: int = 0
    outputs: list[tuple[str, str, int, int]] = field(default_factory=list)  # tag, where, lines, failed
    dead_letters: int = 0
    dead_letter_path: str = ""
    unknown_tags: dict[str, int] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)
    redis_round_trips: int = 0
    redis_commands: int = 0

    @classmethod
    def collect(cls, pipeline: Pipeline, seconds: float) -> Summary:
        worker = pipeline.worker
        assert worker is not None
        rows, unknown = worker.engine.script_stats()
        rejected: dict[str, Counter] = {}
        for (tag, reason), count in worker.rejected.items():
            rejected.setdefault(tag, Counter())[reason] += count
        outputs = []
        for index, sink in sorted(pipeline.sinks.items()):
            if index > 0 and all(o[0] != sink.tag for o in outputs):
                outputs.append((sink.tag, sink.description, sink.stats.lines, sink.stats.errors["write_failed"]))
        return cls(
            seconds=seconds,
            runtime=worker.engine.runtime_name,
            scripts=sorted(rows, key=lambda r: r["id"]),
            lines_in=dict(worker.lines_in),
            rejected=rejected,
            blank_lines=worker.blank_lines,
            outputs=outputs,
            dead_letters=pipeline.dead_letters.count,
            dead_letter_path=str(pipeline.dead_letters.path),
            unknown_tags=unknown,
            load_errors=list(worker.load_errors),
            redis_round_trips=pipeline.redis.round_trips if pipeline.redis else 0,
            redis_commands=pipeline.redis.commands if pipeline.redis else 0,
        )

    @property
    def total_lines(self) -> int:
        return sum(self.lines_in.values())

    def render(self, console: Console, sources: list[Source] | None = None) -> None:
        """Print the report."""
        rate = self.total_lines / self.seconds if self.seconds > 0 else 0.0
        where = ", ".join(s.description for s in sources) if sources else "the configured inputs"
        console.print(
            f"[bold]MLE[/bold]: {self.total_lines:,} lines from {where} in {self.seconds:.2f} s "
            f"({rate:,.0f} lines/s), {self.runtime}"
        )
        table = Table(show_edge=False, header_style="bold")
        for name, justify in (("script", "left"), ("kind", "left"), ("in", "right"), ("out", "right"),
                              ("errors", "right"), ("redis", "right"), ("time", "right"), ("", "left")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for row in self.scripts:
            table.add_row(
                row["tag"], row["kind"], f'{row["n_in"]:,}', f'{row["n_out"]:,}',
                f'[red]{row["n_err"]:,}[/red]' if row["n_err"] else "0",
                f'{row["n_redis"]:,}', f'{row["time"]:.2f} s',
                "[red]quarantined[/red]" if row["quarantined"] else "",
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
        for tag, where_to, lines, failed in self.outputs:
            fail = f", [red]{failed:,} failed[/red]" if failed else ""
            console.print(f"output {tag}: {lines:,} lines -> {where_to}{fail}")
        if self.redis_commands:
            console.print(
                f"redis  {self.redis_commands:,} commands in {self.redis_round_trips:,} round trips"
            )
        for key, count in sorted(self.unknown_tags.items()):
            kind, _, tag = key.partition(":")
            console.print(
                f"[yellow]{count:,} events sent to unconfigured {'analyzer' if kind == 'a' else 'output'} "
                f'tag "{tag}" (dropped)[/yellow]'
            )
        if self.dead_letters:
            console.print(f"[yellow]{self.dead_letters:,} dead letters -> {self.dead_letter_path}[/yellow]")
        for error in self.load_errors:
            console.print(f"[red]not loaded: {error}[/red]")
