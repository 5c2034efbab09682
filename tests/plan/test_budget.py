"""Budgets, the largest context for a budget, and recommendations."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from inhouse.errors import ConfigError
from inhouse.machine.contention import AppUsage
from inhouse.machine.memory import MemoryInfo
from inhouse.plan.budget import GIB, machine_budget, parse_size
from inhouse.plan.catalog import find
from inhouse.plan.estimate import estimate
from inhouse.plan.recommend import best_per_model, recommend
from inhouse.plan.search import STEP, fit_budget, max_context
from inhouse.plan.settings import LoadSettings


@pytest.mark.parametrize("text,value", [("12GiB", 12 * GIB), ("12G", 12 * GIB), ("12 GB", 12 * 10**9),
                                        ("800MiB", 800 << 20), ("1.5g", int(1.5 * GIB)), ("1024b", 1024),
                                        (".5TiB", 1 << 39), ("2 tb", 2 * 10**12)])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "twelve", "12XB", "1.2.3G", ".", "-1GiB", "1e3GiB", "12 G B"])
def test_parse_size_rejects_nonsense(text):
    with pytest.raises(ConfigError, match="as a size"):
        parse_size(text)


@pytest.mark.parametrize("text", ["12", " 8 ", "0.5"])
def test_parse_size_wants_a_unit(text):
    with pytest.raises(ConfigError, match="no unit") as info:
        parse_size(text)
    assert "12GiB" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["0GiB", "0.0000000001b"])
def test_parse_size_refuses_nothing(text):
    with pytest.raises(ConfigError, match="no memory"):
        parse_size(text)


def _machine(total, available, apps):
    mem = MemoryInfo(total, available, 0, 0, None, None)
    return SimpleNamespace(memory=mem, apps=apps, docker=None, gpus=[])


def test_machine_budget_itemizes_what_is_in_use():
    apps = [AppUsage("Docker", 3 * GIB, 12, "pss"), AppUsage("IDEs", GIB + GIB // 5, 30, "pss"),
            AppUsage("tiny", 1 << 20, 1, "rss")]
    b = machine_budget(_machine(32 * GIB, 24 * GIB, apps), headroom_bytes=2 * GIB)
    assert b.ram_bytes == 22 * GIB
    labels = [line.label for line in b.in_use]
    assert labels[:2] == ["Docker", "IDEs"] and "tiny" not in labels
    assert sum(line.bytes for line in b.in_use) == 8 * GIB  # total - available, nothing counted twice
    assert machine_budget(_machine(32 * GIB, 24 * GIB, [])).headroom_bytes == int(3.2 * GIB)


def test_max_context_is_the_edge_of_the_budget():
    spec = find("qwen2.5-coder-1.5b").spec("Q4_K_M")
    base = LoadSettings(repack=False)
    budget = 2 * GIB
    fit = max_context(spec, base, budget)
    assert 0 < fit.n_ctx < 32768
    assert estimate(spec, base.with_(n_ctx=fit.n_ctx)).ram_bytes <= budget
    assert estimate(spec, base.with_(n_ctx=fit.n_ctx + STEP)).ram_bytes > budget
    f16, q8, q4 = fit_budget(spec, base, budget)
    assert f16.n_ctx < q8.n_ctx <= q4.n_ctx and q8.flash_attn


def test_a_budget_too_small_for_the_weights_fits_nothing():
    spec = find("qwen2.5-coder-7b").spec("Q4_K_M")
    assert max_context(spec, LoadSettings(), GIB).n_ctx == 0


def test_recommend_ranks_fits_first_and_says_why():
    rows = recommend(12 * GIB, 50e9, min_context=32768)
    fits = [r.fits for r in rows]
    assert fits == sorted(fits, reverse=True)  # every fitting row before every other
    short = next(r for r in rows if r.model_id == "codellama-7b")
    assert not short.fits and "16k, below the 32k" in short.reason
    big = next(r for r in rows if r.model_id == "gpt-oss-120b")
    assert not big.fits and "needs" in big.reason
    ok = [r for r in rows if r.fits]
    assert ok and all(r.ram_bytes <= 12 * GIB for r in ok)
    one_each = best_per_model(rows)
    assert len({r.model_id for r in one_each}) == len(one_each)
    # MoE decode bound uses active weights: far faster than a dense model of its size
    moe = next(r for r in rows if r.model_id == "qwen3-coder-30b-a3b" and r.quant == "Q4_K_M")
    dense = next(r for r in rows if r.model_id == "qwen2.5-coder-32b" and r.quant == "Q4_K_M")
    assert moe.decode_tps_bound > 4 * dense.decode_tps_bound
