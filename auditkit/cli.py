"""The ``auditkit`` command: parses arguments, calls the Python API, maps errors to exit codes.

Exit codes: 0 ok; 1 audit findings at or over ``--fail-on``; 2 usage or input errors
(a bad spec, damaged evidence, a run directory in use); 3 an incomplete collection (fewer
answers than ``--min-answer-rate``, or probing stopped because the vendor was down);
4 a bundle failed verification (``auditkit verify``: a member, an evidence row, the results
or a report differs from what it should be); 130 interrupted (Ctrl-C). The evidence of an
incomplete or interrupted run is kept, and ``--resume`` continues it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from auditkit.api import retain_freed_memory
from auditkit.errors import AuditkitError, SpecError
from auditkit.probes.stores import STORE_CHOICES

EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_UNVERIFIED = 4
EXIT_INTERRUPTED = 130
FAIL_ON_LEVELS = {"warn": ("warn", "fail"), "fail": ("fail",)}


def _fail(error: AuditkitError) -> None:
    prefix = "" if isinstance(error, SpecError) else "error: "
    click.echo(f"{prefix}{error}", err=True)
    sys.exit(EXIT_INPUT)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="auditkit")
def main() -> None:
    """Audit a recommendation vendor from the outside.

    Write an audit spec (YAML), then `auditkit run SPEC --out DIR`; open DIR/report.html.
    """
    retain_freed_memory()


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
def validate(spec: Path) -> None:
    """Check SPEC and its catalogs; print "ok", or every problem as file:line key: message."""
    from auditkit.api import load_shops, read_spec

    try:
        load_shops(read_spec(spec))  # the catalogs as run reads them, row by row
    except AuditkitError as error:
        _fail(error)
    click.echo("ok")


@main.command()
def suites() -> None:
    """List the standard suites: id, version, probe budget, hash and purpose."""
    from auditkit.api import standard_suites

    try:
        listings = standard_suites()
    except AuditkitError as error:
        _fail(error)
    click.echo(f"{'suite':<12} {'version':>7} {'probes':>7}  {'sha256':<12}  purpose")
    for suite in listings:
        click.echo(
            f"{suite.id:<12} {suite.version:>7} {suite.probes:>7}  {suite.sha256[:12]}  "
            f"{suite.purpose}"
        )
    click.echo("\nprobes: the requests each plan sends as shipped.")
    click.echo("`auditkit init SUITE --out FILE` writes one as a spec to fill in.")


@main.command()
@click.argument("suite")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="The spec file to write (default: SUITE.yaml here; '-' prints it).",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def init(suite: str, out: Path | None, force: bool) -> None:
    """Write standard SUITE as a commented spec to fill in (vendor, shops, claims)."""
    from auditkit.suites import suite_text

    try:
        text = suite_text(suite)
    except AuditkitError as error:
        _fail(error)
    if out is not None and str(out) == "-":
        click.echo(text, nl=False)
        return
    target = out or Path(f"{suite}.yaml")
    if target.exists() and not force:
        _fail(AuditkitError(f"--out: {target} exists; choose another path, or pass --force"))
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(AuditkitError(f"--out: cannot write {target} ({exc.strerror or exc})"))
    click.echo(f"wrote {target}: suite {suite}; fill in its vendor, shops and claims, then")
    click.echo(f"  auditkit validate {target} && auditkit run {target} --out runs/{suite}")


@main.command()
@click.option("--results", is_flag=True, help="The JSON Schema of results.json instead.")
def schema(results: bool) -> None:
    """Print the JSON Schema of audit specs (for editor completion and checks)."""
    if results:
        from auditkit.reports import results_json_schema

        click.echo(json.dumps(results_json_schema(), indent=2, sort_keys=True))
        return
    from auditkit.spec import spec_json_schema

    click.echo(json.dumps(spec_json_schema(), indent=2, sort_keys=True))


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory for evidence, results.json and report.html.",
)
@click.option(
    "--resume", is_flag=True, help="Continue the run in --out; send only unanswered probes."
)
@click.option(
    "--fail-on",
    type=click.Choice(sorted(FAIL_ON_LEVELS)),
    default=None,
    help="Exit with 1 when a metric's verdict is at or over this level.",
)
@click.option(
    "--min-answer-rate",
    type=click.FloatRange(0, 1),
    default=0.9,
    show_default=True,
    help="Exit with 3 when a smaller share of the probes got a usable answer.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS|local",
    help="Run on a Dask cluster (needs auditkit[dask]): its scheduler's address "
    "(tcp://HOST:8786), or 'local' for one worker per core of this machine.",
)
@click.option(
    "--evidence-store",
    type=click.Choice(STORE_CHOICES),
    default=None,
    help="Where the attempts go: sqlite, parquet (beside evidence.sqlite, for large runs) or "
    "auto (parquet from 100,000 probes on); default the spec's evidence.store. A resumed run "
    "keeps its store.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run(
    spec: Path,
    out: Path,
    resume: bool,
    fail_on: str | None,
    min_answer_rate: float,
    scheduler: str | None,
    evidence_store: str | None,
    quiet: bool,
) -> None:
    """Run the audit described by SPEC and write its report into --out."""
    from auditkit.api import run_audit

    bar: Any = None

    def progress(state: Any) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=state.total, desc="probing vendor", unit="probe", file=sys.stderr)
        bar.update(state.done - bar.n)
        bar.set_postfix(failures=state.failures, refresh=False)

    try:
        result = run_audit(
            spec,
            out=out,
            resume=resume,
            on_progress=None if quiet else progress,
            scheduler=scheduler,
            evidence_store=evidence_store,
        )
    except AuditkitError as error:
        _fail(error)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
            bar = None
        click.echo(
            f"interrupted: the answers so far are kept in {out}; continue with "
            f"`auditkit run {spec} --out {out} --resume`",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if bar is not None:
            bar.close()
    quality = result.data_quality
    kinds = quality.failures_by_kind
    failed = sum(n for kind, n in kinds.items() if not kind.startswith("answered with"))
    click.echo(
        f"answered {quality.probes_answered} of {quality.probes_planned} probes "
        f"({quality.answer_rate:.1%}); {quality.attempts} requests, {failed} failed"
    )
    from auditkit.reports import terminal_lines

    for line in terminal_lines(result):
        click.echo(line)
    click.echo(f"report: {out / 'report.html'}")
    if result.opinion is not None:
        click.echo(f"audit opinion: {result.opinion.opinion} ({out / 'opinion.html'})")
    suite = result.provenance.get("suite")
    if suite is not None and not suite["unmodified"]:
        click.echo(
            f"note: suite {suite['id']} v{suite['version']} did not run as shipped; modified: "
            f"{', '.join(suite['modified'])}",
            err=True,
        )
    if quality.stopped is not None or quality.answer_rate < min_answer_rate:
        why = quality.stopped or (
            f"{quality.answer_rate:.1%} of the probes answered, below --min-answer-rate "
            f"{min_answer_rate:g}"
        )
        click.echo(
            f"incomplete collection: {why}; the findings rest on the answers there are. "
            f"Continue with `auditkit run {spec} --out {out} --resume`",
            err=True,
        )
        sys.exit(EXIT_INCOMPLETE)
    if fail_on and any(m.verdict in FAIL_ON_LEVELS[fail_on] for m in result.metrics):
        sys.exit(EXIT_FINDINGS)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save the probe plan (.parquet or .csv) to inspect it.",
)
@click.option(
    "--effect",
    type=float,
    default=None,
    help="Target effect: also print the probes needed to detect it.",
)
@click.option("--power", type=click.FloatRange(0.5, 0.99), default=0.8, show_default=True)
@click.option("--alpha", type=click.FloatRange(0.001, 0.2), default=0.05, show_default=True)
def plan(spec: Path, out: Path | None, effect: float | None, power: float, alpha: float) -> None:
    """Print what SPEC would send and the smallest effect each metric can detect."""
    from auditkit.api import plan_audit

    try:
        planned = plan_audit(spec, effect=effect, alpha=alpha, power=power)
    except AuditkitError as error:
        _fail(error)
    for name, count in planned.composition.items():
        click.echo(f"{name:>22}: {count}")
    click.echo(f"\npilot: {planned.pilot}; detectable at {power:.0%} power, alpha {alpha}:")
    for m in planned.metrics:
        line = (
            f"  {m.id}: {m.units} {m.unit}s, standard error {m.standard_error:.3g}, "
            f"detects a shift of {m.detectable_effect:.3g} (warn {m.warn}, fail {m.fail})"
        )
        if m.probes_for_effect is not None:
            line += f"; {effect} needs about {m.probes_for_effect} probes"
        click.echo(line)
    if out is not None:
        table = planned.plan.assign(history=planned.plan["history"].map(list))
        if out.suffix.lower() == ".csv":
            table.assign(history=table["history"].map(" ".join)).to_csv(out, index=False)
        else:
            table.to_parquet(out, index=False)
        click.echo(f"plan: {out}")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def report(run_dir: Path) -> None:
    """Re-render RUN_DIR/report.html from RUN_DIR/results.json."""
    from auditkit.reports import write_report

    try:
        path = write_report(run_dir)
    except AuditkitError as error:
        _fail(error)
    click.echo(f"report: {path}")


@main.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--format",
    "table_format",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="The tables' file format.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the tables (default: RUN_DIR).",
)
def export_command(run_dir: Path, table_format: str, out: Path | None) -> None:
    """Write RUN_DIR's metric and by-group tables (metrics.csv, by_group.csv) from its results."""
    from auditkit.reports import export_tables

    try:
        paths = export_tables(run_dir, format=table_format, out=out)
    except AuditkitError as error:
        _fail(error)
    for path in paths:
        click.echo(f"table: {path}")


@main.command("serve-vendor")
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--latency-ms", type=click.FloatRange(0), default=0.0, show_default=True)
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, help="Share answered 503.")
@click.option(
    "--throttle-rate", type=click.FloatRange(0, 1), default=0.0, help="Share answered 429."
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Requests per second admitted; beyond: 429 with Retry-After.",
)
@click.option(
    "--malformed-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share answered with something unusable (not JSON, no items, duplicates, ...).",
)
@click.option("--retry-after", type=click.IntRange(0), default=1, show_default=True)
@click.option(
    "--api-key-env",
    default=None,
    help="Require 'Authorization: Bearer <key>', the key read from this environment variable.",
)
@click.option("--pooling", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--trend-weight", type=click.FloatRange(0), default=0.0, show_default=True)
@click.option("--noise", type=click.FloatRange(0), default=0.3, show_default=True)
@click.option(
    "--calibrated-lift",
    type=click.FloatRange(-1, min_open=True),
    default=None,
    help="Serve lists (1 + this) times as popular as each customer's history (0: a null world "
    "for popularity.lift).",
)
def serve_vendor(
    spec: Path,
    port: int,
    latency_ms: float,
    error_rate: float,
    throttle_rate: float,
    rate_limit: float | None,
    malformed_rate: float,
    retry_after: int,
    api_key_env: str | None,
    pooling: float,
    trend_weight: float,
    noise: float,
    calibrated_lift: float | None,
) -> None:
    """Serve a simulated vendor of SPEC's shops over HTTP on 127.0.0.1 (Ctrl-C stops it)."""
    import dataclasses
    import os

    from auditkit.api import AuditSeeds, load_shops
    from auditkit.spec import load_spec
    from auditkit.world import Faults, SimulatedVendor, serve_forever, vendor_app

    api_key = None
    if api_key_env is not None:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            _fail(AuditkitError(f"--api-key-env: ${{{api_key_env}}} must be set; got None"))
    try:
        faults = Faults(
            latency_ms=latency_ms,
            error_rate=error_rate,
            throttle_rate=throttle_rate,
            rate_limit=rate_limit,
            malformed_rate=malformed_rate,
            retry_after=retry_after,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    try:
        audit = load_spec(spec)  # its shops only: metric ids need no check here
        shops = load_shops(audit)
    except AuditkitError as error:
        _fail(error)
    vendor = SimulatedVendor(
        shops.catalogs,
        seed=AuditSeeds(audit.seed).vendor,
        pooling=pooling,
        trend_weight=trend_weight,
        noise=noise,
        signatures=shops.signatures(),
        calibrated_lift=calibrated_lift,
    )
    click.echo(f"serving {len(shops.catalogs)} shops on http://127.0.0.1:{port}", err=True)
    faults = dataclasses.replace(faults, seed=AuditSeeds(audit.seed).vendor)
    serve_forever(vendor_app(vendor, faults=faults, api_key=api_key), port=port)


@main.command()
@click.argument(
    "run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for comparison.html and comparison.json.",
)
def compare(run_dirs: tuple[Path, ...], out: Path) -> None:
    """Put several runs side by side: vendors on one trial, or one vendor over time.

    Prints each measurement run by run, with its change from the first run.
    """
    from auditkit.reports import COMPARISON_DATA_FILE, comparison_summary, write_comparison

    try:
        path = write_comparison(run_dirs, out)
    except AuditkitError as error:
        _fail(error)
    comparison = json.loads((out / COMPARISON_DATA_FILE).read_text(encoding="utf-8"))
    for line in comparison_summary(comparison):
        click.echo(line)
    click.echo(f"comparison: {path}")


@main.command("bundle")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The archive to write (default: RUN_DIR.bundle.zip beside the run directory).",
)
@click.option(
    "--spec",
    "spec_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The spec file that made the run: needed when its shops' catalog paths are relative.",
)
@click.option(
    "--sign-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Sign bundle.json with this Ed25519 private key (PEM; needs auditkit[sign]).",
)
@click.option(
    "--sign-key-password-env",
    default=None,
    help="The environment variable holding the --sign-key's password, if it is encrypted.",
)
def bundle_command(
    run_dir: Path,
    out: Path | None,
    spec_file: Path | None,
    sign_key: Path | None,
    sign_key_password_env: str | None,
) -> None:
    """Pack RUN_DIR into one archive that a third party can verify without the vendor."""
    import os

    from auditkit.bundle import BUNDLE_MANIFEST, SIGNATURE_FILE, write_bundle

    password = None
    if sign_key_password_env is not None:
        value = os.environ.get(sign_key_password_env)
        if not value:
            _fail(
                AuditkitError(
                    f"--sign-key-password-env: ${{{sign_key_password_env}}} must be set; got None"
                )
            )
        password = str(value).encode()
    try:
        made = write_bundle(run_dir, out, spec=spec_file, sign_key=sign_key, key_password=password)
    except AuditkitError as error:
        _fail(error)
    hashed = [name for name in made.members if name not in (BUNDLE_MANIFEST, SIGNATURE_FILE)]
    click.echo(f"members: {len(hashed)}, hashed in bundle.json (sha256 {made.manifest_sha256})")
    if made.signed_by is not None:
        click.echo(f"signed with key {made.signed_by}")
    click.echo(f"bundle: {made.path}")


@main.command("verify")
@click.argument("bundle_file", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Require bundle.sig to be this Ed25519 public key's signature (PEM; auditkit[sign]).",
)
def verify_command(bundle_file: Path, public_key: Path | None) -> None:
    """Check BUNDLE's hashes and recompute its results from its evidence (no vendor calls).

    Exits 4, naming each member, evidence row and JSON path that differs, on any difference.
    """
    from auditkit.bundle import verify_bundle

    try:
        checked = verify_bundle(bundle_file, public_key=public_key)
    except AuditkitError as error:
        _fail(error)
    for note in checked.notes:
        click.echo(f"note: {note}", err=True)
    if not checked.ok:
        click.echo(f"verification failed: {bundle_file}", err=True)
        for discrepancy in checked.discrepancies:
            click.echo(f"  {discrepancy}", err=True)
        sys.exit(EXIT_UNVERIFIED)
    tables = checked.evidence_tables
    rows = ", ".join(f"{tables[t]} {t}" for t in ("attempts", "events", "meta") if t in tables)
    click.echo(f"members: {len(checked.members)}, each as bundle.json hashes it")
    click.echo(f"evidence: {rows}; every row as evidence.rows.jsonl lists it")
    click.echo(
        f"recomputed from the evidence alone, byte for byte: {', '.join(checked.recomputed)}"
    )
    click.echo(f"signature: {checked.signature}")
    click.echo(f"verified: {bundle_file}")
