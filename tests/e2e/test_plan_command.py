import pandas as pd
import yaml
from click.testing import CliRunner

from auditkit.api import PILOT_VENDOR, plan_audit
from auditkit.cli import main
from auditkit.spec import AuditSpec

SPEC = {
    "auditkit": 1,
    "name": "plan",
    "seed": 5,
    "world": {"shops": 3, "items_per_shop": 120},
    "vendor": {"adapter": "simulated", "options": {"pooling": 0.5}},
    "probes": {
        "k": 8,
        "repetitions": 1,
        "segments": {"age": ["young", "old"]},
        "counterfactual": ["age"],
        "personas": [{"id": "p", "history_length": 3, "customers": 5}],
    },
    "inference": {"n_resamples": 200},
}


def test_plan_counts_probes_and_sizes_each_metric():
    planned = plan_audit(AuditSpec.model_validate(SPEC), effect=0.05)
    # 5 customers x 3 shops: originals, repeats and two age twins each
    assert planned.composition == {
        "probes": 60,
        "shops": 3,
        "customers": 5,
        "originals": 15,
        "repeats": 15,
        "counterfactual twins": 30,
        "trend planting": 0,
        # One twin per customer and shop is at the customer's own age: its original's request.
        "requests": 45,
    }
    ids = {m.id for m in planned.metrics}
    assert "homogenization.cross_shop_jaccard" in ids
    for m in planned.metrics:
        assert m.detectable_effect > 0 and m.units > 0
        if m.detectable_effect > 0.05:  # a smaller target needs more probes than planned
            assert m.probes_for_effect is not None and m.probes_for_effect > 60


def test_remote_vendor_is_sized_with_the_null_pilot():
    data = {**SPEC, "vendor": {"adapter": "python", "target": "nowhere:factory"}}
    planned = plan_audit(AuditSpec.model_validate(data))
    assert planned.pilot == PILOT_VENDOR and planned.metrics


def test_plan_command_saves_the_plan(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "plan.parquet"
    result = CliRunner().invoke(main, ["plan", str(spec), "--out", str(out), "--effect", "0.1"])
    assert result.exit_code == 0, result.output
    assert "probes: 60" in result.output and "detects a shift of" in result.output
    saved = pd.read_parquet(out)
    assert len(saved) == 60 and len(saved["history"].iloc[0]) == 3
