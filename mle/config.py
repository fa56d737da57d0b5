"""Read a Dragonfly-format ``config.lua`` (extended) into validated settings.

The file is plain Lua, run once in a sandboxed state that can only compute values
(``string``, ``math``, ``table``, ``os.getenv``/``os.time``/``os.date``). The engine
then reads these globals:

``redis_host``/``redis_port`` (unset or "" = private Redis), ``redis_password``,
``redis_db``, ``modules``, ``inputs``, ``analyzers``, ``outputs`` and the MLE
extension table ``mle`` (engine settings). Every problem is reported as one
:class:`~mle.errors.ConfigError` naming the entry and what is wrong with it.

Other top-level names are the user's helpers (a base path, a list reused by two
entries) and are allowed, except those that look like a misspelt setting
(:func:`misspelt_setting`): a setting MLE silently ignored would change what the
engine does (a typo in ``redis_host`` starts a private Redis whose state is
thrown away).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lupa.lua54 as lua54

from mle.errors import ConfigError
from mle.http.address import parse_listen
from mle.root import Root

RUNTIMES = ("auto", "lua54", "luajit")
SERIAL_ORDERS = ("auto", "shard", "analyzer")
#: private, loopback, link-local and unique-local ranges (Suricata's HOME_NET default, plus IPv6)
DEFAULT_HOME_NET = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
                    "fc00::/7", "fe80::/10", "::1/128")


@dataclass(frozen=True)
class EngineSettings:
    """Engine-wide settings from the ``mle = {...}`` table (all optional)."""

    runtime: str = "auto"
    batch_size: int = 256
    batch_timeout_ms: float = 5.0
    round_size: int = 64  # events a worker runs through Lua at once (their Redis commands: one round trip)
    max_line_bytes: int = 1 << 20
    max_instructions: int = 10_000_000
    max_memory_mb: int = 512
    quarantine_after: int = 10
    quarantine_retry: float = 10.0  # seconds before a quarantined event type is tried again (doubling, <= 600)
    run_dir: Path | None = None
    log_dir: Path | None = None
    dead_letter: str = "dead-letter.jsonl"
    stats_interval: float = 60.0
    workers: int | None = None  # worker processes; None = one per core, 0 = all in one process
    shard_key: str = "flow_id"  # flow_id (else the 5-tuple), 5-tuple, or a top-level field such as src_ip
    # what a script's Redis replies are serial to: "shard" (the events of one shard run one at a
    # time, whole chain), "analyzer" (each analyzer takes every event of a worker one at a time,
    # as Dragonfly's analyzer threads did); "auto": analyzer for a Dragonfly root, else shard
    serial: str = "auto"
    # the addresses that are "ours" (internal) for analyzers: require("mle.net").is_home(ip)
    home_net: tuple[str, ...] = DEFAULT_HOME_NET
    worker_timeout: float = 60.0  # seconds a worker may spend in one batch before it is replaced
    drain_timeout: float = 120.0  # seconds a stop may take before the engine stops without finishing
    http: str = "127.0.0.1:7070"  # where `mle run` serves the HTTP API (HOST:PORT, or "off")
    http_token: str | None = None  # the token POST requests need (default: MLE_HTTP_TOKEN, else generated)
    # mle.features(msg, {...}) records an analyzer's features under mle.features.<tag> (mle evaluate
    # turns it on for its batch baseline); off, the call does nothing and mle.evaluating is false
    record_features: bool = False


@dataclass(frozen=True)
class RedisSettings:
    """Where the state store is; ``None`` in :class:`Config` means a private server."""

    host: str
    port: int
    password: str | None = None
    db: int = 0

    @property
    def unix_socket(self) -> str | None:
        """Dragonfly convention: a port <= 0 means ``host`` is a unix socket path."""
        return self.host if self.port <= 0 else None


@dataclass(frozen=True)
class ScriptSpec:
    """One configured script (input script or analyzer) and its limits."""

    kind: str  # "input" or "analyzer"
    index: int
    tag: str
    script: Path | None
    default_analyzer: str = ""
    default_output: str = ""
    max_instructions: int = 0
    quarantine_after: int = 0
    sequential: bool = False
    allow_network: bool = False
    allow_eval: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)  # the analyzer's own parameters (mle.settings)

    @property
    def label(self) -> str:
        """How errors name this entry, e.g. ``analyzers[2] (tag "hello")``."""
        return f'{self.kind}s[{self.index}] (tag "{self.tag}")'


@dataclass(frozen=True)
class InputSpec:
    """An ``inputs`` entry: where records come from and which script routes them."""

    index: int
    tag: str
    uri: str
    script: ScriptSpec
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputSpec:
    """An ``outputs`` entry: where annotated events go."""

    index: int
    tag: str
    uri: str
    script: Path | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f'outputs[{self.index}] (tag "{self.tag}")'


@dataclass(frozen=True)
class Config:
    """Everything read from config.lua, validated, with paths resolved."""

    root: Root
    redis: RedisSettings | None
    modules: tuple[tuple[str, str], ...]
    inputs: tuple[InputSpec, ...]
    analyzers: tuple[ScriptSpec, ...]
    outputs: tuple[OutputSpec, ...]
    engine: EngineSettings
    # the script texts a reload checked: workers started for it load these, not files that
    # may have changed again since (None: read the files)
    script_sources: Mapping[Path, str] | None = None

    @property
    def lua_runtime(self) -> str:
        """The Lua runtime to use. "auto" is LuaJIT for a Dragonfly root (its scripts
        rely on LuaJIT's number formatting) and Lua 5.4 (exact 64-bit integers,
        the tighter sandbox) otherwise."""
        if self.engine.runtime != "auto":
            return self.engine.runtime
        return "luajit" if self.root.layout == "dragonfly" else "lua54"

    @property
    def serial_order(self) -> str:
        """"shard" or "analyzer" (see :attr:`EngineSettings.serial`)."""
        if self.engine.serial != "auto":
            return self.engine.serial
        return "analyzer" if self.root.layout == "dragonfly" else "shard"

    @property
    def default_workers(self) -> int | None:
        """Worker processes when neither config.lua nor the command line says: one per
        core, except one in analyzer order (each analyzer sees every event in one
        order only inside one worker, as in Dragonfly's single process)."""
        if self.engine.workers is not None:
            return self.engine.workers
        return 1 if self.serial_order == "analyzer" else None

    @property
    def run_dir(self) -> Path:
        """Sockets and the private Redis live here."""
        return self.engine.run_dir or self.root.path / "var" / "run"

    @property
    def log_dir(self) -> Path:
        """Relative file outputs, logs and the dead-letter file go here."""
        return self.engine.log_dir or self.root.path / "var" / "log"

    @property
    def dead_letter_path(self) -> Path:
        return self.log_dir / self.engine.dead_letter

    def input_by_tag(self, tag: str) -> InputSpec:
        for spec in self.inputs:
            if spec.tag.lower() == tag.lower():
                return spec
        known = ", ".join(spec.tag for spec in self.inputs) or "none"
        raise ConfigError(f'no input with tag "{tag}" (configured: {known})')


# --- reading the Lua file ---------------------------------------------------------

_CONFIG_SANDBOX = """
local source, name = ...
local env = {
  string = string, math = math, table = table, pairs = pairs, ipairs = ipairs,
  tostring = tostring, tonumber = tonumber, type = type, select = select, next = next,
  error = error, assert = assert, pcall = pcall, print = function() end,
  os = { getenv = os.getenv, time = os.time, date = os.date },
}
local chunk, err = load(source, name, "t", env)
if not chunk then return nil, err end
local ok, run_err = pcall(chunk)
if not ok then return nil, tostring(run_err) end
return env, ""
"""


def _lua_to_python(value: Any, where: str, depth: int = 0) -> Any:
    """Convert a config value (Lua table → list or dict, recursively)."""
    if depth > 20:
        raise ConfigError(f"{where}: tables nested too deeply")
    if lua54.lua_type(value) == "table":
        items = list(value.items())
        keys = [k for k, _ in items]
        if keys and all(isinstance(k, int) for k in keys) and sorted(keys) == list(range(1, len(keys) + 1)):
            return [_lua_to_python(v, f"{where}[{k}]", depth + 1) for k, v in sorted(items)]
        return {str(k): _lua_to_python(v, f"{where}.{k}", depth + 1) for k, v in items}
    if lua54.lua_type(value) is not None:
        raise ConfigError(f"{where}: a {lua54.lua_type(value)} is not a valid setting")
    return value


def _read_globals(path: Path) -> dict[str, Any]:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    runtime = lua54.LuaRuntime(register_eval=False, register_builtins=False, max_memory=64 << 20)
    runner = runtime.execute("return function(...) " + _CONFIG_SANDBOX + " end")
    try:
        env, err = runner(source, "@" + str(path))
    except lua54.LuaError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if env is None:
        raise ConfigError(f"{path}: {err}")
    return {str(k): v for k, v in env.items() if lua54.lua_type(v) != "function"}


# --- top-level names ----------------------------------------------------------------

#: The globals MLE reads from config.lua.
SETTINGS = ("redis_host", "redis_port", "redis_password", "redis_db", "modules", "inputs", "analyzers",
            "outputs", "mle")
#: Prefixes of MLE's own settings: no helper may start with them.
RESERVED_PREFIXES = ("mle_", "redis_")


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and
    transpositions of adjacent characters, each costing 1.

    >>> edit_distance("redis_hots", "redis_host"), edit_distance("analysers", "analyzers")
    (1, 1)
    """
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _typo_allowance(setting: str) -> int:
    """Edits a name may be away from ``setting`` and still count as a typo of it: none
    for "mle" (too many short words are one edit away), one up to 7 characters, two beyond."""
    return 0 if len(setting) <= 3 else 1 if len(setting) <= 7 else 2


def misspelt_setting(name: str) -> str | None:
    """The setting a top-level name of config.lua looks like a misspelling of, else None.

    A name is taken for a misspelling when it equals a setting but for case
    (``Inputs``), is within :func:`_typo_allowance` edits of one (``analysers``,
    ``ouputs``, ``redis_hots``), or starts with a reserved prefix (``mle_settings``,
    ``redis_server``). Any other name is a helper and allowed.

    >>> misspelt_setting("mle_settings"), misspelt_setting("HOME"), misspelt_setting("models")
    ('mle', None, None)
    """
    lower = name.lower()
    if name in SETTINGS:
        return None
    distances = sorted((edit_distance(lower, setting), setting) for setting in SETTINGS)
    for distance, setting in distances:
        if distance <= _typo_allowance(setting):
            return setting
    for prefix in RESERVED_PREFIXES:
        if lower.startswith(prefix):
            family = [s for s in SETTINGS if s.startswith(prefix.rstrip("_"))]
            return min(family, key=lambda s: edit_distance(lower, s))
    return None


def _check_top_level(path: Path, raw: Mapping[str, Any]) -> None:
    for name in sorted(raw):
        setting = misspelt_setting(name)
        if setting is not None:
            raise ConfigError(f'{path}: unknown setting "{name}" (did you mean "{setting}"?); a helper '
                              f"variable of that name must be local")


# --- validation helpers -----------------------------------------------------------


def _suggest(key: str, allowed: Any) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _check_keys(where: str, entry: Mapping[str, Any], allowed: Mapping[str, Any]) -> None:
    for key in entry:
        if key not in allowed:
            raise ConfigError(f'{where}: unknown key "{key}"{_suggest(key, allowed)}')


def _string(where: str, entry: Mapping[str, Any], key: str, required: bool = False) -> str:
    value = entry.get(key)
    if value is None:
        if required:
            raise ConfigError(f'{where}: "{key}" is missing')
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f'{where}: "{key}" must be a string, not {type(value).__name__}')
    value = str(value)
    if required and not value:
        raise ConfigError(f'{where}: "{key}" must not be empty')
    return value


def _integer(where: str, key: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f'{where}: "{key}" must be an integer, not {value!r}')
    if value < minimum:
        raise ConfigError(f'{where}: "{key}" must be at least {minimum}, not {value}')
    return value


def _boolean(where: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f'{where}: "{key}" must be true or false, not {value!r}')
    return value


def _entries(raw: dict[str, Any], name: str, required: bool) -> list[dict[str, Any]]:
    value = raw.get(name)
    if value is None:
        if required:
            raise ConfigError(f'"{name}" is missing: config.lua must define {name} = {{ ... }}')
        return []
    value = _lua_to_python(value, name)
    if value == {}:
        return []
    if not isinstance(value, list):
        raise ConfigError(f'"{name}" must be a list of tables {{ {{tag=..., ...}}, ... }}')
    for i, entry in enumerate(value, 1):
        if not isinstance(entry, dict):
            raise ConfigError(f"{name}[{i}]: must be a table like {{tag=..., ...}}, not {entry!r}")
    return value


def _label(kind: str, i: int, entry: Mapping[str, Any]) -> str:
    tag = entry.get("tag")
    return f'{kind}[{i}] (tag "{tag}")' if isinstance(tag, str) and tag else f"{kind}[{i}]"


def _unique_tags(kind: str, tags: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, tag in enumerate(tags, 1):
        key = tag.lower()
        if key in seen:
            raise ConfigError(f'{kind}[{i}]: tag "{tag}" is already used by {kind}[{seen[key]}] (tags ignore case)')
        seen[key] = i


_SCRIPT_LIMIT_KEYS: dict[str, Callable[[str, str, Any], Any]] = {
    "max_instructions": lambda w, k, v: _integer(w, k, v, 1000),
    "quarantine_after": lambda w, k, v: _integer(w, k, v, 0),
    "sequential": _boolean,
    "allow_network": _boolean,
    "allow_eval": _boolean,
}
_INPUT_KEYS = {"tag": 1, "uri": 1, "script": 1, "default_analyzer": 1, **_SCRIPT_LIMIT_KEYS}
_ANALYZER_KEYS = {"tag": 1, "script": 1, "default_analyzer": 1, "default_output": 1, "settings": 1,
                  **_SCRIPT_LIMIT_KEYS}


def _script_path(root: Root, kind: str, where: str, name: str) -> Path:
    path = root.find_script(kind, name)
    if path is None:
        folders = " or ".join(str(d.relative_to(root.path)) + "/" for d in root.script_dirs(kind))
        raise ConfigError(f'{where}: script "{name}" not found in {folders} of {root.path}')
    return path


def _limits(where: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: check(where, key, entry[key]) for key, check in _SCRIPT_LIMIT_KEYS.items() if key in entry}


def _inputs(root: Root, raw: dict[str, Any]) -> tuple[InputSpec, ...]:
    specs = []
    for i, entry in enumerate(_entries(raw, "inputs", required=True), 1):
        where = _label("inputs", i, entry)
        tag = _string(where, entry, "tag", required=True)
        uri = _string(where, entry, "uri", required=True)
        options = {k: v for k, v in entry.items() if k not in _INPUT_KEYS}
        script_name = _string(where, entry, "script")
        script = ScriptSpec(
            kind="input",
            index=i,
            tag=tag,
            script=_script_path(root, "input", where, script_name) if script_name else None,
            default_analyzer=_string(where, entry, "default_analyzer"),
            **_limits(where, entry),
        )
        specs.append(InputSpec(index=i, tag=tag, uri=uri, script=script, options=options))
    _unique_tags("inputs", [spec.tag for spec in specs])
    return tuple(specs)


def _analyzers(root: Root, raw: dict[str, Any]) -> tuple[ScriptSpec, ...]:
    specs = []
    for i, entry in enumerate(_entries(raw, "analyzers", required=False), 1):
        where = _label("analyzers", i, entry)
        _check_keys(where, entry, _ANALYZER_KEYS)
        tag = _string(where, entry, "tag", required=True)
        script = _script_path(root, "analyzer", where, _string(where, entry, "script", required=True))
        specs.append(
            ScriptSpec(
                kind="analyzer",
                index=i,
                tag=tag,
                script=script,
                default_analyzer=_string(where, entry, "default_analyzer"),
                default_output=_string(where, entry, "default_output"),
                settings=_settings(where, entry),
                **_limits(where, entry),
            )
        )
    _unique_tags("analyzers", [spec.tag for spec in specs])
    return tuple(specs) + _dropped_in(root, specs)


#: an analyzer file that says what it wants runs without a config entry (drop-in)
_DECLARATION = re.compile(r"^analyzer\s*=[^=]", re.MULTILINE)


def _dropped_in(root: Root, listed: list[ScriptSpec]) -> tuple[ScriptSpec, ...]:
    """Analyzers in the root's analyzer folder that declare their event types
    (``analyzer = { event_types = {...} }`` at the top level) and that no entry of
    ``analyzers`` names: each runs under its file name as tag."""
    if root.layout != "mle":
        return ()
    taken_paths = {spec.script.resolve() for spec in listed if spec.script}
    taken_tags = {spec.tag.lower() for spec in listed}
    found = []
    for folder in root.script_dirs("analyzer"):
        for path in sorted(folder.glob("*.lua")):
            if path.resolve() in taken_paths or path.stem.lower() in taken_tags:
                continue
            try:
                declares = _DECLARATION.search(path.read_text(encoding="utf-8", errors="replace")) is not None
            except OSError:
                continue
            if declares:
                taken_tags.add(path.stem.lower())
                found.append(ScriptSpec(kind="analyzer", index=len(listed) + len(found) + 1, tag=path.stem,
                                        script=path))
    return tuple(found)


def _settings(where: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """An analyzer's ``settings = { name = value, ... }`` (checked against the analyzer's
    own defaults when it loads: ``mle.settings{...}``)."""
    value = entry.get("settings")
    if value is None or value == []:
        return {}
    value = _lua_to_python(value, f"{where}: settings") if not isinstance(value, dict) else value
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f'{where}: "settings" must be a table of name = value, e.g. settings = {{ threshold = 0.9 }}')
    return value


def _outputs(root: Root, raw: dict[str, Any]) -> tuple[OutputSpec, ...]:
    specs = []
    for i, entry in enumerate(_entries(raw, "outputs", required=False), 1):
        where = _label("outputs", i, entry)
        tag = _string(where, entry, "tag", required=True)
        uri = _string(where, entry, "uri", required=True)
        script_name = _string(where, entry, "script")
        script = _script_path(root, "output", where, script_name) if script_name else None
        options = {k: v for k, v in entry.items() if k not in ("tag", "uri", "script")}
        specs.append(OutputSpec(index=i, tag=tag, uri=uri, script=script, options=options))
    _unique_tags("outputs", [spec.tag for spec in specs])
    return tuple(specs)


def _check_routes(inputs: tuple[InputSpec, ...], analyzers: tuple[ScriptSpec, ...],
                  outputs: tuple[OutputSpec, ...]) -> None:
    analyzer_tags = {spec.tag.lower() for spec in analyzers}
    output_tags = {spec.tag.lower() for spec in outputs}
    for spec in [i.script for i in inputs] + list(analyzers):
        name = "inputs" if spec.kind == "input" else "analyzers"
        where = f'{name}[{spec.index}] (tag "{spec.tag}")'
        if spec.default_analyzer and spec.default_analyzer.lower() not in analyzer_tags:
            raise ConfigError(
                f'{where}: default_analyzer "{spec.default_analyzer}" is not the tag of any analyzer'
                f"{_suggest(spec.default_analyzer, [a.tag for a in analyzers])}"
            )
        if spec.default_output and spec.default_output.lower() not in output_tags:
            raise ConfigError(
                f'{where}: default_output "{spec.default_output}" is not the tag of any output'
                f"{_suggest(spec.default_output, [o.tag for o in outputs])}"
            )


def _redis(raw: dict[str, Any]) -> RedisSettings | None:
    host = raw.get("redis_host")
    if host is None or host == "":
        return None
    where = "redis settings"
    if not isinstance(host, str):
        raise ConfigError(f'{where}: "redis_host" must be a string, not {host!r}')
    port = raw.get("redis_port", 6379)
    port = _integer(where, "redis_port", port if port != "" else 6379, minimum=-1)
    password = raw.get("redis_password") or None
    if password is not None and not isinstance(password, str):
        raise ConfigError(f'{where}: "redis_password" must be a string')
    db = _integer(where, "redis_db", raw.get("redis_db", 0))
    return RedisSettings(host=host, port=port, password=password, db=db)


def _modules(raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    modules = []
    for i, entry in enumerate(_entries(raw, "modules", required=False), 1):
        where = _label("modules", i, entry)
        modules.append((_string(where, entry, "tag"), _string(where, entry, "module", required=True)))
    return tuple(modules)


_ENGINE_CHECKS: dict[str, Callable[[str, str, Any], Any]] = {
    "runtime": lambda w, k, v: _choice(w, k, v, RUNTIMES),
    "batch_size": lambda w, k, v: _integer(w, k, v, 1),
    "batch_timeout_ms": lambda w, k, v: float(_number(w, k, v)),
    "round_size": lambda w, k, v: _integer(w, k, v, 1),
    "max_line_bytes": lambda w, k, v: _integer(w, k, v, 64),
    "max_instructions": lambda w, k, v: _integer(w, k, v, 0) if v == 0 else _integer(w, k, v, 1000),
    "max_memory_mb": lambda w, k, v: _integer(w, k, v, 16),
    "quarantine_after": lambda w, k, v: _integer(w, k, v, 0),
    "quarantine_retry": lambda w, k, v: float(_number(w, k, v)),
    "run_dir": lambda w, k, v: Path(_string(w, {k: v}, k, required=True)),
    "log_dir": lambda w, k, v: Path(_string(w, {k: v}, k, required=True)),
    "dead_letter": lambda w, k, v: _string(w, {k: v}, k, required=True),
    "stats_interval": lambda w, k, v: float(_number(w, k, v)),
    "workers": lambda w, k, v: _integer(w, k, v, 0),
    "shard_key": lambda w, k, v: _string(w, {k: v}, k, required=True),
    "serial": lambda w, k, v: _choice(w, k, v, SERIAL_ORDERS),
    "home_net": lambda w, k, v: _networks(w, k, v),
    "worker_timeout": lambda w, k, v: float(_number(w, k, v)),
    "drain_timeout": lambda w, k, v: float(_number(w, k, v)),
    "http": lambda w, k, v: _listen(w, k, v),
    "http_token": lambda w, k, v: _string(w, {k: v}, k, required=True),
    "record_features": lambda w, k, v: _boolean(w, k, v),
}


def _networks(where: str, key: str, value: Any) -> tuple[str, ...]:
    """A list of CIDR blocks (IPv4 or IPv6), or one as a string; each checked."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ConfigError(f'{where}: "{key}" must be a list of networks, e.g. {{ "10.0.0.0/8", "fd00::/8" }}')
    networks = []
    for item in items:
        try:
            networks.append(str(ipaddress.ip_network(str(item), strict=False)))
        except ValueError as exc:
            raise ConfigError(f'{where}: "{key}": {item!r} is not a network ({exc})') from None
    return tuple(networks)


def _listen(where: str, key: str, value: Any) -> str:
    parse_listen(value, f'{where}: "{key}"')
    return str(value)


def _choice(where: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f'{where}: "{key}" must be one of {", ".join(choices)}, not {value!r}')
    return value


def _number(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f'{where}: "{key}" must be a non-negative number, not {value!r}')
    return value


def _engine(root: Root, raw: dict[str, Any], overrides: Mapping[str, Any]) -> EngineSettings:
    table = raw.get("mle")
    values = _lua_to_python(table, "mle") if table is not None else {}
    if values == []:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError('"mle" must be a table of engine settings, e.g. mle = { batch_size = 256 }')
    values.update({k: v for k, v in overrides.items() if v is not None})
    _check_keys("mle settings", values, _ENGINE_CHECKS)
    settings = {key: _ENGINE_CHECKS[key]("mle settings", key, value) for key, value in values.items()}
    for key in ("run_dir", "log_dir"):
        if key in settings and not settings[key].is_absolute():
            settings[key] = (root.path / settings[key]).resolve()
    return EngineSettings(**settings)


def load_config(root: Root, overrides: Mapping[str, Any] | None = None) -> Config:
    """Run ``root.config_file`` and validate it. ``overrides`` replace ``mle`` settings
    (command-line options). Raises :class:`ConfigError`."""
    raw = _read_globals(root.config_file)
    _check_top_level(root.config_file, raw)
    inputs = _inputs(root, raw)
    analyzers = _analyzers(root, raw)
    outputs = _outputs(root, raw)
    _check_routes(inputs, analyzers, outputs)
    return Config(
        root=root,
        redis=_redis(raw),
        modules=_modules(raw),
        inputs=inputs,
        analyzers=analyzers,
        outputs=outputs,
        engine=_engine(root, raw, overrides or {}),
    )


#: the library tables the config sandbox provides (not settings)
_CONFIG_LIBRARIES = ("string", "math", "table", "os")


def read_config_values(path: Path, names: Collection[str] | None = None) -> dict[str, Any]:
    """The top-level values a config file sets (only ``names`` when given), as Python
    values (tables become lists or dicts), not validated: what ``mle test`` merges a
    golden case's settings into."""
    raw = _read_globals(path)
    wanted = names if names is not None else [name for name in raw if name not in _CONFIG_LIBRARIES]
    return {name: _lua_to_python(value, name) for name, value in raw.items() if name in wanted}
