"""The runtime library these tests call.

Normally the cached build of `noma.runtime.build`. When
NOMA_TEST_RUNTIME_LIBRARY names another build of the same sources,
everything in this process that loads the runtime (the ctypes-level tests
and the JIT alike, so that there is one copy of its state) loads that one:
tests/runtime/test_sanitizers.py runs these tests in a child pytest against
a build with AddressSanitizer and UndefinedBehaviorSanitizer.
"""

from __future__ import annotations

import os
from pathlib import Path

import noma.runtime.jit

LIBRARY_VARIABLE = "NOMA_TEST_RUNTIME_LIBRARY"

_library = os.environ.get(LIBRARY_VARIABLE)
if _library:

    def _library_under_test(*, force: bool = False) -> Path:
        del force  # a given build is used as it is
        return Path(_library)

    noma.runtime.jit.build_runtime_library = _library_under_test  # type: ignore[assignment]
