"""NOMA: a language for machine learning where autodiff is a compiler pass.

>>> import noma
>>> noma.compile("fn main() { return 2 ** 10; }").run()
1024.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from noma.compiler import Program, ProgramError, compile

__all__ = ["Program", "ProgramError", "compile"]


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext noma`: the `%%noma` cell magic (see noma.notebook)."""
    from noma.notebook import load_ipython_extension as load

    load(shell)


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `import noma.frontend.ast` stays light.
    if name in __all__:
        from noma import compiler

        return getattr(compiler, name)
    raise AttributeError(f"module 'noma' has no attribute {name!r}")
