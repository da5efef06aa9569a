"""Running NOMA's tools in this process, as a test sees them."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from noma.tools.noma_opt import main as noma_opt_main


def run_opt(*argv: str | Path) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `noma-opt argv`."""
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            noma_opt_main([str(a) for a in argv])
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
    return status, out.getvalue(), err.getvalue()
