"""Size an audit before paying for calls: probe counts and detectable effects per metric.

The design is run `PILOT_RUNS` times, under seeds drawn from the spec's, against a pilot vendor
(the spec's own built-in vendor, or the built-in null vendor on the spec's shops when the real
vendor is remote), and each metric's standard error is the root mean square of the pilots'
bootstrap errors.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from auditkit.api._reference import core_probes
from auditkit.api._run import plan_probes, read_spec, run_audit
from auditkit.api._shops import load_shops
from auditkit.metrics.power import minimum_detectable_effect, standard_error_from_ci, units_needed
from auditkit.results import MetricResult
from auditkit.spec import AuditSpec, SimulatedVendorSpec

PILOT_VENDOR = "built-in null vendor (no pooling, no trend weight, no steering)"
# Pilot audits per plan: their bootstrap errors averaged (root mean square) are steady where
# one pilot's is not.
PILOT_RUNS = 5


@dataclass(frozen=True)
class MetricPower:
    """What the design can detect for one metric."""

    id: str
    unit: str
    units: int
    standard_error: float
    detectable_effect: float
    warn: float | None
    fail: float | None
    units_for_effect: int | None
    probes_for_effect: int | None


@dataclass(frozen=True)
class AuditPlan:
    """The probe plan, its composition, and the power of each metric."""

    plan: pd.DataFrame
    composition: dict[str, int]
    pilot: str
    metrics: list[MetricPower]


def _composition(plan: pd.DataFrame) -> dict[str, int]:
    trend = plan["phase"].notna()
    pairs = plan["pair_id"].notna() & ~trend
    repeats = (plan["repetition"] > 0) & ~trend
    originals = ~trend & ~pairs & ~repeats
    return {
        "probes": len(plan),
        "shops": int(plan["shop_id"].nunique()),
        "customers": int(plan.loc[originals, "match_id"].nunique()),
        "originals": int(originals.sum()),
        "repeats": int(repeats.sum()),
        "counterfactual twins": int(pairs.sum()),
        "trend planting": int(trend.sum()),
        # A twin at the customer's own level asks its original's request: not sent again.
        "requests": int(plan["same_as"].isna().sum()) if "same_as" in plan else len(plan),
    }


def _pilot_errors(spec: AuditSpec) -> dict[str, tuple[MetricResult, int, float]]:
    """Per metric: its first pilot result, mean unit count and error over `PILOT_RUNS` pilots.

    One pilot's bootstrap error is itself noisy (a few dozen customers: from 0.6 to 1.4 times
    the audit-to-audit spread); the root mean square over several pilots, each with its own
    seed from the spec's, is steady. A metric without a finite interval of positive width in
    every pilot (too few units to vary, say three shops) is not sized: its error is unknown.
    """
    seeds = np.random.SeedSequence(spec.seed).generate_state(PILOT_RUNS)
    found: dict[str, list[tuple[MetricResult, int, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="auditkit-pilot-") as scratch:
        for run, seed in enumerate(seeds):
            pilot = spec.model_copy(update={"seed": int(seed)})
            for metric in run_audit(pilot, out=Path(scratch) / str(run)).metrics:
                if metric.ci is None or not all(map(math.isfinite, metric.ci)):
                    continue
                se = standard_error_from_ci(*metric.ci, confidence=spec.inference.confidence)
                if se > 0.0:
                    found.setdefault(metric.id, []).append((metric, metric.n, se))
    return {
        metric_id: (
            runs[0][0],
            round(float(np.mean([n for _, n, _ in runs]))),
            float(np.sqrt(np.mean([se**2 for _, _, se in runs]))),
        )
        for metric_id, runs in found.items()
        if len(runs) == PILOT_RUNS
    }


def plan_audit(
    spec: AuditSpec | str | Path,
    *,
    effect: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> AuditPlan:
    """Plan an audit: the probes it sends and the smallest effect each metric can detect.

    Parameters
    ----------
    spec
        An `AuditSpec` or the path of a spec file.
    effect
        A target effect (in each metric's units); when given, the units and probes needed to
        detect it with ``power`` are reported too.
    alpha, power
        Two-sided significance level and power of the detection.
    """
    spec = read_spec(spec)
    plan = plan_probes(spec, load_shops(spec))
    # The pilots size the vendor's metrics; they never call a reference (a remote one, say).
    pilot_spec = spec.model_copy(update={"reference": None})
    pilot = f"the spec's own vendor ({spec.vendor.name})"
    if spec.vendor.adapter not in ("simulated", "trained"):
        pilot_spec = pilot_spec.model_copy(
            update={"vendor": SimulatedVendorSpec(adapter="simulated", name="pilot")}
        )
        pilot = PILOT_VENDOR
    errors = _pilot_errors(pilot_spec)
    rows = []
    for metric_id, (metric, units, se) in errors.items():
        needed = (
            units_needed(se, units, effect, alpha=alpha, power=power)
            if effect is not None
            else None
        )
        rows.append(
            MetricPower(
                id=metric_id,
                unit=metric.unit,
                units=units,
                standard_error=se,
                detectable_effect=minimum_detectable_effect(se, alpha=alpha, power=power),
                warn=None if metric.threshold is None else metric.threshold.warn,
                fail=None if metric.threshold is None else metric.threshold.fail,
                units_for_effect=needed,
                probes_for_effect=None
                if needed is None
                else math.ceil(len(plan) * needed / max(units, 1)),
            )
        )
    composition = _composition(plan)
    if spec.reference is not None:
        composition["reference requests"] = _composition(core_probes(plan))["requests"]
    return AuditPlan(plan=plan, composition=composition, pilot=pilot, metrics=rows)
