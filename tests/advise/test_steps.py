from inhouse.advise import AdviseResult, stratified
from inhouse.advise.report import markdown, write_report
from inhouse.evals.tasks import load_suite
from inhouse.store import Store


def test_stratified_subset_is_fixed_and_covers_every_category():
    tasks = load_suite("core")
    a = stratified(tasks, 2)
    b = stratified(list(reversed(tasks)), 2)
    assert [t.id for t in a] == [t.id for t in b]
    cats = {t.category for t in tasks}
    assert {t.category for t in a} == cats
    for cat in cats:
        ids = sorted(t.id for t in tasks if t.category == cat)
        assert [t.id for t in a if t.category == cat] == ids[:2]


def test_advise_row_is_rewritten_per_step(tmp_path):
    with Store.open(tmp_path / "s.db") as store:
        r = AdviseResult(started_at="2026-01-01T00:00:00+00:00")
        store.save_advise(r.advise_id, r.started_at, "running", r.to_dict())
        r.steps_done.append("machine")
        store.save_advise(r.advise_id, r.started_at, "interrupted", r.to_dict())
        (row,) = store.advise_runs()
    assert row["id"] == r.advise_id and row["status"] == "interrupted"
    assert row["result"]["steps_done"] == ["machine"]


def test_partial_report_says_so_and_is_offline(tmp_path):
    r = AdviseResult(started_at="2026-01-01T00:00:00+00:00", options={"quick": True, "context": 8192},
                     steps_done=["machine"], current_step="bench smol", status="interrupted")
    paths = write_report(r.to_dict(), tmp_path)
    md = paths["md"].read_text()
    assert "Partial report" in md and "bench smol" in md
    page = paths["html"].read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert markdown(r.to_dict()) == md
