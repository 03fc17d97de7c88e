"""The Dask engine: an audit's probes sharded by customer across a cluster, its metrics there too.

``auditkit run SPEC --scheduler ADDRESS|local`` connects to a Dask scheduler (or starts a
`LocalCluster` of this machine's cores) and hands `run_audit` a `ClusterEngine`:

- **Probing.** The probes without an answer are cut into shards of whole customers
  (`shard_plan`); each shard is a task that builds the vendor from the spec on its worker
  (credentials come from the worker's own environment, as the spec's ``${ENV_VAR}`` says;
  the task graph carries the spec, the shops and the shard's probes, never a secret), runs
  the ordinary runner into an evidence file of its own (SQLite, whatever the run's store),
  and returns that file. A spec's reference gets a pass of its own after the vendor's, in
  shards of the same customers under the reference's probe ids, each shard building the
  reference on its worker, as a run on one machine probes it after the vendor. A remote
  vendor's quota (its rate and concurrency) is shared: at most that many shards probe at
  once (a cluster-wide semaphore) and each paces its share. The client writes each returned
  shard under ``RUN_DIR/shards/`` and merges the shards into the run's evidence in shard order
  (`merge_shard_into`, each shard's attempts in plan order), whichever worker finished
  first, into the store the run keeps (SQLite, or the columnar store a large plan chooses);
  a resumed run merges the shards a killed one left and sends only what has no answer.
  Shards go out a window at a time, and a shard whose worker dies is sent again.
- **Metrics.** The tables (and the reference's, if any) go to each worker once, and each
  metric is a task there: the same `MetricTask` on the same tables as on one machine, so the
  results are the same, byte for byte. Claims are scored on the client, as on one machine.

Dask is imported only here, and only when a run names a scheduler.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from auditkit.api._engine import Engine, MetricTask, Planted, Role
from auditkit.api._process import retain_freed_memory
from auditkit.api._reference import build_reference, reference_plan
from auditkit.api._shops import Shops
from auditkit.api._vendor import build_vendor
from auditkit.errors import ClusterError
from auditkit.probes.evidence import EvidenceStore
from auditkit.probes.runner import RunPolicy, RunProgress, run_probes
from auditkit.probes.shards import SHARD_SUFFIX, merge_shard_into, shard_plan
from auditkit.results import MetricResult
from auditkit.spec import AuditSpec, spec_sha256
from auditkit.tables import AuditTables
from auditkit.vendors import EventSink, Vendor, secret_values

if TYPE_CHECKING:
    from distributed import Client

LOCAL = "local"
NO_DASK = (
    "--scheduler needs Dask, which is not installed here: pip install 'auditkit[dask]' "
    "(on the client and on every worker)"
)
NO_SCHEDULER = (
    "--scheduler: cannot reach a Dask scheduler at {address} ({reason}); start one with "
    "`dask scheduler` and workers with `dask worker {address}`, or pass --scheduler local"
)
NO_WORKERS = (
    "--scheduler: the Dask cluster at {address} has no workers after {seconds:.0f} s; start "
    "them with `dask worker {address}`"
)
LOST = (
    "the Dask cluster lost {what} ({reason}); a worker that outgrows its memory limit is "
    "restarted and loses what it held: give the workers more memory, or more workers. "
    "The evidence recorded so far is kept; continue with --resume"
)
SHARDS_DIR = "shards"
# Probes per shard at most: a shard's evidence is a few MiB, a shard in flight is what a
# killed client loses, and many shards keep every worker busy to the end.
SHARD_PROBES = 20_000
# Shards per worker thread at least, so that a slow shard does not leave the others idle.
SHARDS_PER_THREAD = 2
# Times a shard is sent before a lost worker stops the run (a restarted worker loses the
# shard it was probing, and Dask cannot recompute data sent from the client).
SHARD_TRIES = 3
RESEND_SECONDS = 1.0
CONNECT_SECONDS = 30.0
# The built-in world's vendors live in the worker's process: each worker's copy is its own
# vendor, with the whole of its (in-process) concurrency. Every other vendor is one service
# whose quota the shards share.
IN_PROCESS_ADAPTERS = frozenset({"simulated", "trained"})


def require_dask() -> None:
    """Raise `ClusterError` (naming ``pip install 'auditkit[dask]'``) if Dask is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterError(NO_DASK) from None


@contextmanager
def connect(scheduler: str, *, timeout: float = CONNECT_SECONDS) -> Iterator[Client]:
    """A Dask client of the scheduler at ``scheduler``, or of a new local cluster (``local``).

    The local cluster has one single-threaded worker process per core (the metrics and the
    built-in vendors hold the GIL), each with its share of this machine's memory.

    Raises
    ------
    ClusterError
        When Dask is not installed, the scheduler cannot be reached within ``timeout``
        seconds, or it has no worker after that long.
    """
    require_dask()
    from distributed import Client, LocalCluster

    if scheduler == LOCAL:
        with (
            LocalCluster(
                threads_per_worker=1,
                processes=True,
                # Any free port: another cluster of this machine may hold Dask's 8787.
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(scheduler, timeout=timeout)
    except (OSError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        raise ClusterError(NO_SCHEDULER.format(address=scheduler, reason=reason)) from None
    with client:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise ClusterError(NO_WORKERS.format(address=scheduler, seconds=timeout)) from None
        yield client


@contextmanager
def _lost_as_error(what: str) -> Iterator[None]:
    """Turn a worker lost with its data (a task cancelled, a worker killed) into `ClusterError`."""
    from distributed import CancelledError, KilledWorker

    try:
        yield
    except (CancelledError, KilledWorker) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise ClusterError(LOST.format(what=what, reason=reason)) from None


@dataclass(frozen=True)
class ShardEvidence:
    """What a shard task returns: its evidence file's bytes and how its probing went."""

    data: bytes
    stopped: str | None
    probes: int
    attempts: int
    failures: int


def share_of(policy: RunPolicy, shards: int) -> RunPolicy:
    """A shard's share of a vendor's quota when ``shards`` shards probe it at once."""
    rate = policy.rate_per_second
    return dataclasses.replace(
        policy,
        concurrency=max(1, policy.concurrency // shards),
        rate_per_second=None if rate is None else rate / shards,
    )


def probe_shard(
    spec: AuditSpec,
    shops: Shops,
    rows: pd.DataFrame,
    policy: RunPolicy,
    planted: Planted | None,
    lease: str | None,
    leases: int,
    role: Role = "vendor",
) -> ShardEvidence:
    """Probe one shard on a worker: its own vendor and evidence file; the file's bytes back.

    ``lease`` names the cluster-wide semaphore of ``leases`` shards that may probe a shared
    vendor at once (None: no limit, the vendor is the worker's own). ``role`` says whom the
    shard probes: the spec's vendor, or its reference (under ``reference:`` probe ids).
    """
    if lease is None:
        return _probe_shard(spec, shops, rows, policy, planted, role)
    from distributed import Semaphore

    with Semaphore(max_leases=leases, name=lease):
        return _probe_shard(spec, shops, rows, policy, planted, role)


def _build(spec: AuditSpec, shops: Shops, role: Role) -> Vendor:
    """The vendor a shard of ``role`` probes, built from the spec on the worker."""
    if role == "reference":
        reference = build_reference(spec, shops.catalogs, shops.signatures())
        assert reference is not None, "a reference pass needs a spec that names one"
        return reference
    return build_vendor(spec, shops.catalogs, shops.signatures())


def _probe_shard(
    spec: AuditSpec,
    shops: Shops,
    rows: pd.DataFrame,
    policy: RunPolicy,
    planted: Planted | None,
    role: Role,
) -> ShardEvidence:
    """`probe_shard` once it may send."""
    vendor = _build(spec, shops, role)
    attempts = failures = 0

    def count(progress: RunProgress) -> None:
        nonlocal attempts, failures
        attempts, failures = progress.attempts, progress.failures

    try:
        if planted is not None and not vendor.capabilities.keeps_events:
            # This worker's vendor was built after the planting: it gets the events first.
            cast(EventSink, vendor).send_events(planted.shop_id, list(planted.events))
        with tempfile.TemporaryDirectory(prefix="auditkit-shard-") as folder:
            path = Path(folder) / f"evidence{SHARD_SUFFIX}"
            with EvidenceStore(
                path, spec_sha256=spec_sha256(spec), secrets=secret_values(vendor)
            ) as store:
                stopped = run_probes(
                    rows, vendor, store, shops.catalogs, policy=policy, on_progress=count
                )
            # Closed, so the write-ahead log is folded into the one file.
            data = path.read_bytes()
    finally:
        vendor.close()
    return ShardEvidence(data, stopped, len(rows), attempts, failures)


def judge_on_worker(
    task: MetricTask, tables: AuditTables, reference: AuditTables | None = None
) -> MetricResult:
    """Judge one metric on a worker's copy of the tables (their core built once per copy).

    ``reference`` is the worker's copy of the reference's tables, when the spec names one.

    The worker keeps the memory it frees for its next arrays, as the ``auditkit`` command
    does (`retain_freed_memory`): Dask's workers hand freed memory back at once, and the
    metrics' large temporaries then cost several times their computation in page faults.
    """
    retain_freed_memory()
    core = tables.codes.shared("auditkit.api.core_tables", tables.core)
    return task.run(tables, core, reference)


@dataclass
class ClusterEngine:
    """Probes shard by shard on a Dask cluster's workers, metrics as tasks there (see module).

    ``plan`` is the plan of whom it probes (``role``): the run's plan for the vendor, the
    reference's (`reference_plan`) for the reference.
    """

    client: Client
    spec: AuditSpec
    shops: Shops
    plan: pd.DataFrame
    run_dir: Path
    store: EvidenceStore
    policy: RunPolicy
    on_progress: Callable[[RunProgress], None] | None = None
    shard_probes: int = SHARD_PROBES
    role: Role = "vendor"

    @property
    def shard_dir(self) -> Path:
        """Where returned shards wait to be merged (kept if the run is killed)."""
        return self.run_dir / SHARDS_DIR

    @property
    def _prefix(self) -> str:
        """The start of this engine's shard file names (the reference's are its own)."""
        return "shard-" if self.role == "vendor" else "reference-shard-"

    @property
    def _adapter(self) -> str:
        """The adapter of whom this engine probes."""
        if self.role == "reference":
            assert self.spec.reference is not None
            return self.spec.reference.vendor.adapter
        return self.spec.vendor.adapter

    def __post_init__(self) -> None:
        ids = self.plan["probe_id"].astype(str).to_numpy()
        self._every = pd.Series(np.arange(len(ids)), index=ids)
        self._shops: Any = None  # the shops on every worker (a Dask future), sent when needed
        self._sent_shops: list[Any] = []  # every copy sent, held until the run is done

    def _shops_on_workers(self) -> Any:
        """The shops on the workers: sent once, and again if the cluster lost them."""
        if self._shops is None or self._shops.status != "finished":
            [self._shops] = self.client.scatter(
                [self.shops], broadcast=True, hash=False, direct=True
            )
            self._sent_shops.append(self._shops)
        return self._shops

    def close(self) -> None:
        """Let the cluster forget the shops."""
        if self._sent_shops:
            self.client.cancel(self._sent_shops)
        self._shops, self._sent_shops = None, []

    def _positions(self, probe_ids: pd.Series) -> pd.Series:
        """Each probe id's place in the plan."""
        return self._every.loc[probe_ids.astype(str).to_numpy()]

    def merge_left_over(self) -> int:
        """Merge the shards of this role a killed run returned but did not merge (name order)."""
        if not self.shard_dir.is_dir():
            return 0
        merged = 0
        positions = self._positions(self.plan["probe_id"])
        for part in self.shard_dir.glob(f"{self._prefix}*.part"):  # the client was killed
            part.unlink()  # writing it
        for path in sorted(self.shard_dir.glob(f"{self._prefix}*{SHARD_SUFFIX}")):
            merged += merge_shard_into(
                self.store, path, positions, spec_sha256=spec_sha256(self.spec)
            )
            path.unlink()
        return merged

    def probe(self, rows: pd.DataFrame, *, planted: Planted | None = None) -> str | None:
        """Send the rows' unanswered probes shard by shard; the first shard's stop, if any."""
        self.store.note_stop(None)
        self.merge_left_over()
        todo = rows[~rows["probe_id"].isin(self.store.answered())]
        if "same_as" in todo.columns:  # a repeat of another probe's request shares its answer
            todo = todo[todo["same_as"].isna().to_numpy(dtype=bool)]
        if todo.empty:
            return None
        threads = max(1, sum(self.client.nthreads().values()))
        count = max(threads * SHARDS_PER_THREAD, -(-len(todo) // self.shard_probes))
        shards = shard_plan(todo, min(count, len(todo)))
        lease: str | None = None
        leases = len(shards)
        policy = self.policy
        if self._adapter not in IN_PROCESS_ADAPTERS:
            leases = max(1, min(len(shards), threads, policy.concurrency))
            lease = f"auditkit-vendor-{uuid.uuid4().hex}"
            policy = share_of(policy, leases)
        stopped = self._send(shards, policy, planted, lease, leases)
        self.store.note_stop(stopped)
        return stopped

    def _send(
        self,
        shards: list[pd.DataFrame],
        policy: RunPolicy,
        planted: Planted | None,
        lease: str | None,
        leases: int,
    ) -> str | None:
        """Run the shards as tasks; write and merge each, in shard order, as they return."""
        from distributed import as_completed

        token = uuid.uuid4().hex[:12]
        self.shard_dir.mkdir(parents=True, exist_ok=True)
        pending: dict[Any, tuple[int, Any]] = {}
        tries = dict.fromkeys(range(len(shards)), SHARD_TRIES)

        def submit(index: int) -> Any:
            while True:
                tries[index] -= 1
                try:
                    shops = self._shops_on_workers()
                    [rows] = self.client.scatter([shards[index]], hash=False)
                    break
                except OSError as exc:  # a worker gone while the shard went to it
                    if tries[index] <= 0:
                        reason = f"{type(exc).__name__}: {exc}"
                        what = f"shard {index} of the probes"
                        raise ClusterError(LOST.format(what=what, reason=reason)) from None
                    time.sleep(RESEND_SECONDS)
            future = self.client.submit(
                probe_shard,
                self.spec,
                shops,
                rows,
                policy,
                planted,
                lease,
                leases,
                self.role,
                # A shard sent again is a new task: a cancelled key is not reused.
                key=f"auditkit-{self._prefix}{token}-{index:05d}-{SHARD_TRIES - tries[index]}",
                pure=False,
            )
            pending[future] = (index, rows)
            return future

        # A window of shards on the cluster at once, the next sent as one returns: the
        # workers and the scheduler hold a few shards' probes, never the whole plan.
        window = max(1, sum(self.client.nthreads().values())) * SHARDS_PER_THREAD
        queued = iter(range(len(shards)))
        running = as_completed([submit(i) for i in itertools.islice(queued, window)])
        returned: dict[int, Path] = {}
        stops: dict[int, str] = {}
        total = sum(len(shard) for shard in shards)
        done = attempts = failures = 0
        following = 0
        for future in running:
            following_shard = next(queued, None)
            if following_shard is not None:
                running.add(submit(following_shard))
            index, rows = pending.pop(future)
            rows.release()
            try:
                with _lost_as_error(f"shard {index} of the probes"):
                    evidence = cast(ShardEvidence, future.result())
            except ClusterError:
                if tries[index] <= 0:
                    raise
                # The worker died with the shard's data (a restart, a machine lost): send
                # the shard again, with the shops, to the workers there are.
                running.add(submit(index))
                continue
            future.release()
            path = self.shard_dir / f"{self._prefix}{index:05d}{SHARD_SUFFIX}"
            part = path.with_suffix(".part")
            part.write_bytes(evidence.data)
            part.replace(path)  # whole or absent: a killed client never leaves half a shard
            returned[index] = path
            if evidence.stopped is not None:
                stops[index] = evidence.stopped
            while following in returned:
                ready = returned.pop(following)
                merge_shard_into(
                    self.store,
                    ready,
                    self._positions(shards[following]["probe_id"]),
                    spec_sha256=spec_sha256(self.spec),
                    fresh=True,
                )
                ready.unlink()
                following += 1
            done += evidence.probes
            attempts += evidence.attempts
            failures += evidence.failures
            if self.on_progress is not None:
                self.on_progress(RunProgress(done, total, failures, attempts))
        if not any(self.shard_dir.iterdir()):
            self.shard_dir.rmdir()
        return stops[min(stops)] if stops else None

    def judge(
        self,
        tasks: Sequence[MetricTask],
        tables: AuditTables,
        reference: AuditTables | None = None,
    ) -> list[MetricResult]:
        """Each metric as a task on the workers, the tables sent to each worker once.

        The tables (and the reference's) go to one worker straight from the client (several
        times faster than through the scheduler) and from there to each worker that runs a
        metric.
        """
        token = uuid.uuid4().hex[:12]
        [shared] = self.client.scatter([tables], hash=False, direct=True)
        sent = [shared]
        theirs = None
        if reference is not None:
            [theirs] = self.client.scatter([reference], hash=False, direct=True)
            sent.append(theirs)
        futures = [
            self.client.submit(
                judge_on_worker,
                task,
                shared,
                theirs,
                key=f"auditkit-metric-{token}-{number:03d}",
                pure=False,
            )
            for number, task in enumerate(tasks)
        ]
        try:
            with _lost_as_error("the tables or a metric"):
                return cast(list[MetricResult], self.client.gather(futures))
        finally:
            self.client.cancel([*futures, *sent])


@contextmanager
def cluster_engine(
    scheduler: str,
    spec: AuditSpec,
    shops: Shops,
    plan: pd.DataFrame,
    run_dir: Path,
    on_progress: Callable[[RunProgress], None] | None = None,
) -> Iterator[Callable[[EvidenceStore, RunPolicy, Role], Engine]]:
    """Connect to ``scheduler`` and give `run_audit` the cluster engine of a store and policy.

    The engine probes the vendor, or the spec's reference (``role``); the shops go to every
    worker once, with the first shard of each.
    """
    engines: list[ClusterEngine] = []
    with connect(scheduler) as client:

        def engine_for(store: EvidenceStore, policy: RunPolicy, role: Role = "vendor") -> Engine:
            # The engines probe one after another: the one before lets the workers forget its
            # copy of the shops (its metrics, if any, need none), so they never hold two.
            for before in engines:
                before.close()
            probed = plan if role == "vendor" else reference_plan(plan)
            engine = ClusterEngine(
                client, spec, shops, probed, run_dir, store, policy, on_progress, role=role
            )
            engines.append(engine)
            return engine

        try:
            yield engine_for
        finally:
            for engine in engines:
                engine.close()
