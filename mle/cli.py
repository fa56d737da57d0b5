"""The ``mle`` command: run, replay, check.

Exit status: 0 success; 1 an input stopped before its end, an output did not
deliver everything it accepted, or another I/O or engine failure; 2 invalid
configuration; 3 a script failed to load or set up; 4 Redis unavailable.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.json import JSON
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from mle import logformat, topfindings
from mle.config import Config, EngineSettings, load_config
from mle.connectors import Endpoint
from mle.errors import MLEError
from mle.http.address import parse_listen
from mle.http.host import ApiHost
from mle.pipeline import Flags, Pipeline, install_signal_handlers, replay, run
from mle.reload import ScriptWatcher
from mle.root import Root
from mle.runtime.api_bridge import PipelineApi, SupervisorApi
from mle.runtime.supervisor import Supervisor, default_workers
from mle.sources.base import Source
from mle.sources.file import replay_sources
from mle.summary import summarize_pipeline
from mle.tooling.commands import new_group, test_command
from mle.tooling.lint import lint_report

log = logging.getLogger("mle")
# lines are never wrapped: on a terminal the terminal folds them; elsewhere (a pipe, a file,
# journald) each message stays one line, whatever COLUMNS says
stderr = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 1000)


def _configure_logging(verbose: int, default: int, log_format: str = "text", quiet_scripts: bool = False) -> None:
    logformat.configure(max(default - 10 * verbose, logging.DEBUG), log_format, "main", quiet_scripts)


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options every command takes."""
    options = [
        click.option("-r", "--root", default=".", show_default=True, type=click.Path(file_okay=False),
                     help="Root directory: config.lua + inputs/ analyzers/ outputs/ (or a Dragonfly root)."),
        click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False),
                     help="Config file (default: ROOT/config.lua, else ROOT/config/config.lua)."),
        click.option("--run-dir", type=click.Path(file_okay=False), help="Sockets and the private Redis."),
        click.option("--log-dir", type=click.Path(file_okay=False),
                     help="Relative file outputs, logs, dead letters."),
        click.option("--runtime", type=click.Choice(["auto", "lua54", "luajit"]), help="Lua runtime."),
        click.option("--batch-size", type=int, help="Events per batch."),
        click.option("--keep-going", is_flag=True,
                     help="Start even if a script fails to load (it is quarantined)."),
        click.option("-w", "--workers", type=click.IntRange(min=0),
                     help="Worker processes (default: one per core; 0: everything in one process)."),
        click.option("-v", "--verbose", count=True, help="More logging (-vv for debug)."),
        click.option("--log-format", type=click.Choice(logformat.FORMATS), default="text", show_default=True,
                     help="Log lines as text, JSON lines (json) or key=value (kv)."),
        click.option("--quiet-scripts", is_flag=True, help="Hide what scripts print (their warnings and errors stay)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _load(root: str, config_file: str | None, **overrides: Any) -> Config:
    resolved = {
        "run_dir": str(Path(overrides["run_dir"]).resolve()) if overrides.get("run_dir") else None,
        "log_dir": str(Path(overrides["log_dir"]).resolve()) if overrides.get("log_dir") else None,
        "runtime": overrides.get("runtime"),
        "batch_size": overrides.get("batch_size"),
    }
    return load_config(Root.locate(root, config_file), resolved)


def _fail_cleanly(f: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except MLEError as exc:
            _fatal(exc)
            sys.exit(exc.exit_code)
        except OSError as exc:
            _fatal(exc)
            sys.exit(1)

    return wrapper


def _fatal(exc: Exception) -> None:
    """The error that stops the command: a log line for machines, red text for people."""
    if logformat.current() == "text":
        stderr.print(f"[red]mle: {exc}[/red]", markup=True)
    else:
        log.error("%s", exc)


def _api(config: Config, listen: str | None, default: str, *, mode: str, workers: int) -> ApiHost | None:
    """The HTTP API to serve: where ``--http`` says, else ``default`` (config.lua's for run)."""
    address = parse_listen(listen if listen is not None else default, "--http")
    if address is None:
        return None
    # an address the user chose must work; the built-in default may be taken (another engine)
    required = listen is not None or default != EngineSettings.http
    return ApiHost(config, address, mode=mode, workers=workers, required=required)


HTTP_HELP = "Serve the HTTP API and status page on HOST:PORT, or 'off'"


@click.group()
@click.version_option(package_name="mle")
def main() -> None:
    """MLE: a streaming machine-learning engine for Suricata EVE (Dragonfly MLE compatible)."""


def _workers(config: Config, requested: int | None) -> int:
    if requested is not None:
        return requested
    return config.default_workers if config.default_workers is not None else default_workers()


@main.command("run")
@click.option("--http", "listen", metavar="HOST:PORT|off",
              help=f"{HTTP_HELP} (default: mle.http in config.lua, else {EngineSettings.http}).")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Reload scripts within seconds when a file in inputs/, analyzers/ or outputs/ changes "
                   "(a new analyzer that declares its event types starts running, a deleted one stops).")
@_common
@_fail_cleanly
def run_command(root: str, config_file: str | None, verbose: int, keep_going: bool, workers: int | None,
                log_format: str, quiet_scripts: bool, listen: str | None, watch: bool, **overrides: Any) -> None:
    """Run the pipeline described by config.lua until SIGTERM or Ctrl-C (then drain)."""
    _configure_logging(verbose, logging.INFO, log_format, quiet_scripts)
    config = _load(root, config_file, **overrides)
    count = _workers(config, workers)
    api = _api(config, listen, config.engine.http, mode="run", workers=count)
    log.info("running %s (%d inputs, %d analyzers, %d outputs, %s, %s)", config.root.config_file,
             len(config.inputs), len(config.analyzers), len(config.outputs), config.lua_runtime,
             f"{count} workers" if count else "one process")
    if count == 0:
        with Pipeline(config, keep_going=keep_going) as pipeline:
            sources = pipeline.build_sources()
            install_signal_handlers(pipeline.flags, "run")
            pipeline.watcher = ScriptWatcher(config) if watch else None
            started = time.monotonic()
            _serve(api, pipeline)
            run(pipeline, sources)
        summary = summarize_pipeline(pipeline, time.monotonic() - started, sources)
        summary.render(stderr, _where(sources))
    else:
        flags = Flags()
        install_signal_handlers(flags, "run")
        supervisor = Supervisor(config, workers=count, flags=flags, keep_going=keep_going,
                                log_level=logging.getLogger().level, log_format=log_format,
                                quiet_scripts=quiet_scripts)
        supervisor.api = SupervisorApi(api, supervisor) if api is not None else None
        supervisor.watcher = ScriptWatcher(config) if watch else None
        summary = supervisor.run()
        summary.render(stderr, "the configured inputs")
    sys.exit(summary.exit_status())


def _serve(api: ApiHost | None, pipeline: Pipeline) -> None:
    """Serve the HTTP API from a single-process engine (it stops when the pipeline closes)."""
    if api is not None:
        assert pipeline.redis is not None
        pipeline.api = PipelineApi(api, pipeline)
        api.start(pipeline.redis.address)


def _where(sources: list[Source]) -> str:
    return ", ".join(s.description for s in sources) or "the configured inputs"


def _replay_files(config: Config, files: tuple[str, ...], tag: str) -> tuple[str, ...]:
    if files:
        return tuple(str(Path(f).resolve()) for f in files)
    spec = config.input_by_tag(tag)
    if spec.uri.partition("://")[0] not in ("file", "zfile"):
        raise click.UsageError(f'input "{tag}" is not a file:// input: name the files to replay')
    return (str(Endpoint.parse(spec.uri, spec.tag).path(config.root.path)[0]),)


def _output_files(config: Config, out: str | None) -> list[Path]:
    if out is not None:
        return [] if out == "-" else [Path(out)]
    paths = []
    for spec in config.outputs:
        if spec.uri.startswith("file://"):
            paths.append(Endpoint.parse(spec.uri, spec.label).path(config.log_dir)[0])
    return paths


@main.command("replay")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--input", "input_tag", help="Input whose script the files go through (default: the first).")
@click.option("--out", help="Send everything the outputs receive to this JSON-lines file ('-' = stdout).")
@click.option("--show", type=int, default=0, metavar="N",
              help="Print in full the N annotated events of highest priority this run wrote.")
@click.option("--top", type=int, default=10, show_default=True, metavar="N",
              help="Findings table: the N events of highest priority, with every analyzer's reason.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--http", "listen", metavar="HOST:PORT|off", help=f"{HTTP_HELP} while replaying (default: off).")
@_common
@_fail_cleanly
def replay_command(
    files: tuple[str, ...],
    input_tag: str | None,
    out: str | None,
    show: int,
    top: int,
    progress: bool | None,
    root: str,
    config_file: str | None,
    verbose: int,
    keep_going: bool,
    workers: int | None,
    log_format: str,
    quiet_scripts: bool,
    listen: str | None,
    **overrides: Any,
) -> None:
    """Push FILES (plain or .gz EVE JSON) through the pipeline, then print a summary.

    Without FILES, replays the file of the chosen input in config.lua."""
    _configure_logging(verbose, logging.WARNING, log_format, quiet_scripts)
    config = _load(root, config_file, **overrides)
    tag = config.input_by_tag(input_tag or config.inputs[0].tag).tag
    paths = _replay_files(config, files, tag)
    started = time.monotonic()
    count = _workers(config, workers)
    api = _api(config, listen, "off", mode="replay", workers=count)
    written = _output_files(config, out)[:1]  # the first file output: where this run's findings are read
    offsets = [path.stat().st_size if path.is_file() else 0 for path in written]
    if count == 0:
        with Pipeline(config, out=out, keep_going=keep_going, replay=True) as pipeline:
            sources = replay_sources(tag, paths, config.input_by_tag(tag).options, pipeline.context)
            install_signal_handlers(pipeline.flags, "replay")
            _serve(api, pipeline)
            use_bar = progress if progress is not None else stderr.is_terminal
            if use_bar:
                with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                              TimeRemainingColumn(), console=stderr, transient=True) as bar:
                    tasks = {id(s): bar.add_task(Path(s.description).name, total=None) for s in sources}

                    def on_progress(source: Source, _: int) -> None:
                        done, total = source.progress()
                        bar.update(tasks[id(source)], completed=done, total=total)

                    replay(pipeline, sources, on_progress)
            else:
                replay(pipeline, sources)
        summary = summarize_pipeline(pipeline, time.monotonic() - started, sources)
    else:
        flags = Flags()
        install_signal_handlers(flags, "replay")
        supervisor = Supervisor(config, workers=count, flags=flags, replay_files=paths, replay_input=tag, out=out,
                                keep_going=keep_going, log_level=logging.getLogger().level, log_format=log_format,
                                quiet_scripts=quiet_scripts)
        supervisor.api = SupervisorApi(api, supervisor) if api is not None else None
        if progress if progress is not None else stderr.is_terminal:
            with Progress(TextColumn("replay"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                          console=stderr, transient=True) as bar:
                task = bar.add_task("replay", total=None)
                supervisor.on_progress = lambda done, total: bar.update(task, completed=done, total=total)
                summary = supervisor.run()
        else:
            summary = supervisor.run()
    found = topfindings.scan(written[0], offsets[0], max(top, show)) if written else None
    for _, line in found.ranked()[:show] if found else []:
        Console(highlight=True).print(JSON.from_data(orjson.loads(line)))
    summary.render(stderr, ", ".join(paths))
    if found is not None and top > 0:
        topfindings.render(found, stderr, str(written[0]), limit=top)
    sys.exit(summary.exit_status())


@main.command("check")
@_common
@_fail_cleanly
def check_command(root: str, config_file: str | None, verbose: int, keep_going: bool, workers: int | None,
                  log_format: str, quiet_scripts: bool, **overrides: Any) -> None:
    """Validate config.lua, check the inputs' files, compile and set up every script, then exit."""
    _configure_logging(verbose, logging.WARNING, log_format, quiet_scripts)
    config = _load(root, config_file, **overrides)
    with Pipeline(config, replay=True) as pipeline:
        for source in pipeline.build_sources():
            source.preflight()
        assert pipeline.worker is not None
        scripts = pipeline.worker.script_stats()
    stderr.print(f"[green]ok[/green]: {config.root.config_file}")
    for row in scripts:
        stderr.print(f"  {row['kind']:<8} {row['tag']}")
    for spec in config.outputs:
        stderr.print(f"  {'output':<8} {spec.tag} -> {spec.uri}")
    stderr.print(f"  runtime  {config.lua_runtime}")
    for line in lint_report(config):
        stderr.print(line, style=None if line.startswith(" ") else "yellow", markup=False)


@main.command("export-model")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--feature-names", help="Comma-separated feature names in training order "
              "(default: the model's feature_names_in_, if it was fitted on a DataFrame).")
def export_model_command(model: Path, out: Path, feature_names: str | None) -> None:
    """Export a pickled scikit-learn classifier to JSON that MLE scores in Lua.

    LogisticRegression, RandomForestClassifier and GradientBoostingClassifier are
    supported (docs/library.md, "Exported models"). Loading a pickle runs code: only
    export a MODEL file you trust; MLE never loads one you did not name here. Needs
    scikit-learn (pip install 'mle[export]').
    """
    import pickle

    from mle.export import ExportError, write_model

    names = [n.strip() for n in feature_names.split(",")] if feature_names else None
    try:
        doc = write_model(model, out, names)
    except (ExportError, OSError, ImportError, pickle.UnpicklingError, EOFError) as e:
        stderr.print(f"[red]error[/red]: {model}: {e}")
        sys.exit(1)
    stderr.print(f"[green]ok[/green]: {doc['kind']}, {doc['n_features']} features, classes {doc['classes']} -> {out}")


@main.command("evaluate")
@click.argument("config", type=click.Path(exists=True))
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--labels", "labels_spec", required=True, metavar="FIELD|FILE",
              help="The label of each event: a field of the record (removed before any script sees it; dotted "
                   "paths allowed), or a CSV file with a 'label' column and a 'line' or 'flow_id' column.")
@click.option("--analyzer", "tags", multiple=True, metavar="TAG",
              help="Evaluate this analyzer's score (repeatable; default: every analyzer that scores).")
@click.option("--burn-in", type=click.IntRange(min=0), default=1000, show_default=True, metavar="N",
              help="Events learnt from but not counted; the frozen baseline stops learning here.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Score from which an event counts as flagged (precision, recall, F1).")
@click.option("--window", type=click.IntRange(min=1), default=1000, show_default=True, metavar="N",
              help="Scored events per window of the metrics over time.")
@click.option("--train-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.5,
              show_default=True, help="The batch baseline trains on this first part of the stream; the models "
                                      "are compared on the rest.")
@click.option("--frozen/--no-frozen", default=True, show_default=True,
              help="Also run the frozen baseline (feedback only during burn-in): a second pass.")
@click.option("--freeze-at", type=click.IntRange(min=0), metavar="N",
              help="The frozen baseline learns from the events before N (default: the burn-in).")
@click.option("--batch/--no-batch", default=True, show_default=True,
              help="Also train the batch baseline on the analyzer's mle.features (needs scikit-learn).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write every figure to this JSON file.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False),
              help="Write PNG plots into this folder (needs matplotlib: pip install 'mle[plots]').")
@click.option("--mark", "marks", multiple=True, metavar="N:TEXT",
              help="A vertical line on the over-time plots at event N (e.g. 20000:new DGA family).")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@_fail_cleanly
def evaluate_command(config: str, data: tuple[str, ...], labels_spec: str, tags: tuple[str, ...], burn_in: int,
                     threshold: float, window: int, train_fraction: float, frozen: bool, freeze_at: int | None,
                     batch: bool, json_out: str | None, plots_dir: str | None, marks: tuple[str, ...],
                     verbose: int) -> None:
    """Progressive validation of the analyzers of CONFIG (a config.lua or a root folder) on labeled DATA.

    Each event runs through the engine without its label; its scores are recorded; then
    its label goes to the analyzers' feedback(fb) as a verdict, so online models learn
    from it. Prints precision, recall, F1, ROC AUC and log loss after burn-in, next to a
    frozen copy of the model and a batch scikit-learn model on the analyzer's features."""
    from mle.evaluate import report as evaluation
    from mle.evaluate.labels import LabelSource
    from mle.evaluate.runner import load_root_config

    _configure_logging(verbose, logging.WARNING, quiet_scripts=verbose == 0)
    parsed_marks = {}
    for mark in marks:
        position, _, text = mark.partition(":")
        if not position.strip().isdigit():
            raise click.BadParameter(f"{mark!r}: expected N:TEXT", param_hint="--mark")
        parsed_marks[text or f"event {position}"] = int(position)
    if plots_dir:
        from mle.evaluate.plots import check_available
        check_available()
    settings = evaluation.Settings(burn_in=burn_in, threshold=threshold, window=window,
                                   train_fraction=train_fraction, tags=list(tags) or None, frozen=frozen,
                                   batch=batch, freeze_at=freeze_at)
    root_config = load_root_config(config)
    labels = LabelSource(labels_spec)
    with Progress(TextColumn("{task.description}"), TextColumn("{task.completed:,} events"), console=stderr,
                  transient=True, disable=not stderr.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def progress(run: str, position: int) -> None:
            if position % 500 == 0:
                if run not in tasks:
                    tasks[run] = bar.add_task(run, total=None)
                bar.update(tasks[run], completed=position)

        result = evaluation.evaluate(root_config, list(data), labels, settings, progress)
    evaluation.render(result, Console(highlight=False, width=None if sys.stdout.isatty() else 120))
    if json_out:
        evaluation.write_json(result, json_out)
        stderr.print(f"figures: {json_out}")
    if plots_dir:
        from mle.evaluate.plots import write_plots
        for path in write_plots(result, plots_dir, parsed_marks):
            stderr.print(f"plot: {path}")


main.add_command(test_command)
main.add_command(new_group)
