"""Vendor text with script tags, quote breaks, event handlers and javascript: URLs, through a
whole audit into every report format and a comparison: all of it renders inert."""

import inert
import pytest
import support

from auditkit import AuditSpec, run_audit
from auditkit.reports import write_comparison


def test_the_checker_sees_live_script():
    assert inert.live_script("<p>ok &lt;script&gt;</p>") == []
    assert inert.live_script(inert.PAYLOADS[0]) == ["<script>"]
    assert inert.live_script(inert.PAYLOADS[1]) == ["<img onerror=...>"]
    assert inert.live_script(inert.PAYLOADS[3]) == ["<a href=javascript:...>"]
    assert inert.live_script(inert.PAYLOADS[0], markdown=True) == ["<script>"]
    assert inert.live_script("[docs](javascript:alert(1))", markdown=True) == []  # not linked


@pytest.mark.slow
def test_hostile_vendor_text_renders_inert_in_every_report(tmp_path):
    catalogs = {}
    for shop, shared in (("a", 10), ("b", 10)):
        path = tmp_path / f"{shop}.csv"
        support.make_catalog(shop, 30, shared).to_csv(path, index=False)
        catalogs[shop] = path
    spec = AuditSpec.model_validate(inert.hostile_spec(catalogs))
    result = run_audit(spec, out=tmp_path / "run")
    run_audit(spec, out=tmp_path / "again")
    assert any(inert.PAYLOADS[0] in kind for kind in result.data_quality.failures_by_kind)
    write_comparison([tmp_path / "run", tmp_path / "again"], tmp_path / "cmp")
    files = [
        *(tmp_path / "run").glob("report.*"),
        *(tmp_path / "run").glob("opinion.*"),
        *(tmp_path / "cmp").glob("comparison.html"),
    ]
    assert sorted(p.name for p in files) == [
        "comparison.html",
        "opinion.html",
        "opinion.md",
        "report.html",
        "report.md",
    ]
    for path in files:
        text = path.read_text()
        assert "alert(" in text, path.name  # the words are shown ...
        found = inert.live_script(text, markdown=path.suffix == ".md")
        assert found == [], path.name  # ... and none of them runs
