"""Segment bias: one segment attribute alone changing what a customer is shown.

`counterfactual_divergence` compares counterfactual twins (probes sharing a ``pair_id``,
identical but for ``pair_attribute``) against the vendor's own randomness, measured on
identical repeats (the same probe sent again with a new customer id).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from auditkit.metrics._lists import (
    answered_probes,
    group_means,
    item_sets,
    pairwise_jaccard,
    probe_pairs,
)
from auditkit.metrics.segments.outcomes import PROBE_COLUMNS
from auditkit.metrics.stats import (
    bootstrap_ci,
    bootstrap_diff_ci,
    check_columns,
    check_metric_inputs,
    mann_whitney_p,
)
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables

METRIC_ID = "segment.counterfactual_divergence"
FAMILY = "segment"
UNIT = "pair group"
# At a noise divergence near 0.4 (about 7.6 of 10 items in common), an excess of 0.1 is about
# one more item in ten changed by the attribute alone, 0.25 about two and a half. See
# docs/metrics.md.
DEFAULT_THRESHOLD = Threshold(warn=0.1, fail=0.25)

RESPONSE_COLUMNS: tuple[str, ...] = ("probe_id", "item_key")
NOISE_UNAVAILABLE = "unavailable"

REASON_NONE = "no pair group has two or more answered probes with a recommendation"


def _pair_divergence(probes: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Per pair group: ``pair_id, pair_attribute, divergence`` (mean 1 - Jaccard)."""
    paired = probes[probes["pair_id"].notna().to_numpy(dtype=bool)]
    pairs = probe_pairs(paired, ["pair_id"])
    means = group_means(pairs["group"].to_numpy(), 1.0 - pairwise_jaccard(items, pairs))
    keys = (
        paired.groupby("pair_id", sort=True)
        .agg(pair_attribute=("pair_attribute", "first"))
        .reset_index()
    )
    return keys.iloc[means.index.to_numpy()].assign(divergence=means.to_numpy())


def _noise_divergence(
    probes: pd.DataFrame, items: pd.DataFrame, segment_columns: list[str]
) -> np.ndarray:
    """Per repeat group (identical probes, different repetitions): mean 1 - Jaccard."""
    keys = ["match_id", "shop_id", "persona_id", *segment_columns]
    pairs = probe_pairs(probes, keys, differ="repetition")
    means = group_means(pairs["group"].to_numpy(), 1.0 - pairwise_jaccard(items, pairs))
    return means.to_numpy(dtype=np.float64)


def counterfactual_divergence(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Divergence of counterfactual twins' lists beyond the vendor's own randomness.

    Per pair group (probes sharing ``pair_id``, identical but for ``pair_attribute``), the
    pair divergence is the mean over its probe pairs of ``1 - Jaccard`` of their ``item_key``
    sets. Per repeat group (probes sharing ``match_id``, ``shop_id``, ``persona_id`` and every
    segment column, with different ``repetition``), the noise divergence is the same mean.
    The value is mean pair divergence minus mean noise divergence: 0 means the attribute
    changes nothing beyond the vendor's randomness. Without repeats the noise term is 0.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes`` and ``responses``.
    n_resamples, confidence, seed
        The bootstrap over pair groups and repeat groups.

    Returns
    -------
    Estimate
        The CI bootstraps pair groups and repeat groups independently; the p-value is the
        one-sided Mann–Whitney U test of pair-group against repeat-group divergences (None
        without repeats). ``by_group = {"attribute": {attribute: excess divergence}}``;
        ``details`` gives both means, the group counts and ``noise_ceiling``.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        METRIC_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(METRIC_ID, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(METRIC_ID, "tables.responses", tables.responses, RESPONSE_COLUMNS)

    probes = answered_probes(tables.probes)
    items = item_sets(tables.responses, probes["probe_id"])
    per_pair = _pair_divergence(probes, items)
    noise = _noise_divergence(probes, items, tables.segment_columns)

    divergence = per_pair["divergence"].to_numpy(dtype=np.float64)
    n = len(divergence)
    noise_mean = float(noise.mean()) if noise.size else 0.0
    details: dict[str, object] = {
        "pair_groups": n,
        "repeat_groups": int(noise.size),
        "noise_ceiling": noise_mean if noise.size else NOISE_UNAVAILABLE,
    }
    attributes = " or ".join(sorted({str(a) for a in per_pair["pair_attribute"].dropna()}))
    p_value: float | None = None
    reason = None
    words: dict[str, object] = {"attributes": attributes or "segment"}
    if n == 0:
        value, ci = math.nan, None
        reason = details["reason"] = REASON_NONE
    else:
        pair_mean = float(divergence.mean())
        value = pair_mean - noise_mean
        details["pair_divergence"] = pair_mean
        words.update(pair=pair_mean, noise=noise_mean if noise.size else None)
        if noise.size:
            ci = bootstrap_diff_ci(
                divergence, noise, n_resamples=n_resamples, confidence=confidence, seed=seed
            )
            p_value = mann_whitney_p(divergence, noise, alternative="greater")
        else:
            ci = bootstrap_ci(
                divergence, n_resamples=n_resamples, confidence=confidence, seed=seed
            )
    by_attribute = per_pair.groupby("pair_attribute", sort=True)["divergence"].mean() - noise_mean
    return Estimate(
        id=METRIC_ID,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit=UNIT,
        p_value=p_value,
        by_group={"attribute": {str(k): float(v) for k, v in by_attribute.items()}},
        details=details,
        words=words,
        reason=reason,
    )
