"""The price table: hand-computed costs, the most specific glob, config overrides."""

from __future__ import annotations

import pytest

from inhouse.errors import ConfigError, InhouseError
from inhouse.gateway.prices import Price, PriceTable, cost, shipped_prices


def test_cost_at_list_price_by_hand():
    # claude-sonnet-4-5 lists $3 in / $15 out per million tokens
    assert cost("claude-sonnet-4-5-20250929", 1000, 500) == pytest.approx(1000 * 3 / 1e6 + 500 * 15 / 1e6)
    assert cost("claude-sonnet-4-5-20250929", 1000, 500) == pytest.approx(0.0105)
    assert cost("gpt-4o", 2_000_000, 0) == pytest.approx(5.0)
    assert cost("claude-opus-4-1", 0, 0) == 0.0


def test_most_specific_glob_wins_whatever_the_order():
    table = PriceTable.shipped()
    assert table.lookup("gpt-4o-mini-2024-07-18")[0] == "gpt-4o-mini*"
    assert table.lookup("gpt-4o-2024-08-06")[0] == "gpt-4o*"
    assert table.lookup("claude-opus-4-5-20251101")[0] == "claude-opus-4-5*"
    assert table.lookup("claude-opus-4-20250514")[0] == "claude-opus-4*"
    reordered = PriceTable({"a*": Price(1, 1), "abc*": Price(2, 2)})
    assert reordered.lookup("abcd")[0] == "abc*"
    assert PriceTable({"abc*": Price(2, 2), "a*": Price(1, 1)}).lookup("abcd")[0] == "abc*"


def test_no_shipped_entry_is_shadowed_by_another():
    """Each glob's own prefix is priced by that glob: no entry is dead."""
    table = PriceTable.shipped()
    prices = shipped_prices()
    assert len(prices) >= 20
    for glob in prices:
        assert table.lookup(glob.rstrip("*") + "-x")[0] == glob


def test_unknown_and_local_models_have_no_price():
    assert cost("smollm2-135m-instruct", 100, 100) is None
    assert cost("", 1, 1) is None


def test_lookup_is_case_insensitive():
    assert cost("Claude-Sonnet-4-5", 1_000_000, 0) == pytest.approx(3.0)


def test_config_layer_wins_over_a_more_specific_shipped_glob():
    table = PriceTable.shipped().with_overrides({"claude-*": Price(1.0, 2.0, "config")})
    assert table.lookup("claude-opus-4-1")[1].source == "config"
    assert cost("claude-opus-4-1", 1_000_000, 1_000_000, table) == pytest.approx(3.0)
    assert cost("gpt-4o", 1_000_000, 0, table) == pytest.approx(2.5)  # the shipped layer still prices the rest
    assert cost("mine", 1_000_000, 0, {"mine": Price(0.5, 0)}) == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [-1, 1.5, True, None])
def test_token_counts_must_be_whole_and_non_negative(bad):
    with pytest.raises(InhouseError):
        cost("gpt-4o", bad, 0)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "3", True])
def test_prices_must_be_non_negative_numbers(bad):
    with pytest.raises(ConfigError):
        Price(bad, 1.0)
