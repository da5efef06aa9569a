"""IR generation: a checked AST becomes `noma` dialect IR in `func.func`s,
with structured control flow (`scf`) and a source location on every op."""

from noma.frontend.irgen.module import ENTRY_ATTR, SYMBOL_PREFIX, generate_ir

__all__ = ["ENTRY_ATTR", "SYMBOL_PREFIX", "generate_ir"]
