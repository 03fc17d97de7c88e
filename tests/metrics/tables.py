"""Small `AuditTables` built by hand for the metric tests.

The tables go through the real `auditkit.tables.build_tables`, so their columns are exactly the
ones an audit produces; only the probe plan, the answers and the catalogs are written by hand.

Catalog items are named by their product (``"P1"``), with ``canonical_id`` set to the same
name, so the same name means the same product at every shop (``item_key == "P1"``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from auditkit.catalogs import validate_catalog
from auditkit.tables import SEGMENT_PREFIX, AuditTables, build_tables

PLAN_DEFAULTS: dict[str, Any] = {
    "persona_id": "persona",
    "pair_id": None,
    "pair_attribute": None,
    "repetition": 0,
    "k": 10,
    "history": (),
}
STRING_COLUMNS = (
    "probe_id",
    "shop_id",
    "persona_id",
    "customer_id",
    "match_id",
    "pair_id",
    "pair_attribute",
)


def catalog(
    items: Mapping[str, float | None] | Sequence[str],
    *,
    shared: bool = True,
    categories: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A validated catalog: items (name → popularity, or names with popularity 1), each in
    category ``"c"`` unless ``categories`` (name → category) says otherwise."""
    popularity = dict(items) if isinstance(items, Mapping) else dict.fromkeys(items, 1.0)
    names = list(popularity)
    categories = categories or {}
    return validate_catalog(
        pd.DataFrame(
            {
                "item_id": names,
                "category": [categories.get(name, "c") for name in names],
                "canonical_id": names if shared else [None] * len(names),
                "popularity": [np.nan if v is None else v for v in popularity.values()],
            }
        ),
        source="test",
    )


def plan(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A probe plan from partial rows: ``probe_id`` and ``shop_id`` are required; ``match_id``
    defaults to the probe id, segment columns (``"segment.<name>"``) are passed through."""
    filled = []
    for row in rows:
        full = {**PLAN_DEFAULTS, "match_id": row["probe_id"], **row}
        full.setdefault("customer_id", f"c-{full['match_id']}-{full['repetition']}")
        full["history"] = list(full["history"])
        filled.append(full)
    frame = pd.DataFrame(filled)
    named = [c for c in ("customer",) if c in frame.columns]
    for column in (
        *STRING_COLUMNS,
        *named,
        *(c for c in frame.columns if c.startswith(SEGMENT_PREFIX)),
    ):
        frame[column] = frame[column].astype("string")
    frame["repetition"] = frame["repetition"].astype("int64")
    frame["k"] = frame["k"].astype("int64")
    return frame


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What `build_tables` takes: the probe plan, the answers and the catalogs."""

    probes: pd.DataFrame
    answers: dict[str, list[str]]
    catalogs: dict[str, pd.DataFrame]
    signatures: dict[str, tuple[str, ...]] | None = None

    def tables(self) -> AuditTables:
        """The `AuditTables` an audit would build from these inputs."""
        answers = pd.DataFrame(
            {"probe_id": list(self.answers), "items": [list(v) for v in self.answers.values()]}
        )
        if answers.empty:
            answers = pd.DataFrame(
                {"probe_id": pd.Series(dtype="string"), "items": pd.Series(dtype=object)}
            )
        return build_tables(self.probes, answers, self.catalogs, signatures=self.signatures)

    def relabel_shops(self, mapping: Mapping[str, str]) -> Inputs:
        """The same inputs with every shop id renamed through ``mapping``."""
        probes = self.probes.copy()
        probes["shop_id"] = probes["shop_id"].map(dict(mapping)).astype("string")
        return Inputs(
            probes,
            dict(self.answers),
            {mapping[shop]: frame for shop, frame in self.catalogs.items()},
            None
            if self.signatures is None
            else {mapping[shop]: names for shop, names in self.signatures.items()},
        )


def make_tables(
    rows: Sequence[Mapping[str, Any]],
    answers: Mapping[str, Sequence[str]],
    catalogs: Mapping[str, pd.DataFrame],
    *,
    signatures: Mapping[str, Sequence[str]] | None = None,
) -> AuditTables:
    """Tables from plan rows (see `plan`), answers (probe id → items), catalogs and, if given,
    each shop's signature categories and items."""
    return Inputs(
        plan(rows),
        {k: list(v) for k, v in answers.items()},
        dict(catalogs),
        None if signatures is None else {k: tuple(v) for k, v in signatures.items()},
    ).tables()


def shuffle_rows(tables: AuditTables, seed: int) -> AuditTables:
    """The same tables with the rows of each one in a random order (index kept)."""
    rng = np.random.default_rng(seed)

    def shuffled(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.iloc[rng.permutation(len(frame))]

    order = rng.permutation(len(tables.catalogs))
    # ``catalog_row`` is a position in the catalogs: it follows its row to its new place.
    moved = np.append(np.argsort(order), -1)

    def relinked(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(catalog_row=moved[frame["catalog_row"].to_numpy()])

    return AuditTables(
        probes=shuffled(tables.probes),
        responses=relinked(shuffled(tables.responses)),
        histories=relinked(shuffled(tables.histories)),
        catalogs=tables.catalogs.iloc[order],
    )


def random_inputs(
    seed: int,
    *,
    shops: int = 3,
    personas: int = 2,
    customers: int = 4,
    products: int = 15,
    k: int = 5,
    repetitions: int = 1,
) -> Inputs:
    """A small audit with everything in it: shared and exclusive products, histories,
    counterfactual pairs on ``age``, repeats, unanswered probes, unknown items, a few
    categories and a signature per shop."""
    rng = np.random.default_rng(seed)
    # Prices from their own stream, so that adding them left every other draw unchanged.
    price_rng = np.random.default_rng([seed, 1])
    shop_ids = [f"s{i}" for i in range(shops)]
    universe = [f"P{i}" for i in range(products)]
    catalogs: dict[str, pd.DataFrame] = {}
    for shop in shop_ids:
        carried = [p for p in universe if rng.random() < 0.8]
        names = carried + [f"{shop}-x{i}" for i in range(3)]
        frame = catalog(
            {name: float(rng.integers(1, 50)) for name in names},
            categories={name: f"c{len(name) % 3}" for name in names},
        )
        frame.loc[frame["item_id"].str.contains("-x"), "canonical_id"] = pd.NA
        frame["price"] = np.round(price_rng.lognormal(np.log(20.0), 0.6, size=len(frame)), 2)
        catalogs[shop] = frame
    rows: list[dict[str, Any]] = []
    levels = ("young", "old", "mid")
    for persona in range(personas):
        for customer in range(customers):
            base = f"m{persona}-{customer}"
            age = levels[customer % 3]
            variants = [(base, None, age, rep) for rep in range(repetitions + 1)]
            variants += [(f"{base}~age={level}", f"{base}~age", level, 0) for level in levels]
            for shop in shop_ids:
                items = catalogs[shop]["item_id"].tolist()
                history = list(rng.choice(items, size=3, replace=False))
                for match_id, pair_group, level, rep in variants:
                    rows.append(
                        {
                            "probe_id": f"q{len(rows):04d}",
                            "shop_id": shop,
                            "persona_id": f"persona{persona}",
                            "customer": base,
                            "match_id": match_id,
                            "pair_id": None if pair_group is None else f"{pair_group}@{shop}",
                            "pair_attribute": None if pair_group is None else "age",
                            "repetition": rep,
                            "k": k,
                            "history": history,
                            "segment.age": level,
                            "segment.device": "mobile",
                        }
                    )
    answers: dict[str, list[str]] = {}
    for row in rows:
        if rng.random() < 0.1:
            continue  # unanswered
        items = catalogs[row["shop_id"]]["item_id"].tolist()
        chosen = list(rng.choice(items, size=k, replace=False))
        if rng.random() < 0.1:
            chosen[-1] = "unknown-item"
        answers[row["probe_id"]] = chosen
    # Each shop's signature: one category and one of its exclusive products.
    signatures = {shop: (f"c{i % 3}", f"{shop}-x0") for i, shop in enumerate(shop_ids)}
    return Inputs(plan(rows), answers, catalogs, signatures)


def assert_same_result(result: Any, other: Any) -> None:
    """Two `MetricResult`s agree in every number (to rounding) and every verdict."""
    import pytest

    def close(a: Any, b: Any) -> bool:
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
        if not (isinstance(a, float | int) and isinstance(b, float | int)):
            return bool(a == b)
        if np.isnan(a) and np.isnan(b):
            return True
        return bool(a == pytest.approx(b, rel=1e-12, abs=1e-15))

    assert close(other.value, result.value)
    assert (other.ci is None) == (result.ci is None)
    if result.ci is not None:
        assert all(close(x, y) for x, y in zip(other.ci, result.ci, strict=True))
    assert other.n == result.n and other.verdict == result.verdict
    assert (other.p_value is None) == (result.p_value is None)
    if result.p_value is not None:
        assert close(other.p_value, result.p_value)
    assert other.by_group.keys() == result.by_group.keys()
    for name, values in result.by_group.items():
        assert other.by_group[name].keys() == values.keys()
        assert all(close(other.by_group[name][k], v) for k, v in values.items())
    assert other.details.keys() == result.details.keys()
    assert all(close(other.details[k], v) for k, v in result.details.items())
