"""A python-adapter vendor whose first call on a machine kills the process it runs in.

The Dask engine's test of a lost worker: the first shard's worker dies mid-shard (as one
restarted for its memory, or a machine lost, would), and the run must still finish.
"""

import os
from pathlib import Path


class DyingOnce:
    """Answers each request with the shop's first ``k`` products, after one fatal call."""

    def __init__(self, marker: str) -> None:
        self.marker = Path(marker)

    def recommend(self, request):
        if not self.marker.exists():
            self.marker.write_text("died once\n")
            os._exit(1)  # the worker process dies with its shard; the nanny restarts it
        return [f"{request.shop_id}-{n:04d}" for n in range(request.k)]


def dying_once(marker: str) -> DyingOnce:
    return DyingOnce(marker)
