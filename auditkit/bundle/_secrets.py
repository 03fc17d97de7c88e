"""Credentials kept out of a bundle: the values of the environment variables a spec names.

The evidence store already redacts every secret the vendor holds; the bundle checks again,
member by member, for the values it can know (those set in the environment of the
``bundle`` command), so an older run or an unforeseen path cannot carry one out.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from auditkit.bundle._archive import CHUNK, Member

# ``${VENDOR_KEY}`` in headers or query, and ``api_key_env: VENDOR_KEY`` style options.
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The shortest value of a URL's variable (an address, not a credential) that is searched.
ADDRESS_LENGTH = 8


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a parsed document, with the key it stands under."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)


def credential_names(spec_document: Any) -> dict[str, int]:
    """The environment variables a spec reads secrets from, each with the shortest value searched.

    A credential (``${VAR}`` in headers or query, an option ending in ``_env``) is searched
    whatever its length; a variable in a ``url`` names the vendor's address (scheme, host,
    port, base path), which the evidence redacts too, but is searched only from
    `ADDRESS_LENGTH` characters on: a port's few digits turn up in any table of numbers.
    """
    names: dict[str, int] = {}
    for key, text in _strings(spec_document):
        shortest = ADDRESS_LENGTH if key == "url" else 1
        found = set(_REFERENCE.findall(text))
        if key.endswith("_env") and _NAME.fullmatch(text):
            found.add(text)
        for name in found:
            names[name] = min(names.get(name, shortest), shortest)
    return dict(sorted(names.items()))


def credential_values(
    names: Mapping[str, int], environ: Mapping[str, str] = os.environ
) -> dict[str, tuple[bytes, ...]]:
    """Each named variable that is set (and long enough): its value as written and in JSON."""
    found = {}
    for name, shortest in names.items():
        value = environ.get(name)
        if value and len(value) >= shortest:
            forms = {value.encode(), json.dumps(value)[1:-1].encode()}
            found[name] = tuple(sorted(forms, key=len, reverse=True))
    return found


def secret_in(member: Member, values: Mapping[str, tuple[bytes, ...]]) -> str | None:
    """The first variable whose value the member's bytes hold, or None."""
    forms = [(name, form) for name, group in values.items() for form in group]
    if not forms:
        return None
    overlap = max(len(form) for _, form in forms) - 1
    tail = b""
    with member.open() as stream:
        while chunk := stream.read(CHUNK):
            window = tail + chunk
            for name, form in forms:
                if form in window:
                    return name
            tail = window[-overlap:] if overlap else b""
    return None
