"""How every NOMA tool ends on bad input: a clear message and exit status 1,
never a Python traceback (set NOMA_DEBUG=1 to see one for a compiler bug)."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn


def fail(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(1)


def reserve_standard_descriptors() -> None:
    """Puts /dev/null on a closed fd 0, 1 or 2 (`noma run >&-`), so that no
    file opened later takes its number, where the program's output would
    go. stdin and stdout get it read-only: writing to a closed stdout then
    still fails (EBADF) and is reported, never silently discarded."""
    for fd, flags in ((0, os.O_RDONLY), (1, os.O_RDONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, flags)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)


def stdout_failure_exit(exc: BaseException | None = None) -> NoReturn:
    """Exit status 1 after a failed write to stdout. `exc` is the failure of
    Python's stdout (reported here); without it the C runtime has reported
    its own (`runtime error: cannot write to standard output: ...`). What
    is still buffered is dropped, so that nothing complains again at exit."""
    if exc is not None:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"noma: error: cannot write to standard output: {reason}", file=sys.stderr)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
    sys.exit(1)


def die_of_interrupt(tool: str) -> NoReturn:
    """End as an interrupted command-line tool does: killed by SIGINT (the
    shell shows status 130), after saying so."""
    print(f"{tool}: interrupted", file=sys.stderr)
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    sys.exit(130)  # if SIGINT could not end us


def _is_a(e: BaseException, module: str, *names: str) -> bool:
    """Whether `e` is an instance of one of the classes `names` of `module`,
    without importing it: no exception of a module never imported can have
    been raised, and importing them all (the frontend, xDSL, the compiler)
    only to compare would cost every command their start-up time."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(e, tuple(getattr(loaded, n) for n in names))


def report_error(tool: str, e: Exception) -> NoReturn:
    """Exit status 1 with the message that `e` deserves."""
    if _is_a(e, "noma.diagnostics", "NomaError"):
        fail(e.render())  # type: ignore[attr-defined]
    if _is_a(e, "noma.compiler", "ProgramError"):
        # The runtime already printed the located run-time error.
        sys.exit(1)
    if _is_a(e, "xdsl.utils.exceptions", "ParseError", "VerifyException", "DiagnosticException"):
        fail(f"{tool}: error: {e}")
    if _is_a(e, "noma.runtime.build", "RuntimeBuildError"):
        fail(f"{tool}: error: {e}")
    if isinstance(e, OSError | UnicodeDecodeError):
        fail(f"{tool}: error: {e}")
    if isinstance(e, RecursionError):
        fail(f"{tool}: error: the input is nested too deeply")
    if os.environ.get("NOMA_DEBUG"):
        traceback.print_exception(e)
    fail(
        f"{tool}: internal compiler error: {type(e).__name__}: {e}\n"
        "(this is a bug in NOMA; set NOMA_DEBUG=1 to see where it happened)"
    )


@contextmanager
def reported_errors(tool: str) -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        die_of_interrupt(tool)
    except Exception as e:  # noqa: BLE001 - the last line of defence
        report_error(tool, e)
