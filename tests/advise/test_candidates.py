from inhouse.advise.candidates import installed_candidates
from inhouse.plan.estimate import estimate
from inhouse.plan.settings import LoadSettings
from inhouse.plan.spec import ModelSpec
from inhouse.models.discover import resolve_model_header


def test_the_default_model_is_sized_by_the_fit_estimate_at_its_own_context():
    rows, _ = installed_candidates(32768, 64 << 30)
    smol = next(c for c in rows if c.name == "smollm2-135m-instruct")
    info, header = resolve_model_header("smollm2-135m-instruct")
    assert smol.n_ctx == info.context_length < 32768 and "below the 32768 asked" in smol.reason
    truth = estimate(ModelSpec.from_header(header), LoadSettings(n_ctx=info.context_length))
    assert smol.fits and (smol.type_k, smol.flash_attn) == ("f16", False) and smol.ram_bytes == truth.ram_bytes
    assert [c.fits for c in rows] == sorted((c.fits for c in rows), reverse=True)


def test_a_tiny_budget_fits_nothing_and_says_what_was_tried():
    rows, _ = installed_candidates(8192, 1 << 20)
    assert rows and not any(c.fits for c in rows)
    assert all("even with q4_0 KV, flash attention" in c.reason for c in rows)


def test_instruct_models_rank_above_base_models_without_a_chat_template():
    """The built-in Gemma 3 270M is a base model (no chat template): advise must not recommend it
    over the instruct SmolLM2, although it is larger."""
    from inhouse.advise.candidates import installed_candidates

    rows, problems = installed_candidates(8192, 16 << 30)
    names = [c.name for c in rows]
    assert {"smollm2-135m-instruct", "gemma-3-270m"} <= set(names), (names, problems)
    assert names.index("smollm2-135m-instruct") < names.index("gemma-3-270m")
    by_name = {c.name: c for c in rows}
    assert by_name["smollm2-135m-instruct"].chat and not by_name["gemma-3-270m"].chat
