"""The gateway's TOML config: what a good file becomes, and a one-line error naming file, line and
key for each kind of bad one. Expected lines are found by a marker in the test's own text."""

from __future__ import annotations

import asyncio
import os
import textwrap

import pytest

from inhouse.errors import ConfigError
from inhouse.gateway.config import (
    DEFAULT_PORT,
    BackendConfig,
    ConfigWatcher,
    backend_changes,
    RouteConfig,
    default_config,
    load_config,
    parse_config,
)
from inhouse.gateway.prices import cost
from inhouse.models.defaults import DEFAULT_MODEL

FULL = """\
# a commented example
[server]
host = "0.0.0.0"
port = 9001
api_key_env = "MY_GATEWAY_KEY"

[[backend]]
name = "local"
kind = "local"
gguf = "smollm2-135m-instruct"
ctx = 4096
cache_type_k = "q8_0"
cache_type_v = "q8_0"

[[backend]]
name = "ollama"
kind = "local"
url = "http://127.0.0.1:11434/v1/"
model = "qwen2.5-coder:7b"

[[backend]]
name = "cloud"
kind = "anthropic"
api_key_env = "ANTHROPIC_API_KEY"
timeout_s = 300
first_byte_timeout_s = 20
max_failures = 2
cooldown_s = 10

[[route]]
match = "claude-*"
chain = ["local", "cloud"]

[[route]]
match = "*"
chain = ["ollama"]

[prices."claude-*"]
input_per_mtok = 1.5
output_per_mtok = 7

[policy.privacy]
paths = ["~/work/secret/**"]
"""


def test_a_full_config_becomes_these_values():
    c = parse_config(FULL)
    assert (c.server.host, c.server.port, c.server.api_key_env) == ("0.0.0.0", 9001, "MY_GATEWAY_KEY")
    local, ollama, cloud = c.backends
    assert local == BackendConfig(name="local", kind="local", gguf="smollm2-135m-instruct", ctx=4096,
                                  cache_type_k="q8_0", cache_type_v="q8_0")
    assert local.managed and local.is_local and local.protocol == "openai"
    assert ollama.url == "http://127.0.0.1:11434" and ollama.model == "qwen2.5-coder:7b"  # /v1/ dropped
    assert not ollama.managed and ollama.is_local and ollama.protocol == "openai"
    assert cloud.url == "https://api.anthropic.com" and cloud.protocol == "anthropic" and not cloud.is_local
    assert (cloud.timeout_s, cloud.first_byte_timeout_s, cloud.max_failures, cloud.cooldown_s) == (300, 20, 2, 10)
    assert c.routes == (RouteConfig("claude-*", ("local", "cloud")), RouteConfig("*", ("ollama",)))
    assert c.route_for("Claude-Sonnet-4-5").chain == ("local", "cloud")
    assert c.route_for("gpt-4o").chain == ("ollama",)
    assert c.backend("cloud") is cloud
    assert c.policy == {"privacy": {"paths": ["~/work/secret/**"]}}
    assert cost("claude-opus-4-1", 1_000_000, 1_000_000, c.price_table()) == pytest.approx(8.5)


def test_the_key_comes_from_the_environment_and_never_sits_in_the_config(monkeypatch):
    c = parse_config(FULL)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert c.backend("cloud").api_key() is None
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    assert c.backend("cloud").api_key() == "sk-ant-secret"
    assert "sk-ant-secret" not in repr(c)
    assert c.backend("local").api_key() is None


def test_defaults():
    d = default_config()
    assert [b.name for b in d.backends] == ["local"]
    assert d.backends[0].managed and d.backends[0].gguf == DEFAULT_MODEL
    assert d.route_for("anything").chain == ("local",)
    assert (d.server.host, d.server.port) == ("127.0.0.1", DEFAULT_PORT)
    empty = parse_config("")
    assert empty.backends == d.backends and empty.routes == d.routes
    only_backends = parse_config('[[backend]]\nname="a"\nkind="openai"\nurl="http://x:1"\n'
                                 '[[backend]]\nname="b"\nkind="openai"\n')
    assert only_backends.routes == (RouteConfig("*", ("a", "b")),)
    assert only_backends.backend("b").url == "https://api.openai.com"
    assert parse_config('[[backend]]\nname="l"\nkind="local"\n').backend("l").gguf == DEFAULT_MODEL


def test_backend_changes_say_what_a_reload_must_start_stop_or_restart():
    old = parse_config(FULL)
    new = parse_config(FULL.replace('model = "qwen2.5-coder:7b"', 'model = "qwen2.5-coder:14b"')
                       .replace('name = "cloud"', 'name = "cloud2"').replace('"local", "cloud"', '"local", "cloud2"'))
    assert backend_changes(old, new) == (["cloud2"], ["cloud"], ["ollama"])
    assert backend_changes(old, parse_config(FULL)) == ([], [], [])


def _err(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(textwrap.dedent(text))
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def _line(text: str) -> int:
    """The line the test marked with '# <-'."""
    return next(i for i, ln in enumerate(textwrap.dedent(text).splitlines(), 1) if "# <-" in ln)


BAD = [
    # (config text, words the message must hold)
    ("""\
     [[backend]]
     name = "cloud"
     kind = "anthropic"
     api_key_env = 12  # <-
     """, ['backend "cloud"', "api_key_env must be the name of an environment variable"]),
    ("""\
     [[backend]]
     name = "cloud"
     kind = "openai"
     api_key = "sk-123"  # <-
     """, ['backend "cloud"', "never write a key", "api_key_env"]),
    ("""\
     [server]
     port = 70000  # <-
     """, ["[server]", "port must be a whole number from 0 to 65535"]),
    ("""\
     [server]
     host = "127.0.0.1"
     port = true  # <-
     """, ["port must be a whole number"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "local"
     [[backend]]  # <-
     name = "b"
     """, ['backend "b"', "kind is missing"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "local"
     [[backend]]
     name = "a"  # <-
     kind = "openai"
     """, ['backend "a"', "another backend has this name"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "local"
     [[backend]]  # <-
     kind = "local"
     """, ["backend #2", "name is missing"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "ollama"  # <-
     """, ['backend "a"', "kind must be one of 'local', 'openai', 'anthropic'"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "openai"
     url = "127.0.0.1:8080"  # <-
     """, ["url must be an http:// or https:// address"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "local"
     url = "http://127.0.0.1:11434"
     ctx = 8192  # <-
     """, ["ctx applies only to a local backend that inhouse starts", "a backend at a url"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "local"
     cache_type_k = "q3_k"  # <-
     """, ["cache_type_k must be one of f32, f16"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "local"
     api_key_env = "X"  # <-
     """, ["needs no key"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "openai"
     timeout_s = 10
     first_byte_timeout_s = 30  # <-
     """, ["first_byte_timeout_s (30) is longer than timeout_s (10)"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "openai"
     timeout_s = 0  # <-
     """, ["timeout_s must be a number of seconds above 0"]),
    ("""\
     [[backend]]
     name = "a"
     kind = "openai"
     gpu = 1  # <-
     """, ["unknown key 'gpu'", "known keys: name, kind"]),
    ("""\
     [[backend]]
     name = "a b"  # <-
     kind = "openai"
     """, ['backend "a b"', "name must be letters"]),
    ("""\
     [[backend]]
     name = "local"
     kind = "local"
     [[route]]
     match = "claude-*"
     chain = ["local", "cloud"]  # <-
     """, ["route #1", "chain names backend 'cloud', which is not configured; backends: local"]),
    ("""\
     [[route]]
     match = "*"
     chain = []  # <-
     """, ["chain must be a non-empty list"]),
    ("""\
     [[route]]  # <-
     chain = ["local"]
     """, ["route #1", "match is missing"]),
    ("""\
     [[route]]
     match = "*"
     chain = ["local", "local"]  # <-
     """, ["chain names a backend twice"]),
    ("""\
     [prices."claude-*"]
     input_per_mtok = 3
     output_per_mtok = -1  # <-
     """, ['prices "claude-*"', "output_per_mtok must be a number >= 0"]),
    ("""\
     [prices."claude-*"]  # <-
     input_per_mtok = 3
     """, ["output_per_mtok is missing"]),
    ("""\
     [server]
     port = 1
     [backends]  # <-
     """, ["unknown table 'backends'", "[[backend]]"]),
    ("""\
     [backend]  # <-
     name = "a"
     """, ["[[backend]] (an array of tables)"]),
    ("""\
     policy = 3  # <-
     """, ["[policy] must be a table"]),
    # TOML syntax errors: tomllib's own line
    ("""\
     [server]
     port = 80
     host = 127.0.0.1  # <-
     """, ["invalid TOML at column", "fix the syntax"]),
    ("""\
     [[backend]]
     name = "a"
     name = "b"  # <-
     """, ["invalid TOML"]),
]


@pytest.mark.parametrize("text,words", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_each_bad_config_names_file_line_and_key(text, words):
    msg = _err(text)
    assert msg.startswith(f"config.toml:{_line(text)}: "), msg
    for w in words:
        assert w in msg, msg


def test_an_inline_backend_error_falls_back_to_the_table_line():
    msg = _err('# top\nbackend = [{name = "a", kind = "zz"}]\n')
    assert msg.startswith("config.toml:2: backend \"a\": kind must be one of"), msg


def test_load_config_errors_name_the_path(tmp_path):
    missing = tmp_path / "none.toml"
    with pytest.raises(ConfigError, match=f"^{missing}: no such config file"):
        load_config(missing)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"[server]\nhost = \"\xff\"\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 'x'\n")
    with pytest.raises(ConfigError, match=f"^{bad}:2: \\[server\\]: port must be"):
        load_config(bad)
    good = tmp_path / "good.toml"
    good.write_text(FULL)
    c = load_config(good)
    assert c.path == good.resolve() and len(c.backends) == 3


def _write(path, text, bump_ns):
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump_ns))  # a distinct mtime, whatever the fs clock


def test_watcher_reloads_keeps_the_last_good_config_and_records_the_error(tmp_path):
    path = tmp_path / "gw.toml"
    _write(path, '[server]\nport = 9000\n', 0)
    seen = []

    async def on_change(config):
        seen.append(config.server.port)

    async def scenario():
        w = ConfigWatcher(path, on_change, interval_s=0.01)
        assert w.config.server.port == 9000 and w.error is None
        assert await w.check() is False  # unchanged
        _write(path, '[server]\nport = 9001\n', 1_000_000)
        assert await w.check() is True and w.config.server.port == 9001
        _write(path, '[server]\nport = "nine"\n', 2_000_000)
        assert await w.check() is False
        assert w.config.server.port == 9001 and w.error.startswith(f"{path}:2: [server]: port must be")
        path.unlink()
        assert await w.check() is False and w.config.server.port == 9001 and "no such config file" in w.error
        _write(path, '[server]\nport = 9002\n', 3_000_000)
        assert await w.check() is True and w.error is None and w.config.server.port == 9002
        # the polling task picks up a change by itself
        w.start()
        _write(path, '[server]\nport = 9003\n', 4_000_000)
        for _ in range(500):
            if w.config.server.port == 9003:
                break
            await asyncio.sleep(0.01)
        await w.stop()
        assert w.config.server.port == 9003 and w.reloads == 3

    asyncio.run(scenario())
    assert seen == [9001, 9002, 9003]


def test_watcher_survives_a_failing_apply(tmp_path):
    path = tmp_path / "gw.toml"
    _write(path, '[server]\nport = 9000\n', 0)

    def on_change(config):
        raise RuntimeError("backend would not start")

    async def scenario():
        w = ConfigWatcher(path, on_change)
        _write(path, '[server]\nport = 9001\n', 1_000_000)
        assert await w.check() is True
        return w

    w = asyncio.run(scenario())
    assert w.config.server.port == 9001 and "applying it failed: backend would not start" in w.error


def test_watcher_refuses_a_bad_file_at_start(tmp_path):
    path = tmp_path / "gw.toml"
    path.write_text("[server\n")
    with pytest.raises(ConfigError, match=f"^{path}:1: invalid TOML"):
        ConfigWatcher(path)
