"""The probe plan: synthetic customers, carried into every shop, paired and repeated.

Every probe belongs to exactly one **match group** (``match_id``: the same customer, same
context, carried into every shop) and at most one **pair group** (``pair_id``: twins identical
but for ``pair_attribute``). Repeats (``repetition > 0``) are identical to their original but
for the customer id, and measure the vendor's own randomness. Rows come in sending order,
shuffled by the seed so that time cannot confound a pair.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.frames import SEGMENT_PREFIX, stack_catalogs
from auditkit.spec import PersonaSpec, ProbesSpec

PLAN_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "persona_id",
    "customer_id",
    "match_id",
    "pair_id",
    "pair_attribute",
    "repetition",
    "k",
    "history",
    "history_mapped",
)


@dataclass(frozen=True)
class _Customer:
    """One synthetic customer: a persona, a canonical history and base segment levels."""

    persona: PersonaSpec
    index: int
    history_keys: tuple[str, ...]
    levels: dict[str, str]
    rng_seed: np.random.SeedSequence


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def _segment_profiles(
    segments: Mapping[str, Sequence[str]], n: int, rng: np.random.Generator
) -> list[dict[str, str]]:
    """``n`` segment profiles that cycle through the full cross of levels in random order."""
    if not segments:
        return [{} for _ in range(n)]
    names = sorted(segments)
    cross = list(itertools.product(*(segments[name] for name in names)))
    order = rng.permutation(len(cross))
    return [dict(zip(names, cross[order[i % len(cross)]], strict=True)) for i in range(n)]


def _taste_pool(catalog: pd.DataFrame, persona: PersonaSpec) -> pd.DataFrame:
    """Products matching the persona's taste (all products when none match)."""
    products = catalog.drop_duplicates("item_key")
    if persona.categories:
        liked = products[products["category"].isin(persona.categories)]
        if len(liked):
            return liked
    return products


def _map_history(
    keys: Sequence[str],
    shop: pd.DataFrame,
    by_key: Mapping[str, str],
    rng: np.random.Generator,
    categories: Mapping[str, str],
) -> tuple[list[str], int]:
    """Carry a history into one shop; return its item ids and how many mapped exactly.

    Each product maps to itself where the shop sells it, else to one of the same category
    (else to any product).
    """
    items: list[str] = []
    exact = 0
    for key in keys:
        if key in by_key:
            items.append(by_key[key])
            exact += 1
            continue
        same = shop[(shop["category"] == categories[key]) & ~shop["item_id"].isin(items)]
        pool = same if len(same) else shop[~shop["item_id"].isin(items)]
        if len(pool):
            items.append(str(pool["item_id"].iloc[rng.integers(len(pool))]))
    return items, exact


def design_probes(
    spec: ProbesSpec, catalogs: Mapping[str, pd.DataFrame], *, seed: int
) -> pd.DataFrame:
    """Build the probe plan for ``catalogs`` (shop id → catalog) from the spec's design.

    Returns one row per probe (see the module docstring); the same spec, catalogs and seed
    give the same plan, byte for byte.
    """
    stacked = stack_catalogs(catalogs)
    shops = sorted(catalogs)
    key_category = dict(zip(stacked["item_key"], stacked["category"], strict=False))
    root = np.random.SeedSequence(seed)
    persona_seeds = root.spawn(len(spec.personas) + 1)
    customers: list[_Customer] = []
    for persona, persona_seed in zip(spec.personas, persona_seeds, strict=False):
        rng = np.random.default_rng(persona_seed)
        profiles = _segment_profiles(spec.segments, persona.customers, rng)
        pool = _taste_pool(stacked, persona)
        for index, child in enumerate(persona_seed.spawn(persona.customers)):
            size = min(persona.history_length, len(pool))
            picks = np.random.default_rng(child).choice(len(pool), size=size, replace=False)
            keys = tuple(str(k) for k in pool["item_key"].to_numpy()[np.sort(picks)])
            customers.append(_Customer(persona, index, keys, profiles[index], child))

    shop_tables = {shop_id: stacked[stacked["shop_id"] == shop_id] for shop_id in shops}
    shop_keys = {
        shop_id: dict(zip(table["item_key"], table["item_id"], strict=True))
        for shop_id, table in shop_tables.items()
    }
    rows: list[dict[str, object]] = []
    for customer in customers:
        base_match = f"{customer.persona.id}-{customer.index}"
        variants: list[tuple[str, str | None, str | None, dict[str, str], int]] = [
            (base_match, None, None, customer.levels, rep) for rep in range(spec.repetitions + 1)
        ]
        for attribute in spec.counterfactual:
            for level in spec.segments[attribute]:
                levels = {**customer.levels, attribute: level}
                variants.append(
                    (
                        f"{base_match}~{attribute}={level}",
                        f"{base_match}~{attribute}",
                        attribute,
                        levels,
                        0,
                    )
                )
        map_rng = np.random.default_rng(customer.rng_seed.spawn(1)[0])
        for shop_id in shops:
            history, exact = _map_history(
                customer.history_keys,
                shop_tables[shop_id],
                shop_keys[shop_id],
                map_rng,
                key_category,
            )
            for match_id, pair_group, pair_attribute, levels, rep in variants:
                pair_id = None if pair_group is None else f"{pair_group}@{shop_id}"
                rows.append(
                    {
                        "shop_id": shop_id,
                        "persona_id": customer.persona.id,
                        "match_id": match_id,
                        "pair_id": pair_id,
                        "pair_attribute": pair_attribute,
                        "repetition": rep,
                        "k": spec.k,
                        "history": history,
                        "history_mapped": exact / len(customer.history_keys)
                        if customer.history_keys
                        else 1.0,
                        **{SEGMENT_PREFIX + name: value for name, value in levels.items()},
                    }
                )
    plan = pd.DataFrame(rows)
    identity = plan["match_id"] + "|" + plan["shop_id"] + "|" + plan["repetition"].astype(str)
    plan["customer_id"] = ["ak-" + _digest(seed, key)[:16] for key in identity]
    order = np.random.default_rng(persona_seeds[-1]).permutation(len(plan))
    plan = plan.iloc[order].reset_index(drop=True)
    plan["probe_id"] = [f"p{i:06d}" for i in range(len(plan))]
    segment_columns = sorted(c for c in plan.columns if c.startswith(SEGMENT_PREFIX))
    plan = plan[[*PLAN_COLUMNS, *segment_columns]]
    for column in (
        "probe_id",
        "shop_id",
        "persona_id",
        "customer_id",
        "match_id",
        "pair_id",
        "pair_attribute",
        *segment_columns,
    ):
        plan[column] = plan[column].astype("string")
    plan["repetition"] = plan["repetition"].astype("int64")
    plan["k"] = plan["k"].astype("int64")
    return plan


def request_context(plan: pd.DataFrame) -> list[dict[str, str]]:
    """Each probe's segment levels as the context dict sent to the vendor."""
    columns = [c for c in plan.columns if c.startswith(SEGMENT_PREFIX)]
    names = [c[len(SEGMENT_PREFIX) :] for c in columns]
    return [
        {name: str(value) for name, value in zip(names, row, strict=True) if not pd.isna(value)}
        for row in plan[columns].itertuples(index=False, name=None)
    ]
