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

config.lua itself is not re-read: inputs, outputs and routes need a restart
(:class:`ConfigFile` warns when the file changed).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from mle.config import Config
from mle.deadletter import DeadLetterWriter
from mle.errors import ScriptLoadError
from mle.lua.runtime import RedisExecutor
from mle.worker import Worker

log = logging.getLogger("mle.reload")


def load_new_scripts(config: Config, config_file: ConfigFile, redis: RedisExecutor | None,
                     dead_letters: DeadLetterWriter) -> Worker | None:
    """A started worker with the scripts now on disk, or None (logged, naming the
    script and the problem) if one of them fails to load or set up."""
    config_file.warn_if_changed()
    worker = Worker(config, redis, dead_letters)
    try:
        worker.start()
    except ScriptLoadError as exc:
        log.error("scripts not reloaded, the running ones go on: %s", exc)
        return None
    return worker


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
            log.warning("%s changed since start: a reload applies script changes only; "
                        "restart MLE to apply the new configuration", self.path)
