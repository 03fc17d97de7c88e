"""The public surface of the top-level package and of each stage, pinned."""

import importlib

import pytest

import auditkit

SURFACES = {
    "auditkit": [
        "AuditResult",
        "AuditSpec",
        "AuditTables",
        "AuditkitError",
        "CatalogError",
        "ClusterError",
        "DataQuality",
        "EvidenceError",
        "MetricResult",
        "RecommendRequest",
        "RecommendResponse",
        "ResultsError",
        "SpecError",
        "SpecIssue",
        "Threshold",
        "Vendor",
        "VendorError",
        "__version__",
        "build_tables",
        "compute_metrics",
        "evaluate",
        "load_run",
        "load_spec",
        "read_spec",
        "run_audit",
        "spec_json_schema",
    ],
    "auditkit.bundle": [
        "BUNDLE_MANIFEST",
        "BUNDLE_SCHEMA",
        "BUNDLE_SUFFIX",
        "Bundle",
        "BundleError",
        "Discrepancy",
        "EVIDENCE_ROWS",
        "SIGNATURE_FILE",
        "Verification",
        "default_bundle_path",
        "verify_bundle",
        "write_bundle",
    ],
    "auditkit.reports": [
        "COMPARISON_DATA_FILE",
        "COMPARISON_FILE",
        "COMPARISON_SCHEMA",
        "EXPORT_FORMATS",
        "MANIFEST_FILE",
        "MARKDOWN_OPINION_FILE",
        "MARKDOWN_REPORT_FILE",
        "OPINION_FILE",
        "REPORT_FILE",
        "RESULTS_FILE",
        "RESULTS_SCHEMA",
        "build_opinion",
        "build_report",
        "compare_runs",
        "comparison_summary",
        "dumps_results",
        "escape_markdown",
        "export_tables",
        "load_run",
        "read_results",
        "render_html",
        "render_markdown",
        "render_opinion_html",
        "render_opinion_markdown",
        "report_files",
        "result_from_document",
        "results_document",
        "results_json_schema",
        "scorecard_html",
        "terminal_lines",
        "write_comparison",
        "write_report",
        "write_results",
    ],
    "auditkit.suites": [
        "CLEAN_VERDICTS",
        "Framework",
        "MIN_ANSWER_RATE",
        "Mapping",
        "Obligation",
        "PROTECTED_KEYS",
        "SMALL_CATEGORY_SHARE",
        "SUITE_FILES",
        "assess_obligations",
        "impact_ratios",
        "load_suite",
        "metric_thresholds",
        "modified_keys",
        "obligation_ids",
        "protected_form",
        "regulatory_mapping",
        "suite_ids",
        "suite_path",
        "suite_record",
        "suite_sha256",
        "suite_text",
    ],
}


@pytest.mark.parametrize("module_name", sorted(SURFACES))
def test_public_surface_is_pinned(module_name):
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == SURFACES[module_name]
    for name in module.__all__:
        assert hasattr(module, name), name


def test_version_matches_the_installed_distribution():
    from importlib.metadata import version

    assert auditkit.__version__ == version("auditkit")
