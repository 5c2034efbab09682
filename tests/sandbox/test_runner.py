"""The sandbox's contract beyond hostile programs: statuses, limits, files, the loud fallback."""

from __future__ import annotations

import json

from click.testing import CliRunner

from inhouse.cli import cli
from inhouse.sandbox import SandboxLimits, run_program


def test_files_beside_the_program_and_exit_codes(tmp_path):
    prog = tmp_path / "main.py"
    prog.write_text("import helper, sys\nprint(helper.X)\nsys.exit(3)\n")
    r = run_program(prog, SandboxLimits(wall_s=5), files={"helper.py": "X = 42\n"})
    assert (r.status, r.exit_code, r.stdout) == ("error", 3, "42\n")


def test_rlimits_only_fallback_says_so_loudly(tmp_path):
    prog = tmp_path / "p.py"
    prog.write_text("print('still limited')\nwhile True: pass\n")
    r = run_program(prog, SandboxLimits(wall_s=1.5, cpu_s=1, scale_wall_clock=False), isolation="rlimits")
    assert r.isolation == "rlimits-only" and r.warnings
    assert r.status in ("killed", "timeout") and r.stdout == "still limited\n"


def test_wall_clock_scales_with_machine_speed():
    from inhouse.sandbox.limits import speed_factor

    assert 1.0 <= speed_factor() <= 10.0


def test_cli_sandbox_run_json(tmp_path):
    prog = tmp_path / "p.py"
    prog.write_text("print('x' * 100000)\n")
    result = CliRunner().invoke(cli, ["sandbox", "run", str(prog), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "ok" and data["exit_code"] == 0 and data["duration_s"] > 0
    assert data["stdout_truncated"] and len(data["stdout"]) == 64 << 10


def test_cli_sandbox_timeout_exits_nonzero(tmp_path):
    prog = tmp_path / "p.py"
    prog.write_text("import time\ntime.sleep(100)\n")
    result = CliRunner().invoke(cli, ["sandbox", "run", str(prog), "--timeout", "0.5", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["status"] == "timeout"
