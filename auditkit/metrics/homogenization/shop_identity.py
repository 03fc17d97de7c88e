"""Homogenization inside each shop: customers shown alike, and the shop's signature pushed out.

`within_shop_jaccard` measures how alike different customers' lists are at one shop from item
exposure counts alone (``O(N·k)``, never an N × N matrix); `signature_retention` compares the
exposure of a shop's signature items with their share of its catalog.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from auditkit.metrics._customers import probe_customers
from auditkit.metrics._item_counts import (
    JackknifeDesign,
    LeftOutCounts,
    customer_incidence,
    jackknife_design,
    jackknife_interval,
    weighted_cells,
)
from auditkit.metrics._matched import answered_mask, by_label
from auditkit.metrics._overlap import code_counts, code_sums
from auditkit.metrics._shown import probe_means, shown_items
from auditkit.metrics.stats import (
    check_columns,
    check_metric_inputs,
    cluster_bootstrap_ci,
)
from auditkit.results import Estimate, Threshold
from auditkit.tables import AuditTables, distinct, run_starts

FAMILY = "homogenization"

WITHIN_ID = "homogenization.within_shop_jaccard"
# 0.35: about half of two customers' lists in common; 0.5: two thirds. The interval
# resamples customers. See docs/metrics.md.
WITHIN_THRESHOLD = Threshold(warn=0.35, fail=0.5)
WITHIN_PROBE_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "pair_id",
    "repetition",
    "answered",
)
WITHIN_REASON = "no shop has two or more answered customers"

SIGNATURE_ID = "homogenization.signature_retention"
# Lower is worse: below 0.8 a shop's signature gets a fifth less exposure than its catalog
# share; below 0.5, half. See docs/metrics.md.
SIGNATURE_THRESHOLD = Threshold(warn=0.8, fail=0.5, direction="lower_is_worse")
SIGNATURE_PROBE_COLUMNS: tuple[str, ...] = ("probe_id", "shop_id", "repetition", "answered")
SIGNATURE_RESPONSE_COLUMNS: tuple[str, ...] = ("probe_id", "shop_id", "catalog_row")
SIGNATURE_CATALOG_COLUMNS: tuple[str, ...] = ("shop_id", "signature")
SIGNATURE_REASON_NONE = "no shop declares a signature that its catalog contains"
SIGNATURE_REASON_PROBES = "no answered probe at a shop with a signature recommended a known item"


def shop_pooled_jaccard(
    shop: np.ndarray, item: np.ndarray, probe: np.ndarray, lists: np.ndarray
) -> np.ndarray:
    """Per shop: pooled Jaccard ``E|A ∩ B| / E|A ∪ B|`` over its pairs of lists.

    Entry ``e`` says list ``probe[e]`` (a probe code, of shop ``shop[e]``) shows item code
    ``item[e]``; an item twice in one list counts once. ``lists[s]`` counts shop ``s``'s lists
    (those without entries too). An item shown in ``c`` of a shop's ``n`` lists is shared by
    ``c(c-1)/2`` of its pairs, so the summed intersection needs only exposure counts, and the
    summed union is ``(n - 1) Σ|A| - Σ|A ∩ B|``.
    """
    n_items = int(item.max(initial=0)) + 1
    cell, _ = _distinct_entries(shop, item, probe)
    return _pooled_jaccard(cell, n_items, lists)


def _distinct_entries(
    shop: np.ndarray, item: np.ndarray, probe: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (shop, item, list) entries, sorted: cell ``shop * n_items + item``, list.

    One sort of packed keys where they fit 63 bits, else a sort of the columns.
    """
    n_items = int(item.max(initial=0)) + 1
    n_probes = int(probe.max(initial=0)) + 1
    n_shops = int(shop.max(initial=0)) + 1
    if n_shops * n_items * n_probes < np.iinfo(np.int64).max:
        # In place: at 20M entries each temporary would be 160 MB of fresh memory.
        key = shop.astype(np.int64)
        key *= n_items
        key += item
        key *= n_probes
        key += probe
        key.sort()
        key = key[run_starts(key)]
        return key // n_probes, key % n_probes
    order = np.lexsort((probe, item, shop))
    shop, item, probe = shop[order], item[order], probe[order]
    same_cell = (shop[1:] == shop[:-1]) & (item[1:] == item[:-1])
    first = np.ones(shop.size, dtype=bool)
    first[1:] = ~(same_cell & (probe[1:] == probe[:-1]))
    return shop[first].astype(np.int64) * n_items + item[first], probe[first].astype(np.int64)


def _pooled_jaccard(cell: np.ndarray, n_items: int, lists: np.ndarray) -> np.ndarray:
    """`shop_pooled_jaccard` from the sorted distinct entries' cells (`_distinct_entries`)."""
    n_shops = lists.size
    starts = run_starts(cell)
    exposure = np.diff(np.append(starts, cell.size)).astype(np.float64)
    cell_shop = cell[starts] // n_items
    shared = np.bincount(cell_shop, weights=exposure * (exposure - 1) / 2, minlength=n_shops)
    entries = np.bincount(cell_shop, weights=exposure, minlength=n_shops)
    union = (lists - 1) * entries - shared
    value = np.full(n_shops, np.nan)
    np.divide(shared, union, out=value, where=(lists >= 2) & (union > 0))
    return value


def within_shop_jaccard(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """How alike different customers' lists are at one shop, averaged over shops.

    At each shop, over every pair of the lists of different customers (answered probes with
    ``repetition == 0`` that are not counterfactual twins), the pooled Jaccard similarity
    ``Σ|A ∩ B| / Σ|A ∪ B|`` (the Jaccard of the average pair) follows from how many lists show
    each item. The value is the mean over shops with two or more lists. Higher means the vendor
    shows everyone at a shop the same products.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes`` and ``responses``.
    n_resamples, confidence, seed
        The interval: a jackknife over customers (`_CustomerLists`; ``n_resamples`` is not
        used).

    Returns
    -------
    Estimate
        ``by_group = {"shop": {shop_id: pooled Jaccard}}``; ``details`` has ``shops`` and
        ``lists`` (the lists of the shops counted).

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        WITHIN_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(WITHIN_ID, "tables.probes", tables.probes, WITHIN_PROBE_COLUMNS)
    check_columns(
        WITHIN_ID, "tables.responses", tables.responses, ("probe_id", "rank", "item_key")
    )

    probes = tables.probes
    keep = (
        answered_mask(probes)
        & (probes["repetition"] == 0).to_numpy(dtype=bool)
        & probes["pair_id"].isna().to_numpy(dtype=bool)
    )
    codes = tables.codes
    selected = codes.probe_flags(keep)
    shop_of = codes.per_probe("shop_id")
    shop_names = codes.dictionary("shop_id")
    listed = shop_of[:-1][selected[:-1]]
    lists = np.bincount(listed[listed >= 0], minlength=len(shop_names))
    rows = codes.response_rows(selected)
    rank = tables.responses["rank"]
    if rank.hasnans:
        rows &= rank.notna().to_numpy(dtype=bool)
    probe = codes.response_probe[rows]
    item = codes.of("responses", "item_key")[rows]
    shop = shop_of[probe]
    known = (item >= 0) & (shop >= 0)
    if not known.all():
        probe, item, shop = probe[known], item[known], shop[known]
    n_items = int(item.max(initial=0)) + 1
    cell, entry_probe = _distinct_entries(shop, item, probe)
    per_shop = _pooled_jaccard(cell, n_items, lists.astype(np.float64))
    present = np.isfinite(per_shop)
    values = per_shop[present]
    details: dict[str, object] = {"shops": len(values), "lists": int(lists[present].sum())}
    reason = None
    n = 0
    if len(values) == 0:
        value, ci = math.nan, None
        reason = details["reason"] = WITHIN_REASON
    else:
        value = float(values.mean())
        listed_probes = np.flatnonzero(selected[:-1])
        listed_probes = listed_probes[shop_of[listed_probes] >= 0]
        listed_customers = probe_customers(tables, listed_probes)
        customer_lists = _CustomerLists(
            cell, entry_probe, n_items, listed_probes, shop_of, listed_customers
        )
        strata = np.zeros(int(listed_customers.max(initial=-1)) + 1, dtype=np.int64)
        strata[listed_customers] = codes.per_probe("persona_id")[listed_probes]
        n = strata.size
        design = jackknife_design(strata, seed)
        found = (math.nan, math.nan)
        if design is not None:
            replicates = customer_lists.left_out(design)[present].mean(axis=0)
            found = jackknife_interval(replicates, design, value, confidence=confidence)
        ci = None if math.isnan(found[0]) else found
    return Estimate(
        id=WITHIN_ID,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit="customer",
        by_group={
            "shop": {str(s): float(v) for s, v in zip(shop_names[present], values, strict=True)}
        },
        details=details,
        reason=reason,
    )


class _CustomerLists:
    """The within-shop pooled Jaccard of the customers' lists, under customer weights.

    For the jackknife over customers: ``jaccard(weights)`` weights each pair of lists of two
    customers ``u != v`` by ``w_u w_v`` and each pair of two lists of one customer by
    ``w_u``, so that with every weight 1 it is `shop_pooled_jaccard`, with 0 a customer is
    left out, and with ``n_h / (n_h - 1)`` the others of its persona stand in for it. From
    per-customer item counts ``x_ui`` (lists of ``u`` showing item ``i``), ``c_i = Σ_u w_u
    x_ui``, ``Q_u = Σ_i x_ui²``, ``a_u = Σ_i x_ui`` (entries) and ``m_u`` (lists), per shop::

        shared = (Σ_i c_i² - Σ_u w_u² Q_u) / 2 + Σ_u w_u (Q_u - a_u) / 2
        union  = (Σ_u w_u m_u)(Σ_u w_u a_u) - Σ_u w_u² m_u a_u + Σ_u w_u (m_u - 1) a_u - shared

    `jaccard` takes any weights; `left_out` the jackknife's, from per-group sums.
    """

    def __init__(
        self,
        entry_cell: np.ndarray,
        entry_probe: np.ndarray,
        n_items: int,
        listed_probes: np.ndarray,
        shop_of: np.ndarray,
        customer_of_listed: np.ndarray,
    ) -> None:
        """From the distinct entries, sorted by cell (`_distinct_entries`), and the lists."""
        top = max(int(entry_probe.max(initial=0)), int(listed_probes.max(initial=0)))
        customer_of = np.zeros(top + 1, dtype=np.int64)
        customer_of[listed_probes] = customer_of_listed
        customers = int(customer_of_listed.max(initial=-1)) + 1
        self.n_shops = int(shop_of.max(initial=-1)) + 1
        starts = run_starts(entry_cell)
        first = np.zeros(entry_cell.size, dtype=np.int64)
        first[starts] = 1
        cell = np.cumsum(first) - 1  # each entry's cell, numbered in sorted order
        self.cells = int(starts.size)
        self.cell_shop = entry_cell[starts] // n_items
        entry_shop = self.cell_shop[cell]
        customer = customer_of[entry_probe]
        self.incidence = customer_incidence(cell, customer, self.cells, customers)
        per_cell = self.incidence.tocoo()  # x_ui, by (cell, customer)
        shape = (self.n_shops, customers)

        def per_shop_customer(
            shop: np.ndarray, who: np.ndarray, weights: np.ndarray | None = None
        ) -> np.ndarray:
            """Sums per (shop, customer): one bincount (integers, so exact in any order)."""
            flat = shop.astype(np.int64) * customers + who
            size = self.n_shops * customers
            return np.bincount(flat, weights=weights, minlength=size).reshape(shape) + 0.0

        self.entries = per_shop_customer(entry_shop, customer)  # a_u per shop
        self.squares = per_shop_customer(  # Q_u per shop
            self.cell_shop[per_cell.row], per_cell.col, per_cell.data**2
        )
        # m_u per shop (lists without entries too)
        self.lists = per_shop_customer(shop_of[listed_probes], customer_of_listed)

    def jaccard(self, weights: np.ndarray) -> np.ndarray:
        """Per shop and replicate (shops x replicates), from weights per customer."""
        squared = (weights**2).T
        c = weighted_cells(self.incidence, weights)
        summed = np.zeros((self.n_shops, weights.shape[0]))
        np.add.at(summed, self.cell_shop, c**2)
        within = (self.squares - self.entries) @ weights.T / 2.0
        shared = (summed - self.squares @ squared) / 2.0 + within
        lists = self.lists @ weights.T
        spread = self.lists * self.entries
        union = (
            lists * (self.entries @ weights.T)
            - spread @ squared
            + (spread - self.entries) @ weights.T
            - shared
        )
        kept = self.lists @ (weights > 0).T  # lists of the customers kept
        out = np.full(shared.shape, np.nan)
        np.divide(shared, union, out=out, where=(kept >= 2) & (union > 0))
        return out

    def left_out(self, design: JackknifeDesign) -> np.ndarray:
        """`jaccard` under every replicate's weights of ``design`` (shops x replicates).

        Weights are 1, ``s`` (the left-out group's stratum) and 0 (the group), so each
        customer sum ``X w`` is ``X_all + (s - 1) X_h - s X_g`` from per-group sums, and
        ``Σ_i c_i²`` with ``c = b - s C_g``, ``b = T + (s - 1) C_h``, is
        ``Σ b² - 2 s Σ_g b C_g + s² Σ_g C_g²``: the shop's cells are summed once per stratum
        and each replicate adds the cells its group shows.
        """
        members = design.group_members()
        n_groups = design.group_stratum.size
        to_stratum = np.zeros((n_groups, int(design.group_stratum.max()) + 1))
        to_stratum[np.arange(n_groups), design.group_stratum] = 1.0
        scale = design.scale
        h = design.group_stratum

        def sums(x: np.ndarray, power: int) -> np.ndarray:
            """``x @ w**power`` of every replicate (shops x replicates)."""
            by_group = np.asarray(members.T @ x.T).T  # (shops x groups)
            by_stratum = (by_group @ to_stratum)[:, h]
            step = scale**power
            return x.sum(axis=1)[:, None] + (step - 1) * by_stratum - step * by_group

        counts = LeftOutCounts.count(self.incidence, design)
        total = np.asarray(self.incidence.sum(axis=1)).ravel()
        shop = self.cell_shop
        summed = np.empty((self.n_shops, n_groups))
        for stratum in range(counts.by_stratum.shape[1]):
            c_h = counts.by_stratum[:, stratum].astype(np.float64)
            moments = [
                np.bincount(shop, weights=w, minlength=self.n_shops)
                for w in (total**2, total * c_h, c_h**2)
            ]
            for group in np.flatnonzero(h == stratum):
                s = scale[group]
                cells, shown = counts.cells(int(group))
                b = total[cells] + (s - 1) * c_h[cells]
                g = shown.astype(np.float64)
                summed[:, group] = (
                    moments[0]
                    + 2 * (s - 1) * moments[1]
                    + (s - 1) ** 2 * moments[2]
                    - 2 * s * np.bincount(shop[cells], weights=b * g, minlength=self.n_shops)
                    + s**2 * np.bincount(shop[cells], weights=g**2, minlength=self.n_shops)
                )
        spread = self.lists * self.entries
        shared = (summed - sums(self.squares, 2)) / 2.0 + sums(
            self.squares - self.entries, 1
        ) / 2.0
        union = (
            sums(self.lists, 1) * sums(self.entries, 1)
            - sums(spread, 2)
            + sums(spread - self.entries, 1)
            - shared
        )
        kept = self.lists.sum(axis=1)[:, None] - np.asarray(members.T @ self.lists.T).T
        out = np.full(shared.shape, np.nan)
        np.divide(shared, union, out=out, where=(kept >= 2) & (union > 0))
        return out


def signature_retention(
    tables: AuditTables,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Exposure of each shop's signature products relative to their share of its catalog.

    Per answered first-repetition probe at a shop whose catalog has signature items (the
    ``signature`` column of ``catalogs``: items, or items of categories, the shop declared),
    ``e_p`` is the share of its recommended catalog items that are signature items and ``c_p``
    the signature share of the shop's catalog. The value is ``Σ e_p / Σ c_p``: 1 when
    signatures get exactly their catalog share, below 1 when they are pushed out.

    Parameters
    ----------
    tables : AuditTables
        Reads ``probes``, ``responses`` and ``catalogs`` (with ``signature``).
    n_resamples, confidence, seed
        The bootstrap over probes (the ratio of sums resampled jointly).

    Returns
    -------
    Estimate
        ``by_group = {"shop": {shop_id: its retention}}``; ``details`` has ``probes``,
        ``shops``, and per shop ``catalog_share``.

    Raises
    ------
    ValueError
        When an option is invalid or a table lacks a column (message `INVALID_ARGUMENT`).
    """
    check_metric_inputs(
        SIGNATURE_ID, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    check_columns(SIGNATURE_ID, "tables.probes", tables.probes, SIGNATURE_PROBE_COLUMNS)
    check_columns(SIGNATURE_ID, "tables.responses", tables.responses, SIGNATURE_RESPONSE_COLUMNS)
    check_columns(SIGNATURE_ID, "tables.catalogs", tables.catalogs, SIGNATURE_CATALOG_COLUMNS)

    codes = tables.codes
    shop_names = codes.dictionary("shop_id")
    n_shops = len(shop_names)
    catalog_shop = codes.of("catalogs", "shop_id")
    signature = tables.catalogs["signature"].to_numpy(dtype=bool)
    items = code_counts(catalog_shop, n_shops)
    marked = code_sums(catalog_shop, signature, n_shops)
    with_signature = marked > 0
    share = np.zeros(n_shops)
    np.divide(marked, items, out=share, where=with_signature)
    shown = shown_items(tables)
    # e_p: the share of a probe's shown catalog items whose catalog row is a signature row.
    listed_probes, e = probe_means(shown, signature[shown.catalog_row])
    shop = codes.per_probe("shop_id")[listed_probes]
    at_signature_shop = np.append(with_signature, False)[shop]
    listed_probes, e, shop = (
        listed_probes[at_signature_shop],
        e[at_signature_shop],
        shop[at_signature_shop],
    )
    c = share[shop]
    n = len(listed_probes)
    per_shop_e = np.bincount(shop, weights=e, minlength=n_shops)
    per_shop_c = np.bincount(shop, weights=c, minlength=n_shops)
    present = np.flatnonzero(np.bincount(shop, minlength=n_shops))
    retention = per_shop_e[present] / per_shop_c[present]
    details: dict[str, object] = {
        "probes": n,
        "shops": len(present),
        "catalog_share": {
            str(shop_names[i]): float(share[i]) for i in np.flatnonzero(with_signature)
        },
    }
    reason = None
    if n == 0:
        reason = SIGNATURE_REASON_PROBES if with_signature.any() else SIGNATURE_REASON_NONE
        value, ci = math.nan, None
        details["reason"] = reason
    else:
        value = float(e.sum() / c.sum())
        customers = probe_customers(tables, listed_probes)
        ci = cluster_bootstrap_ci(
            e,
            customers,
            weights=c,
            strata=codes.per_probe("persona_id")[listed_probes],
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        n = len(distinct(customers))
    return Estimate(
        id=SIGNATURE_ID,
        family=FAMILY,
        value=value,
        ci=ci,
        n=n,
        unit="customer",
        by_group={"shop": by_label(pd.Series(shop_names[present], dtype="string"), retention)},
        details=details,
        reason=reason,
    )
