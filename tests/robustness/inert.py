"""Hostile vendor text through a whole audit, and a check that every report keeps it inert.

Shared by tests/robustness/test_report_inert.py and benchmarks/robustness.py. The vendor's
own words reach a report through its questionnaire (claims), its name, its explanations and
its failure texts; `HostileTextVendor` puts script tags, quote breaks, event handlers and
``javascript:`` URLs in each. `live_script` lists whatever in a rendered file would run in a
browser: a script element, an event-handler attribute, a ``javascript:`` URL.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import support
from markdown_it import MarkdownIt

from auditkit.suites import obligation_ids
from auditkit.vendors import RecommendRequest, RequestFailed

PAYLOADS = (
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(2)>",
    '<a href="javascript:alert(3)">docs</a>',
    "javascript:alert(4)",
    "</style><script>alert(5)</script>",
    "{{ 7*7 }} {% raw %}",
    "<iframe src=//evil.example>",
)
EVIL = " ".join(PAYLOADS)
_HANDLER = re.compile(r"^on[a-z]+$")


class _Live(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "iframe", "object", "embed"}:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if _HANDLER.match(name):
                self.found.append(f"<{tag} {name}=...>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")


def live_script(text: str, *, markdown: bool = False) -> list[str]:
    """What in ``text`` would run in a browser: HTML, or Markdown as CommonMark renders it."""
    if markdown:
        text = MarkdownIt("commonmark").render(text)
    parser = _Live()
    parser.feed(text)
    parser.close()
    return parser.found


class HostileTextVendor:
    """A vendor whose every word is hostile: explanations, and failures on some shops."""

    def __init__(self, catalogs: dict[str, Any] | None = None) -> None:
        self.calls = 0

    def recommend(self, request: RecommendRequest) -> dict[str, Any]:
        self.calls += 1
        if self.calls % 7 == 3:  # a failure whose kind and text are the vendor's own
            raise RequestFailed(f"{EVIL}: {EVIL}", retryable=False)
        items = [f"{request.shop_id}-{i}" for i in range(request.k)]
        return {"items": items, "explanations": [EVIL] * len(items)}


def make_vendor(**options: Any) -> HostileTextVendor:
    """The factory the spec's ``python`` vendor names."""
    return HostileTextVendor()


def hostile_spec(catalogs: dict[str, Path]) -> dict[str, Any]:
    """A whole audit of `HostileTextVendor` whose name and questionnaire are hostile too."""
    spec = support.spec_data(
        EVIL,
        {"adapter": "python", "name": EVIL, "target": f"{__name__}:make_vendor"},
        {
            "k": 4,
            "personas": [{"id": "p", "history_length": 2, "customers": 4}],
            "segments": {"age_band": ["18-34", "65+"]},
            "counterfactual": ["age_band"],
        },
        seed=9,
        claims={
            "data_sources": EVIL,
            "data_pooled_across_shops": False,
            "explanations": True,
            "documentation": ["javascript:alert(6)", EVIL],
            "knobs": [
                {
                    "name": "diversity",
                    "option": "diversity",
                    "value": 0.9,
                    "promises": "diversity_up",
                }
            ],
        },
        description=EVIL,
        # A suite naming every obligation, so the audit opinion is rendered too.
        suite={
            "id": "regulator",
            "version": 1,
            "purpose": EVIL,
            "obligations": list(obligation_ids()),
        },
    )
    spec.pop("world")
    spec["shops"] = [{"id": shop, "catalog": str(path)} for shop, path in catalogs.items()]
    return spec
