"""Names that the frontend, the lowerings, the compiler and the runtime
must agree on, defined once. No imports: the compile cache's fast path reads
them too."""

ENTRY_ATTR = "noma.entry"
"""Marks the function a program runs (`main`): the LLVM lowering emits a
packed entry point for it."""

PACKED_PREFIX = "_noma_packed_"
"""The LLVM lowering emits `_noma_packed_<f>(void **args)` for the entry
`f`; the JIT and the executable's driver call it."""

SYMBOL_PREFIX = "fn."
"""User function `f` is the symbol `@fn.f`: a name no C or libm symbol can
have, so a NOMA function called `malloc`, `tanh` or `main` never captures the
calls that the runtime and LLVM's intrinsics make."""
