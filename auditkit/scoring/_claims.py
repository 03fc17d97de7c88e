"""Claim checks: each questionnaire answer set against what the probes measured.

A claim is ``verified`` when the evidence agrees with it, ``contradicted`` when the evidence
disagrees, ``untested`` when it was made but no probe can test it (or the evidence is too
thin), and ``not claimed`` when the vendor did not make it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from auditkit.metrics._lists import pairwise_jaccard
from auditkit.metrics.popularity import trending_keys
from auditkit.metrics.stats import bootstrap_ci
from auditkit.probes.verification import NON_PERSONALIZED
from auditkit.results import ClaimCheck, ClaimVerdict, MetricResult
from auditkit.spec import ClaimsSpec, KnobClaim
from auditkit.tables import AuditTables

# Metrics whose verdicts speak to tenant isolation, strongest evidence first.
ISOLATION_INDEX = "homogenization.index"
ISOLATION_METRICS: tuple[str, ...] = (
    ISOLATION_INDEX,
    "popularity.trend_leakage",
    "homogenization.cross_shop_jaccard",
)
MIN_PAIRS = 5
# A non-personalized mode may let history move at most this share of a list beyond noise.
NON_PERSONALIZED_TOLERANCE = 0.1
EXPLAINED_SHARE = 0.9
GENERIC_SHARE = 0.5
CONSISTENT_SHARE = 0.9
PROMISE_WORDS: dict[str, str] = {
    "diversity_up": "more categories per list",
    "trend_share_down": "fewer globally trending products",
    "signature_up": "more of the shop's signature products",
    "excluded_absent": "excluded products never shown",
}


def _stated_only(check_id: str, claim: str, value: object) -> ClaimCheck:
    """A claim no probe can test: credited as stated, never as verified."""
    if value in (None, False, "", []):
        return ClaimCheck(check_id, claim, "not claimed", "not testable by probes", "not claimed")
    return ClaimCheck(check_id, claim, str(value), "not testable by probes", "untested")


def _tenant_isolation(claims: ClaimsSpec, metrics: Sequence[MetricResult]) -> ClaimCheck:
    pooled = claims.data_pooled_across_shops
    if pooled is None:
        return ClaimCheck(
            "tenant_isolation", "data_pooled_across_shops", "not claimed", "", "not claimed"
        )
    found = {m.id: m for m in metrics if m.id in ISOLATION_METRICS and m.verdict != "inconclusive"}
    measured = ", ".join(f"{i}: {m.verdict} ({m.value:.3g})" for i, m in sorted(found.items()))
    stated = "client shops' data is pooled" if pooled else "each shop's data stays its own"
    if not found:
        return ClaimCheck(
            "tenant_isolation",
            "data_pooled_across_shops",
            stated,
            "no isolation metric could be computed",
            "untested",
        )
    converged = any(m.verdict in ("warn", "fail") for m in found.values())
    if pooled:
        verdict: ClaimVerdict = "verified" if converged else "untested"
    elif converged:
        verdict = "contradicted"
    else:
        # Raw overlap falls with a vendor's noise alone: isolation is verified only on the
        # scale of the vendor's agreement with itself, the index.
        verdict = "verified" if ISOLATION_INDEX in found else "untested"
    return ClaimCheck("tenant_isolation", "data_pooled_across_shops", stated, measured, verdict)


def _explanation_consistency(tables: AuditTables) -> tuple[int, int]:
    """(explanations naming a category or item of the shop, those naming the history's)."""
    rows = tables.responses.dropna(subset=["explanation"])
    if rows.empty:
        return 0, 0
    catalog = tables.catalogs
    names = pd.concat(
        [
            catalog[["shop_id", "category"]].rename(columns={"category": "token"}),
            catalog[["shop_id", "item_id"]].rename(columns={"item_id": "token"}),
        ]
    ).drop_duplicates()
    # A vendor repeats a few explanation texts over every list: each distinct text is split
    # once, and only its words that name something in some catalog are carried to the rows.
    texts, distinct = pd.factorize(rows["explanation"].to_numpy())
    words = (
        pd.DataFrame(
            {
                "text": np.arange(len(distinct)),
                "token": pd.Series(distinct, dtype="string").str.findall(r"[\w\-:.]+"),
            }
        )
        .explode("token")
        .dropna(subset=["token"])
    )
    words = words[words["token"].isin(names["token"])]
    tokens = pd.DataFrame(
        {
            "row": np.arange(len(rows)),
            "text": texts,
            "probe_id": rows["probe_id"].to_numpy(),
            "shop_id": rows["shop_id"].to_numpy(),
        }
    ).merge(words, on="text")
    named = tokens.drop(columns="text").merge(names.astype("string"), on=["shop_id", "token"])
    if named.empty:
        return 0, 0
    history = tables.histories
    own = (
        pd.concat(
            [
                history[["probe_id", "category"]].rename(columns={"category": "token"}),
                history[["probe_id", "item_id"]].rename(columns={"item_id": "token"}),
            ]
        )
        .dropna()
        .drop_duplicates()
        .astype("string")
        .assign(own=True)
    )
    named = named.merge(own, on=["probe_id", "token"], how="left")
    agrees = named["own"].fillna(False).astype(bool).groupby(named["row"]).all()
    return len(agrees), int(agrees.sum())


def _explanations(claims: ClaimsSpec, tables: AuditTables) -> ClaimCheck:
    if not claims.explanations:
        return ClaimCheck("explanations", "explanations", "not claimed", "", "not claimed")
    responses = tables.responses
    if responses.empty:
        return ClaimCheck(
            "explanations",
            "explanations",
            "every recommendation is explained",
            "no answers",
            "untested",
        )
    text = responses.get("explanation", pd.Series(pd.NA, index=responses.index, dtype="string"))
    present = text.notna() & (text.str.strip() != "")
    explained = float(present.mean())
    per_list = pd.DataFrame({"probe_id": responses["probe_id"], "text": text})[present.to_numpy()]
    counts = per_list.groupby("probe_id")["text"].agg(["size", "nunique"])
    counts = counts[counts["size"] >= 2]
    generic = float((counts["nunique"] == 1).mean()) if len(counts) else 0.0
    named, agree = _explanation_consistency(tables)
    consistent = agree / named if named else 1.0
    measured = (
        f"{explained:.0%} of items explained; {generic:.0%} of lists explain every item "
        f"the same way; {consistent:.0%} of {named} explanations naming a category or "
        "product name one from the customer's history"
    )
    ok = (
        explained >= EXPLAINED_SHARE
        and generic <= GENERIC_SHARE
        and consistent >= CONSISTENT_SHARE
    )
    return ClaimCheck(
        "explanations",
        "explanations",
        "every recommendation is explained",
        measured,
        "verified" if ok else "contradicted",
        n=len(responses),
    )


def _scores(claims: ClaimsSpec, tables: AuditTables) -> ClaimCheck:
    if not claims.scores_exposed:
        return ClaimCheck("scores_exposed", "scores_exposed", "not claimed", "", "not claimed")
    score = tables.responses.get("score")
    if score is None or tables.responses.empty:
        share = 0.0
    else:
        share = float(np.isfinite(score.to_numpy(dtype="float64")).mean())
    verdict: ClaimVerdict = "verified" if share >= EXPLAINED_SHARE else "contradicted"
    return ClaimCheck(
        "scores_exposed",
        "scores_exposed",
        "every recommendation has a score",
        f"{share:.0%} of items came with a score",
        verdict,
        n=len(tables.responses),
    )


def _check_probes(tables: AuditTables, check_id: str) -> pd.DataFrame:
    probes = tables.probes
    if "check_id" not in probes.columns:
        return probes.iloc[0:0]
    answered = probes["answered"].astype(bool)
    return probes[
        (probes["check_id"] == check_id).fillna(False).to_numpy(dtype=bool) & answered.to_numpy()
    ]


def _interval_verdict(
    diffs: np.ndarray, sign: float, *, n_resamples: int, confidence: float, seed: int
) -> tuple[ClaimVerdict, float | None, tuple[float, float] | None]:
    """Verified when the whole interval of the paired change lies on the promised side."""
    if len(diffs) < MIN_PAIRS:
        return "untested", None, None
    low, high = bootstrap_ci(diffs, n_resamples=n_resamples, confidence=confidence, seed=seed)
    promised = low > 0 if sign > 0 else high < 0
    return ("verified" if promised else "contradicted"), float(diffs.mean()), (low, high)


def _non_personalized(
    claims: ClaimsSpec, tables: AuditTables, *, n_resamples: int, confidence: float, seed: int
) -> ClaimCheck:
    mode = claims.non_personalized_mode
    if mode is None:
        return ClaimCheck(
            NON_PERSONALIZED, "non_personalized_mode", "not claimed", "", "not claimed"
        )
    stated = f"setting {mode.option}={mode.value!r} ignores the customer's history"
    probes = _check_probes(tables, NON_PERSONALIZED)
    arms = probes.pivot_table(
        index="match_id", columns="check_arm", values="probe_id", aggfunc="first"
    ).dropna()
    if not {"a", "a_repeat", "b"} <= set(arms.columns) or len(arms) < MIN_PAIRS:
        return ClaimCheck(
            NON_PERSONALIZED,
            "non_personalized_mode",
            stated,
            "too few answered check probes",
            "untested",
            n=len(arms),
        )
    items = tables.responses[["probe_id", "item_key"]].drop_duplicates()
    same = pairwise_jaccard(
        items, pd.DataFrame({"probe_a": arms["a"], "probe_b": arms["a_repeat"]})
    )
    other = pairwise_jaccard(items, pd.DataFrame({"probe_a": arms["a"], "probe_b": arms["b"]}))
    diffs = (same - other)[np.isfinite(same - other)]
    if len(diffs) < MIN_PAIRS:
        return ClaimCheck(
            NON_PERSONALIZED,
            "non_personalized_mode",
            stated,
            "too few comparable lists",
            "untested",
            n=len(diffs),
        )
    low, high = bootstrap_ci(diffs, n_resamples=n_resamples, confidence=confidence, seed=seed)
    verdict: ClaimVerdict = (
        "verified"
        if high < NON_PERSONALIZED_TOLERANCE
        else "contradicted"
        if low > 0
        else "untested"
    )
    measured = (
        f"a different history changes {diffs.mean():.0%} more of the list than asking "
        f"again with the same history (interval {low:.2f} to {high:.2f})"
    )
    return ClaimCheck(
        NON_PERSONALIZED,
        "non_personalized_mode",
        stated,
        measured,
        verdict,
        effect=float(diffs.mean()),
        ci=(low, high),
        n=len(diffs),
    )


def _knob_outcome(
    knob: KnobClaim, tables: AuditTables, signatures: Mapping[str, tuple[str, ...]]
) -> pd.Series:
    """The per-list outcome the knob promises to move, for every answered list."""
    responses = tables.responses
    if knob.promises == "diversity_up":
        return responses.groupby("probe_id")["category"].nunique()
    if knob.promises == "trend_share_down":
        hits = responses["item_key"].isin(trending_keys(tables.catalogs))
    elif knob.promises == "signature_up":
        marks = pd.DataFrame(
            [(shop, name) for shop, names in signatures.items() for name in names],
            columns=["shop_id", "name"],
            dtype="string",
        )
        category = responses.merge(
            marks, left_on=["shop_id", "category"], right_on=["shop_id", "name"], how="left"
        )["name"].notna()
        item = responses.merge(
            marks, left_on=["shop_id", "item_id"], right_on=["shop_id", "name"], how="left"
        )["name"].notna()
        hits = pd.Series((category | item).to_numpy(), index=responses.index)
    else:  # excluded_absent
        excluded = knob.value if isinstance(knob.value, list) else [knob.value]
        hits = responses["item_id"].isin([str(x) for x in excluded])
    return hits.groupby(responses["probe_id"]).mean()


def _knob(
    knob: KnobClaim,
    tables: AuditTables,
    signatures: Mapping[str, tuple[str, ...]],
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> ClaimCheck:
    check_id = f"knob:{knob.name}"
    stated = f"setting {knob.option}={knob.value!r} gives {PROMISE_WORDS[knob.promises]}"
    probes = _check_probes(tables, check_id)
    arms = probes.pivot_table(
        index="match_id", columns="check_arm", values="probe_id", aggfunc="first"
    ).dropna()
    if arms.empty or not {"off", "on"} <= set(arms.columns):
        return ClaimCheck(check_id, knob.name, stated, "no answered check probes", "untested")
    outcome = _knob_outcome(knob, tables, signatures)
    off = arms["off"].map(outcome).fillna(0.0).to_numpy(dtype="float64")
    on = arms["on"].map(outcome).fillna(0.0).to_numpy(dtype="float64")
    if knob.promises == "excluded_absent":
        shown = float(on.max()) if len(on) else 0.0
        verdict: ClaimVerdict = (
            "contradicted" if shown > 0 else "verified" if off.max(initial=0.0) > 0 else "untested"
        )
        measured = (
            f"excluded products filled {off.mean():.0%} of lists with the setting off "
            f"and {on.mean():.0%} with it on"
        )
        return ClaimCheck(
            check_id,
            knob.name,
            stated,
            measured,
            verdict,
            effect=float((on - off).mean()),
            n=len(on),
        )
    sign = -1.0 if knob.promises == "trend_share_down" else 1.0
    diffs = on - off
    verdict, effect, ci = _interval_verdict(
        diffs, sign, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    measured = (
        f"change per list with the setting on: {diffs.mean():+.3g}"
        + ("" if ci is None else f" (interval {ci[0]:+.3g} to {ci[1]:+.3g})")
        + f" over {len(diffs)} customers"
    )
    return ClaimCheck(
        check_id, knob.name, stated, measured, verdict, effect=effect, ci=ci, n=len(diffs)
    )


def verify_claims(
    claims: ClaimsSpec,
    tables: AuditTables,
    metrics: Sequence[MetricResult],
    *,
    signatures: Mapping[str, tuple[str, ...]],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[ClaimCheck]:
    """Check every claim of the spec against the measured behaviour.

    Parameters
    ----------
    claims
        The vendor's questionnaire answers.
    tables
        All of the audit's tables, verification probes included.
    metrics
        The audit's metric results (tenant isolation is judged from them).
    signatures
        Each shop's signature categories and items.
    n_resamples, confidence, seed
        Bootstrap settings of the intervals of paired checks.
    """
    core = tables.core()
    checks = [
        _stated_only("data_sources", "data_sources", claims.data_sources),
        _tenant_isolation(claims, metrics),
        _explanations(claims, core),
        _scores(claims, core),
        _non_personalized(
            claims, tables, n_resamples=n_resamples, confidence=confidence, seed=seed
        ),
        _stated_only("documentation", "documentation", ", ".join(claims.documentation)),
        _stated_only("audit_log", "audit_log", claims.audit_log),
    ]
    checks += [
        _knob(knob, tables, signatures, n_resamples=n_resamples, confidence=confidence, seed=seed)
        for knob in claims.knobs
    ]
    return checks
