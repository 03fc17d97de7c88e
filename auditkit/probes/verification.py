"""Verification probes: the vendor's claims turned into experiments.

Each claimed knob is probed off and on with the same customers (``check_id = knob:<name>``,
``check_arm`` ``off``/``on``, tied by ``match_id``). A claimed non-personalized mode is probed
with two customers of different histories (arms ``a`` and ``b``) and a repeat of the first
(``a_repeat``), all in that mode: if the mode really ignores history, ``a`` and ``b`` differ no
more than ``a`` and its repeat.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from auditkit.spec import ClaimsSpec

PERSONA_ID = "claim_check"
HISTORY_LENGTH = 4
NON_PERSONALIZED = "non_personalized"


def _options(option: str, value: Any) -> str:
    return json.dumps({option: value}, sort_keys=True, separators=(",", ":"))


def _typical_histories(shop: pd.DataFrame, n: int, rng: np.random.Generator) -> list[list[str]]:
    """``n`` histories drawn in proportion to the shop's own popularity."""
    popularity = np.nan_to_num(shop["popularity"].to_numpy(dtype="float64")) + 1e-9
    items = shop["item_id"].to_numpy(dtype=object)
    size = min(HISTORY_LENGTH, len(shop))
    return [
        [
            str(i)
            for i in items[
                np.sort(
                    rng.choice(len(shop), size, replace=False, p=popularity / popularity.sum())
                )
            ]
        ]
        for _ in range(n)
    ]


def check_rows(
    claims: ClaimsSpec, banded: pd.DataFrame, *, k: int, seed: np.random.SeedSequence
) -> list[dict[str, object]]:
    """Probe rows that test the claims that probes can test."""
    rows: list[dict[str, object]] = []
    shops = sorted(banded["shop_id"].unique())
    n = claims.verification_customers
    base = {
        "persona_id": PERSONA_ID,
        "pair_id": None,
        "pair_attribute": None,
        "repetition": 0,
        "k": k,
        "history_mapped": np.nan,
    }
    for shop_id, child in zip(shops, seed.spawn(len(shops)), strict=True):
        shop = banded[banded["shop_id"] == shop_id]
        rng = np.random.default_rng(child)
        for knob in claims.knobs:
            for index, history in enumerate(_typical_histories(shop, n, rng)):
                for arm, options in (("off", None), ("on", _options(knob.option, knob.value))):
                    rows.append(
                        {
                            **base,
                            "shop_id": shop_id,
                            "history": history,
                            "match_id": f"check-{knob.name}-{shop_id}-{index}",
                            "check_id": f"knob:{knob.name}",
                            "check_arm": arm,
                            "options": options,
                        }
                    )
        mode = claims.non_personalized_mode
        if mode is not None:
            options = _options(mode.option, mode.value)
            histories = _typical_histories(shop, 2 * n, rng)
            for index in range(n):
                first, second = histories[2 * index], histories[2 * index + 1]
                for arm, history in (("a", first), ("a_repeat", first), ("b", second)):
                    rows.append(
                        {
                            **base,
                            "shop_id": shop_id,
                            "history": history,
                            "match_id": f"check-{NON_PERSONALIZED}-{shop_id}-{index}",
                            "check_id": NON_PERSONALIZED,
                            "check_arm": arm,
                            "options": options,
                        }
                    )
    return rows
