"""config.lua: both root layouts, extensions, and one clear error per kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from mle.config import load_config
from mle.errors import ConfigError
from mle.root import Root
from tests.conftest import run_mle

SCRIPTS = {"f.lua": "function loop(m) end"}
ANALYZERS = {"a.lua": "function loop(m) end"}


def load(root: Path, **overrides: object):
    return load_config(Root.locate(root), overrides)


def config_error(make_root, config: str, **kwargs: object) -> str:
    root = make_root(config, inputs=SCRIPTS, analyzers=ANALYZERS, **kwargs)
    with pytest.raises(ConfigError) as info:
        load(root)
    return str(info.value)


def test_mle_root_loads_with_defaults(make_root):
    root = make_root(
        """
        inputs = { { tag = "eve", uri = "file://eve.json", script = "f.lua", default_analyzer = "a" } }
        analyzers = { { tag = "a", script = "a.lua", default_analyzer = "", default_output = "out" } }
        outputs = { { tag = "out", uri = "file://out.json" } }
        """,
        inputs=SCRIPTS,
        analyzers=ANALYZERS,
    )
    config = load(root)
    assert config.redis is None  # private Redis
    assert config.lua_runtime == "lua54"
    assert config.inputs[0].script.script == root / "inputs" / "f.lua"
    assert config.analyzers[0].default_output == "out"
    assert config.log_dir == root / "var" / "log"


def test_dragonfly_root_loads_and_defaults_to_luajit(make_root):
    root = make_root(
        """
        redis_host = "/tmp/redis.sock"
        redis_port = "0"
        inputs = { { tag = "eve", uri = "tail:///var/log/suricata/eve.json", script = "f.lua",
                     default_analyzer = "a" } }
        analyzers = { { tag = "a", script = "a.lua", default_analyzer = "", default_output = "log" } }
        outputs = { { tag = "log", uri = "file://eve-mle.log" } }
        """,
        inputs=SCRIPTS,
        analyzers=ANALYZERS,
        layout="dragonfly",
    )
    config = load(root)
    assert config.root.layout == "dragonfly"
    assert config.analyzers[0].script == root / "analyzer" / "a.lua"
    assert config.redis is not None and config.redis.unix_socket == "/tmp/redis.sock"
    assert config.lua_runtime == "luajit"  # Dragonfly's scripts rely on LuaJIT number formatting
    assert load(root, runtime="lua54").lua_runtime == "lua54"


def test_config_may_compute_values_but_not_touch_the_system(make_root):
    root = make_root(
        """
        local base = "file://"
        inputs = { { tag = "eve", uri = base .. "eve.json", script = "f.lua", default_analyzer = "a" } }
        analyzers = { { tag = "a", script = "a.lua", default_output = "out" } }
        outputs = { { tag = "out", uri = base .. string.format("out-%d.json", 1) } }
        mle = { batch_size = 64, max_instructions = 2e6 }
        """,
        inputs=SCRIPTS,
        analyzers=ANALYZERS,
    )
    config = load(root)
    assert config.outputs[0].uri == "file://out-1.json"
    assert config.engine.batch_size == 64 and config.engine.max_instructions == 2_000_000
    # default_analyzer may be absent on analyzers (Dragonfly required it, as "")
    assert config.analyzers[0].default_analyzer == ""


@pytest.mark.parametrize(
    "snippet, expected",
    [
        ('io.open("/tmp/x", "w")', "attempt to index a nil value (global 'io')"),
        ('os.execute("true")', "attempt to call a nil value (field 'execute')"),
        ("require('os')", "attempt to call a nil value (global 'require')"),
    ],
)
def test_config_runs_sandboxed(make_root, snippet, expected):
    message = config_error(make_root, snippet)
    assert expected in message and "config.lua:1" in message


def test_lua_syntax_error_names_file_and_line(make_root):
    message = config_error(make_root, "inputs = {\n  { tag = 'eve' \n")
    assert "config.lua:" in message


@pytest.mark.parametrize(
    "config, expected",
    [
        ("analyzers = {}", '"inputs" is missing'),
        ('inputs = { { uri = "file://x", script = "f.lua" } }', 'inputs[1]: "tag" is missing'),
        ('inputs = { { tag = "eve", script = "f.lua" } }', 'inputs[1] (tag "eve"): "uri" is missing'),
        ('inputs = { { tag = "eve", uri = "file://x", script = "nope.lua" } }',
         'inputs[1] (tag "eve"): script "nope.lua" not found in inputs/ or filter/'),
        ('inputs = { { tag = "eve", uri = "file://x", script = "f.lua", default_analyzer = "zz" } }',
         'inputs[1] (tag "eve"): default_analyzer "zz" is not the tag of any analyzer'),
        ('inputs = {} analyzers = { { tag = "a", script = "a.lua", defualt_output = "o" } }',
         'analyzers[1] (tag "a"): unknown key "defualt_output" (did you mean "default_output"?)'),
        ('inputs = {} analyzers = { { tag = "a", script = "a.lua" }, { tag = "A", script = "a.lua" } }',
         'analyzers[2]: tag "A" is already used by analyzers[1] (tags ignore case)'),
        ('inputs = {} analyzers = { { tag = "a", script = "a.lua", default_output = "ouput" } }',
         'analyzers[1] (tag "a"): default_output "ouput" is not the tag of any output'),
        ('inputs = {} analyzers = { { tag = "a", script = "a.lua", max_instructions = "lots" } }',
         'analyzers[1] (tag "a"): "max_instructions" must be an integer'),
        ('inputs = {} analyzers = { { tag = "a", script = "a.lua", sequential = 1 } }',
         'analyzers[1] (tag "a"): "sequential" must be true or false'),
        ('inputs = "eve"', '"inputs" must be a list of tables'),
        ("inputs = { 42 }", "inputs[1]: must be a table"),
        ('inputs = {} outputs = { { tag = "o" } }', 'outputs[1] (tag "o"): "uri" is missing'),
        ('inputs = {} mle = { batch_sise = 10 }',
         'mle settings: unknown key "batch_sise" (did you mean "batch_size"?)'),
        ('inputs = {} mle = { runtime = "lua51" }', 'mle settings: "runtime" must be one of auto, lua54, luajit'),
        ('inputs = {} mle = { batch_size = 0 }', 'mle settings: "batch_size" must be at least 1'),
        ('inputs = {} mle = { round_size = 0 }', 'mle settings: "round_size" must be at least 1'),
        ('inputs = {} redis_host = "127.0.0.1" redis_port = "port"', 'redis settings: "redis_port" must be an integer'),
    ],
)
def test_each_mistake_gets_one_clear_error(make_root, config, expected):
    assert expected in config_error(make_root, config)


def test_redis_settings(make_root):
    root = make_root(
        'inputs = {} redis_host = "10.0.0.5" redis_port = "6380" redis_db = 2 redis_password = "s3cret"',
        inputs=SCRIPTS,
    )
    redis = load(root).redis
    assert (redis.host, redis.port, redis.db, redis.password) == ("10.0.0.5", 6380, 2, "s3cret")
    assert redis.unix_socket is None


def test_cli_exits_2_with_the_message(make_root):
    root = make_root(
        'inputs = { { tag = "eve", uri = "file://x", script = "f.lua", default_analyzer = "missing" } }',
        inputs=SCRIPTS,
    )
    result = run_mle("check", "-r", str(root))
    assert result.returncode == 2
    assert 'default_analyzer "missing" is not the tag of any analyzer' in result.stderr.decode()


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match=r"no config\.lua in"):
        Root.locate(tmp_path)


@pytest.mark.parametrize("config_file, env", [
    ("config.lua", {}),
    ("deploy/sensor.lua", {}),
    ("deploy/sensor.lua", {"MLE_OPENSEARCH_URL": "opensearch+http://opensearch:9200/mle-%Y.%m.%d"}),
])
def test_shipped_configs_are_valid(monkeypatch, tmp_path, config_file, env):
    from mle.connectors import Context, build_sink, build_source
    from tests.conftest import REPO

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = load_config(Root.locate(REPO, REPO / config_file))
    context = Context(root=config.root.path, run_dir=tmp_path, log_dir=tmp_path)
    for spec in config.inputs:
        build_source(spec.tag, spec.uri, spec.options, spec.tag, context)
    for spec in config.outputs:
        build_sink(spec.tag, spec.uri, spec.options, spec.label, context)
    assert config.analyzers and config.inputs and config.outputs


VALID = """
inputs = { { tag = "eve", uri = "file://eve.json", script = "f.lua", default_analyzer = "a" } }
analyzers = { { tag = "a", script = "a.lua", default_output = "out" } }
outputs = { { tag = "out", uri = "file://out.json" } }
"""


@pytest.mark.parametrize("line, expected", [
    ('redis_hots = "127.0.0.1"', 'unknown setting "redis_hots" (did you mean "redis_host"?)'),
    ("analysers = {}", 'unknown setting "analysers" (did you mean "analyzers"?)'),
    ("mle_settings = { workers = 2 }", 'unknown setting "mle_settings" (did you mean "mle"?)'),
    ('Outputs = {}', 'unknown setting "Outputs" (did you mean "outputs"?)'),
])
def test_a_misspelt_top_level_setting_is_refused_by_the_cli(make_root, line, expected):
    root = make_root(VALID + line, inputs=SCRIPTS, analyzers=ANALYZERS)
    for command in ("check", "replay"):
        result = run_mle(command, "-r", str(root))
        assert result.returncode == 2, result.stderr.decode()
        assert expected in result.stderr.decode()


def test_helper_names_of_the_users_own_are_allowed(make_root):
    root = make_root(
        """
        HOME = "/opt/sensor"
        models = { "hst", "welford" }
        common = { script = "a.lua", default_output = "out" }
        function output_path(name) return "file://" .. HOME .. "/" .. name end
        inputs = { { tag = "eve", uri = "file://" .. HOME .. "/eve.json", script = "f.lua", default_analyzer = "a" } }
        analyzers = { { tag = "a", script = common.script, default_output = common.default_output } }
        outputs = { { tag = "out", uri = output_path("out.json") } }
        """,
        inputs=SCRIPTS, analyzers=ANALYZERS)
    config = load(root)
    assert config.inputs[0].uri == "file:///opt/sensor/eve.json"
    assert config.outputs[0].uri == "file:///opt/sensor/out.json"
