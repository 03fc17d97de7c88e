"""The one seeding policy: every random choice of an audit flows from the spec's seed, here.

Each stage gets its own seed from `AuditSeeds` and only spawns children of it
(`np.random.SeedSequence(seed).spawn(n)`), so no stage derives a seed from another's, and
adding a metric or a probe never shifts the draws of another. The built-in vendors draw their
noise per (shop, customer) from their seed, so that the same request always gets the same
answer whatever the order of probing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditSeeds:
    """The seed of each stage of one audit, derived from the spec's ``seed``."""

    seed: int

    @property
    def world(self) -> int:
        """The built-in world's shops and catalogs."""
        return self.seed

    @property
    def probes(self) -> int:
        """The probe plan: personas' customers, histories, twins, orders."""
        return self.seed

    @property
    def vendor(self) -> int:
        """The built-in vendors (simulated and trained) and the rehearsal server's faults."""
        return self.seed

    def metric(self, metric_id: str) -> int:
        """The resamples of one metric (or of the claim checks, ``"claims"``).

        A child seed per id, so adding a metric never shifts another's resamples.
        """
        digest = hashlib.sha256(f"{self.seed}:{metric_id}".encode()).digest()
        return int.from_bytes(digest[:8], "little")
