"""The synthetic customer behind each probe: the one independent unit every interval resamples.

One customer's probes are not independent: it is carried into every shop (its match groups,
one per context), asked again (repeats) and twinned (counterfactual pairs), always with the same
history. The plan names the customer (column ``customer``); probes without it (tables built
by hand, or a plan written before the column existed) are linked instead, by ``match_id`` and
``pair_id``, and a customer is a connected component of those links (a customer's twins are
then apart from its own probe: only the plan knows they are one customer).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from auditkit.tables import AuditTables, run_starts

CUSTOMER = "customer"


def customer_codes(tables: AuditTables, rows: np.ndarray) -> np.ndarray:
    """Per row of ``tables.probes`` in ``rows``: its customer, as codes ``0 .. C - 1``.

    Named customers are coded in sorted order of their names; the rest follow, by the link
    components of those rows alone (see the module). Codes depend on the probes, never on the
    order of the table's rows.
    """
    rows = np.asarray(rows, dtype=np.int64)
    named = np.full(rows.size, -1, dtype=np.int64)
    if CUSTOMER in tables.probes.columns:
        named = tables.codes.of("probes", CUSTOMER)[rows].astype(np.int64)
    unnamed = np.flatnonzero(named < 0)
    if unnamed.size:
        named[unnamed] = named.max(initial=-1) + 1 + _linked(tables, rows[unnamed])
    return np.unique(named, return_inverse=True)[1].astype(np.int64)


def probe_customers(tables: AuditTables, probe_codes: np.ndarray) -> np.ndarray:
    """`customer_codes` of the probes with these `TableCodes` probe codes (all ``>= 0``)."""
    codes = tables.codes
    row_of = np.full(len(codes.probe_ids), -1, dtype=np.int64)
    known = codes.probe >= 0
    row_of[codes.probe[known]] = np.flatnonzero(known)
    return customer_codes(tables, row_of[probe_codes])


def _linked(tables: AuditTables, rows: np.ndarray) -> np.ndarray:
    """Component codes of ``rows`` linked by match group or pair group.

    Codes are numbered by each component's smallest probe id, so they do not follow row order.
    """
    n = rows.size
    codes = tables.codes
    groups = [
        codes.of("probes", column)[rows].astype(np.int64)
        for column in ("match_id", "pair_id")
        if column in tables.probes.columns
    ]
    sources, targets = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for group in groups:
        member = np.flatnonzero(group >= 0)
        order = member[np.argsort(group[member], kind="stable")]
        starts = run_starts(group[order])
        first = np.repeat(order[starts], np.diff(np.r_[starts, order.size]))
        sources.append(order)
        targets.append(first)
    source, target = np.concatenate(sources), np.concatenate(targets)
    graph = coo_matrix((np.ones(source.size), (source, target)), shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    # Number components by their smallest probe id (row order plays no part).
    probe = codes.probe[rows].astype(np.int64)
    smallest = np.full(labels.max(initial=-1) + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, labels, np.where(probe >= 0, probe, np.iinfo(np.int64).max))
    return np.unique(smallest, return_inverse=True)[1][labels]
