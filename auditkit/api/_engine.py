"""Where an audit's probes go out and its metrics are computed: in this process, or elsewhere.

`run_audit` asks an `Engine` to send probes and to judge metrics. `LocalEngine` does both
in this process (the vendor's threads, the metrics one after another); the Dask engine
(`auditkit.api._cluster`) shards the same work across a cluster's workers. Both judge the same
`MetricTask` values on the same tables, so their results are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from auditkit.api._seeds import AuditSeeds
from auditkit.judging import judge_metric
from auditkit.metrics.registry import METRICS
from auditkit.probes.evidence import EvidenceStore
from auditkit.probes.runner import RunPolicy, RunProgress, run_probes
from auditkit.results import MetricResult, Threshold
from auditkit.spec import AuditSpec
from auditkit.suites import metric_thresholds
from auditkit.tables import AuditTables
from auditkit.vendors import Vendor


@dataclass(frozen=True)
class MetricTask:
    """One metric of an audit to compute: its id, threshold and inference options.

    A plain value, so that an engine can send it to wherever the tables are (a Dask worker):
    `run` there gives what it gives here.
    """

    metric_id: str
    threshold: Threshold | None
    n_resamples: int
    confidence: float
    seed: int
    full_tables: bool

    def run(self, tables: AuditTables, core: AuditTables | None = None) -> MetricResult:
        """Judge the metric on ``tables``, or on their ``core`` (default ``tables.core()``)."""
        chosen = tables if self.full_tables else core if core is not None else tables.core()
        return judge_metric(
            self.metric_id,
            chosen,
            threshold=self.threshold,
            n_resamples=self.n_resamples,
            confidence=self.confidence,
            seed=self.seed,
        )


def metric_tasks(spec: AuditSpec) -> list[MetricTask]:
    """The spec's metrics to compute, in the order the audit reports them."""
    # A reported metric without a number of the auditor's own has no threshold: not judged.
    return [
        MetricTask(
            metric_id=metric_id,
            threshold=threshold,
            n_resamples=spec.inference.n_resamples,
            confidence=spec.inference.confidence,
            seed=AuditSeeds(spec.seed).metric(metric_id),
            full_tables=METRICS[metric_id].full_tables,
        )
        for metric_id, threshold in metric_thresholds(spec).items()
    ]


def judge_here(tasks: Sequence[MetricTask], tables: AuditTables) -> list[MetricResult]:
    """Each task's result, computed in this process one after another (in task order)."""
    core = tables.core()
    return [task.run(tables, core) for task in tasks]


@dataclass(frozen=True)
class Planted:
    """The events of a planted trend: what a vendor that forgets events must be sent again."""

    shop_id: str
    events: tuple[Mapping[str, Any], ...]


class Engine(Protocol):
    """Sends probes to the vendor, recording the answers as evidence, and judges metrics."""

    def probe(self, rows: pd.DataFrame, *, planted: Planted | None = None) -> str | None:
        """Send the rows' probes that have no answer yet; why probing stopped early, if it did.

        ``planted`` is the trend planted before these probes: a vendor built afresh for
        them (one per worker) that does not keep events gets it first.
        """
        ...

    def judge(self, tasks: Sequence[MetricTask], tables: AuditTables) -> list[MetricResult]:
        """Each task's result on ``tables``, in task order."""
        ...


@dataclass
class LocalEngine:
    """The engine of one machine: the run's own vendor and store, metrics in this process."""

    vendor: Vendor
    store: EvidenceStore
    catalogs: Mapping[str, pd.DataFrame]
    policy: RunPolicy
    on_progress: Callable[[RunProgress], None] | None = None

    def probe(self, rows: pd.DataFrame, *, planted: Planted | None = None) -> str | None:
        """`run_probes` with the run's vendor, which already holds any planted trend."""
        return run_probes(
            rows,
            self.vendor,
            self.store,
            self.catalogs,
            policy=self.policy,
            on_progress=self.on_progress,
        )

    def judge(self, tasks: Sequence[MetricTask], tables: AuditTables) -> list[MetricResult]:
        """`judge_here`."""
        return judge_here(tasks, tables)
