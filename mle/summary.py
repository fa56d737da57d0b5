"""The end-of-run report: per-script table, inputs, outputs, dead letters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

NUMERIC = ("n_in", "n_out", "n_err", "n_redis", "time")


@dataclass
class Summary:
    """Counts of one run, merged over every worker, in the shape the table and tests read."""

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
    workers: int = 0
    restarts: int = 0  # workers replaced after a crash or a hang
    poison: int = 0  # records dead-lettered because they killed a worker twice

    @classmethod
    def merge(cls, seconds: float, counters: list[dict], outputs: list[tuple[str, str, int, int]],
              dead_letters: int, dead_letter_path: str) -> Summary:
        """Add up the counters of every worker (``Worker.counters()``)."""
        scripts: dict[tuple[str, str], dict] = {}
        lines_in: Counter = Counter()
        rejected: dict[str, Counter] = {}
        unknown: Counter = Counter()
        load_errors: list[str] = []
        blank = round_trips = commands = 0
        for part in counters:
            for row in part["scripts"]:
                key = (row["kind"], row["tag"])
                merged = scripts.setdefault(key, {**row, **{k: 0 for k in NUMERIC}, "quarantined": False})
                for k in NUMERIC:
                    merged[k] += row[k]
                merged["quarantined"] = merged["quarantined"] or row["quarantined"]
                types = set(filter(None, merged.get("quarantined_types", "").split(",")))
                merged["quarantined_types"] = ",".join(sorted(types | set(filter(None, row.get(
                    "quarantined_types", "").split(",")))))
            lines_in.update(part["lines_in"])
            for key, count in part["rejected"].items():
                tag, _, reason = key.partition("\t")
                rejected.setdefault(tag, Counter())[reason] += count
            unknown.update(part["unknown"])
            load_errors += [e for e in part["load_errors"] if e not in load_errors]
            blank += part["blank"]
            round_trips += part["redis_round_trips"]
            commands += part["redis_commands"]
        return cls(
            seconds=seconds,
            runtime=counters[0]["runtime"] if counters else "",
            scripts=sorted(scripts.values(), key=lambda r: r["id"]),
            lines_in=dict(lines_in),
            rejected=rejected,
            blank_lines=blank,
            outputs=outputs,
            dead_letters=dead_letters,
            dead_letter_path=dead_letter_path,
            unknown_tags=dict(unknown),
            load_errors=load_errors,
            redis_round_trips=round_trips,
            redis_commands=commands,
        )

    @property
    def total_lines(self) -> int:
        return sum(self.lines_in.values())

    @property
    def total_rejected(self) -> int:
        return sum(sum(c.values()) for c in self.rejected.values())

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
                              ("errors", "right"), ("redis", "right"), ("time", "right"), ("", "left")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for row in self.scripts:
            table.add_row(
                row["tag"], row["kind"], f'{row["n_in"]:,}', f'{row["n_out"]:,}',
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
        for tag, where_to, lines, failed in self.outputs:
            fail = f", [red]{failed:,} failed[/red]" if failed else ""
            console.print(f"output {tag}: {lines:,} lines -> {where_to}{fail}")
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


def summarize_pipeline(pipeline: object, seconds: float) -> Summary:
    """The summary of a single-process :class:`mle.pipeline.Pipeline` run."""
    worker = pipeline.worker  # type: ignore[attr-defined]
    delivery = pipeline.delivery  # type: ignore[attr-defined]
    dead = pipeline.dead_letters  # type: ignore[attr-defined]
    counters = [*pipeline.retired, worker.counters()]  # type: ignore[attr-defined]
    return Summary.merge(seconds, counters, delivery.output_rows(), dead.count, str(dead.path))
