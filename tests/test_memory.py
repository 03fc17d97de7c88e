"""`retain_freed_memory`: freed blocks are reused without new page faults."""

import subprocess
import sys

import pytest

from auditkit.api import retain_freed_memory

pytestmark = pytest.mark.slow

# Allocates and frees a 128 MB block five times, printing the page faults of the last four.
PROGRAM = """
import resource, sys
import numpy as np
from auditkit.api import retain_freed_memory
if sys.argv[1] == "retain":
    assert retain_freed_memory()
block = np.ones(16_000_000); del block
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    block = np.ones(16_000_000); del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(not retain_freed_memory(), reason="needs glibc's mallopt")
def test_freed_blocks_are_reused_without_faulting_them_in_again():
    # Four fresh 128 MB blocks fault in at least 4 * 64 huge pages (or 4 * 31,250 small).
    assert _faults("default") >= 4 * 64
    assert _faults("retain") < 16
