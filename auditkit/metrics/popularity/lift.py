"""Reliance on popular and trending items.

`popularity_lift` follows the popularity lift of Abdollahpouri et al. (2021), in its group form
ΔGAP: the average popularity of the recommended items against that of the customers' own
histories, as a ratio of means over the probes (and per persona).
The other popularity metrics describe what the vendor exposes (`arp`, `long_tail_share`,
`trend_share`, `gini`, `coverage`) or test whether a trend planted in one shop reaches the
others (`trend_leakage`).
"""

from __future__ import annotations

import math

import numpy as np

from auditkit.metrics._customers import customer_codes
from auditkit.metrics.popularity._catalog import shop_popularity
from auditkit.metrics.popularity._inputs import FAMILY
from auditkit.metrics.popularity._means import REASON_NO_POPULARITY
from auditkit.metrics.stats import check_columns, check_metric_inputs, cluster_bootstrap_ci
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables, distinct

METRIC_ID = "popularity.lift"
UNIT = "customer"
# ΔGAP: 0.25 = recommendations a quarter more popular than the customers' own choices (far
# beyond the built-in null world's ±0.03); 1.0 = twice as popular. See docs/metrics.md.
DEFAULT_THRESHOLD = Threshold(warn=0.25, fail=1.0)

PROBE_COLUMNS: tuple[str, ...] = ("probe_id", "persona_id", "repetition", "answered")
ITEM_COLUMNS: tuple[str, ...] = ("probe_id", "shop_id", "popularity")
CATALOG_COLUMNS: tuple[str, ...] = ("shop_id", "popularity")

REASON_NO_PROBES = (
    "no answered probe has both a history and recommendations with known, positive popularity"
)


def shop_totals(tables: AuditTables) -> np.ndarray:
    """Per shop code, then one NaN for code -1: the shop's total known catalog popularity.

    NaN where the shop's catalog gives no popularity or its total is not positive.
    """
    totals, counted = shop_popularity(tables)
    return np.append(np.where((counted > 0) & (totals > 0), totals, np.nan), np.nan)


def _mean_share(
    tables: AuditTables, table: str, probe: np.ndarray, totals: np.ndarray
) -> np.ndarray:
    """Per probe code: the mean share of its shop's total popularity over the table's rows.

    ``totals`` is indexed by probe code, then -1: the total of the probe's shop (a list or
    history row belongs to its probe's shop), NaN for a probe left out. Items of unknown
    popularity are left out too; NaN for a probe with none left.
    """
    popularity = getattr(tables, table)["popularity"].to_numpy(dtype=np.float64, na_value=np.nan)
    share = popularity / totals[probe]
    unused = ~np.isfinite(share)
    # Rows not used go to one extra bin, dropped: cheaper than compressing every array.
    n = len(totals) - 1
    bins = np.where(unused, n, probe)
    share[unused] = 0.0
    sums = np.bincount(bins, weights=share, minlength=n + 1)[:n]
    counts = np.bincount(bins, minlength=n + 1)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _ratio_lift(rec: np.ndarray, hist: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """Per group code: ``sum(rec) / sum(hist) - 1`` (NaN for a group without a probe)."""
    top = np.bincount(groups, weights=rec, minlength=n)
    bottom = np.bincount(groups, weights=hist, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / bottom - 1.0, np.nan)


def popularity_lift(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Popularity lift of recommendations over the customers' own histories (ΔGAP).

    Per answered first-repetition probe, ``ARP_rec`` is the mean popularity of its recommended
    items and ``ARP_hist`` that of its history items (items of known popularity only), with
    popularity taken as each item's share of its shop's total catalog popularity, so a shop's
    scale does not matter. Over the probes with a history (``ARP_hist > 0``) and
    recommendations of known popularity, the value is the ratio of means

        (mean ARP_rec - mean ARP_hist) / mean ARP_hist,

    the group popularity lift ΔGAP of Abdollahpouri et al. (2021). 0 means recommendations as
    popular as what the customers already chose; 1 twice as popular. Unlike the mean of
    per-probe ratios, it is not swayed by a few niche histories of near-zero popularity, and
    it is 0 for a vendor whose lists are drawn as the histories are.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses``, ``histories`` and ``catalogs``.
    n_resamples, confidence, seed
        The bootstrap over customers.

    Returns
    -------
    Estimate
        ``n`` counts customers (see `customer_codes`): the CI is the cluster bootstrap of the
        ratio of means, customers resampled. ``by_group = {"persona": {persona_id: ΔGAP}}``
        over each persona's probes, so niche customers pushed to the mainstream show up.
        ``details`` counts the probes used and skipped, and gives the mean ``ARP_rec`` and
        ``ARP_hist`` shares and ``mean_probe_lift``, the mean of per-probe ratios
        ``(ARP_rec - ARP_hist) / ARP_hist`` (the paper's per-user form). When no popularity is
        known the value is NaN and ``reason`` (and ``details["reason"]``) says why.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        METRIC_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(METRIC_ID, "tables.probes", tables.probes, PROBE_COLUMNS)
    check_columns(METRIC_ID, "tables.responses", tables.responses, ITEM_COLUMNS)
    check_columns(METRIC_ID, "tables.histories", tables.histories, ITEM_COLUMNS)
    check_columns(METRIC_ID, "tables.catalogs", tables.catalogs, CATALOG_COLUMNS)

    probes = tables.probes
    codes = tables.codes
    answered = probes["answered"].to_numpy(dtype=bool, na_value=False)
    repetition = probes["repetition"].to_numpy(dtype=np.float64, na_value=np.nan)
    keep = answered & (repetition == 0) & (codes.probe >= 0)
    flags = codes.probe_flags(keep)
    totals = shop_totals(tables)
    # Per probe code (then code -1), its shop's total, NaN unless the probe is kept: no string
    # column of the long tables is read.
    probe_total = np.full(len(flags), np.nan)
    probe_total[codes.probe[keep]] = totals[codes.of("probes", "shop_id")[keep]]
    arp_rec = _mean_share(tables, "responses", codes.response_probe, probe_total)
    arp_hist = _mean_share(tables, "histories", codes.history_probe, probe_total)
    rows = np.flatnonzero(keep)
    probe = codes.probe[rows]
    rec, hist = arp_rec[probe], arp_hist[probe]
    usable = np.isfinite(rec) & (hist > 0)
    rows, rec, hist = rows[usable], rec[usable], hist[usable]

    n_probes = len(rows)
    details: dict[str, object] = {"probes": n_probes, "probes_skipped": int(keep.sum()) - n_probes}
    personas = codes.of("probes", "persona_id")[rows]
    names = codes.dictionary("persona_id")
    named = personas >= 0
    by_persona = _ratio_lift(rec[named], hist[named], personas[named], len(names))
    n = 0
    reason = None
    if n_probes == 0:
        reason = REASON_NO_POPULARITY if np.isnan(totals).all() else REASON_NO_PROBES
        value, ci = math.nan, None
        details["reason"] = reason
    else:
        mean_rec, mean_hist = float(rec.mean()), float(hist.mean())
        value = float(rec.sum() / hist.sum() - 1.0)
        customers = customer_codes(tables, rows)
        n = len(distinct(customers))
        low, high = cluster_bootstrap_ci(
            rec,
            customers,
            weights=hist,
            strata=personas,  # each persona has its number of customers by design
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        ci = (low - 1.0, high - 1.0)
        details.update(
            mean_arp_rec=mean_rec,
            mean_arp_hist=mean_hist,
            # The per-probe form: dominated by the few histories of near-zero popularity.
            mean_probe_lift=float(((rec - hist) / hist).mean()),
        )
    return Estimate(
        id=METRIC_ID,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit=UNIT,
        by_group={
            "persona": {
                str(names[code]): float(by_persona[code])
                for code in np.unique(personas[named]).tolist()
            }
        },
        details=details,
        reason=reason,
    )
