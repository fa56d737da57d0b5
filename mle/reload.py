"""SIGHUP reloads every script from disk while the engine runs.

Before anything changes, the new scripts are loaded and set up once, exactly as a
new worker would load them (:func:`load_new_scripts`). If one fails, nothing is
replaced: the error names the script and the problem, and the running scripts go
on. If all load, each worker in turn is replaced by one running the new scripts
(the multiprocess engine retires one worker at a time; the single-process engine
swaps its worker between two batches). No event is lost or processed twice: a
retiring worker finishes its batch and the source re-sends only what it had not
finished. Lua variables start afresh (state kept in Redis stays), quarantined
scripts are released, pending timers of the old scripts fire as the old worker
leaves, as at the end of a replay.

Scripts are reloaded on SIGHUP, on ``POST /reload`` and, within seconds, when a file in
the root's script folders (or a data file under their ``data/``) changes
(:class:`ScriptWatcher`: a new analyzer dropped into ``analyzers/`` that declares its
event types starts running; a changed one is swapped in; a deleted one is retired).
The analyzers are read anew from config.lua and the folders (:func:`refreshed`);
inputs, outputs and engine settings need a restart (:class:`ConfigFile` warns when
config.lua changed in a way a reload cannot apply).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from pathlib import Path

from mle.config import Config, load_config
from mle.deadletter import DeadLetterWriter
from mle.errors import ConfigError, ScriptLoadError
from mle.lua.runtime import RedisExecutor
from mle.worker import Worker

log = logging.getLogger("mle.reload")


class Reloader:
    """Loads the scripts now on disk, once, on the side; remembers why the last attempt
    failed (for the log and the HTTP API)."""

    def __init__(self, config: Config) -> None:
        self.config_file = ConfigFile(config.root.config_file)
        self.last_error = ""

    def load(self, config: Config, redis: RedisExecutor | None,
             dead_letters: DeadLetterWriter) -> tuple[Config, Worker] | None:
        """``config`` with its analyzers read anew from config.lua and the analyzer folders
        (dropped-in files found, deleted ones gone) and a started worker running them; or
        None (logged, naming the script and the problem) when a script fails to load or
        set up, or config.lua no longer reads."""
        self.config_file.warn_if_changed()
        try:
            config = replace(config, analyzers=load_config(config.root).analyzers, script_sources=None)
            worker = Worker(config, redis, dead_letters)
            worker.start()
        except (ConfigError, ScriptLoadError) as exc:
            self.last_error = str(exc)
            log.error("scripts not reloaded, the running ones go on: %s", exc)
            return None
        self.last_error = ""
        # the workers that replace the running ones load exactly what was checked here
        config = replace(config, script_sources=dict(worker.engine.loaded_sources))
        return config, worker


class ConfigFile:
    """Remembers config.lua as it was at start, to tell when a reload cannot apply it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._digest = self._read()

    def _read(self) -> bytes:
        try:
            return hashlib.sha256(self.path.read_bytes()).digest()
        except OSError:
            return b""

    def warn_if_changed(self) -> None:
        if self._read() != self._digest:
            log.warning("%s changed since start: a reload applies its analyzers and the scripts; "
                        "restart MLE to apply changed inputs, outputs or settings", self.path)


class ScriptWatcher:
    """Notices, by polling (every ``interval`` s; works on every file system, container
    mounts included, where change notifications may not), when a script file under the
    root's input, analyzer or output folders, or a file under their ``data/`` folders,
    appears, changes or goes away. A change is
    reported once the folders stayed the same for one more poll, so a file still being
    written is not loaded half-way."""

    def __init__(self, config: Config, interval: float = 1.0) -> None:
        self.folders = [folder for kind in ("input", "analyzer", "output")
                        for folder in config.root.script_dirs(kind)]
        self.interval = interval
        self._seen = self._snapshot()
        self._pending: frozenset | None = None
        self._next = time.monotonic() + interval

    def _snapshot(self) -> frozenset:
        files = set()
        for folder in self.folders:
            try:
                # the scripts, and the data files they read in setup() under data/
                # (indicator lists, models): a changed list is a reload too
                data = folder / "data"
                paths = [*folder.glob("*.lua"), *(p for p in data.rglob("*") if p.is_file())]
                for path in paths:
                    stat = path.stat()
                    files.add((str(path), stat.st_mtime_ns, stat.st_size))
            except OSError:
                continue
        return frozenset(files)

    def changed(self) -> bool:
        """True once after the scripts changed and then stayed unchanged for a poll."""
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval
        current = self._snapshot()
        if current == self._seen:
            self._pending = None
            return False
        if current != self._pending:
            self._pending = current  # still changing (or just changed): look again next poll
            return False
        names = sorted({Path(p).name for p, _, _ in current ^ self._seen})
        self._seen, self._pending = current, None
        log.info("script files changed (%s): reloading", ", ".join(names))
        return True
