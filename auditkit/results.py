"""Result types shared by the metrics, scoring and report stages: plain dataclasses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = Literal["pass", "warn", "fail", "inconclusive", "reported"]
Direction = Literal["higher_is_worse", "lower_is_worse"]
VERDICTS: tuple[Verdict, ...] = ("pass", "warn", "fail", "inconclusive", "reported")


@dataclass(frozen=True)
class Threshold:
    """Where a metric turns from pass to warn to fail, and which way is worse."""

    warn: float
    fail: float
    direction: Direction = "higher_is_worse"
    min_units: int = 10


@dataclass(frozen=True)
class Estimate:
    """What a metric measured, before any verdict: the value, its uncertainty and its units.

    Metrics return estimates; `auditkit.judging` turns each into a `MetricResult` (verdict and
    words). ``words`` holds the names and numbers the metric's sentence needs beyond the value;
    ``reason`` says why the value could not be measured (then it is NaN).
    """

    id: str
    family: str
    value: float
    ci: tuple[float, float] | None
    n: int
    unit: str
    p_value: float | None = None
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    words: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


Effect = Literal["none", "below threshold", "over threshold"]
EFFECTS: tuple[Effect, ...] = ("none", "below threshold", "over threshold")


@dataclass(frozen=True)
class MetricResult:
    """One measured quantity of the audit with its uncertainty and verdict."""

    id: str
    family: str
    value: float
    ci: tuple[float, float] | None
    n: int
    unit: str
    verdict: Verdict
    threshold: Threshold | None = None
    p_value: float | None = None
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    # For a tested metric, which of three findings its test and threshold make: "none" (the
    # test cannot tell the gap from chance), "below threshold" (a real gap, short of warn) or
    # "over threshold" (warn or fail); None for a metric without a test.
    effect: Effect | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        data = asdict(self)
        data["ci"] = None if self.ci is None else list(self.ci)
        return data


@dataclass(frozen=True)
class DataQuality:
    """How much of the probe plan got a usable answer, and what went wrong otherwise."""

    probes_planned: int
    probes_answered: int
    attempts: int
    failures_by_kind: dict[str, int] = field(default_factory=dict)
    # Probes that repeat another probe's request byte for byte (a twin at the customer's own
    # level): not sent, they share its answer.
    probes_shared: int = 0
    # Why probing stopped before the plan was done (the vendor was down, say); None if not.
    stopped: str | None = None

    @property
    def answer_rate(self) -> float:
        """Share of planned probes with a usable answer."""
        return self.probes_answered / self.probes_planned if self.probes_planned else 0.0


ClaimVerdict = Literal["verified", "contradicted", "untested", "not claimed"]


@dataclass(frozen=True)
class ClaimCheck:
    """One vendor claim: as stated, what the probes measured, and whether they agree."""

    id: str
    claim: str
    stated: str
    measured: str
    verdict: ClaimVerdict
    effect: float | None = None
    ci: tuple[float, float] | None = None
    n: int = 0


@dataclass(frozen=True)
class ScoreItem:
    """One rubric item: its weight, the claim check that decides it, and the points earned."""

    id: str
    description: str
    weight: float
    check: str
    verdict: ClaimVerdict
    points: float


@dataclass(frozen=True)
class Score:
    """A rubric's score (0-100) and letter, with every point traceable to an item."""

    rubric: str
    version: int
    score: float
    letter: str
    items: list[ScoreItem]


Finding = Literal["positive", "positive with comments", "negative"]
FINDINGS: tuple[Finding, ...] = ("positive", "positive with comments", "negative")


@dataclass(frozen=True)
class ObligationTest:
    """One metric or claim check a regulatory obligation rests on, and its verdict in this run.

    ``verdict`` is the metric's or the claim's own, or ``"not run"`` when the run has none.
    """

    kind: Literal["metric", "claim"]
    id: str
    verdict: str
    summary: str


@dataclass(frozen=True)
class ObligationFinding:
    """What an audit found for one regulatory obligation, by the one rule of `auditkit.suites`."""

    id: str
    clause: str
    title: str
    obligation: str
    tested: str
    tests: list[ObligationTest]
    finding: Finding
    reasons: list[str]
    # NYC LL144-style impact ratios read from the segment metrics' groups (view only).
    impact_ratios: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AuditOpinion:
    """The audit opinion over every obligation: positive, positive with comments or negative."""

    opinion: Finding
    reasons: list[str]


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit produced: metrics, data quality and provenance."""

    name: str
    metrics: list[MetricResult]
    data_quality: DataQuality
    provenance: dict[str, Any]
    run_dir: str | None = None
    claims: list[ClaimCheck] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    # Only for a spec whose suite names obligations (`auditkit.suites`).
    obligations: list[ObligationFinding] = field(default_factory=list)
    opinion: AuditOpinion | None = None

    def metric(self, metric_id: str) -> MetricResult:
        """The result of one metric by id (``KeyError`` lists the ids present)."""
        for result in self.metrics:
            if result.id == metric_id:
                return result
        raise KeyError(f"no metric {metric_id!r}; have {[m.id for m in self.metrics]}")

    def _repr_html_(self) -> str | None:
        """The report's scorecard, for Jupyter (None, and a plain repr, before reports load)."""
        render = HTML_VIEWS.get("scorecard")
        return None if render is None else render(self)

    def to_frame(self) -> Any:
        """One row per metric as a pandas DataFrame."""
        import pandas as pd

        rows = [
            {
                "id": m.id,
                "family": m.family,
                "value": m.value,
                "ci_low": None if m.ci is None else m.ci[0],
                "ci_high": None if m.ci is None else m.ci[1],
                "p_value": m.p_value,
                "n": m.n,
                "unit": m.unit,
                "verdict": m.verdict,
            }
            for m in self.metrics
        ]
        return pd.DataFrame(rows)


# HTML views of a result by name, filled by `auditkit.reports` when it loads: the result types
# come first in the stage order and import nothing after them.
HTML_VIEWS: dict[str, Callable[[AuditResult], str]] = {}
