"""`inhouse fit` and `inhouse models` read each GGUF header at most once, from the store's cache
when the file is unchanged, and reject bad option values before opening any model file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from inhouse.cli import cli
from inhouse.models import gguf_header, header_cache
from tests.helpers import write_tiny_gguf


@pytest.fixture
def reads(monkeypatch):
    count = []
    real = gguf_header._read

    def counting(path, st):
        count.append(path)
        return real(path, st)

    monkeypatch.setattr(gguf_header, "_read", counting)
    monkeypatch.setattr(header_cache, "_read", counting)
    monkeypatch.setattr(header_cache, "RACY_WINDOW_NS", 0)
    return count


@pytest.mark.parametrize("args,needle", [
    (["--budget", "banana"], "'banana' as a size"),
    (["--budget", "auto", "--headroom", "lots"], "'lots' as a size"),
    (["--recommend", "--headroom", "1.2.3GiB"], "as a size"),
])
def test_fit_rejects_bad_sizes_before_opening_any_model(tmp_path, reads, args, needle):
    model = write_tiny_gguf(tmp_path / "m.gguf")
    result = CliRunner().invoke(cli, ["fit", str(model), *args])
    assert result.exit_code == 1 and needle in result.output
    assert reads == []


def test_fit_bad_budget_wins_over_a_missing_file(tmp_path):
    """In a real process: the budget is judged before the (missing) model path is looked at."""
    proc = subprocess.run([sys.executable, "-m", "inhouse", "fit", str(tmp_path / "nowhere" / "m.gguf"),
                           "--budget", "banana"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "'banana' as a size" in lines[0] and "No model file" not in lines[0]


def test_fit_reads_the_header_once_then_from_the_cache(tmp_path, reads):
    model = write_tiny_gguf(tmp_path / "m.gguf", ctx=4096)
    first = CliRunner().invoke(cli, ["fit", str(model), "--ctx", "1024", "--json"])
    assert first.exit_code == 0, first.output
    assert len(reads) == 1
    second = CliRunner().invoke(cli, ["fit", str(model), "--ctx", "1024", "--json"])
    assert len(reads) == 1
    assert json.loads(second.output) == json.loads(first.output)


def test_models_lists_from_the_cache_on_the_second_run(tmp_path, reads):
    folder = tmp_path / "models"
    for i in range(3):
        write_tiny_gguf(folder / f"m{i}.gguf", ctx=1000 + i)
    first = CliRunner().invoke(cli, ["models", "--dir", str(folder), "--json"])
    assert first.exit_code == 0, first.output
    n_first = len(reads)
    assert n_first == 5  # the two PyPI models and three in the folder
    second = CliRunner().invoke(cli, ["models", "--dir", str(folder), "--json"])
    assert len(reads) == n_first
    assert json.loads(second.output) == json.loads(first.output)
    ctx = {m["name"]: m["context_length"] for m in json.loads(second.output)["models"]}
    assert [ctx[f"m{i}"] for i in range(3)] == [1000, 1001, 1002]
