"""The robustness figures in one run: hostile vendors, spec fuzzing, kill -9, leaks, live script.

Each part is its own benchmark (run alone for detail):

- ``robustness_faults.py``: whole audits behind every fault of a hostile vendor, at two rates
  each: faults tried, audits completed, probes lost, crashes, secret leaks, peak memory;
- ``robustness_fuzz.py``: mutated specs, random YAML, bad encodings, bombs and bad catalogs
  through ``auditkit validate``: cases run, tracebacks, hangs;
- ``robustness_kill.py``: HTTP audits killed with SIGKILL at seeded random points, then
  resumed: kill points, resumes finished, results identical, probes answered twice;
- here: one audit of a vendor whose name, questionnaire, explanations and failure texts are
  script payloads, and the live script found in report.html, report.md (as CommonMark renders
  it) and comparison.html.

Run: python benchmarks/robustness.py [--seed 0] [--fuzz-cases 10000] [--kill-points 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "robustness"))

import inert  # noqa: E402
import support  # noqa: E402
from robustness_faults import fault_figures  # noqa: E402
from robustness_fuzz import fuzz_figures  # noqa: E402
from robustness_kill import kill_figures  # noqa: E402

from auditkit import AuditSpec, run_audit  # noqa: E402
from auditkit.reports import write_comparison  # noqa: E402


def live_script_figures() -> dict[str, Any]:
    """Files rendered from hostile vendor text, and the live script found in them."""
    with tempfile.TemporaryDirectory(prefix="auditkit-inert-") as scratch:
        root = Path(scratch)
        catalogs = {}
        for shop in ("a", "b"):
            catalogs[shop] = root / f"{shop}.csv"
            support.make_catalog(shop, 30, 10).to_csv(catalogs[shop], index=False)
        spec = AuditSpec.model_validate(inert.hostile_spec(catalogs))
        for name in ("run", "again"):
            run_audit(spec, out=root / name)
        write_comparison([root / "run", root / "again"], root / "cmp")
        files = [
            *(root / "run").glob("report.*"),
            *(root / "run").glob("opinion.*"),
            root / "cmp" / "comparison.html",
        ]
        found = sum(
            len(inert.live_script(path.read_text(), markdown=path.suffix == ".md"))
            for path in files
        )
    return {"report files checked": len(files), "live script found": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fuzz-cases", type=int, default=10_000)
    parser.add_argument("--kill-points", type=int, default=50)
    args = parser.parse_args()
    parts = {
        "hostile vendor": lambda: fault_figures(args.seed),
        "spec and catalog fuzzing": lambda: fuzz_figures(args.fuzz_cases, args.seed),
        "kill -9 and resume": lambda: kill_figures(args.kill_points, args.seed),
        "hostile text in reports": live_script_figures,
    }
    for title, run in parts.items():
        started = time.perf_counter()
        figures = run()
        print(f"\n{title} ({time.perf_counter() - started:.0f} s)")
        for name, value in figures.items():
            if not isinstance(value, list | dict):
                print(f"  {name:>32}: {value}")


if __name__ == "__main__":
    main()
