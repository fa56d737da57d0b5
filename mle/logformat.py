"""How MLE writes its log: one line per record, as text, JSON lines or key=value.

``--log-format text`` (the default) is for people, ``json`` and ``kv`` for
machines. Whatever the format, a record is one line: newlines inside a message
(a Lua traceback, a script's ``print``) are written as ``\\n``. Every process of
the engine writes its own name (``supervisor``, ``source``, ``worker-0``,
``sink``). A script's messages carry the script (``"script": "analyzer dns"``).

Scripts' ``print`` and ``dragonfly.echo`` go to the ``mle.script`` logger at
INFO, shown at the default level (at most 20 a minute per script and level, see
:class:`mle.worker.ScriptLog`); ``--quiet-scripts`` keeps only their warnings
and errors.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

FORMATS = ("text", "json", "kv")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    """Fields given with ``extra=`` (e.g. ``script``)."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class _Base(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def _details(self, record: logging.LogRecord) -> str:
        parts = []
        if record.exc_info:
            parts.append(self.formatException(record.exc_info))
        if record.stack_info:
            parts.append(self.formatStack(record.stack_info))
        return "\n".join(parts)

    @staticmethod
    def _time(record: logging.LogRecord) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class TextFormatter(_Base):
    """``2024-05-01 12:00:00,123 INFO worker-0 mle.script: analyzer a: hello``"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname} {self.process} {record.name}: {record.getMessage()}"
        details = self._details(record)
        return _one_line(f"{line}\n{details}" if details else line)


class JsonFormatter(_Base):
    """``{"time": "...Z", "level": "info", "process": "worker-0", "logger": "mle.script", "message": ..., ...}``"""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": self._time(record), "level": record.levelname.lower(),
                                 "process": self.process, "logger": record.name, "message": record.getMessage()}
        entry.update(_extra(record))
        details = self._details(record)
        if details:
            entry["exception"] = details
        return orjson.dumps(entry, default=str).decode()


class KvFormatter(_Base):
    """``time=...Z level=info process=worker-0 logger=mle.script message="analyzer a: hello" script="analyzer a"``"""

    @staticmethod
    def _value(value: Any) -> str:
        text = str(value)
        if text and all(c.isalnum() or c in "._-:/@+" for c in text):
            return text
        return orjson.dumps(text).decode()

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {"time": self._time(record), "level": record.levelname.lower(),
                                  "process": self.process, "logger": record.name, "message": record.getMessage()}
        fields.update(_extra(record))
        details = self._details(record)
        if details:
            fields["exception"] = details
        return " ".join(f"{key}={self._value(value)}" for key, value in fields.items())


_FORMATTERS = {"text": TextFormatter, "json": JsonFormatter, "kv": KvFormatter}
_current = "text"


def configure(level: int, log_format: str, process: str, quiet_scripts: bool = False) -> None:
    """Send every record of this process to standard error in ``log_format``, one line each."""
    global _current
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_FORMATTERS[log_format](process))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("mle.script").setLevel(logging.WARNING if quiet_scripts else logging.INFO)
    _current = log_format


def current() -> str:
    """The format this process logs in."""
    return _current
