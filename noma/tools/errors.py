"""How every NOMA tool ends on bad input: a clear message and exit status 1,
never a Python traceback (set NOMA_DEBUG=1 to see one for a compiler bug)."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException

from noma.frontend.diagnostics import NomaError


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(1)


@contextmanager
def reported_errors(tool: str) -> Iterator[None]:
    from noma.compiler import ProgramError
    from noma.runtime.build import RuntimeBuildError

    try:
        yield
    except NomaError as e:
        fail(e.render())
    except ProgramError:
        # The runtime already printed the located run-time error.
        sys.exit(1)
    except (ParseError, VerifyException, DiagnosticException) as e:
        fail(f"{tool}: error: {e}")
    except RuntimeBuildError as e:
        fail(f"{tool}: error: {e}")
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{tool}: error: {e}")
    except RecursionError:
        fail(f"{tool}: error: the input is nested too deeply")
    except KeyboardInterrupt:
        fail(f"{tool}: interrupted")
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if os.environ.get("NOMA_DEBUG"):
            traceback.print_exc()
        fail(
            f"{tool}: internal compiler error: {type(e).__name__}: {e}\n"
            "(this is a bug in NOMA; set NOMA_DEBUG=1 to see where it happened)"
        )
