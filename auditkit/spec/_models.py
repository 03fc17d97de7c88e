"""The audit spec as typed models: every key, its type, its default and its rule."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

import jmespath
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=64)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveInt = Annotated[int, Field(gt=0)]

# Upper bounds on everything that sizes the work: a typo of a few zeros must stop at
# validation, not after hours of generating shops or designing probes.
MAX_SEED = 2**63 - 1
MAX_SHOPS = 1000
MAX_ITEMS_PER_SHOP = 1_000_000
MAX_WORLD_ITEMS = 5_000_000
MAX_CATEGORIES = 10_000
MAX_K = 1000
MAX_HISTORY = 1000
MAX_CUSTOMERS = 100_000
MAX_REPETITIONS = 100
MAX_SEGMENT_PROFILES = 10_000
# Several million probes are an audit for a cluster (--scheduler); the bound keeps a typo
# from designing a plan that no client could hold.
MAX_PROBES = 10_000_000
MAX_EVENTS = 10_000_000
MAX_RESAMPLES = 100_000
MAX_CONCURRENCY = 1000
MAX_ATTEMPTS = 100
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]

TOO_MANY_WORLD_ITEMS = (
    "shops × items_per_shop must be at most {limit:,} products; got {shops} × {items} = {total:,}"
)
TOO_MANY_PROFILES = (
    "the segments' levels must combine into at most {limit:,} profiles; got {count:,}"
)
TOO_MANY_PROBES = (
    "the personas' probes must number at most {limit:,}; got {count:,} ({shops} shops × "
    "{customers:,} customer profiles × {variants} probes each)"
)


def _some(names: list[str], shown: int = 10) -> str:
    """The first ``shown`` of ``names`` as a list, then how many more there are."""
    more = f" and {len(names) - shown:,} more" if len(names) > shown else ""
    return f"{names[:shown]}{more}"


class _Model(BaseModel):
    # NaN and infinity pass every bound unnoticed (or fail them confusingly): refuse them.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


class WorldSpec(_Model):
    """The built-in synthetic world: seeded shops with partly shared catalogs."""

    shops: Annotated[int, Field(ge=1, le=MAX_SHOPS)] = Field(
        6, description="How many client shops to generate."
    )
    items_per_shop: Annotated[int, Field(ge=2, le=MAX_ITEMS_PER_SHOP)] = Field(
        300, description="Catalog size of each shop."
    )
    # Each shop gets two signature categories.
    categories: Annotated[int, Field(ge=2, le=MAX_CATEGORIES)] = Field(
        12, description="Number of product categories."
    )
    shared_fraction: Fraction = Field(
        0.6, description="Share of each catalog drawn from products sold by several shops."
    )
    shop_taste: Fraction = Field(
        0.7, description="How far each shop's own bestsellers depart from global popularity."
    )

    @model_validator(mode="after")
    def _world_fits(self) -> WorldSpec:
        total = self.shops * self.items_per_shop
        if total > MAX_WORLD_ITEMS:
            raise ValueError(
                TOO_MANY_WORLD_ITEMS.format(
                    limit=MAX_WORLD_ITEMS, shops=self.shops, items=self.items_per_shop, total=total
                )
            )
        return self


class SignatureSpec(_Model):
    """What makes a shop distinctive: its signature items and/or categories."""

    categories: list[str] = Field(default_factory=list)
    items: list[str] = Field(default_factory=list)


class ShopSpec(_Model):
    """A client shop with its own catalog file (CSV or Parquet, relative to the spec)."""

    id: Identifier
    catalog: Path
    signature: SignatureSpec = Field(default_factory=SignatureSpec)


class SteeringSpec(_Model):
    """A planted segment effect of the simulated vendor."""

    attribute: str
    level: str
    price_shift: float = Field(0.0, description="Negative steers the level to cheaper items.")
    trend_shift: float = Field(0.0, description="Positive steers the level to trending items.")


class SimulatedOptions(_Model):
    """Knobs of the built-in simulated vendor (each one a plantable effect)."""

    pooling: Fraction = Field(0.0, description="0 = each shop isolated, 1 = one global model.")
    trend_weight: Annotated[float, Field(ge=0.0)] = 0.0
    personalization: Annotated[float, Field(ge=0.0)] = 1.0
    noise: Annotated[float, Field(ge=0.0)] = 0.3
    steering: list[SteeringSpec] = Field(default_factory=list)
    ignored_options: list[Literal["personalized", "trending", "diversity", "boost", "exclude"]] = (
        Field(
            default_factory=list,
            description="Request options accepted but ignored: a claimed knob that does nothing.",
        )
    )
    calibrated_lift: Annotated[float, Field(gt=-1.0)] | None = Field(
        None,
        description=(
            "Serve popularity-calibrated lists instead, (1 + calibrated_lift) times as popular "
            "as the customer's history: 0 = no popularity bias relative to the customer."
        ),
    )

    @model_serializer(mode="wrap")
    def _omit_unset_calibration(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Unset, the option is left out of the dump, so specs written before it existed keep
        # their hash (and their recorded evidence stays resumable).
        data: dict[str, Any] = handler(self)
        if data.get("calibrated_lift") is None:
            data.pop("calibrated_lift", None)
        return data


class SimulatedVendorSpec(_Model):
    """Audit the built-in simulated vendor (no network, no data needed)."""

    adapter: Literal["simulated"]
    name: str = "simulated vendor"
    options: SimulatedOptions = Field(default_factory=SimulatedOptions)


TRAINING_RULE = "'isolated', 'pooled' or 'mixed:ALPHA' with ALPHA a number from 0 to 1"
"""What the trained vendor's ``training`` option may be (`pooled_weight` reads it)."""


def pooled_weight(training: object) -> float:
    """The pooled model's weight in a trained vendor's ``training`` value.

    ``isolated`` is 0 (one model per shop), ``pooled`` 1 (one model for all shops) and
    ``mixed:ALPHA`` is ALPHA. Raises ``ValueError`` saying `TRAINING_RULE` otherwise.
    """
    if training == "isolated":
        return 0.0
    if training == "pooled":
        return 1.0
    head, colon, tail = training.partition(":") if isinstance(training, str) else ("", "", "")
    try:
        alpha = float(tail) if head == "mixed" and colon else math.nan
    except ValueError:
        alpha = math.nan
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"must be {TRAINING_RULE}; got {training!r}")
    return alpha


class TrainedOptions(_Model):
    """Settings of the built-in trained vendor: a real recommender fit to synthetic logs."""

    training: str = Field(
        "isolated",
        description="isolated = one model per shop, pooled = one model for all shops, "
        "mixed:ALPHA = similarity ALPHA * pooled + (1 - ALPHA) * the shop's own.",
    )
    algorithm: Literal["item_knn", "als"] = Field(
        "item_knn", description="item_knn = cosine item-item kNN; als = least-squares factors."
    )
    neighbours: Annotated[int, Field(ge=1, le=MAX_K)] = Field(
        50, description="Neighbours kept per item."
    )
    factors: Annotated[int, Field(ge=1, le=MAX_K)] = Field(
        32, description="Latent factors (als only)."
    )
    customers_per_shop: Annotated[int, Field(ge=1, le=MAX_CUSTOMERS)] = Field(
        2000, description="Synthetic customers in each shop's training log."
    )
    noise: Annotated[float, Field(ge=0.0)] = Field(
        0.0, description="Per (shop, customer) noise on the ranking; 0 = deterministic."
    )
    log_seed: Seed | None = Field(
        None,
        description="Seeds the training logs and the model (default: from the audit's seed); "
        "fix it to audit one trained vendor under many audit seeds.",
    )

    @field_validator("training")
    @classmethod
    def _training(cls, value: str) -> str:
        pooled_weight(value)
        return value


class TrainedVendorSpec(_Model):
    """Audit the built-in trained vendor: item-kNN or ALS fit to synthetic interaction logs."""

    adapter: Literal["trained"]
    name: str = "trained vendor"
    options: TrainedOptions = Field(default_factory=TrainedOptions)


class RetrySpec(_Model):
    """When and how often a failed request is sent again.

    Timeouts, connection errors, ``429`` and ``5xx`` are retried, waiting an exponentially
    growing, jittered time (at least the vendor's ``Retry-After``); other failures are not.
    """

    max_attempts: Annotated[int, Field(ge=1, le=MAX_ATTEMPTS)] = Field(
        4, description="Attempts per probe, the first included."
    )
    backoff_seconds: Annotated[float, Field(gt=0.0)] = Field(
        0.5, description="Wait before the first retry; doubles for each further one."
    )
    max_backoff_seconds: Annotated[float, Field(gt=0.0)] = Field(
        30.0, description="Longest wait between attempts, Retry-After included."
    )


class PythonVendorSpec(_Model):
    """Audit any Python object with ``recommend(request)``, built by ``factory(**options)``."""

    adapter: Literal["python"]
    name: str = "python vendor"
    target: Annotated[
        str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="'pkg.module:factory'")
    ]
    options: dict[str, Any] = Field(default_factory=dict)
    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = Field(
        1, description="Calls in flight at once (threads)."
    )
    rate_per_second: Annotated[float, Field(gt=0.0)] | None = Field(
        None, description="Most calls per second, retries included (default: no cap)."
    )
    retries: RetrySpec = Field(
        default_factory=lambda: RetrySpec(max_attempts=1),
        description="Retries of calls that raise TimeoutError or ConnectionError.",
    )


_PLACEHOLDER = re.compile(r"(?<!\$)\{([^{}]*)\}")
_SECRET = re.compile(r"\$\{([^{}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PLACEHOLDERS = (
    "shop_id",
    "tenant_id",
    "customer_id",
    "probe_id",
    "history",
    "context",
    "k",
    "options",
)
"""What a template may name: ``{customer_id}``, ``{context.device}``, ``{options.diversity}``."""
EVENT_BATCH_PLACEHOLDERS = (
    "shop_id",
    "tenant_id",
    "events",
    "batch_id",
    "timestamp",
    "timestamp_ms",
)
"""What an event request's URL, headers, query and body may name (``{events}``: the batch)."""
EVENT_PLACEHOLDERS = (
    "item_id",
    "type",
    "customer_id",
    "shop_id",
    "tenant_id",
    "timestamp",
    "timestamp_ms",
)
"""What the template of one event may name."""


def _check_url(text: str, *, allowed: tuple[str, ...] = PLACEHOLDERS) -> None:
    """A URL template: placeholders as anywhere; ``${ENV_VAR}`` only in its configuration.

    The scheme, host, port and base path (everything before the first ``{placeholder}`` and
    the query) may come from the environment, as a deployment's address does; what follows
    is the request's own and takes no secret.
    """
    first = _PLACEHOLDER.search(text)
    query = text.find("?")
    end = min(first.start() if first else len(text), query if query >= 0 else len(text))
    for match in _SECRET.finditer(text):
        if match.end() > end:
            raise ValueError(
                f"${{{match.group(1)}}}: in the URL an environment variable may name the "
                "scheme, host, port or base path, before any {placeholder} and the query"
            )
    _check_text(_SECRET.sub("", text), secrets=False, allowed=allowed)


def _check_text(text: str, *, secrets: bool, allowed: tuple[str, ...] = PLACEHOLDERS) -> None:
    for name in _PLACEHOLDER.findall(text):
        head = name.split(".", 1)[0]
        dotted = allowed is PLACEHOLDERS and head in ("context", "options")
        if head not in allowed or ("." in name and not dotted):
            extra = " (or {context.NAME}, {options.NAME})" if allowed is PLACEHOLDERS else ""
            raise ValueError(
                f"placeholder {{{name}}} must be one of {{{'}, {'.join(allowed)}}}{extra}"
            )
    for name in _SECRET.findall(text):
        if not secrets:
            raise ValueError(f"${{{name}}}: secrets (${{ENV_VAR}}) belong in headers or query")
        if not _ENV_NAME.match(name):
            raise ValueError(f"${{{name}}} must name an environment variable (letters, digits, _)")


def _check_template(value: Any, *, secrets: bool, allowed: tuple[str, ...] = PLACEHOLDERS) -> None:
    if isinstance(value, str):
        _check_text(value, secrets=secrets, allowed=allowed)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(str(key), secrets=False, allowed=allowed)
            _check_template(item, secrets=secrets, allowed=allowed)
    elif isinstance(value, list):
        for item in value:
            _check_template(item, secrets=secrets, allowed=allowed)


def _check_jmespath(value: str | None) -> str | None:
    if value is not None:
        try:
            jmespath.compile(value)
        # jmespath's parser recurses (a thousand '[' overflow it) and reads numbers with int().
        except (jmespath.exceptions.JMESPathError, RecursionError, ValueError):
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise ValueError(f"must be a JMESPath expression; got {shown!r}") from None
    return value


class ResponsePathsSpec(_Model):
    """Where the answer's parts are, as JMESPath expressions over the JSON response."""

    items: str = Field(description="The ranked item ids, e.g. 'data.recommendations[].sku'.")
    scores: str | None = Field(None, description="One score per item, if the vendor gives them.")
    explanations: str | None = Field(None, description="One explanation per item, if given.")

    @field_validator("items", "scores", "explanations")
    @classmethod
    def _jmespath(cls, value: str | None) -> str | None:
        return _check_jmespath(value)


class HttpEventsSpec(_Model):
    """Where and how the vendor takes interaction events (for trend planting).

    The planting's events are sent in batches of ``batch_size``, one request each; the body
    template's ``{events}`` is the batch, each event written by the ``event`` template.
    """

    url: Annotated[
        str,
        Field(
            pattern=r"^https?://[^\s]+$",
            description="Endpoint; may hold {shop_id}, {tenant_id} and {batch_id}.",
        ),
    ]
    method: Literal["POST", "PUT"] = "POST"
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Sent with every event request, over the vendor's headers of the same name.",
    )
    query: dict[str, Any] = Field(default_factory=dict, description="Query parameter templates.")
    body: Any = Field(
        default_factory=lambda: {"events": "{events}"},
        description="JSON body template of one batch.",
    )
    event: Any = Field(
        default_factory=lambda: {
            "item_id": "{item_id}",
            "type": "{type}",
            "customer_id": "{customer_id}",
        },
        description="JSON template of one event in {events}.",
    )
    batch_size: PositiveInt = Field(500, description="Most events sent in one request.")

    @field_validator("url")
    @classmethod
    def _url_template(cls, value: str) -> str:
        allowed = tuple(p for p in EVENT_BATCH_PLACEHOLDERS if p != "events")
        _check_url(value, allowed=allowed)
        return value

    @field_validator("headers", "query")
    @classmethod
    def _secret_templates(cls, value: dict[str, Any]) -> dict[str, Any]:
        allowed = tuple(p for p in EVENT_BATCH_PLACEHOLDERS if p != "events")
        _check_template(value, secrets=True, allowed=allowed)
        return value

    @field_validator("body")
    @classmethod
    def _body_template(cls, value: Any) -> Any:
        _check_template(value, secrets=False, allowed=EVENT_BATCH_PLACEHOLDERS)
        if "{events}" not in _template_strings(value):
            raise ValueError('must send the batch: one value must be "{events}"')
        return value

    @field_validator("event")
    @classmethod
    def _event_template(cls, value: Any) -> Any:
        _check_template(value, secrets=False, allowed=EVENT_PLACEHOLDERS)
        return value


def _template_strings(value: Any) -> list[str]:
    """Every string value of a JSON-like template (keys excluded)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _template_strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _template_strings(item)]
    return []


class HttpVendorSpec(_Model):
    """Audit any vendor's HTTP API, described declaratively (no code needed).

    Templates fill ``{customer_id}`` and the like from each probe; a string that is a single
    placeholder (``"{history}"``) takes the probe's value as is (a list, a number, a mapping).
    Secrets are written ``${ENV_VAR}`` in headers or query and read from the environment when
    the run starts; they never reach the evidence or the report.
    """

    adapter: Literal["http"]
    name: str = "http vendor"
    url: Annotated[
        str,
        Field(
            pattern=r"^https?://[^\s]+$",
            description="Endpoint; may hold {shop_id}, {tenant_id} and the like.",
        ),
    ]
    method: Literal["GET", "POST", "PUT"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict, description="Sent with every request.")
    query: dict[str, Any] = Field(default_factory=dict, description="Query parameter templates.")
    body: Any = Field(None, description="JSON body template (POST and PUT).")
    tenants: dict[str, str] = Field(
        default_factory=dict,
        description="The vendor's tenant id of each shop (default: the shop id).",
    )
    response: ResponsePathsSpec
    timeout_seconds: Annotated[float, Field(gt=0.0)] = Field(
        10.0, description="Longest wait for one request's answer."
    )
    max_response_bytes: PositiveInt = Field(
        1_048_576, description="Longer answers are cut off while reading and recorded invalid."
    )
    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = Field(
        8, description="Requests in flight at once."
    )
    rate_per_second: Annotated[float, Field(gt=0.0)] | None = Field(
        None, description="Most requests sent per second, retries included (default: no cap)."
    )
    retries: RetrySpec = Field(default_factory=RetrySpec)
    events: HttpEventsSpec | None = Field(
        None, description="The vendor's event API, for trend planting (default: none)."
    )

    @field_validator("url")
    @classmethod
    def _url_template(cls, value: str) -> str:
        _check_url(value)
        return value

    @field_validator("headers", "query")
    @classmethod
    def _secret_templates(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_template(value, secrets=True)
        return value

    @field_validator("body")
    @classmethod
    def _body_template(cls, value: Any) -> Any:
        _check_template(value, secrets=False)
        return value

    @model_validator(mode="after")
    def _body_needs_a_method(self) -> HttpVendorSpec:
        if self.body is not None and self.method == "GET":
            raise ValueError("a GET request has no body; use query, or method POST")
        return self

    @model_validator(mode="after")
    def _headers_fit_events(self) -> HttpVendorSpec:
        if self.events is None:
            return self
        # Event requests carry the vendor's headers too: they cannot name a probe's fields.
        allowed = tuple(p for p in EVENT_BATCH_PLACEHOLDERS if p != "events")
        own = {name.lower() for name in self.events.headers}
        for name, text in self.headers.items():
            if name.lower() in own:
                continue
            for placeholder in _PLACEHOLDER.findall(text):
                if placeholder not in allowed:
                    raise ValueError(
                        f"headers.{name} names {{{placeholder}}}, which an event request "
                        f"does not have; give events.headers.{name} for event requests"
                    )
        return self


class ReplayVendorSpec(_Model):
    """Audit recorded vendor outputs (an export) with no live calls.

    The recording (CSV, JSONL or Parquet) has one row per recommended item: ``shop_id``,
    ``probe_id`` or ``customer_id``, ``rank`` and ``item_id``, optionally ``score`` and
    ``explanation``. A probe missing from it is recorded as a failure.
    """

    adapter: Literal["replay"]
    name: str = "replayed vendor"
    path: Path = Field(description="The recording, relative to the spec.")


VendorSpec = Annotated[
    SimulatedVendorSpec | PythonVendorSpec | HttpVendorSpec | ReplayVendorSpec | TrainedVendorSpec,
    Field(discriminator="adapter"),
]
EXECUTION_KEYS = ("concurrency", "rate_per_second", "retries", "timeout_seconds")
"""Vendor keys that change how fast probes are sent, never what is measured (not hashed)."""


class PersonaSpec(_Model):
    """A synthetic customer type: its taste, and how its history is drawn.

    ``history_from`` says where the history comes from: ``taste`` (products matching the
    persona's categories and bands, the same products carried into every shop), ``typical``
    (each shop's own typical customer: drawn by that shop's popularity) or ``signature`` (each
    shop's signature categories). ``carry`` says how a taste history reaches each shop:
    ``exact`` draws only products of the taste sold by the most shops that still hold a whole
    history, so the customer is the same customer wherever those are sold;
    ``substitute`` draws from every product of the taste and maps one a shop does not sell to
    its closest product there. Unset, a taste history is carried exactly where two or more
    shops sell enough products of the taste for a whole history, else by substitution.
    """

    id: Identifier
    categories: list[str] = Field(
        default_factory=list, description="Taste: history is drawn from these (empty = any)."
    )
    price_band: Literal["any", "budget", "mid", "premium"] = Field(
        "any", description="Price tercile of the history's products."
    )
    popularity_band: Literal["any", "head", "torso", "tail"] = Field(
        "any", description="head = top 20% of products by popularity, tail = bottom 50%."
    )
    history_from: Literal["taste", "typical", "signature"] = "taste"
    sampling: Literal["uniform", "popularity"] = Field(
        "uniform", description="Draw history products evenly, or in proportion to popularity."
    )
    history_length: Annotated[int, Field(ge=0, le=MAX_HISTORY)] = Field(
        5, description="0 = a cold-start customer."
    )
    customers: Annotated[int, Field(ge=1, le=MAX_CUSTOMERS)] = Field(
        4, description="Distinct synthetic customers of this persona."
    )
    carry: Literal["substitute", "exact"] | None = Field(
        None,
        description="exact: draw the history only from the taste's products sold by the most "
        "shops (every shop where possible), so the same customer is asked wherever they are "
        "sold; substitute: any product of the taste, replaced where a shop lacks it. Unset: "
        "exact where two or more shops sell enough of the taste for a whole history.",
    )

    @property
    def exact_carry(self) -> bool:
        """Whether the taste history is drawn from the products sold by the most shops."""
        return self.history_from == "taste" and self.carry != "substitute"

    @model_validator(mode="after")
    def _exact_needs_taste(self) -> PersonaSpec:
        if self.carry == "exact" and self.history_from != "taste":
            raise ValueError(
                f"carry 'exact' needs history_from 'taste' (got {self.history_from!r}): only a "
                "taste history is carried from shop to shop"
            )
        return self


class TrendPlantingSpec(_Model):
    """Make one product trend in one shop through the vendor's event API, then probe the rest.

    Sends synthetic interaction events to the vendor, so it runs only with ``write_events: true``.
    """

    write_events: bool = Field(
        False, description="Consent to send synthetic events to the vendor (required)."
    )
    source_shop: str | None = Field(None, description="Where to plant (default: first shop).")
    product: str | None = Field(
        None, description="canonical_id to plant (default: a tail product most shops carry)."
    )
    control: str | None = Field(
        None, description="canonical_id of the control (default: the planted one's neighbour)."
    )
    events: Annotated[int, Field(ge=1, le=MAX_EVENTS)] = Field(
        5000, description="How many synthetic purchases to send."
    )
    customers: Annotated[int, Field(ge=1, le=MAX_CUSTOMERS)] = Field(
        20, description="Probe customers per shop, before and after."
    )

    @field_validator("write_events")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                "must be true: trend planting sends synthetic events to the vendor; "
                "set write_events: true to allow it"
            )
        return value


class ProbesSpec(_Model):
    """The probe design: who asks, where, with which segment attributes."""

    k: Annotated[int, Field(ge=1, le=MAX_K)] = Field(
        10, description="How many recommendations each probe asks for."
    )
    personas: Annotated[list[PersonaSpec], Field(min_length=1)]
    segments: dict[Identifier, Annotated[list[str], Field(min_length=1)]] = Field(
        default_factory=dict, description="Segment attributes and their levels, sent as context."
    )
    counterfactual: list[str] = Field(
        default_factory=list, description="Attributes to vary in counterfactual pair groups."
    )
    repetitions: Annotated[int, Field(ge=0, le=MAX_REPETITIONS)] = Field(
        1, description="Identical repeats of each probe, to measure the vendor's own noise."
    )
    segment_design: Literal["sample", "cross"] = Field(
        "sample",
        description="cross: every customer under every combination of levels; sample: each "
        "customer under one combination, cycling through the cross.",
    )
    trend_planting: TrendPlantingSpec | None = None

    @field_validator("counterfactual")
    @classmethod
    def _counterfactual_attributes_exist(cls, value: list[str], info: ValidationInfo) -> list[str]:
        segments = info.data.get("segments", {})
        for name in value:
            if name not in segments:
                raise ValueError(
                    f"attribute {name!r} must be one of the segments {sorted(segments)}"
                )
            if len(segments[name]) < 2:
                raise ValueError(f"attribute {name!r} must have at least 2 levels")
        return value

    @property
    def segment_profiles(self) -> int:
        """How many combinations of segment levels there are (1 without segments)."""
        return math.prod(len(levels) for levels in self.segments.values())

    @property
    def customer_profiles(self) -> int:
        """The personas' customers, each counted under every profile it is probed under."""
        profiles = self.segment_profiles if self.segment_design == "cross" else 1
        return sum(persona.customers for persona in self.personas) * profiles

    @property
    def probes_per_profile(self) -> int:
        """Probes of one customer profile at one shop: the original, its repeats, its twins."""
        twins = sum(len(self.segments[name]) for name in self.counterfactual)
        return 1 + self.repetitions + twins

    @model_validator(mode="after")
    def _profiles_fit(self) -> ProbesSpec:
        # The design lists every combination even when each customer gets one.
        count = self.segment_profiles
        if count > MAX_SEGMENT_PROFILES:
            raise ValueError(TOO_MANY_PROFILES.format(limit=MAX_SEGMENT_PROFILES, count=count))
        return self


Promise = Literal["diversity_up", "trend_share_down", "signature_up", "excluded_absent"]


class KnobClaim(_Model):
    """A setting the vendor says a shop can change, how to set it, and what it promises."""

    name: Identifier
    option: str = Field(description="The request option that sets it.")
    value: Any = Field(description="The value that turns it on.")
    promises: Promise = Field(description="The effect the vendor promises.")


class NonPersonalizedClaim(_Model):
    """How to ask the vendor for recommendations that ignore the customer's history."""

    option: str
    value: Any


class ClaimsSpec(_Model):
    """The vendor's answers to the transparency and customizability questionnaire."""

    data_sources: str | None = Field(None, description="What data the vendor says it uses.")
    data_pooled_across_shops: bool | None = Field(
        None, description="false = the vendor claims tenant isolation."
    )
    explanations: bool | None = Field(None, description="Each recommendation comes explained.")
    scores_exposed: bool | None = Field(None, description="Each recommendation has a score.")
    non_personalized_mode: NonPersonalizedClaim | None = None
    documentation: list[str] = Field(default_factory=list)
    audit_log: bool | None = Field(None, description="Shops can read a log of decisions.")
    knobs: list[KnobClaim] = Field(default_factory=list)
    verification_customers: Annotated[int, Field(ge=1, le=MAX_CUSTOMERS)] = Field(
        6, description="Customers per shop probed off and on for each knob."
    )


class MetricSpec(_Model):
    """Threshold overrides for one metric (omitted values keep the metric's defaults)."""

    warn: float | None = None
    fail: float | None = None
    min_units: PositiveInt | None = None


class InferenceSpec(_Model):
    """Settings of the confidence intervals and tests."""

    n_resamples: Annotated[int, Field(ge=100, le=MAX_RESAMPLES)] = 1000
    confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95


class SuiteSpec(_Model):
    """Which standard suite a spec is (or began as): its id, version and purpose.

    A suite's probe design and thresholds are its protected keys (`auditkit.suites`); a run
    records whether they are still the shipped suite's.
    """

    id: Identifier = Field(description="The suite's id, as `auditkit suites` lists it.")
    version: Annotated[int, Field(ge=1, le=10_000)] = Field(
        description="The suite's version: a changed probe design or threshold is a new version."
    )
    purpose: Annotated[str, Field(min_length=1, max_length=400)] = Field(
        description="What the suite is for, in a sentence."
    )
    obligations: list[Identifier] = Field(
        default_factory=list,
        description="The regulatory obligations the suite serves (ids of the mapping).",
    )

    @field_validator("purpose")
    @classmethod
    def _purpose_is_words(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a sentence saying what the suite is for; got only spaces")
        return " ".join(value.split())

    @field_validator("obligations")
    @classmethod
    def _each_obligation_once(cls, value: list[str]) -> list[str]:
        repeated = sorted(name for name, count in Counter(value).items() if count > 1)
        if repeated:
            raise ValueError(f"must name each obligation once; repeated: {_some(repeated)}")
        return value


class ReferenceSpec(_Model):
    """What the vendor is compared with where no fixed threshold fits every shop.

    The reference (the shop's in-house recommender, the vendor's non-personalized mode, a
    recording of either) is sent the same probes as the vendor; a ``reported`` metric the spec
    gives no threshold of its own is then judged by how much worse the vendor is than it.
    """

    name: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="What the reference is, as the report names it (e.g. 'our bestseller list')."
    )
    vendor: VendorSpec = Field(description="How to call the reference, as for the vendor.")
    warn: Annotated[float, Field(gt=1.0)] = Field(
        1.25, description="Warn when the vendor is this many times worse than the reference."
    )
    fail: Annotated[float, Field(gt=1.0)] = Field(
        1.5, description="Fail when the whole interval is at least this many times worse."
    )

    @model_validator(mode="after")
    def _fail_past_warn(self) -> ReferenceSpec:
        if self.fail < self.warn:
            raise ValueError(f"fail ({self.fail:g}) must be at least warn ({self.warn:g})")
        return self


class EvidenceSpec(_Model):
    """Where the run keeps its evidence (the results do not depend on it)."""

    store: Literal["auto", "sqlite", "parquet"] = Field(
        "auto",
        description="sqlite: every attempt in evidence.sqlite; parquet: the attempts as Parquet "
        "batches beside it, for large runs; auto: parquet from 100,000 probes on.",
    )


class AuditSpec(_Model):
    """A whole audit: vendor, shops, probes, metrics. Loaded from YAML by `load_spec`."""

    auditkit: Literal[1] = Field(description="Spec format version.")
    name: str
    description: str = ""
    suite: SuiteSpec | None = Field(
        None, description="The standard suite this spec is, when it is one (auditkit init)."
    )
    seed: Seed = Field(0, description="Every random choice of the audit flows from this seed.")
    vendor: VendorSpec
    world: WorldSpec | None = None
    shops: Annotated[list[ShopSpec], Field(max_length=MAX_SHOPS)] | None = None
    trending: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = (
        Field(
            None,
            description="canonical_ids of the products trending across all shops, for the "
            "trend share and the trending knob (default: the 20 products with the highest "
            "popularity summed over every shop's catalog).",
        )
    )
    probes: ProbesSpec
    metrics: dict[str, MetricSpec] | None = Field(
        None, description="Metric ids to compute, with threshold overrides (default: all)."
    )
    inference: InferenceSpec = Field(default_factory=InferenceSpec)
    claims: ClaimsSpec | None = None
    reference: ReferenceSpec | None = Field(
        None, description="A reference the vendor is judged against where no threshold fits."
    )
    evidence: EvidenceSpec | None = Field(
        None, description="The evidence store (default: chosen by the plan's size)."
    )
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    # Where the spec was read from: the file's name and the line of every key path.
    _source: tuple[str, dict[tuple[str | int, ...], int]] = PrivateAttr(default=("spec", {}))

    def with_base_dir(self, base_dir: Path) -> AuditSpec:
        """A copy whose relative paths resolve against ``base_dir`` (the spec's folder)."""
        copy = self.model_copy()
        copy._base_dir = base_dir
        return copy

    def with_source(self, file: str, lines: dict[tuple[str | int, ...], int]) -> AuditSpec:
        """A copy that knows the file it was read from and the line of each key path."""
        copy = self.model_copy()
        copy._source = (file, dict(lines))
        return copy

    @property
    def source(self) -> tuple[str, dict[tuple[str | int, ...], int]]:
        """The file the spec was read from and the line of each key path (empty if none)."""
        return self._source

    def resolve_path(self, path: Path) -> Path:
        """An absolute path for a path written in the spec."""
        return path if path.is_absolute() else self._base_dir / path

    @field_validator("trending")
    @classmethod
    def _each_trending_product_once(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            repeated = sorted(name for name, count in Counter(value).items() if count > 1)
            if repeated:
                raise ValueError(f"must name each product once; repeated: {_some(repeated)}")
        return value

    @field_validator("probes")
    @classmethod
    def _probes_fit(cls, value: ProbesSpec, info: ValidationInfo) -> ProbesSpec:
        world, shops = info.data.get("world"), info.data.get("shops")
        # Trend-planting and claim-verification probes come on top of these.
        n_shops = world.shops if world is not None else len(shops or ())
        count = n_shops * value.customer_profiles * value.probes_per_profile
        if count > MAX_PROBES:
            raise ValueError(
                TOO_MANY_PROBES.format(
                    limit=MAX_PROBES,
                    count=count,
                    shops=n_shops,
                    customers=value.customer_profiles,
                    variants=value.probes_per_profile,
                )
            )
        return value

    @model_validator(mode="after")
    def _one_source_of_shops(self) -> AuditSpec:
        if (self.world is None) == (self.shops is None):
            raise ValueError(
                "give exactly one of 'world' (built-in shops) or 'shops' (catalog files)"
            )
        if self.shops is not None:
            counts = Counter(shop.id for shop in self.shops)
            duplicated = sorted(i for i, count in counts.items() if count > 1)
            if duplicated:
                raise ValueError(f"shop ids must be unique; duplicated: {_some(duplicated)}")
        return self
