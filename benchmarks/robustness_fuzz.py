"""Fuzz ``auditkit validate`` with seeded broken, hostile and random specs and catalogs.

Each case is one mutation of tests/robustness/spec_fuzz.py (the shipped specs with keys
deleted, values of the wrong type, control characters, odd numbers, duplicated keys,
truncated or random bytes, random YAML, alias bombs, deep nesting, ``!!python`` tags; bad
CSV and Parquet catalogs), validated in-process through click's CliRunner by worker
processes, each case under a time limit of its own. A case that the worker does not finish
within a hard limit (past its own alarm: stuck in C code, say) has its worker killed and
replaced, so a hang is counted, not fatal. Every case must end ``ok`` or in a located error
(exit 2, every line ``file:line key.path: message``): tracebacks, unlocated errors and
hangs must be 0.

Run: python benchmarks/robustness_fuzz.py [--cases 10000] [--seed 0] [--workers 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "robustness"))

from spec_fuzz import CASE_SECONDS, KINDS, case_of, run_case  # noqa: E402

HARD_SECONDS = 3 * CASE_SECONDS
"""A worker silent this long on one case is killed: the case counts as a hang."""
EXAMPLES = 3
"""How many failing cases of each kind the figures keep, to show."""


def _work(connection: Connection, seed: int, scratch: str) -> None:
    """A worker: validate each case index it is sent; answer with the outcome and its RSS."""
    while True:
        index = connection.recv()
        if index is None:
            return
        case = case_of(seed, index)
        folder = Path(scratch) / str(index)
        outcome = run_case(case, folder)
        shutil.rmtree(folder, ignore_errors=True)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        detail = outcome.detail[-2000:] if outcome.kind not in ("ok", "located") else ""
        connection.send((index, case.mutation, outcome.kind, outcome.seconds, detail, rss))


class _Worker:
    """One worker process and the case it is on."""

    def __init__(self, context: Any, seed: int, scratch: str) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_work, args=(child, seed, scratch), daemon=True)
        self.process.start()
        child.close()
        self.index: int | None = None
        self.started = 0.0

    def send(self, index: int) -> None:
        self.index, self.started = index, time.perf_counter()
        self.connection.send(index)

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()


def fuzz_figures(cases: int, seed: int, *, workers: int | None = None) -> dict[str, Any]:
    """Run ``cases`` seeded fuzz cases of ``auditkit validate`` and count their outcomes.

    Parameters
    ----------
    cases
        How many cases; case ``i`` of seed ``s`` is the same on any machine.
    seed
        Seeds every mutation.
    workers
        Worker processes (default: the machine's CPUs).

    Returns
    -------
    dict
        ``cases``, ``ok``, ``located``, ``unlocated``, ``tracebacks``, ``hangs`` (the last
        three must be 0), ``max_seconds`` and ``slowest_case`` (the slowest case's time,
        index and mutation), ``max_rss_mb`` (a worker's peak resident size), ``seconds``
        (wall clock), ``by_mutation`` (outcome counts of each mutation) and ``examples`` (a
        few failing cases of each kind, to show).
    """
    # Spawned, not forked: the caller (a driver running servers first, say) may hold threads.
    context = multiprocessing.get_context("spawn")
    counts: Counter[str] = Counter()
    by_mutation: dict[str, Counter[str]] = {}
    examples: dict[str, list[dict[str, Any]]] = {}
    slowest: tuple[float, int, str] = (0.0, -1, "")
    peak = 0
    start = time.perf_counter()
    todo = iter(range(cases))
    with tempfile.TemporaryDirectory() as scratch:
        pool = [_Worker(context, seed, scratch) for _ in range(workers or os.cpu_count() or 1)]

        def feed(worker: _Worker) -> None:
            index = next(todo, None)
            if index is None:
                worker.index = None
                worker.connection.send(None)
            else:
                worker.send(index)

        for worker in pool:
            feed(worker)
        while any(worker.index is not None for worker in pool):
            busy = [worker for worker in pool if worker.index is not None]
            ready = wait([worker.connection for worker in busy], timeout=1.0)
            for worker in busy:
                if worker.connection in ready:
                    index, mutation, kind, seconds, detail, rss = worker.connection.recv()
                elif time.perf_counter() - worker.started > HARD_SECONDS:
                    index, kind = worker.index, "hang"
                    mutation = case_of(seed, index).mutation
                    seconds, detail, rss = HARD_SECONDS, "killed: no answer", 0
                    worker.kill()
                    pool[pool.index(worker)] = worker = _Worker(context, seed, scratch)
                else:
                    continue
                counts[kind] += 1
                by_mutation.setdefault(mutation, Counter())[kind] += 1
                slowest, peak = max(slowest, (seconds, index, mutation)), max(peak, rss)
                if kind not in ("ok", "located") and len(examples.get(kind, [])) < EXAMPLES:
                    examples.setdefault(kind, []).append(
                        {"case": index, "mutation": mutation, "detail": detail}
                    )
                feed(worker)
        for worker in pool:
            worker.process.join(timeout=5)
    return {
        "cases": sum(counts.values()),
        "ok": counts["ok"],
        "located": counts["located"],
        "unlocated": counts["unlocated"],
        "tracebacks": counts["crash"],
        "hangs": counts["hang"],
        "max_seconds": slowest[0],
        "slowest_case": {"case": slowest[1], "mutation": slowest[2]},
        "max_rss_mb": peak / 1024,
        "seconds": time.perf_counter() - start,
        "by_mutation": {name: dict(found) for name, found in sorted(by_mutation.items())},
        "examples": examples,
    }


def main() -> None:
    """Print the fuzz figures; exit 1 unless tracebacks, unlocated errors and hangs are 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    figures = fuzz_figures(args.cases, args.seed, workers=args.workers)
    print(f"fuzz cases run:   {figures['cases']}")
    print(f"ok:               {figures['ok']}")
    print(f"located errors:   {figures['located']}")
    print(f"unlocated errors: {figures['unlocated']} (must be 0)")
    print(f"tracebacks:       {figures['tracebacks']} (must be 0)")
    print(f"hangs:            {figures['hangs']} (must be 0)")
    slowest = figures["slowest_case"]
    print(
        f"max seconds/case: {figures['max_seconds']:.2f} "
        f"(case {slowest['case']}, {slowest['mutation']})"
    )
    print(f"max worker RSS:   {figures['max_rss_mb']:.0f} MB")
    print(f"wall clock:       {figures['seconds']:.0f} s")
    print("by mutation:")
    for name, found in figures["by_mutation"].items():
        shown = ", ".join(f"{kind} {found[kind]}" for kind in KINDS if kind in found)
        print(f"  {name:<20} {shown}")
    for kind, cases in figures["examples"].items():
        for example in cases:
            print(f"\n{kind}: case {example['case']} ({example['mutation']})\n{example['detail']}")
    failed = figures["unlocated"] + figures["tracebacks"] + figures["hangs"]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
