"""IR generation: a checked AST becomes `noma` dialect IR in `func.func`s,
with structured control flow (`scf`) and a source location on every op."""

from noma.frontend.irgen.module import generate_ir

__all__ = ["generate_ir"]
