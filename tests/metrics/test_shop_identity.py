"""The homogenization index, signature retention and within-shop overlap on hand-made shops."""

import itertools
import math

import numpy as np
import pytest
from tables import catalog, make_tables, random_inputs

from auditkit.judging import judge_metric
from auditkit.metrics.homogenization.cross_shop import (
    INDEX_ID,
    SIGNATURE_ID,
    SIGNATURE_THRESHOLD,
    WITHIN_ID,
    index,
    signature_retention,
    within_shop_jaccard,
)
from auditkit.metrics.homogenization.shop_identity import shop_pooled_jaccard

RANKED = {f"P{i}": float(10 - i) for i in range(1, 7)}  # P1 the bestseller
REVERSED = {f"P{i}": float(i) for i in range(1, 7)}  # P6 the bestseller


def test_index_hand_computed_case():
    # No history, k = 2: the catalog-faithful lists are each shop's two bestsellers,
    # a: {P1, P2}, b: {P6, P5}, so the catalog baseline is J = 0.
    # Observed: a shows {P1, P2}, b shows {P1, P3}: J = 1/3.
    # Repeats: a's repeat shows {P1, P3} (J = 1/3 with the original), b's the same list (1),
    # so the noise ceiling is (1/3 + 1) / 2 = 2/3 and the index (1/3 - 0) / (2/3 - 0) = 1/2.
    catalogs = {"a": catalog(RANKED), "b": catalog(REVERSED)}
    rows = [
        {"probe_id": "p1", "shop_id": "a", "match_id": "m", "k": 2},
        {"probe_id": "p2", "shop_id": "b", "match_id": "m", "k": 2},
        {"probe_id": "p3", "shop_id": "a", "match_id": "m", "k": 2, "repetition": 1},
        {"probe_id": "p4", "shop_id": "b", "match_id": "m", "k": 2, "repetition": 1},
    ]
    answers = {"p1": ["P1", "P2"], "p2": ["P1", "P3"], "p3": ["P1", "P3"], "p4": ["P1", "P3"]}
    result = judge_metric(INDEX_ID, make_tables(rows, answers, catalogs), n_resamples=100)
    assert result.value == pytest.approx(0.5)
    assert result.details["observed"] == pytest.approx(1 / 3)
    assert result.details["catalog_baseline"] == 0.0
    assert result.details["noise_ceiling"] == pytest.approx(2 / 3)
    assert result.details["repeat_groups"] == 2 and result.n == 1
    assert result.id == INDEX_ID and result.verdict == "inconclusive"


def test_index_baseline_follows_the_history_categories():
    # The history is in category "t": each shop's faithful list is its bestsellers of "t"
    # (P5, P6 at both shops: J = 1), whatever the overall bestsellers are.
    categories = {"P5": "t", "P6": "t"}
    catalogs = {
        "a": catalog(RANKED, categories=categories),
        "b": catalog(REVERSED, categories=categories),
    }
    rows = [
        {"probe_id": "p1", "shop_id": "a", "match_id": "m", "k": 2, "history": ["P5"]},
        {"probe_id": "p2", "shop_id": "b", "match_id": "m", "k": 2, "history": ["P5"]},
    ]
    answers = {"p1": ["P1", "P2"], "p2": ["P6", "P5"]}
    result = index(make_tables(rows, answers, catalogs), n_resamples=100)
    # Observed J = 0 and no repeats (ceiling 1): index 0. The baseline is context only.
    assert result.value == 0.0 and result.details["catalog_baseline"] == 1.0
    assert result.details["noise_ceiling"] == "unavailable" and result.reason is None


def index_customers(contexts):
    """Twelve customers at shops a and b (and a repeat at a), each under ``contexts`` contexts."""
    catalogs = {"a": catalog(RANKED), "b": catalog(REVERSED)}
    rows, answers = [], {}
    for g in range(12):
        for c in range(contexts):
            for shop, rep in (("a", 0), ("b", 0), ("a", 1)):
                probe_id = f"g{g}/{c}-{shop}{rep}"
                rows.append(
                    {
                        "probe_id": probe_id,
                        "shop_id": shop,
                        "match_id": f"m{g}/{c}",
                        "customer": f"m{g}",
                        "persona_id": "x",
                        "repetition": rep,
                        "k": 2,
                    }
                )
                # Lists overlap across shops by the customer's own amount.
                answers[probe_id] = ["P1", "P2"] if shop == "a" or g % 3 else ["P1", "P6"]
                if rep:
                    answers[probe_id] = ["P1", "P2"] if g % 2 else ["P1", "P3"]
    return make_tables(rows, answers, catalogs)


def test_the_index_resamples_customers_not_their_match_or_repeat_groups():
    once = index(index_customers(1), n_resamples=400, seed=2)
    thrice = index(index_customers(3), n_resamples=400, seed=2)
    assert once.n == thrice.n == 12 and thrice.details["match_groups"] == 36
    assert thrice.details["repeat_groups"] == 3 * once.details["repeat_groups"] == 36
    assert thrice.value == pytest.approx(once.value)
    assert thrice.ci == pytest.approx(once.ci)
    assert once.ci[1] - once.ci[0] > 0.05


def test_signature_retention_hand_computed_case():
    # Shop a: one of four items (P1) is in the signature category → catalog share 1/4.
    # Probe p1 shows P1 and P2 (share 1/2), p2 shows P3, P4 (0): (1/2 + 0) / (1/4 + 1/4) = 1.
    # Shop b declares no signature: its probe is left out.
    catalogs = {
        "a": catalog(["P1", "P2", "P3", "P4"], categories={"P1": "sig"}),
        "b": catalog(["P1", "P2"]),
    }
    rows = [
        {"probe_id": "p1", "shop_id": "a"},
        {"probe_id": "p2", "shop_id": "a"},
        {"probe_id": "p3", "shop_id": "b"},
    ]
    answers = {"p1": ["P1", "P2"], "p2": ["P3", "P4"], "p3": ["P1"]}
    tables = make_tables(rows, answers, catalogs, signatures={"a": ["sig"], "b": []})
    result = judge_metric(SIGNATURE_ID, tables, n_resamples=100)
    assert result.value == pytest.approx(1.0) and result.n == 2
    assert result.details["catalog_share"] == {"a": 0.25}
    assert result.by_group == {"shop": {"a": pytest.approx(1.0)}}
    # A signature item named directly counts too: P4 → p2 shows it, share (1/2 + 1/2) / (2/4).
    both = make_tables(rows, answers, catalogs, signatures={"a": ["sig", "P4"]})
    assert signature_retention(both, n_resamples=100).value == pytest.approx(1.0)
    assert result.id == SIGNATURE_ID and result.threshold.direction == "lower_is_worse"


def test_signature_pushed_out_fails_and_no_signature_is_inconclusive():
    items = [f"P{i}" for i in range(1, 11)]
    catalogs = {"a": catalog(items, categories={"P1": "sig", "P2": "sig"})}
    rows = [{"probe_id": f"p{i}", "shop_id": "a"} for i in range(12)]
    answers = {f"p{i}": ["P3", "P4", "P5"] for i in range(12)}
    tables = make_tables(rows, answers, catalogs, signatures={"a": ["sig"]})
    assert signature_retention(tables, n_resamples=100).value == 0.0
    assert judge_metric(SIGNATURE_ID, tables, n_resamples=100).verdict == "reported"
    own = judge_metric(SIGNATURE_ID, tables, threshold=SIGNATURE_THRESHOLD, n_resamples=100)
    assert own.verdict == "fail"
    none = judge_metric(SIGNATURE_ID, make_tables(rows, answers, catalogs), n_resamples=100)
    assert math.isnan(none.value) and none.verdict == "inconclusive" and none.details["reason"]


def test_within_shop_jaccard_hand_computed_case():
    # Shop a: {1,2}, {1,3}, {4,5}: shared 1, 0, 0 over unions 3, 4, 4 → 1/11.
    # Shop b: two identical lists → 1. A counterfactual twin and a repeat are not customers.
    catalogs = {"a": catalog(["P1", "P2", "P3", "P4", "P5"]), "b": catalog(["P1", "P2"])}
    rows = [
        {"probe_id": "p1", "shop_id": "a"},
        {"probe_id": "p2", "shop_id": "a"},
        {"probe_id": "p3", "shop_id": "a"},
        {"probe_id": "p4", "shop_id": "a", "pair_id": "x", "pair_attribute": "age"},
        {"probe_id": "p5", "shop_id": "a", "match_id": "p1", "repetition": 1},
        {"probe_id": "p6", "shop_id": "b"},
        {"probe_id": "p7", "shop_id": "b"},
    ]
    answers = {
        "p1": ["P1", "P2"],
        "p2": ["P1", "P3"],
        "p3": ["P4", "P5"],
        "p4": ["P4", "P5"],
        "p5": ["P4", "P5"],
        "p6": ["P1", "P2"],
        "p7": ["P2", "P1"],
    }
    result = judge_metric(WITHIN_ID, make_tables(rows, answers, catalogs), n_resamples=100)
    assert result.by_group == {"shop": {"a": pytest.approx(1 / 11), "b": 1.0}}
    assert result.value == pytest.approx((1 / 11 + 1) / 2)
    assert result.details["shops"] == 2 and result.details["lists"] == 5
    assert result.n == 5 and result.unit == "customer"  # each list its own customer here
    assert result.id == WITHIN_ID and result.verdict == "reported"


@pytest.mark.parametrize("seed", [0, 1])
def test_within_shop_jaccard_equals_the_pooled_pairwise_computation(seed):
    # The O(N·k) count formula against every pair enumerated.
    tables = random_inputs(seed, customers=6).tables()
    probes = tables.probes[
        tables.probes["answered"]
        & (tables.probes["repetition"] == 0)
        & tables.probes["pair_id"].isna()
    ]
    lists = {p: set(g) for p, g in tables.responses.groupby("probe_id")["item_key"]}
    expected = {}
    for shop, group in probes.groupby("shop_id"):
        sets = [lists.get(p, set()) for p in group["probe_id"]]
        pairs = list(itertools.combinations(sets, 2))
        expected[shop] = sum(len(a & b) for a, b in pairs) / sum(len(a | b) for a, b in pairs)
    result = within_shop_jaccard(tables, n_resamples=100)
    assert result.by_group["shop"] == pytest.approx(expected)
    assert result.value == pytest.approx(np.mean(list(expected.values())))


def test_pooled_jaccard_counts_an_item_once_per_list_and_needs_no_packed_key():
    # Shop 0: lists 0 {1, 2} (2 listed twice), 1 {2}, 2 {} → shared 1 over unions 2 + 2 + 1.
    # Shop 1: lists 3 {5}, 4 {5} → 1. Codes far apart take the column sort instead of one key.
    shop = np.array([0, 0, 0, 0, 1, 1])
    item = np.array([1, 2, 2, 2, 5, 5])
    probe = np.array([0, 0, 0, 1, 3, 4])
    lists = np.array([3.0, 2.0])
    expected = [1 / 5, 1.0]
    assert shop_pooled_jaccard(shop, item, probe, lists) == pytest.approx(expected)
    wide = shop_pooled_jaccard(shop, item + 2**40, probe + 2**30, lists)
    assert wide == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(4))
def test_within_shop_left_out_replicates_equal_the_weighted_formula(seed, monkeypatch):
    from segment_world import audit_tables, demo_spec, world_of

    from auditkit.metrics._item_counts import jackknife_design
    from auditkit.metrics.homogenization import shop_identity

    if seed == 0:
        spec = demo_spec(3, customers=8)
        tables = audit_tables(spec, world_of(spec))
    else:
        tables = random_inputs(seed, shops=3, customers=20).tables()
    found = []
    monkeypatch.setattr(shop_identity, "_CustomerLists", _Recording(found))
    shop_identity.within_shop_jaccard(tables, seed=seed)
    lists, customers = found[0]
    # Three strata of customers at random, so that replicates weight their stratum up.
    design = jackknife_design(np.random.default_rng(seed).integers(0, 3, customers), seed)
    weights = design.weights(np.arange(design.group_stratum.size))
    np.testing.assert_allclose(
        lists.left_out(design), lists.jaccard(weights), rtol=1e-12, atol=1e-15
    )


class _Recording:
    """Stands in for the `_CustomerLists` class and keeps each instance with its strata."""

    def __init__(self, found):
        from auditkit.metrics.homogenization import shop_identity

        self.found = found
        self.real = shop_identity._CustomerLists

    def __call__(self, *args):
        lists = self.real(*args)
        self.found.append((lists, int(args[-1].max()) + 1))
        return lists
