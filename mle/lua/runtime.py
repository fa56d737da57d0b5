"""One Lua state holding the kernel and every script of a pipeline.

:class:`LuaEngine` creates the lupa runtime (Lua 5.4 by default: 64-bit integers),
installs the kernel (``kernel.lua``: scheduler, routing, Redis pipelining) and the
sandbox (``sandbox.lua``), loads scripts into their own environments and runs
batches through them. Everything a script may do outside Lua goes through the
host functions defined here.
"""

from __future__ import annotations

import importlib
import logging
import math
import socket
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import hiredis
import orjson

from mle.errors import ScriptLoadError
from mle.lua.analysis import runs_ahead_safely
from mle.lua.bridge import JSON_NULL, EventTracker, common_fields, lua_getitem, lua_items, lua_len
from mle.root import Root

log = logging.getLogger("mle.lua")

RUNTIME_MODULES = {"lua54": "lupa.lua54", "luajit": "lupa.luajit21"}
LOAD_BUDGET_SCALE = 100  # the top-level chunk and setup() get 100x a loop()'s budget
MAX_DATA_FILE = 256 << 20

# a filter-less input: hand every valid record to the default analyzer
PASS_THROUGH_SOURCE = """
function loop(msg)
  if msg ~= nil then dragonfly.analyze_event(default_analyzer, msg) end
end
"""


class RedisExecutor(Protocol):
    """What the engine needs from a Redis connection (see :class:`mle.redis.pipe.RedisPipe`)."""

    def execute(self, payload: bytes, count: int) -> list: ...


@dataclass(frozen=True)
class ScriptInfo:
    """A loaded script, as Python knows it."""

    id: int
    kind: str  # "input" or "analyzer"
    tag: str
    path: Path | None
    label: str


def _lua_source(name: str) -> str:
    return resources.files("mle.lua").joinpath(name).read_text(encoding="utf-8")


class LuaEngine:
    """The Lua side of a worker. ``emit(output_index, value)`` receives every value a
    script sends to an output (index -1 = log, -2 = stats); ``log_script(script_id,
    level, text)`` every message; ``arm_timer(script_id, seconds, value)`` timers;
    ``dead_letter(output_index, value, reason)`` what an output script could not format.
    ``cjson_floats``: write the floats scripts compute with 14 significant digits, as
    Dragonfly's cjson did (for Dragonfly roots)."""

    def __init__(
        self,
        *,
        root: Root,
        runtime: str = "lua54",
        max_memory_mb: int = 512,
        redis: RedisExecutor | None,
        emit: Callable[[int, Any], None],
        log_script: Callable[[int, str, str], None],
        arm_timer: Callable[[int, float, Any], bool],
        dead_letter: Callable[[int, Any, str], None],
        worker_id: int = 0,
        budgeted: bool = True,
        cjson_floats: bool = False,
        home_net: tuple[str, ...] = (),
        record_features: bool = False,
        quarantine_retry: float = 10.0,
        sources: Mapping[Path, str] | None = None,
    ) -> None:
        self.root = root
        self.runtime_name = runtime
        self.max_memory_mb = max_memory_mb
        self._module = importlib.import_module(RUNTIME_MODULES[runtime])
        self.tracker = EventTracker(type(self._module.LuaRuntime().table()), max_bytes=max_memory_mb << 20,
                                    cjson_floats=cjson_floats)
        self.lua = self._module.LuaRuntime(
            attribute_handlers=(lua_getitem, self.tracker.lua_setitem),
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            max_memory=max_memory_mb << 20,
            overflow_handler=float,
        )
        self._redis = redis
        self._emit = emit
        self._log_script = log_script
        self._arm_timer = arm_timer
        self._dead_letter = dead_letter
        self.worker_id = worker_id
        self.budgeted = budgeted
        self.home_net = home_net
        self.record_features = record_features
        self.sources: Mapping[Path, str] = sources or {}  # script texts to use instead of the files
        self.loaded_sources: dict[Path, str] = {}  # what each script file held when it loaded
        self.quarantine_retry = quarantine_retry
        self.scripts: dict[int, ScriptInfo] = {}
        self._records: dict[int, Any] = {}
        self._table_from = self.lua.table_from
        self.kernel = self._install()

    # installation ---------------------------------------------------------------
    def _install(self) -> Any:
        lua = self.lua
        dead_letter = self._dead_letter
        python = lua.globals().python
        host = lua.table_from(
            {
                "emit": self._emit,
                "dead_letter": dead_letter,
                "redis": self._redis_round_trip,
                "redis_available": lambda: self._redis is not None,
                "log": self._log_script,
                "timer": self._arm_timer,
                "now": time.monotonic,
                "quarantine_retry": self.quarantine_retry,
                "read_file": self._read_file,
                "find_module": self._find_module,
                "json_encode": self._json_encode,
                "json_decode": self._json_decode,
                "json_null": JSON_NULL,
                "http_get": self._http_get,
                "dnslookup": self._dnslookup,
                "annotate": self.tracker.annotate,
                "fields": common_fields,
                "annotate_error": self.tracker.annotate_error,
                "worker_id": self.worker_id,
                "max_memory_kb": self.max_memory_mb * 1024,
                "budgeted": self.budgeted,
                "home_net": self._table_from(list(self.home_net)),
                "features": self.tracker.features if self.record_features else False,
                "iterex": python.iterex,
                "items": lua_items,
                "len": lua_len,
            }
        )
        runner = lua.eval(
            "function(source, name, ...) local f = assert(load(source, name, 't')); return f(...) end"
        )
        kernel = runner(_lua_source("kernel.lua"), "@mle/lua/kernel.lua", host, {})
        compat = None
        if self.runtime_name == "lua54":
            compat = runner(_lua_source("compat54.lua"), "@mle/lua/compat54.lua")
        patterns = runner(_lua_source("patterns.lua"), "@mle/lua/patterns.lua")
        runner(_lua_source("sandbox.lua"), "@mle/lua/sandbox.lua", kernel, host, compat, patterns)
        kernel.redisml = runner(_lua_source("redisml.lua"), "@mle/lua/redisml.lua")
        lua.globals().python = None
        return kernel

    # scripts ----------------------------------------------------------------------
    def load_script(
        self,
        *,
        kind: str,
        tag: str,
        label: str,
        path: Path | None,
        default_analyzer: str = "",
        default_output: str = "",
        max_instructions: int,
        quarantine_after: int,
        sequential: bool = False,
        allow_network: bool = False,
        allow_eval: bool = False,
        settings: Mapping[str, Any] | None = None,
    ) -> int:
        """Create the script's environment, compile it and run its top-level chunk.
        A sequential script whose source proves it sends one Redis command per event
        lets its events run ahead (:mod:`mle.lua.analysis`). Raises
        :class:`ScriptLoadError` naming the script and the problem."""
        script_id = len(self.scripts) + 1
        if path is None:
            source, chunkname = PASS_THROUGH_SOURCE, f"={kind} {tag} (built-in pass-through)"
        else:
            source = self.sources.get(path)
            if source is None:
                try:
                    source = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise ScriptLoadError(f"{label}: cannot read {path}: {exc}") from None
            self.loaded_sources[path] = source
            chunkname = "@" + self._display(path)
        record = self.lua.table_from(
            {
                "id": script_id,
                "kind": kind,
                "tag": tag,
                "default_analyzer": default_analyzer,
                "default_output": default_output,
                "budget": max(1, math.ceil(max_instructions / self.kernel.HOOK_COUNT)),
                "quarantine_after": quarantine_after,
                "sequential": sequential,
                "ahead": sequential and self._runs_ahead(tag, source),
                "redis_hint": "hiredis" in source,
                "allow_network": allow_network,
                "allow_eval": allow_eval,
                "settings": self._to_lua(dict(settings or {})),
            }
        )
        self.scripts[script_id] = ScriptInfo(script_id, kind, tag, path, label)
        self._records[script_id] = record
        self.kernel.new_env(record)
        self.kernel.add_script(record)
        chunk, err = self.kernel.compile(record, source, chunkname)
        if not chunk:
            raise ScriptLoadError(f"{label}: {err}")
        ok, err = self.kernel.run_hook(script_id, chunk, "load", LOAD_BUDGET_SCALE)
        if not ok:
            raise ScriptLoadError(f"{label}: {chunkname.lstrip('@=')}: {err}")
        if not self.kernel.bind_hooks(record) and record.setup is None:
            raise ScriptLoadError(f"{label}: {chunkname.lstrip('@=')} defines no {_hook_name(kind)} function")
        if record.declare_error:
            raise ScriptLoadError(f"{label}: {chunkname.lstrip('@=')}: {record.declare_error}")
        return script_id

    def _runs_ahead(self, tag: str, source: str) -> bool:
        verdict = runs_ahead_safely(source)
        log.debug("%s: events %s (%s)", tag, "run ahead" if verdict.ok else "run one at a time", verdict.reason)
        return verdict.ok

    def add_output(self, tag: str, index: int) -> None:
        """Make ``dragonfly.output_event(tag, ...)`` reach output ``index``."""
        self.kernel.add_output(tag, index)

    def set_output_script(self, index: int, script_id: int) -> None:
        """Shape everything sent to output ``index`` with the script's ``format()``."""
        self.kernel.set_output_script(index, script_id)

    def link(self) -> None:
        """Resolve every script's default_analyzer / default_output."""
        self.kernel.link()

    def setup(self, script_id: int) -> None:
        """Run the script's ``setup()`` if it has one. Raises :class:`ScriptLoadError`."""
        record = self._records[script_id]
        if record.setup is not None:
            ok, err = self.kernel.run_hook(script_id, record.setup, "setup", LOAD_BUDGET_SCALE)
            if not ok:
                raise ScriptLoadError(f"{self.scripts[script_id].label}: setup(): {err}")
        if not self.kernel.bind_hooks(record):
            info = self.scripts[script_id]
            raise ScriptLoadError(f"{info.label}: script defines no {_hook_name(info.kind)} function")

    def uses_redis(self) -> bool:
        """Whether any script connected to Redis or names hiredis in its source."""
        return bool(self.kernel.any_redis())

    def set_trace(self, callback: Callable[[int], None] | None) -> None:
        """Call ``callback(script_id)`` before every script call (isolation mode), or stop."""
        self.kernel.set_trace(callback)

    def quarantine(self, script_id: int, flag: bool = True) -> None:
        """Quarantine (or release) a script by hand."""
        self.kernel.set_quarantined(script_id, flag)

    # running ------------------------------------------------------------------------
    def run_batch(self, events: list, input_script: int, lanes: list | None = None,
                  annotated: list[int] | None = None) -> None:
        """Run decoded records (None for invalid lines) through an input script. With
        ``lanes`` (a key per event, None for an event of its own), the events of one
        lane run one at a time, whole chain, in order (serial semantics per shard).
        ``annotated``: the 1-based indexes of the records that arrived with an ``mle``
        annotation (``mle.has_findings`` cannot rule those out)."""
        table_from = self._table_from
        self.kernel.run_batch(table_from(events), len(events), input_script, lanes and table_from(lanes),
                              annotated and table_from(annotated))

    def run_feedback(self, value: dict) -> int:
        """Hand an analyst's verdict to every analyzer that defines ``feedback(fb)``;
        returns how many do."""
        return int(self.kernel.run_feedback(value))

    def run_timers(self, fired: list[tuple[int, Any]]) -> None:
        """Deliver fired timers: (analyzer script id, value) pairs."""
        ids = self._table_from([script_id for script_id, _ in fired])
        values = self._table_from([value for _, value in fired])
        self.kernel.run_timers(ids, values, len(fired))

    def collect_garbage(self, events: int) -> None:
        """After a batch of ``events``: a step of Lua's collector once enough events
        passed since the last one (kernel.lua, K.collect)."""
        self.kernel.collect(events)

    def memory_kb(self) -> float:
        return float(self.kernel.memory_kb())

    def declared_event_types(self) -> dict[str, list[str]]:
        """The event types each analyzer declared (``analyzer = { event_types = ... }``), by tag."""
        declared = {}
        for script_id, record in self._records.items():
            if record.declared is not None and self.scripts[script_id].kind == "analyzer":
                declared[record.tag] = [str(t) for t in record.declared.event_types.values()]
        return declared

    def script_stats(self) -> tuple[list[dict], dict[str, int]]:
        """Per-script counters and counts of events sent to unknown tags."""
        rows, unknown = self.kernel.stats()
        return (
            [dict(row.items()) for row in rows.values()],
            {str(k): int(v) for k, v in unknown.items()},
        )

    # host functions (called from Lua) ---------------------------------------------------
    def _redis_round_trip(self, payload: str, count: int) -> Any:
        if self._redis is None:
            raise ConnectionError("no Redis connection")
        replies = self._redis.execute(payload.encode(), count)
        for i, reply in enumerate(replies):
            if type(reply) is hiredis.ReplyError:
                replies[i] = {"__redis_error__": str(reply)}
            elif type(reply) is list:
                replies[i] = _errors_as_dicts(reply)
        return self._table_from(replies)

    def _display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.path))
        except ValueError:
            return str(path)

    def _resolve_readable(self, path: str) -> Path:
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root.path / candidate
        resolved = candidate.resolve()
        if not any(resolved.is_relative_to(d.resolve()) for d in self.root.readable_dirs()):
            raise PermissionError(f"{path}: only files under the root's script folders can be read")
        return resolved

    def _read_file(self, script_id: int, path: str) -> bytes:
        resolved = self._resolve_readable(path)
        size = resolved.stat().st_size
        if size > MAX_DATA_FILE:
            raise OSError(f"{path}: {size} bytes is larger than the {MAX_DATA_FILE} byte limit")
        return resolved.read_bytes()

    def _find_module(self, script_id: int, name: str) -> tuple[str | None, str]:
        info = self.scripts[script_id]
        not_found = f"module '{name}' not found in the root's script folders or the mle library"
        relative = name.replace(".", "/") if "/" not in name else name
        relative = relative.removesuffix(".lua") + ".lua"
        if ".." in Path(relative).parts or relative.startswith("/"):
            return None, not_found
        if relative.startswith("mle/"):
            library = Path(str(resources.files("mle.lua").joinpath("lib"))).resolve()
            candidate = (library / relative[len("mle/"):]).resolve()
            if candidate.is_relative_to(library) and candidate.is_file():
                return candidate.read_text(encoding="utf-8"), "@mle/lua/lib/" + relative[len("mle/"):]
            return None, not_found
        candidates: list[Path] = []
        if info.path is not None:
            candidates.append(info.path.parent / relative)
        candidates.append(self.root.path / relative)
        candidates += [folder / relative for folder in self.root.readable_dirs()]
        for candidate in candidates:
            try:
                resolved = self._resolve_readable(str(candidate))
            except PermissionError:
                continue
            if resolved.is_file():
                return resolved.read_text(encoding="utf-8"), "@" + self._display(resolved)
        return None, not_found

    def _json_encode(self, value: Any) -> str:
        return self.tracker.render(value).decode()

    def _json_decode(self, text: str) -> Any:
        value = orjson.loads(text)
        return self._to_lua(value)

    def _to_lua(self, value: Any) -> Any:
        if type(value) is dict:
            return self._table_from({k: self._to_lua(v) for k, v in value.items()})
        if type(value) is list:
            return self._table_from([self._to_lua(v) for v in value])
        if value is None:
            return JSON_NULL
        return value

    def _http_get(self, script_id: int, url: str, file: str | None = None) -> tuple[Any, ...]:
        """http(s) only; with ``file``, the body is saved as a data file (never a
        script) under the root's script folders, where io.open in setup can read it."""
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            return None, f"http_get {url}: only http:// and https:// URLs"
        target = None
        if file:
            try:
                target = self._resolve_readable(file)
            except PermissionError as exc:
                return None, str(exc)
            if target.suffix.lower() == ".lua":
                return None, f"http_get: {file}: cannot write a script"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # http(s) only, checked above
                body = response.read(MAX_DATA_FILE)
        except Exception as exc:  # reported to the script, never fatal
            return None, f"http_get {url}: {exc}"
        if target is not None:
            target.write_bytes(body)
            return True
        return body

    def _dnslookup(self, host: str) -> tuple[Any, ...] | str:
        try:
            return socket.gethostbyname(host)
        except OSError as exc:
            return None, f"dnslookup {host}: {exc}"


def _hook_name(kind: str) -> str:
    return "format(event)" if kind == "output" else "loop(msg)"


def _errors_as_dicts(items: list) -> list:
    out = []
    for item in items:
        if type(item) is hiredis.ReplyError:
            out.append({"__redis_error__": str(item)})
        elif type(item) is list:
            out.append(_errors_as_dicts(item))
        else:
            out.append(item)
    return out
