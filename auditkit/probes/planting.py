"""Trend planting: make one product trend in one shop, then see whether other shops follow.

The design adds, for every shop, the same typical customers probed ``before`` and ``after``
the planting (tied by ``match_id``); the planted product and a control product of similar
popularity, sold in the same shops, are named in every such row, so leakage can be measured
as a difference in differences. Events go to the vendor only with ``write_events: true``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditkit.errors import DesignError
from auditkit.spec import TrendPlantingSpec

PERSONA_ID = "trend_probe"
HISTORY_LENGTH = 3
UNKNOWN_SHOP = "trend_planting.source_shop must be one of {shops}; got {value!r}"
UNKNOWN_PRODUCT = "trend_planting.{key} must be a canonical_id sold at {shop!r}; got {value!r}"
NO_CANDIDATES = (
    "trend_planting: no product is sold both at {shop!r} and at another shop; "
    "trend leakage needs shared products"
)
NO_EVENT_API = (
    "trend_planting needs a vendor with an event API (send_events(shop_id, events)); "
    "{vendor} has none"
)
EVENTS_REFUSED = (
    "trend_planting: the vendor refused a batch of {count} events for shop {shop!r} after "
    "{attempts} attempt(s) ({problem}); trend leakage cannot be measured without the plant. "
    "The batches accepted before it are recorded: fix the cause and run again with --resume "
    "to send the rest"
)


@dataclass(frozen=True)
class Planting:
    """What to plant where: the product, its control, and their item ids per shop."""

    source_shop: str
    planted_key: str
    control_key: str
    events: int

    def event_batch(self, item_id: str) -> list[dict[str, Any]]:
        """The synthetic purchases of the planted product, one event per synthetic customer."""
        return [
            {"type": "purchase", "item_id": item_id, "customer_id": f"ak-trend-{i:05d}"}
            for i in range(self.events)
        ]


def choose_planting(spec: TrendPlantingSpec, banded: pd.DataFrame) -> Planting:
    """Pick the source shop, the planted product and its control (spec values win).

    The default product is the least popular product that the source shop sells and that
    the most other shops also sell; the control is the product nearest to it in popularity
    among those sold in as many shops.
    """
    shops = sorted(banded["shop_id"].unique())
    source = spec.source_shop or shops[0]
    if source not in shops:
        raise DesignError(UNKNOWN_SHOP.format(shops=shops, value=source))
    shared = banded[banded["canonical_id"].notna()]
    reach = shared.groupby("item_key")["shop_id"].nunique()
    at_source = set(shared.loc[shared["shop_id"] == source, "item_key"])
    for key, value in (("product", spec.product), ("control", spec.control)):
        if value is not None and value not in at_source:
            raise DesignError(UNKNOWN_PRODUCT.format(key=key, shop=source, value=value))
    candidates = reach[reach.index.isin(at_source) & (reach > 1)]
    if candidates.empty:
        raise DesignError(NO_CANDIDATES.format(shop=source))
    popularity = shared.groupby("item_key")["popularity"].sum(min_count=1).fillna(0.0)
    table = pd.DataFrame({"reach": candidates, "popularity": popularity[candidates.index]})
    widest = table[table["reach"] == table["reach"].max()].sort_values(["popularity"])
    planted = spec.product or str(widest.index[0])
    if spec.control is not None:
        control = spec.control
    else:
        others = table.drop(index=planted, errors="ignore")
        planted_reach = int(table["reach"].loc[planted])
        others = others[others["reach"] >= min(planted_reach, others["reach"].max())]
        planted_popularity = float(table["popularity"].loc[planted])
        distance = np.log1p(others["popularity"]) - np.log1p(planted_popularity)
        control = str(distance.abs().sort_values(kind="stable").index[0])
    return Planting(source, planted, control, spec.events)


def planting_rows(
    planting: Planting,
    spec: TrendPlantingSpec,
    banded: pd.DataFrame,
    *,
    k: int,
    seed: np.random.SeedSequence,
) -> list[dict[str, object]]:
    """Probe rows before and after the planting: the same typical customers in every shop."""
    rows: list[dict[str, object]] = []
    shops = sorted(banded["shop_id"].unique())
    for shop_id, child in zip(shops, seed.spawn(len(shops)), strict=True):
        shop = banded[banded["shop_id"] == shop_id]
        pool = shop[~shop["item_key"].isin([planting.planted_key, planting.control_key])]
        popularity = np.nan_to_num(pool["popularity"].to_numpy(dtype="float64")) + 1e-9
        rng = np.random.default_rng(child)
        for index in range(spec.customers):
            history: list[str] = []  # a shop selling nothing else asks as a new customer
            if len(pool):
                picks = rng.choice(
                    len(pool),
                    size=min(HISTORY_LENGTH, len(pool)),
                    replace=False,
                    p=popularity / popularity.sum(),
                )
                history = [str(i) for i in pool["item_id"].to_numpy()[np.sort(picks)]]
            for phase in ("before", "after"):
                rows.append(
                    {
                        "shop_id": shop_id,
                        "persona_id": PERSONA_ID,
                        "match_id": f"trend-{shop_id}-{index}",
                        "pair_id": None,
                        "pair_attribute": None,
                        "repetition": 0,
                        "k": k,
                        "history": history,
                        "history_mapped": np.nan,
                        "phase": phase,
                        "shop_role": "source" if shop_id == planting.source_shop else "other",
                        "planted_key": planting.planted_key,
                        "control_key": planting.control_key,
                    }
                )
    return rows


def planted_item(planting: Planting, catalogs: Mapping[str, pd.DataFrame]) -> str:
    """The planted product's item id at the source shop."""
    catalog = catalogs[planting.source_shop]
    return str(catalog.loc[catalog["canonical_id"] == planting.planted_key, "item_id"].iloc[0])
