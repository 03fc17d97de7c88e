"""The integer list kernels: order, duplicates and every fallback path agree with plain code."""

import numpy as np
import pandas as pd
import pytest
from tables import catalog, make_tables, random_inputs, shuffle_rows

from auditkit.metrics import _overlap
from auditkit.metrics._overlap import group_pairs, list_entries, pair_jaccard, pair_rbo
from auditkit.metrics.homogenization import homogenization_index as _index
from auditkit.metrics.homogenization.cross_shop import baseline_lists, signature_retention


def plain_lists(probe, rank, item, n_lists):
    """Each list as Python: entries by rank (ties in input order), first of each item kept."""
    lists = [[] for _ in range(n_lists)]
    seen = [set() for _ in range(n_lists)]
    for _, p, i in sorted(zip(rank, probe, item, strict=True), key=lambda e: e[0]):
        if p >= 0 and i not in seen[p]:
            lists[p].append(i)
            seen[p].add(i)
    return lists


def as_python(coded, n_lists):
    lists = [[] for _ in range(n_lists)]
    for p, r, i in zip(coded.probe, coded.rank, coded.item, strict=True):
        assert r == len(lists[p]) + 1
        lists[p].append(int(i))
    return lists


def random_entries(rng, n_lists, longest):
    lengths = rng.integers(0, longest, size=n_lists)
    probe = np.repeat(np.arange(n_lists), lengths)
    # Distinct ranks per list, a few items listed twice.
    rank = np.concatenate([rng.permutation(n) + 1 for n in lengths]).astype(np.int64)
    item = rng.integers(0, 12, size=probe.size)
    probe[rng.random(probe.size) < 0.05] = -1  # entries of probes not asked for
    return probe, rank, item


@pytest.mark.parametrize("seed", range(4))
def test_list_entries_equal_the_plain_lists_whatever_the_row_order(seed):
    rng = np.random.default_rng(seed)
    probe, rank, item = random_entries(rng, 40, 9)
    expected = plain_lists(probe, rank, item, 40)
    ids = np.array([f"q{i:02d}" for i in range(40)], dtype=object)
    for order in (np.arange(probe.size), rng.permutation(probe.size)):
        coded = list_entries(ids, probe[order], rank[order], item[order])
        assert as_python(coded, 40) == expected
        assert list(coded.length) == [len(items) for items in expected]


def test_list_entries_on_very_uneven_lists_takes_the_sorted_duplicate_pass():
    # One list far longer than the rest: the per-row grid would be mostly padding.
    rng = np.random.default_rng(9)
    probe = np.r_[np.zeros(5000, dtype=np.int64), np.repeat(np.arange(1, 30), 3)]
    rank = np.r_[np.arange(1, 5001), np.tile([1, 2, 3], 29)]
    item = rng.integers(0, 3000, size=probe.size)
    order = rng.permutation(probe.size)
    coded = list_entries(np.arange(30).astype(str), probe[order], rank[order], item[order])
    assert as_python(coded, 30) == plain_lists(probe, rank, item, 30)


def test_stable_sort_order_falls_back_to_argsort_for_wide_keys():
    rng = np.random.default_rng(3)
    key = rng.integers(0, 4, size=5000) << 55  # no room left for the position bits
    np.testing.assert_array_equal(_overlap._sort_order(key), np.argsort(key, kind="stable"))
    small = rng.integers(0, 40, size=5000)
    np.testing.assert_array_equal(_overlap._sort_order(small), np.argsort(small, kind="stable"))


def random_lists(rng, n_lists, longest):
    """`random_entries` of every list (no entry left out) as coded `RankedLists`."""
    probe, rank, item = random_entries(rng, n_lists, longest)
    probe[probe < 0] = 0
    return list_entries(np.arange(n_lists).astype(str), probe, rank, item)


def brute_jaccard(lists, a, b):
    out = []
    for x, y in zip(a, b, strict=True):
        first, second = set(lists[x]), set(lists[y])
        union = first | second
        out.append(len(first & second) / len(union) if union else np.nan)
    return np.array(out)


@pytest.mark.parametrize("table", [True, False])
def test_pair_kernels_agree_with_and_without_the_pair_table(monkeypatch, table):
    rng = np.random.default_rng(11)
    coded = random_lists(rng, 60, 8)
    groups = rng.integers(0, 5, size=60)
    shop = rng.integers(0, 3, size=60)
    _, a, b = group_pairs(groups, shop)
    assert (groups[a] == groups[b]).all() and (shop[a] != shop[b]).all() and (a < b).all()
    if not table:
        monkeypatch.setattr(_overlap, "_PAIR_TABLE_SLACK", -(1 << 40))
    lists = as_python(coded, 60)
    np.testing.assert_allclose(pair_jaccard(coded, groups, a, b), brute_jaccard(lists, a, b))
    rbo = pytest.importorskip("rbo")
    theirs = [
        rbo.RankingSimilarity(lists[x], lists[y]).rbo_ext(p=0.9) if lists[x] and lists[y] else 0
        for x, y in zip(a, b, strict=True)
    ]
    ours = pair_rbo(coded, groups, a, b, p=0.9)
    both_empty = (coded.length[a] == 0) & (coded.length[b] == 0)
    assert np.isnan(ours[both_empty]).all()
    np.testing.assert_allclose(ours[~both_empty], np.array(theirs)[~both_empty], atol=1e-12)


def test_group_pairs_do_not_depend_on_how_groups_are_numbered():
    groups = np.array([5, 2, 5, 2, 9, 5])
    group, a, b = group_pairs(groups)
    assert list(zip(group, a, b, strict=True)) == [(2, 1, 3), (5, 0, 2), (5, 0, 5), (5, 2, 5)]


def test_baseline_counts_two_rows_of_one_product_once():
    # P2 is the same product as P1 (one canonical id): the top 2 rows P1, P2 make a list of
    # one product; with k = 3 the list is P1 then P3 (P2 dropped, P3 moved up).
    frame = catalog({"P1": 9.0, "P2": 8.0, "P3": 7.0, "P4": 6.0})
    frame.loc[frame["item_id"] == "P2", "canonical_id"] = "P1"
    rows = [
        {"probe_id": "p1", "shop_id": "a", "k": 2},
        {"probe_id": "p2", "shop_id": "a", "k": 3},
    ]
    tables = make_tables(rows, {"p1": ["P1"], "p2": ["P1"]}, {"a": frame})
    lists = baseline_lists(tables, tables.probes.sort_values("probe_id"))
    assert list(lists.length) == [1, 2]
    keys = tables.codes.dictionary("item_key")
    assert [keys[i] for i in lists.item] == ["P1", "P1", "P3"]
    assert list(lists.rank) == [1, 1, 2]


def plain_signature_retention(tables):
    """The retention as a pandas merge of shown items with the catalog rows."""
    catalog_rows = tables.catalogs[["shop_id", "item_id", "signature"]]
    share = catalog_rows.groupby("shop_id")["signature"].mean()
    share = share[share > 0]
    probes = tables.probes
    keep = probes["answered"] & (probes["repetition"] == 0) & probes["shop_id"].isin(share.index)
    shown = tables.responses[
        tables.responses["probe_id"].isin(probes.loc[keep, "probe_id"])
        & tables.responses["in_catalog"]
    ]
    shown = shown[["probe_id", "shop_id", "item_id"]].merge(catalog_rows, how="left")
    exposure = shown.groupby("probe_id").agg(shop_id=("shop_id", "first"), e=("signature", "mean"))
    # Shop ids are dictionary codes: ``map`` over a Categorical gives a Categorical of shares.
    exposure["c"] = exposure["shop_id"].map(share).astype("float64")
    return exposure["e"].sum() / exposure["c"].sum()


@pytest.mark.parametrize("seed", range(3))
def test_signature_retention_equals_a_plain_merge_with_the_catalog(seed):
    inputs = random_inputs(seed, shops=3, customers=6)
    tables = inputs.tables()
    expected = plain_signature_retention(tables)
    assert signature_retention(tables, n_resamples=50).value == pytest.approx(expected)
    shuffled = shuffle_rows(tables, seed)
    assert signature_retention(shuffled, n_resamples=50).value == pytest.approx(expected)


def test_signature_retention_reads_the_catalog_row_when_a_shop_lists_one_product_twice():
    # P2 is P1's product but only P2 is a signature item: the item's own row decides, not its
    # key.
    frame = catalog(["P1", "P2", "P3", "P4"])
    frame.loc[frame["item_id"] == "P2", "canonical_id"] = "P1"
    rows = [{"probe_id": "p1", "shop_id": "a"}, {"probe_id": "p2", "shop_id": "a"}]
    answers = {"p1": ["P2", "P3"], "p2": ["P1", "P4"]}
    tables = make_tables(rows, answers, {"a": frame}, signatures={"a": ["P2"]})
    assert pd.Series(tables.catalogs["item_key"]).duplicated().any()
    # Shares 1/2 and 0 against 1/4 each: (1/2 + 0) / (1/4 + 1/4) = 1.
    assert signature_retention(tables, n_resamples=50).value == pytest.approx(1.0)
    assert plain_signature_retention(tables) == pytest.approx(1.0)


@pytest.mark.parametrize("budget", [1, 7, 50])
def test_pair_kernels_give_the_same_values_in_blocks_of_groups(monkeypatch, budget):
    rng = np.random.default_rng(5)
    coded = random_lists(rng, 80, 9)
    groups = rng.integers(0, 9, size=80)
    _, a, b = group_pairs(groups)
    shuffled = rng.permutation(a.size)  # pairs in any order, not grouped
    a, b = a[shuffled], b[shuffled]
    whole = pair_jaccard(coded, groups, a, b), pair_rbo(coded, groups, a, b, p=0.8)
    monkeypatch.setattr(_overlap, "_BLOCK_BUDGET", budget)
    blocked = pair_jaccard(coded, groups, a, b), pair_rbo(coded, groups, a, b, p=0.8)
    np.testing.assert_array_equal(blocked[0], whole[0])
    np.testing.assert_array_equal(blocked[1], whole[1])
    np.testing.assert_allclose(whole[0], brute_jaccard(as_python(coded, 80), a, b))


@pytest.mark.parametrize("seed", range(3))
def test_baseline_jaccard_is_the_same_pair_by_pair_or_probe_by_probe(monkeypatch, seed):
    from auditkit.metrics._matched import comparable_lengths, matched_pairs
    from auditkit.metrics.homogenization import homogenization_index as _index

    tables = random_inputs(seed, shops=3, customers=40, k=4).tables()
    matched = matched_pairs(tables)
    probe_k = tables.probes["k"].to_numpy(dtype=np.int64)[matched.rows]
    shop = tables.codes.of("probes", "shop_id")[matched.rows]
    combos = _index._combo_lists(tables, matched.probe_codes, shop, probe_k)
    values = []
    for share in (0.0, np.inf):  # every probe's list; each distinct pair of lists
        monkeypatch.setattr(_index, "_DISTINCT_PAIRS_SHARE", share)
        values.append(_index._baseline_jaccard(tables, combos, probe_k, matched))
    np.testing.assert_array_equal(values[0], values[1])
    lists = baseline_lists(tables, tables.probes.iloc[matched.rows])
    comparable = comparable_lengths(tables, lists, shop, matched.pair_a, matched.pair_b)
    expected = pair_jaccard(
        lists, matched.group, matched.pair_a, matched.pair_b, comparable=comparable
    )
    np.testing.assert_array_equal(values[1], expected)


@pytest.mark.parametrize("k", [1, 3, 50])
def test_catalog_top_k_equals_a_plain_sort_per_group(k):
    # Sparse group ids (most absent), groups smaller than k, and ties broken by tiebreak.
    rng = np.random.default_rng(k)
    groups = rng.choice([0, 3, 4, 17, 40], size=300)
    level = rng.integers(0, 6, size=300)
    tiebreak = rng.permutation(300).astype(np.uint64)
    frame = pd.DataFrame({"g": groups, "level": level, "tie": tiebreak, "row": np.arange(300)})
    expected = frame.sort_values(["g", "level", "tie"]).groupby("g").head(k)["row"].to_numpy()
    np.testing.assert_array_equal(_index._top_k(groups, level, tiebreak, k), expected)


def test_sold_counts_by_bit_table_equal_those_by_search(monkeypatch):
    rng = np.random.default_rng(5)
    n_lists, n_items, n_shops = 300, 400, 7
    probe = np.repeat(np.arange(n_lists), 10)
    lists = _overlap.list_entries(
        np.arange(n_lists),
        probe,
        np.tile(np.arange(1, 11), n_lists),
        rng.integers(0, n_items, probe.size),
    )
    sold = np.unique(rng.integers(0, n_shops * n_items, 1500))
    requests = rng.integers(0, n_lists, 900)
    shops = rng.integers(0, n_shops + 1, 900)  # the last shop sells nothing: past the table
    by_table = _overlap.sold_counts(lists, requests, shops, sold, n_items)
    monkeypatch.setattr(_overlap, "_BIT_TABLE_CELLS", 0)
    by_search = _overlap.sold_counts(lists, requests, shops, sold, n_items)
    np.testing.assert_array_equal(by_table, by_search)
    assert 0 < by_table.sum() < lists.length[requests].sum()
