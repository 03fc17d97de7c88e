"""The Python API: run a whole audit, or its stages, from a spec."""

from __future__ import annotations

import dataclasses
import json
import math
import platform
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import pandas as pd
from filelock import FileLock, Timeout

from auditkit.api._engine import (
    Engine,
    LocalEngine,
    MetricTask,
    Planted,
    Role,
    judge_here,
    metric_tasks,
)
from auditkit.api._reference import (
    AsReference,
    build_reference,
    core_probes,
    is_reference,
    reference_plan,
    reference_record,
    split_answers,
)
from auditkit.api._seeds import AuditSeeds
from auditkit.api._shops import Shops, load_shops
from auditkit.api._vendor import build_vendor
from auditkit.catalogs import stack_catalogs
from auditkit.errors import EvidenceError, SpecError, SpecIssue, VendorError
from auditkit.metrics.registry import METRICS
from auditkit.metrics.stats import benjamini_hochberg
from auditkit.probes.columnar import PARTS_DIR
from auditkit.probes.design import design_probes, with_shared_answers
from auditkit.probes.evidence import EVIDENCE_FILE, EvidenceStore, answers_sha256
from auditkit.probes.histories import band_products
from auditkit.probes.planting import (
    NO_EVENT_API,
    Planting,
    choose_planting,
    planted_item,
)
from auditkit.probes.runner import RunPolicy, RunProgress, send_event_batches
from auditkit.probes.stores import AUTO, STORE_CHOICES, UNKNOWN_STORE, open_evidence
from auditkit.reports import MANIFEST_FILE, write_report, write_results
from auditkit.results import (
    AuditResult,
    ClaimCheck,
    DataQuality,
    MetricResult,
    Score,
)
from auditkit.scoring import score_claims
from auditkit.spec import AuditSpec, load_spec, obligation_issues, spec_from_data, spec_sha256
from auditkit.suites import (
    SUITE_FILES,
    assess_obligations,
    obligation_ids,
    suite_record,
)
from auditkit.tables import AuditTables, build_tables
from auditkit.vendors import EventSink, Vendor, secret_values

PLAN_FILE = "plan.parquet"
SPEC_COPY = "spec.json"
LOCK_FILE = ".auditkit.lock"
BUSY = (
    "{path} is in use by another auditkit run (it holds {lock}); wait for it to finish, or "
    "choose another output directory"
)
SUITE_NOT_A_FILE = (
    "no such file; {suite!r} is a standard suite: `auditkit init {suite} --out {suite}.yaml` "
    "writes it as a spec to fill in, then run that file"
)
ALREADY_RUN = (
    "{path} already holds evidence of a run; pass resume=True (--resume) to continue it, "
    "or choose a new output directory"
)


def read_spec(spec: AuditSpec | Mapping[str, Any] | str | Path) -> AuditSpec:
    """A validated spec from a spec object, a dict or a YAML path (metric and obligation ids too).

    A spec object is checked for the obligations its suite names (the rest it checked when it
    was made). A dict is validated as the YAML file would be; its catalog paths are relative to
    the working directory.

    A path that does not exist but names a standard suite is refused with the command that
    writes the suite as a file: a suite is run from a file its user has filled in.
    """
    if isinstance(spec, AuditSpec):
        issues = obligation_issues(spec, obligation_ids())
        if issues:
            raise SpecError(issues)
        return spec
    if isinstance(spec, Mapping):
        return spec_from_data(dict(spec), metric_ids=METRICS, obligation_ids=obligation_ids())
    if str(spec) in SUITE_FILES and not Path(spec).exists():
        raise SpecError([SpecIssue(str(spec), None, "", SUITE_NOT_A_FILE.format(suite=str(spec)))])
    return load_spec(spec, metric_ids=METRICS, obligation_ids=obligation_ids())


def compute_metrics(
    spec: AuditSpec, tables: AuditTables, reference: AuditTables | None = None
) -> list[MetricResult]:
    """Compute the spec's metrics on the tables, then adjust p-values across the audit (BH).

    A reported metric without a number of the auditor's own has no threshold: it is not
    judged, unless the spec names a reference and its ``reference`` tables are given; then it
    is judged by how many times worse the vendor is than the reference
    (`auditkit.judging.judge_against_reference`), both estimated with the metric's own seed.
    """
    return adjust_across_audit(judge_here(metric_tasks(spec), tables, reference))


def _tests_of(result: MetricResult) -> list[dict[str, Any]]:
    """The metric's hypothesis tests as dicts with a ``p_value``: per comparison, or itself.

    A metric that tests several attributes reports each test in ``details["comparisons"]``
    (by name) or ``details["tests"]`` (a list); otherwise its own ``p_value`` is its one test.
    """
    details = result.details
    if isinstance(details.get("comparisons"), dict):
        return [dict(test) for _, test in sorted(details["comparisons"].items())]
    if isinstance(details.get("tests"), list):
        return [dict(test) for test in details["tests"]]
    return [] if result.p_value is None else [{"p_value": result.p_value}]


def adjust_across_audit(results: list[MetricResult]) -> list[MetricResult]:
    """Benjamini–Hochberg over every test of every metric of the audit.

    Each test gets its ``audit_q_value``; a metric's ``details["q_value"]`` is the smallest
    adjusted value among its tests (whether any of its tests survives the audit-wide
    correction). A metric's own verdict is left as the metric judged it.
    """
    tests = [_tests_of(result) for result in results]
    flat = [test.get("p_value") for group in tests for test in group]
    adjusted = iter(benjamini_hochberg(flat).tolist())
    out = []
    for result, group in zip(results, tests, strict=True):
        if not group:
            out.append(result)
            continue
        for test in group:
            test["audit_q_value"] = next(adjusted)
        finite = [t["audit_q_value"] for t in group if not math.isnan(t["audit_q_value"])]
        details = dict(result.details)
        if finite:
            details["q_value"] = min(finite)
        if isinstance(details.get("comparisons"), dict):
            details["comparisons"] = {
                name: test
                for (name, _), test in zip(
                    sorted(details["comparisons"].items()), group, strict=True
                )
            }
        elif isinstance(details.get("tests"), list):
            details["tests"] = group
        out.append(dataclasses.replace(result, details=details))
    return out


def _data_quality(plan: pd.DataFrame, attempts: pd.DataFrame, stopped: str | None) -> DataQuality:
    ok = attempts.loc[attempts["status"] == "ok", "probe_id"]
    answered = plan["probe_id"].isin(ok)
    shared = 0
    if "same_as" in plan.columns:  # answered with the probe whose request it repeats
        answered |= plan["same_as"].isin(ok)
        shared = int(plan["same_as"].notna().sum())
    answered = int(answered.sum())
    failed = attempts[attempts["status"] != "ok"]
    kinds = failed["status"] + ": " + failed["problem"].fillna("").str.split(":").str[0]
    noted = attempts.loc[(attempts["status"] == "ok") & attempts["problem"].notna(), "problem"]
    notes = noted.str.split(";").explode().str.split(":").str[0].radd("answered with ")
    counts = pd.concat([kinds, notes]).value_counts().sort_index()
    return DataQuality(
        probes_planned=len(plan),
        probes_answered=answered,
        attempts=len(attempts),
        failures_by_kind={str(k): int(v) for k, v in counts.items()},
        probes_shared=shared,
        stopped=stopped,
    )


def _versions() -> dict[str, str]:
    names = ("auditkit", "numpy", "pandas", "scipy", "fairlearn")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return {"python": platform.python_version(), **found}


def run_audit(
    spec: AuditSpec | Mapping[str, Any] | str | Path,
    *,
    out: str | Path,
    resume: bool = False,
    on_progress: Callable[[RunProgress], None] | None = None,
    evidence_store: str | None = None,
    scheduler: str | None = None,
) -> AuditResult:
    """Run a whole audit: design probes, query the vendor, compute metrics, write reports.

    Parameters
    ----------
    spec
        An `AuditSpec`, a dict of the same keys as a YAML spec file (validated the same way),
        or the path of a YAML spec file.
    out
        The run directory; receives ``evidence.sqlite``, ``plan.parquet``, ``results.json``,
        ``report.html`` and ``manifest.json``.
    resume
        Continue a run in ``out``: send only the probes without a usable answer.
    on_progress
        Called after each vendor request (for progress bars); on a cluster, after each
        shard of probes.
    evidence_store
        ``sqlite``, ``parquet`` (the attempts as Parquet batches beside ``evidence.sqlite``)
        or ``auto`` (Parquet from `auditkit.probes.stores.COLUMNAR_FROM_PROBES` probes on);
        default the spec's ``evidence.store``, else ``auto``. A resumed run keeps its store.
        On a cluster each shard is recorded in SQLite on its worker and merged into this store.
    scheduler
        Run on a Dask cluster (needs ``auditkit[dask]``): a scheduler's address such as
        ``tcp://10.0.0.5:8786``, or ``"local"`` for a cluster of this machine's cores.
        Probes are sharded by customer across the workers, each pacing its share of the
        vendor's quota (the reference's pass too, after the vendor's), and the metrics are
        computed on the workers; the results are those of a run on one machine. None (the
        default) runs everything in this process.
    """
    if evidence_store is not None and evidence_store not in STORE_CHOICES:
        raise ValueError(UNKNOWN_STORE.format(valid=list(STORE_CHOICES), value=evidence_store))
    spec = read_spec(spec)
    if scheduler is not None:
        from auditkit.api._cluster import require_dask

        require_dask()
    if evidence_store is None:
        evidence_store = AUTO if spec.evidence is None else spec.evidence.store
    run_dir = Path(out)
    evidence_path = run_dir / EVIDENCE_FILE
    if evidence_path.exists() and not resume:
        raise EvidenceError(ALREADY_RUN.format(path=run_dir))
    shops = load_shops(spec)
    plan = plan_probes(spec, shops)
    # Built before anything is written: a missing secret or a bad target stops the run with
    # an empty run directory, so the same command works once the problem is fixed.
    vendor = build_vendor(spec, shops.catalogs, shops.signatures())
    try:
        reference = build_reference(spec, shops.catalogs, shops.signatures())
    except BaseException:
        vendor.close()
        raise
    with _run_lock(run_dir, vendor, reference):
        if evidence_path.exists() and not resume:  # another run finished in the meantime
            _close(vendor, reference)
            raise EvidenceError(ALREADY_RUN.format(path=run_dir))
        if scheduler is None:

            def local(store: EvidenceStore, policy: RunPolicy, role: Role) -> Engine:
                prober: Vendor = vendor
                if role == "reference":
                    assert reference is not None
                    prober = reference
                return LocalEngine(prober, store, shops.catalogs, policy, on_progress)

            return _run_locked(
                spec, run_dir, shops, plan, vendor, reference, local, evidence_store
            )
        from auditkit.api._cluster import cluster_engine

        with ExitStack() as stack:
            try:
                on_cluster = stack.enter_context(
                    cluster_engine(scheduler, spec, shops, plan, run_dir, on_progress)
                )
            except BaseException:  # no cluster: nothing ran, the vendors are done with
                _close(vendor, reference)
                raise
            return _run_locked(
                spec, run_dir, shops, plan, vendor, reference, on_cluster, evidence_store
            )


def _close(vendor: Vendor, reference: AsReference | None) -> None:
    """Close the vendor and the reference, the reference even when the vendor's close fails."""
    try:
        vendor.close()
    finally:
        if reference is not None:
            reference.close()


@contextmanager
def _run_lock(run_dir: Path, vendor: Vendor, reference: AsReference | None) -> Iterator[None]:
    """Hold the run directory's lock: one run writes into a directory at a time.

    The lock is the operating system's (``flock``): it goes with the process, so a run
    killed with ``kill -9`` leaves nothing that blocks ``--resume``.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(run_dir / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        _close(vendor, reference)
        raise EvidenceError(BUSY.format(path=run_dir, lock=LOCK_FILE)) from None
    try:
        yield
    finally:
        lock.release()


def _run_locked(
    spec: AuditSpec,
    run_dir: Path,
    shops: Shops,
    plan: pd.DataFrame,
    vendor: Vendor,
    reference: AsReference | None,
    engine_for: Callable[[EvidenceStore, RunPolicy, Role], Engine],
    evidence_store: str,
) -> AuditResult:
    """`run_audit` once the run directory is this run's alone; ``engine_for`` probes, judges.

    The vendor is probed first (and the trend planted); the reference, when the spec names
    one, is sent the core probes after, into the same evidence, by an engine of its own.
    """
    try:
        plan.to_parquet(run_dir / PLAN_FILE, index=False)
        (run_dir / SPEC_COPY).write_text(
            json.dumps(spec.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
        )
        secrets = secret_values(vendor) + (() if reference is None else secret_values(reference))
        with open_evidence(
            run_dir,
            spec_sha256=spec_sha256(spec),
            secrets=secrets,
            store=evidence_store,
            probes=len(plan),
        ) as store:
            kind = store.kind
            planting = _planting(spec, shops)
            capabilities = vendor.capabilities
            if planting is not None and not capabilities.events:
                raise VendorError(NO_EVENT_API.format(vendor=spec.vendor.name))
            phase = plan["phase"]
            after = phase.eq("after").fillna(False).to_numpy(dtype=bool)
            first = ~after
            if planting is not None and capabilities.keeps_events and not store.events().empty:
                # A remote vendor already holds the planted trend: a "before" probe sent now
                # would measure after the planting, so those left unanswered stay unanswered.
                first &= ~phase.eq("before").fillna(False).to_numpy(dtype=bool)
            policy = RunPolicy.for_vendor(vendor)
            engine = engine_for(store, policy, "vendor")
            stopped = engine.probe(plan[first])
            if planting is not None and stopped is None:
                planted = _plant(vendor, store, planting, shops, policy)
                stopped = engine.probe(plan[after], planted=planted)
            if reference is not None and stopped is None:
                # The reference is not planted: it is sent only the core probes.
                engine_for(store, RunPolicy.for_vendor(reference), "reference").probe(
                    reference_plan(plan)
                )
            result = evaluate(spec, plan, store, shops, judge=engine.judge)
    finally:
        _close(vendor, reference)
    result = dataclasses.replace(result, run_dir=str(run_dir))
    write_results(result, run_dir)
    files = [EVIDENCE_FILE, *([PARTS_DIR] if kind != EvidenceStore.kind else []), PLAN_FILE]
    manifest = {"versions": _versions(), "files": [*files, SPEC_COPY], "evidence_store": kind}
    (run_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    write_report(run_dir)
    return result


def plan_probes(spec: AuditSpec, shops: Shops) -> pd.DataFrame:
    """The spec's probe plan over its shops (deterministic from the spec's seed)."""
    return design_probes(
        spec.probes,
        shops.catalogs,
        seed=AuditSeeds(spec.seed).probes,
        signatures=shops.signatures(),
        claims=spec.claims,
    )


def _planting(spec: AuditSpec, shops: Shops) -> Planting | None:
    if spec.probes.trend_planting is None:
        return None
    banded = band_products(stack_catalogs(shops.catalogs))
    return choose_planting(spec.probes.trend_planting, banded)


def _plant(
    vendor: Vendor,
    store: EvidenceStore,
    planting: Planting,
    shops: Shops,
    policy: RunPolicy,
) -> Planted:
    """Plant the trend, recording each batch the vendor accepts; on resume, send the rest.

    A vendor that keeps events (a remote one) keeps the batches an earlier run recorded, so
    they are not sent again; one that does not (the in-process simulated vendor) forgot them
    with the interrupted run, so it gets them replayed first. Returns what was planted.
    """
    capabilities = vendor.capabilities
    sink = cast(EventSink, vendor)  # its capabilities say it takes events
    shop_id = planting.source_shop
    item_id = planted_item(planting, shops.catalogs)
    events = planting.event_batch(item_id)
    sent = int(store.events()["count"].sum())
    if sent and not capabilities.keeps_events:
        sink.send_events(shop_id, events[:sent])
    send_event_batches(
        sink,
        shop_id,
        events[sent:],
        batch_size=capabilities.event_batch_size,
        policy=policy,
        on_sent=lambda batch: store.record_events(shop_id, item_id, len(batch)),
    )
    return Planted(shop_id, tuple(events))


Judge = Callable[[Sequence[MetricTask], AuditTables, AuditTables | None], list[MetricResult]]
"""Computes metric tasks on the vendor's tables (and the reference's): an engine's ``judge``."""


def evaluate(
    spec: AuditSpec,
    plan: pd.DataFrame,
    store: EvidenceStore,
    shops: Shops,
    *,
    judge: Judge = judge_here,
) -> AuditResult:
    """Compute the audit's results from recorded evidence alone (no vendor calls).

    ``judge`` computes the metrics (default: in this process; an engine's on a cluster).
    """
    answers = store.answers()
    ours, theirs = split_answers(answers)

    def tables_of(probes: pd.DataFrame, answered: pd.DataFrame) -> AuditTables:
        return build_tables(
            probes,
            with_shared_answers(probes, answered),
            shops.catalogs,
            signatures=shops.signatures(),
            trending=shops.trending,
        )

    tables = tables_of(plan, ours)
    reference = None
    attempts = store.attempts(columns=("probe_id", "status", "problem"))
    referenced = is_reference(attempts["probe_id"])
    if spec.reference is not None:
        reference = tables_of(core_probes(plan), theirs)
    metrics = adjust_across_audit(judge(metric_tasks(spec), tables, reference))
    claims: list[ClaimCheck] = []
    scores: list[Score] = []
    if spec.claims is not None:
        claims, scores = score_claims(
            spec.claims,
            tables,
            metrics,
            signatures=shops.signatures(),
            n_resamples=spec.inference.n_resamples,
            confidence=spec.inference.confidence,
            seed=AuditSeeds(spec.seed).metric("claims"),
        )
    quality = _data_quality(plan, attempts[~referenced], store.stopped())
    provenance: dict[str, Any] = {
        "description": spec.description,
        "vendor": spec.vendor.name,
        "adapter": spec.vendor.adapter,
        "seed": spec.seed,
        "spec_sha256": spec_sha256(spec),
        "evidence_sha256": answers_sha256(answers),
    }
    if spec.reference is not None:
        provenance["reference"] = reference_record(spec, plan, attempts[referenced])
    suite = suite_record(spec)
    if suite is not None:
        provenance["suite"] = suite
    obligations, opinion = assess_obligations(
        [] if spec.suite is None else spec.suite.obligations,
        metrics,
        claims,
        quality,
        modified=[] if suite is None else suite["modified"],
    )
    return AuditResult(
        name=spec.name,
        metrics=metrics,
        claims=claims,
        scores=scores,
        data_quality=quality,
        provenance=provenance,
        obligations=obligations,
        opinion=opinion,
    )
