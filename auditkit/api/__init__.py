"""The Python API: run an audit, plan one, and the pieces the command line shares.

This stage comes last before the command line: it loads the shops, builds the vendor, runs the
probes, computes and judges the metrics, scores the claims and writes the reports.
"""

from auditkit.api._plan import PILOT_VENDOR, AuditPlan, MetricPower, plan_audit
from auditkit.api._process import retain_freed_memory
from auditkit.api._run import (
    adjust_across_audit,
    compute_metrics,
    evaluate,
    plan_probes,
    read_spec,
    run_audit,
)
from auditkit.api._seeds import AuditSeeds
from auditkit.api._shops import Shops, check_trending, load_shops
from auditkit.api._suites import SuiteListing, standard_suites
from auditkit.api._vendor import build_vendor

__all__ = [
    "PILOT_VENDOR",
    "AuditPlan",
    "AuditSeeds",
    "MetricPower",
    "Shops",
    "SuiteListing",
    "adjust_across_audit",
    "build_vendor",
    "check_trending",
    "compute_metrics",
    "evaluate",
    "load_shops",
    "plan_audit",
    "plan_probes",
    "read_spec",
    "retain_freed_memory",
    "run_audit",
    "standard_suites",
]
