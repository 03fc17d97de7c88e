"""Helpers shared by test modules across folders: hand-made shops and small audit specs.

Imported as ``support`` (``tests/`` is on the test path): a test module imports from here,
never from a ``conftest``, whose name another folder's conftest may shadow.
"""

from typing import Any

import pandas as pd

from auditkit.catalogs import validate_catalog

# The world most spec-level tests audit: small enough to run in a second.
SMALL_WORLD = {"shops": 3, "items_per_shop": 60, "categories": 5}


def make_catalog(shop: str, n: int, shared: int, categories: int = 3) -> pd.DataFrame:
    """``n`` items; the first ``shared`` carry canonical ids P0.. shared with other shops."""
    frame = pd.DataFrame(
        {
            "item_id": [f"{shop}-{i}" for i in range(n)],
            "category": [f"cat{i % categories}" for i in range(n)],
            "canonical_id": [f"P{i}" if i < shared else None for i in range(n)],
            "price": [10.0 + i for i in range(n)],
            "popularity": [float(n - i) for i in range(n)],
        }
    )
    return validate_catalog(frame, source=shop)


def spec_data(
    name: str,
    vendor: dict[str, Any],
    probes: dict[str, Any],
    *,
    seed: int,
    world: dict[str, Any] | None = None,
    n_resamples: int = 100,
    **sections: Any,
) -> dict[str, Any]:
    """An audit spec as the loader reads it: the test's vendor, probes and other sections."""
    return {
        "auditkit": 1,
        "name": name,
        "seed": seed,
        "world": SMALL_WORLD if world is None else world,
        "vendor": vendor,
        "probes": probes,
        **sections,
        "inference": {"n_resamples": n_resamples},
    }


def served_vendor(url: str, *, secret_env: str, **changes: Any) -> dict[str, Any]:
    """The ``http`` vendor of a spec that audits `auditkit.world.vendor_app` served at ``url``.

    The request and response shapes are the served app's; the bearer key is read from
    ``${secret_env}``; ``changes`` add or replace keys (timeouts, retries, events).
    """
    return {
        "adapter": "http",
        "name": "PoolCo over HTTP",
        "url": url + "/v1/tenants/{tenant_id}/recommendations",
        "headers": {"Authorization": "Bearer ${" + secret_env + "}"},
        "body": {
            "customer": {"id": "{customer_id}", "history": "{history}", "attributes": "{context}"},
            "limit": "{k}",
            "settings": "{options}",
        },
        "response": {
            "items": "data.recommendations[].sku",
            "scores": "data.recommendations[].score",
            "explanations": "data.recommendations[].reason",
        },
        **changes,
    }
