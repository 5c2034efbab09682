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
