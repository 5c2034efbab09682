"""Figures bench must never print: a bandwidth share above 100%, an interval with a claimed
coverage it does not have. Driven by a scripted runner (no model), so the sweep logic is tested
in milliseconds; the real runners are tested in test_inprocess.py and test_http.py."""

from __future__ import annotations

import io

import pytest

from inhouse.bench.config import BenchConfig, Workload
from inhouse.bench.result import Rep
from inhouse.bench.run import BandwidthFigure, run_sweep
from inhouse.plan.speed import bytes_per_token


class ScriptedRunner:
    """Decodes at exactly ``tps`` tokens per second on the runner interface."""

    engine = "llama_cpp"
    pid = None
    context_limit = 1 << 20

    def __init__(self, spec, tps: float) -> None:
        self.spec, self.tps = spec, tps

    def load(self):
        return 0.1

    def fill(self, depth):
        self.depth = depth

    def rep(self, depth, n_prompt, n_gen, seed):
        t0 = 100.0 + seed
        times = [t0 + 0.5 + (i + 1) / self.tps for i in range(n_gen)]
        return Rep(prompt_tokens=n_prompt, gen_tokens=n_gen, t_start=t0, t_first=t0 + 0.5, token_times=times,
                   t_decode_start=t0 + 0.5, decode_position=depth)

    def close(self):
        pass


@pytest.fixture(scope="module")
def spec(smollm2_path):
    from inhouse.models.gguf_header import read_header
    from inhouse.plan.spec import ModelSpec

    return ModelSpec.from_header(read_header(smollm2_path))


WORK = Workload(depths=(0,), prompt_tokens=16, gen_tokens=8, reps=3, warmup=0)
CONFIG = BenchConfig(model="m", label="m")


def needed(spec, tps):
    return bytes_per_token(spec, 0 + WORK.gen_tokens // 2) * tps


def test_a_share_above_100_percent_is_never_reported(spec):
    low = needed(spec, 100.0) / 1.07  # a figure measured while a build ran: the share would be 107%
    r = run_sweep([CONFIG], WORK, bandwidth=low, runners={"m": ScriptedRunner(spec, 100.0)}).results[0]
    assert r.decode_tps == pytest.approx(100.0)
    assert r.bandwidth_share is None
    assert any("no bandwidth share" in n and "more than the measured" in n for n in r.notes)
    from rich.console import Console

    from inhouse.cli.bench import _print_results

    buf = io.StringIO()
    _print_results(Console(file=buf, width=300), [r])
    assert "%" not in buf.getvalue().split("note:")[0].split("peak RSS")[1]


def test_an_exceeded_figure_is_measured_again_once(spec):
    calls = []
    truth = needed(spec, 100.0) / 0.6

    def remeasure():
        calls.append(1)
        return truth

    figure = BandwidthFigure(needed(spec, 100.0) / 1.07, remeasure=remeasure)
    work = Workload(depths=(0, 64), prompt_tokens=16, gen_tokens=8, reps=3, warmup=0)
    results = run_sweep([CONFIG], work, bandwidth=figure, runners={"m": ScriptedRunner(spec, 100.0)}).results
    assert calls == [1]  # once per sweep, not per depth
    assert results[0].bandwidth_share == pytest.approx(0.6, rel=1e-6)
    assert results[0].bandwidth_bytes_per_s == truth
    assert any("re-measured" in n for n in results[0].notes)


def test_still_exceeded_after_measuring_again_prints_no_share(spec):
    calls = []
    low = needed(spec, 100.0) / 1.2

    def remeasure():
        calls.append(1)
        return low * 1.01  # still too low: the measurement cannot be trusted

    r = run_sweep([CONFIG], WORK, bandwidth=BandwidthFigure(low, remeasure=remeasure),
                  runners={"m": ScriptedRunner(spec, 100.0)}).results[0]
    assert calls == [1] and r.bandwidth_share is None
    assert any("no bandwidth share" in n for n in r.notes)


def test_a_plausible_share_is_reported_without_measuring_again(spec):
    def remeasure():
        raise AssertionError("no re-measure needed")

    bw = needed(spec, 100.0) / 0.5
    r = run_sweep([CONFIG], WORK, bandwidth=BandwidthFigure(bw, remeasure=remeasure),
                  runners={"m": ScriptedRunner(spec, 100.0)}).results[0]
    assert r.bandwidth_share == pytest.approx(0.5, rel=1e-6)


def test_one_repetition_prints_no_interval(spec):
    from rich.console import Console

    from inhouse.cli.bench import _print_results

    work = Workload(depths=(0,), prompt_tokens=16, gen_tokens=8, reps=1, warmup=0)
    r = run_sweep([CONFIG], work, runners={"m": ScriptedRunner(spec, 305.0)}).results[0]
    buf = io.StringIO()
    _print_results(Console(file=buf, width=300), [r])
    assert "CI" not in buf.getvalue() and "305.0" in buf.getvalue()
    r5 = run_sweep([CONFIG], Workload(depths=(0,), prompt_tokens=16, gen_tokens=8, reps=5, warmup=0),
                   runners={"m": ScriptedRunner(spec, 305.0)}).results[0]
    buf = io.StringIO()
    _print_results(Console(file=buf, width=300), [r5])
    assert "93.8% CI" in buf.getvalue() and "95% CI" not in buf.getvalue()
