"""One BLAS thread for every side of the benchmarks: NOMA's code is single
threaded, so NumPy's BLAS (and OpenMP, MKL or BLIS, whichever it uses) must
be too for the comparison to be of code, not of cores. The libraries read
these variables once, when they are loaded: they must be set before NumPy is
first imported in the process that measures (or given to a child process)."""

from __future__ import annotations

import os

THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
)


def one_thread_environment() -> dict[str, str]:
    """The variables that pin the BLAS libraries to one thread."""
    return dict.fromkeys(THREAD_VARIABLES, "1")


def pin_this_process() -> None:
    """Set the variables in this process's environment (and so its children's)."""
    os.environ.update(one_thread_environment())


def thread_settings() -> dict[str, str | None]:
    """The variables as this process has them, for a report."""
    return {name: os.environ.get(name) for name in THREAD_VARIABLES}
