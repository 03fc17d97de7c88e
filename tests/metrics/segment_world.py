"""Audits of the built-in world run in memory, for the segment metrics' planted and null cases.

The probe plan is the demo spec's design (three age bands and two devices, counterfactual pairs
on the age band, one repeat); the vendor is the simulated one, or the trained item-kNN vendor
(context-blind unless steered: a true segment null on a real algorithm), answering every probe.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import yaml

from auditkit.probes.design import design_probes
from auditkit.probes.runner import build_requests
from auditkit.spec import AuditSpec
from auditkit.tables import AuditTables, build_tables
from auditkit.world import SimulatedVendor, Steering, TrainedVendor, World, generate_world

DEMO = Path(__file__).resolve().parents[2] / "audit_specs" / "demo.yaml"
STEERED = Steering("age_band", "65+", price_shift=-1.0)


def demo_spec(seed: int, *, customers: int | None = None) -> AuditSpec:
    """The demo spec at ``seed``, optionally with ``customers`` per persona."""
    data = yaml.safe_load(DEMO.read_text())
    data["seed"] = seed
    if customers is not None:
        for persona in data["probes"]["personas"]:
            persona["customers"] = customers
    return AuditSpec.model_validate(data)


def world_of(spec: AuditSpec) -> World:
    """The spec's synthetic shops."""
    assert spec.world is not None
    return generate_world(
        seed=spec.seed,
        n_shops=spec.world.shops,
        items_per_shop=spec.world.items_per_shop,
        n_categories=spec.world.categories,
    )


def audit_tables(
    spec: AuditSpec,
    world: World,
    *,
    steering: Sequence[Steering] = (),
    plan: pd.DataFrame | None = None,
    vendor: str = "simulated",
) -> AuditTables:
    """The tables of the spec's core probes answered by an isolated vendor.

    ``vendor`` is ``"simulated"`` or ``"trained"``: item-kNN models trained on each shop's own
    synthetic logs, with noise, which read the context only through the planted ``steering``.
    """
    catalogs = world.catalogs()
    if plan is None:
        plan = design_probes(spec.probes, catalogs, seed=spec.seed)
    model: SimulatedVendor | TrainedVendor
    if vendor == "trained":
        model = TrainedVendor(catalogs, seed=spec.seed, noise=0.3, steering=steering)
    else:
        model = SimulatedVendor(catalogs, seed=spec.seed, steering=steering)
    answers = pd.DataFrame(
        {
            "probe_id": plan["probe_id"],
            "items": [list(model.recommend(r).items) for r in build_requests(plan)],
        }
    )
    return build_tables(plan, answers, catalogs)
