"""The standard suites installed with auditkit, their hash, and the regulatory mapping.

A suite is a spec file shipped in this package (`suite_ids`, `suite_text`, `load_suite`)
whose ``suite`` block names its id, version, purpose and the obligations it serves. Its
protected keys (`PROTECTED_KEYS`) hash into `suite_sha256`; a run records `suite_record`.
The mapping (``obligations.yaml``) says which metrics and claims serve which clause;
`assess_obligations` turns a run's verdicts into one finding per obligation and an opinion.
"""

from auditkit.suites._findings import (
    CLEAN_VERDICTS,
    MIN_ANSWER_RATE,
    SMALL_CATEGORY_SHARE,
    assess_obligations,
    impact_ratios,
)
from auditkit.suites._mapping import (
    Framework,
    Mapping,
    Obligation,
    obligation_ids,
    regulatory_mapping,
)
from auditkit.suites._protected import (
    PROTECTED_KEYS,
    metric_thresholds,
    modified_keys,
    protected_form,
    suite_record,
    suite_sha256,
)
from auditkit.suites._shipped import SUITE_FILES, load_suite, suite_ids, suite_path, suite_text

__all__ = [
    "CLEAN_VERDICTS",
    "MIN_ANSWER_RATE",
    "PROTECTED_KEYS",
    "SMALL_CATEGORY_SHARE",
    "SUITE_FILES",
    "Framework",
    "Mapping",
    "Obligation",
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
]
