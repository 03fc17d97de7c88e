"""The probe plan: synthetic customers, carried into every shop, paired and repeated.

Every probe belongs to exactly one **match group** (``match_id``: the same customer, same
context, carried into every shop) and at most one **pair group** (``pair_id``: twins identical
but for ``pair_attribute``). Repeats (``repetition > 0``) are identical to their original but
for the customer id, and measure the vendor's own randomness. Trend-planting probes carry a
``phase`` (``before``/``after``), a ``shop_role`` and the planted and control products. Rows
come in sending order, shuffled by the seed so that time cannot confound a pair.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.catalogs import stack_catalogs
from auditkit.probes.histories import (
    EXACT_WHERE,
    ShopIndex,
    band_products,
    carry_history,
    draw,
    no_match,
    shop_history,
    taste_mask,
)
from auditkit.probes.planting import choose_planting, planting_rows
from auditkit.probes.verification import check_rows
from auditkit.spec import ClaimsSpec, PersonaSpec, ProbesSpec

# The plan's column of each segment attribute is "segment.<attribute>".
SEGMENT_PREFIX = "segment."
PLAN_COLUMNS: tuple[str, ...] = (
    "probe_id",
    "shop_id",
    "persona_id",
    "customer_id",
    "customer",
    "match_id",
    "pair_id",
    "pair_attribute",
    "repetition",
    "k",
    "history",
    "history_mapped",
    "phase",
    "shop_role",
    "planted_key",
    "control_key",
    "check_id",
    "check_arm",
    "options",
    "heldout",
    "same_as",
)
# Taste products kept out of a customer's history, for the hit rate on a held-out preference:
# as many as the history has, drawn the same way from what the history left of the taste.
HELDOUT_SEPARATOR = "|"
# The held-out draw's own branch of the customer's seed, so the history draw is unchanged.
_HELDOUT_BRANCH = 0x4E1D
NUMBER_COLUMNS: tuple[str, ...] = ("repetition", "k", "history_mapped")
TEXT_COLUMNS: tuple[str, ...] = tuple(
    c for c in PLAN_COLUMNS if c not in (*NUMBER_COLUMNS, "history")
)


@dataclass(frozen=True)
class _Customer:
    """One synthetic customer of a persona, under one combination of segment levels.

    ``customer`` names the customer itself, the same under every profile, and ``match`` the
    customer under this profile; ``seeds`` are the customer's own: one for drawing its
    history, then one per shop for carrying it there; every profile shares them.
    """

    persona: PersonaSpec
    customer: str
    match: str
    levels: dict[str, str]
    seeds: tuple[np.random.SeedSequence, ...]


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def _segment_profiles(
    segments: Mapping[str, Sequence[str]], n: int, rng: np.random.Generator, *, cross: bool
) -> list[list[dict[str, str]]]:
    """Each customer's segment profiles: every combination (cross) or one, cycling the cross."""
    if not segments:
        return [[{}] for _ in range(n)]
    names = sorted(segments)
    combos = [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(segments[name] for name in names))
    ]
    if cross:
        return [combos for _ in range(n)]
    order = rng.permutation(len(combos))
    return [[combos[order[i % len(combos)]]] for i in range(n)]


def _customers(
    spec: ProbesSpec, persona: PersonaSpec, seed: np.random.SeedSequence, n_shops: int
) -> list[_Customer]:
    """The persona's customers, one per (customer, segment profile)."""
    rng = np.random.default_rng(seed)
    cross = spec.segment_design == "cross"
    profiles = _segment_profiles(spec.segments, persona.customers, rng, cross=cross)
    customers = []
    for index, (child, levels_list) in enumerate(
        zip(seed.spawn(persona.customers), profiles, strict=True)
    ):
        seeds = tuple(child.spawn(1 + n_shops))
        for levels in levels_list:
            suffix = "/" + "/".join(levels[name] for name in sorted(levels)) if cross else ""
            name = f"{persona.id}-{index}"
            customers.append(_Customer(persona, name, name + suffix, levels, seeds))
    return customers


def _variants(
    spec: ProbesSpec, customer: _Customer
) -> list[tuple[str, str | None, str | None, dict[str, str], int]]:
    """(match id, pair group, pair attribute, levels, repetition) of a customer's probes."""
    variants: list[tuple[str, str | None, str | None, dict[str, str], int]] = [
        (customer.match, None, None, customer.levels, rep) for rep in range(spec.repetitions + 1)
    ]
    for attribute in spec.counterfactual:
        for level in spec.segments[attribute]:
            variants.append(
                (
                    f"{customer.match}~{attribute}={level}",
                    f"{customer.match}~{attribute}",
                    attribute,
                    {**customer.levels, attribute: level},
                    0,
                )
            )
    return variants


def _exact_pool(taste: np.ndarray, sold_by: np.ndarray, persona: PersonaSpec) -> np.ndarray:
    """The taste products an exact-carry history is drawn from (a mask over the products).

    Those sold by the most shops that still hold a whole history (at least two shops); when no
    such count does, ``carry: exact`` keeps the products sold by the most shops (a shorter
    history, none when no two shops share one) and an unset carry keeps the whole taste, to be
    substituted.
    """
    counts = np.sort(sold_by[taste])[::-1]
    enough = counts[persona.history_length - 1] if counts.size >= persona.history_length else 0
    if persona.history_length and enough >= 2:
        return taste & (sold_by >= enough)
    if persona.carry != "exact":
        return taste
    widest = int(counts[0])
    return taste & (sold_by == widest) & (widest >= 2)


def _heldout(
    pool: pd.DataFrame,
    history: tuple[str, ...],
    seed: np.random.SeedSequence,
    persona: PersonaSpec,
) -> tuple[str, ...]:
    """Taste products left out of ``history``, drawn from the customer's own seed branch."""
    rest = pool[~pool["item_key"].isin(history)]
    branch = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, _HELDOUT_BRANCH))
    return draw(
        rest,
        len(history),
        np.random.default_rng(branch),
        by_popularity=persona.sampling == "popularity",
        persona=persona,
    )


def _heldout_at(heldout: tuple[str, ...], shop: ShopIndex, history: list[str]) -> str:
    """The held-out products that the shop sells and its carried history does not hold."""
    carried = set(history)
    kept = []
    for key in heldout:
        item = shop.by_key.get(key)
        if item is not None and item not in carried:
            kept.append(key)
    return HELDOUT_SEPARATOR.join(kept)


def design_probes(
    spec: ProbesSpec,
    catalogs: Mapping[str, pd.DataFrame],
    *,
    seed: int,
    signatures: Mapping[str, tuple[str, ...]] | None = None,
    claims: ClaimsSpec | None = None,
) -> pd.DataFrame:
    """Build the probe plan for ``catalogs`` (shop id → catalog) from the spec's design.

    Parameters
    ----------
    spec
        The probes section of the audit spec.
    catalogs
        Each shop's validated catalog.
    seed
        The audit's seed; every random choice of the plan flows from it.
    signatures
        Each shop's signature categories or items (for ``history_from: signature``).
    claims
        The vendor's claims; those that probes can test get verification probes.

    Returns
    -------
    DataFrame
        One row per probe, in sending order (see the module docstring). The same spec,
        catalogs and seed give the same plan, byte for byte.
    """
    banded = band_products(stack_catalogs(catalogs))
    shops = sorted(catalogs)
    products = banded.drop_duplicates("item_key").set_index("item_key")
    product_bands = dict(
        zip(
            products.index,
            zip(
                products["category"],
                products["price_band"],
                products["popularity_band"],
                strict=True,
            ),
            strict=True,
        )
    )
    shop_tables = {shop_id: banded[banded["shop_id"] == shop_id] for shop_id in shops}
    # How many shops sell each product: an exact-carry history is drawn from those of its
    # taste sold by the most shops (every shop, where some product is).
    sold_by = banded.groupby("item_key")["shop_id"].nunique().reindex(products.index, fill_value=0)
    indexes = {shop_id: ShopIndex.build(table) for shop_id, table in shop_tables.items()}
    signatures = signatures or {}
    root = np.random.SeedSequence(seed)
    persona_seeds = root.spawn(len(spec.personas) + 3)

    rows: list[dict[str, object]] = []
    for persona, persona_seed in zip(spec.personas, persona_seeds, strict=False):
        mask = taste_mask(products, persona)
        taste = products[mask].reset_index()  # held-out products come from the whole taste
        if persona.exact_carry and mask.any():
            mask = _exact_pool(mask, sold_by.to_numpy(), persona)
        pool = products[mask].reset_index()
        if persona.history_from == "taste" and persona.history_length and pool.empty:
            raise no_match(persona, EXACT_WHERE if persona.carry == "exact" else "")
        for customer in _customers(spec, persona, persona_seed, len(shops)):
            draw_seed, *shop_seeds = customer.seeds
            keys: tuple[str, ...] = ()
            heldout: tuple[str, ...] = ()
            if persona.history_from == "taste":
                keys = draw(
                    pool,
                    persona.history_length,
                    np.random.default_rng(draw_seed),
                    by_popularity=persona.sampling == "popularity",
                    persona=persona,
                )
                heldout = _heldout(taste, keys, draw_seed, persona)
            variants = _variants(spec, customer)
            for shop_id, shop_seed in zip(shops, shop_seeds, strict=True):
                rng = np.random.default_rng(shop_seed)
                if persona.history_from == "taste":
                    history, exact = carry_history(keys, indexes[shop_id], product_bands, rng)
                    mapped = exact / len(keys) if keys else 1.0
                else:
                    history = list(
                        shop_history(
                            persona, shop_tables[shop_id], tuple(signatures.get(shop_id, ())), rng
                        )
                    )
                    mapped = np.nan
                sold = _heldout_at(heldout, indexes[shop_id], history)
                for match_id, pair_group, pair_attribute, levels, rep in variants:
                    rows.append(
                        {
                            "shop_id": shop_id,
                            "persona_id": persona.id,
                            "customer": customer.customer,
                            "match_id": match_id,
                            "pair_id": None if pair_group is None else f"{pair_group}@{shop_id}",
                            "pair_attribute": pair_attribute,
                            "repetition": rep,
                            "k": spec.k,
                            "history": history,
                            "history_mapped": mapped,
                            "heldout": sold or None,
                            **{SEGMENT_PREFIX + name: value for name, value in levels.items()},
                        }
                    )
    if spec.trend_planting is not None:
        planting = choose_planting(spec.trend_planting, banded)
        rows += planting_rows(
            planting, spec.trend_planting, banded, k=spec.k, seed=persona_seeds[-2]
        )
    if claims is not None:
        rows += check_rows(claims, banded, k=spec.k, seed=persona_seeds[-3])
    return _finish(pd.DataFrame(rows), seed=seed, order_seed=persona_seeds[-1])


def _finish(plan: pd.DataFrame, *, seed: int, order_seed: np.random.SeedSequence) -> pd.DataFrame:
    """Assign customer and probe ids, shuffle into sending order, fix column order and types."""
    for column in PLAN_COLUMNS:
        if column not in plan.columns:
            plan[column] = None
    phase = plan["phase"].fillna("") + plan["check_arm"].fillna("")
    identity = (
        plan["match_id"]
        + "|"
        + plan["shop_id"]
        + "|"
        + plan["repetition"].astype(str)
        + "|"
        + phase
    )
    plan["customer_id"] = ["ak-" + _digest(seed, key)[:16] for key in identity]
    order = np.random.default_rng(order_seed).permutation(len(plan))
    plan = plan.iloc[order].reset_index(drop=True)
    plan["probe_id"] = [f"p{i:06d}" for i in range(len(plan))]
    segment_columns = sorted(c for c in plan.columns if c.startswith(SEGMENT_PREFIX))
    plan["same_as"] = same_requests(plan, segment_columns)
    plan = plan[[*PLAN_COLUMNS, *segment_columns]].copy()
    for column in (*TEXT_COLUMNS, *segment_columns):
        plan[column] = plan[column].astype("string")
    plan["repetition"] = plan["repetition"].astype("int64")
    plan["k"] = plan["k"].astype("int64")
    plan["history_mapped"] = plan["history_mapped"].astype("float64")
    return plan


def same_requests(plan: pd.DataFrame, segment_columns: list[str]) -> list[str | None]:
    """Per probe: the original probe whose request it repeats byte for byte, or None.

    A counterfactual twin at the customer's own level asks what the customer's original probe
    (first repetition) asks: the same shop, history, context and ``k``. It is not sent again;
    it shares the original's answer (`with_shared_answers`). Repeats are meant to be asked
    again and are left alone.
    """
    twin = plan["pair_id"].notna().to_numpy(dtype=bool)
    plain = (
        plan["phase"].isna().to_numpy(dtype=bool)
        & plan["check_id"].isna().to_numpy(dtype=bool)
        & plan["options"].isna().to_numpy(dtype=bool)
    )
    original = ~twin & plain & (plan["repetition"] == 0).to_numpy(dtype=bool)
    columns = ["customer", "shop_id", "k", *segment_columns]
    keys = plan[columns].astype("string").fillna("")
    keys["history"] = [
        "\x1f".join(map(str, h)) if isinstance(h, list | tuple | np.ndarray) else ""
        for h in plan["history"]
    ]
    originals = keys[original].assign(same_as=plan["probe_id"].to_numpy()[original])
    twins = keys[twin & plain].assign(row=np.flatnonzero(twin & plain))
    matched = twins.merge(originals, on=[*columns, "history"], how="inner")
    found: list[str | None] = [None] * len(plan)
    for row, probe_id in zip(matched["row"], matched["same_as"], strict=True):
        found[int(row)] = str(probe_id)
    return found


def with_shared_answers(plan: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """``answers`` plus one row per probe that shares another's answer (``same_as``).

    Sorted by probe id, as `EvidenceStore.answers` gives them.
    """
    if "same_as" not in plan.columns:
        return answers
    shared = plan.loc[plan["same_as"].notna(), ["probe_id", "same_as"]]
    if shared.empty:
        return answers
    copies = shared.merge(
        answers.rename(columns={"probe_id": "same_as"}), on="same_as", how="inner"
    ).drop(columns="same_as")
    both = pd.concat([answers, copies[answers.columns]], ignore_index=True)
    return both.sort_values("probe_id", kind="stable", ignore_index=True)


def request_context(plan: pd.DataFrame) -> list[dict[str, str]]:
    """Each probe's segment levels as the context dict sent to the vendor."""
    columns = [c for c in plan.columns if c.startswith(SEGMENT_PREFIX)]
    names = [c[len(SEGMENT_PREFIX) :] for c in columns]
    return [
        {name: str(value) for name, value in zip(names, row, strict=True) if not pd.isna(value)}
        for row in plan[columns].itertuples(index=False, name=None)
    ]
