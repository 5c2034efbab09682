"""Shared fixtures.

Every test gets its own INHOUSE_HOME and HOME (so discovery never sees the developer's real
Ollama store or HF cache). The assembled Gemma file and the loaded SmolLM2 model are shared by
the whole session: assembling takes seconds and loading costs memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port


@pytest.fixture(scope="session")
def session_models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch, session_models_dir) -> Path:
    home = tmp_path / "inhouse-home"
    home.mkdir()
    (home / "models").symlink_to(session_models_dir, target_is_directory=True)
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    monkeypatch.setenv("INHOUSE_HOME", str(home))
    monkeypatch.setenv("HOME", str(user_home))
    for var in ("INHOUSE_MODEL_DIRS", "OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    from inhouse.models.defaults import PYPI_MODELS

    return PYPI_MODELS["smollm2-135m-instruct"].locate()


@pytest.fixture(scope="session")
def llama_engine(smollm2_path):
    from inhouse.engines.llama_cpp import LlamaCppEngine

    engine = LlamaCppEngine(smollm2_path, n_ctx=1024, model_name="smollm2-135m-instruct")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def llama_server(smollm2_path, tmp_path_factory):
    """A real ``python -m llama_cpp.server`` on 127.0.0.1, stopped after the session."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path),
             "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
             "--n_ctx", "1024", "--n_threads", "2", "--verbose", "false"],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited early:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"llama_cpp.server did not start in 120 s:\n{log.read_text()[-2000:]}")
        time.sleep(0.25)
    yield {"url": url, "process": proc, "model": "smollm2"}
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pytest_unconfigure(config):
    # llama_cpp opens two os.devnull files at import and never closes them; at interpreter exit
    # they would print ResourceWarnings after pytest's summary line.
    import sys

    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None and not handle.closed:
            handle.close()


# Tests that load a model, start a server or run real processes that do: `pytest -m "not slow"` is
# the quick subset (pure logic, parsing, the sandbox, the store; a few minutes on 2 cores).
SLOW_FIXTURES = {"llama_engine", "llama_server", "filled_store", "serve_process", "gateway_process", "local_gateway"}
SLOW_FILES = {
    "tests/bench/test_inprocess.py", "tests/bench/test_http.py", "tests/cli/test_cli.py",
    "tests/cli/test_interrupt.py", "tests/cli/test_careless_input.py", "tests/evals/test_run.py",
    "tests/evals/test_thinking.py", "tests/evals/test_public.py", "tests/evals/test_adversarial.py",
    "tests/evals/test_core_suite.py", "tests/gateway/test_sdk.py", "tests/gateway/test_tokens.py",
    "tests/gateway/test_reload.py", "tests/gateway/test_backends.py", "tests/gateway/test_policy_gateway.py",
    "tests/gateway/test_tool_repair_e2e.py", "tests/gateway/test_fallback.py", "tests/plan/test_synthetic.py",
    "tests/plan/test_observed.py", "tests/plan/test_compute.py", "tests/report/test_report_browser.py",
    "tests/report/test_report_numbers.py", "tests/advise/test_interrupt.py", "tests/engines/test_contract.py",
    "tests/engines/test_llama_log.py", "tests/machine/test_probe.py",
}


def pytest_collection_modifyitems(config, items):
    root = Path(str(config.rootpath))
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(root.resolve()).as_posix() \
            if str(item.fspath).startswith(str(root)) else ""
        if rel in SLOW_FILES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
