"""Where an audit's probes go out and its metrics are computed: in this process, or elsewhere.

`run_audit` asks an `Engine` to send probes and to judge metrics: one engine for the vendor
and, when the spec names a reference, one for the reference's pass after it. `LocalEngine`
does both in this process (the vendor's threads, the metrics one after another); the Dask
engine (`auditkit.api._cluster`) shards the same work across a cluster's workers. Both judge
the same `MetricTask` values on the same tables, so their results are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pandas as pd

from auditkit.api._seeds import AuditSeeds
from auditkit.judging import judge_against_reference, judge_metric
from auditkit.metrics.registry import METRICS
from auditkit.probes.evidence import EvidenceStore
from auditkit.probes.runner import RunPolicy, RunProgress, run_probes
from auditkit.results import MetricResult, Threshold
from auditkit.spec import AuditSpec
from auditkit.suites import metric_thresholds
from auditkit.tables import AuditTables
from auditkit.vendors import Vendor

Role = Literal["vendor", "reference"]
"""Whom an engine probes: the audited vendor, or the spec's reference (its second pass)."""


@dataclass(frozen=True)
class AgainstReference:
    """How a reported metric without a threshold of its own is judged against the reference."""

    name: str
    warn: float
    fail: float


@dataclass(frozen=True)
class MetricTask:
    """One metric of an audit to compute: its id, threshold and inference options.

    A plain value, so that an engine can send it to wherever the tables are (a Dask worker):
    `run` there gives what it gives here. ``against`` is set for a reported metric without a
    threshold when the spec names a reference: given the reference's tables, it is judged by
    how many times worse the vendor is (`auditkit.judging.judge_against_reference`).
    """

    metric_id: str
    threshold: Threshold | None
    n_resamples: int
    confidence: float
    seed: int
    full_tables: bool
    against: AgainstReference | None = None

    def run(
        self,
        tables: AuditTables,
        core: AuditTables | None = None,
        reference: AuditTables | None = None,
    ) -> MetricResult:
        """Judge the metric on ``tables``, or on their ``core`` (default ``tables.core()``).

        With ``reference`` (the reference's tables) and ``against``, the metric is measured on
        both, each with the metric's own seed, and judged by their ratio.
        """
        if core is None:
            core = tables.core()
        if self.against is not None and reference is not None:
            definition = METRICS[self.metric_id]
            options: dict[str, Any] = {
                "n_resamples": self.n_resamples,
                "confidence": self.confidence,
                "seed": self.seed,
            }
            return judge_against_reference(
                definition.measure(core, **options),
                definition.measure(reference, **options),
                definition.default_threshold,
                name=self.against.name,
                warn=self.against.warn,
                fail=self.against.fail,
                floor=definition.value_range[0],
                confidence=self.confidence,
            )
        chosen = tables if self.full_tables else core
        return judge_metric(
            self.metric_id,
            chosen,
            threshold=self.threshold,
            n_resamples=self.n_resamples,
            confidence=self.confidence,
            seed=self.seed,
        )


def metric_tasks(spec: AuditSpec) -> list[MetricTask]:
    """The spec's metrics to compute, in the order the audit reports them.

    A reported metric without a number of the auditor's own has no threshold: it is not
    judged, unless the spec names a reference, which it is then judged against.
    """
    judged_by = spec.reference
    tasks = []
    for metric_id, threshold in metric_thresholds(spec).items():
        definition = METRICS[metric_id]
        against = None
        if threshold is None and definition.rule == "reported" and judged_by is not None:
            against = AgainstReference(judged_by.name, judged_by.warn, judged_by.fail)
        tasks.append(
            MetricTask(
                metric_id=metric_id,
                threshold=threshold,
                n_resamples=spec.inference.n_resamples,
                confidence=spec.inference.confidence,
                seed=AuditSeeds(spec.seed).metric(metric_id),
                full_tables=definition.full_tables,
                against=against,
            )
        )
    return tasks


def judge_here(
    tasks: Sequence[MetricTask], tables: AuditTables, reference: AuditTables | None = None
) -> list[MetricResult]:
    """Each task's result, computed in this process one after another (in task order)."""
    core = tables.core()
    return [task.run(tables, core, reference) for task in tasks]


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

    def judge(
        self,
        tasks: Sequence[MetricTask],
        tables: AuditTables,
        reference: AuditTables | None = None,
    ) -> list[MetricResult]:
        """Each task's result on ``tables`` (and the ``reference``'s tables), in task order."""
        ...


@dataclass
class LocalEngine:
    """The engine of one machine: the run's own vendor (or reference), store, metrics here."""

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

    def judge(
        self,
        tasks: Sequence[MetricTask],
        tables: AuditTables,
        reference: AuditTables | None = None,
    ) -> list[MetricResult]:
        """`judge_here`."""
        return judge_here(tasks, tables, reference)
