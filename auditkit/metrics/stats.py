"""The inference core of auditkit: bootstrap intervals, hypothesis tests and FDR control.

Every metric reports a bootstrap interval over its independent unit (probe, pair group, match
group or customer), drawn by the one engine in ``_bootstrap``: bootstrap-t for a mean or ratio
of sums, the expanded percentile interval for other statistics; every hypothesis
test (``_significance``) reports a p-value that the audit adjusts with Benjamini–Hochberg.
All are pure functions over arrays with keyword-only options, seeded through
``np.random.SeedSequence(seed)``; the argument checks they and the metrics share
(``_arguments``) raise the one message template `INVALID_ARGUMENT`.
"""

from auditkit.errors import INVALID_ARGUMENT
from auditkit.metrics._arguments import (
    ALTERNATIVES,
    RULE_ALTERNATIVE,
    RULE_CLUSTERS,
    RULE_COLUMNS,
    RULE_CONFIDENCE,
    RULE_FINITE_1D,
    RULE_FINITE_2D,
    RULE_P_VALUES,
    RULE_POSITIVE_INT,
    RULE_SEED,
    RULE_STRATA,
    RULE_TABLES,
    RULE_THRESHOLD,
    RULE_WEIGHTS,
    check_columns,
    check_inference_options,
    check_metric_inputs,
)
from auditkit.metrics._bootstrap import (
    MAX_RESAMPLED_UNITS,
    MIN_GROUPS_PER_STRATUM,
    bootstrap_ci,
    bootstrap_diff_ci,
    bootstrap_means,
    bootstrap_product_ci,
    cluster_bootstrap_ci,
    cluster_bootstrap_means,
    draw_indices,
    expanded_confidence,
    percentile_interval,
    stable_order,
    strata_level,
)
from auditkit.metrics._significance import (
    benjamini_hochberg,
    level_permutation_p,
    mann_whitney_p,
    permutation_diff_p,
    sign_flip_p,
)

__all__ = [
    "ALTERNATIVES",
    "INVALID_ARGUMENT",
    "MAX_RESAMPLED_UNITS",
    "MIN_GROUPS_PER_STRATUM",
    "RULE_ALTERNATIVE",
    "RULE_CLUSTERS",
    "RULE_COLUMNS",
    "RULE_CONFIDENCE",
    "RULE_FINITE_1D",
    "RULE_FINITE_2D",
    "RULE_POSITIVE_INT",
    "RULE_P_VALUES",
    "RULE_SEED",
    "RULE_STRATA",
    "RULE_TABLES",
    "RULE_THRESHOLD",
    "RULE_WEIGHTS",
    "benjamini_hochberg",
    "bootstrap_ci",
    "bootstrap_diff_ci",
    "bootstrap_means",
    "bootstrap_product_ci",
    "check_columns",
    "check_inference_options",
    "check_metric_inputs",
    "cluster_bootstrap_ci",
    "cluster_bootstrap_means",
    "draw_indices",
    "expanded_confidence",
    "level_permutation_p",
    "mann_whitney_p",
    "percentile_interval",
    "permutation_diff_p",
    "sign_flip_p",
    "stable_order",
    "strata_level",
]
