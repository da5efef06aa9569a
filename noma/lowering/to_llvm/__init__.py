"""Conversion of `arith math func cf memref` to the `llvm` dialect (stage 7).

xDSL has no such conversions, so NOMA writes them in Python: one module per
source dialect with its patterns, `types.py` for the type conversion and
`descriptor.py` for memref descriptors. The result follows upstream MLIR's
conventions (descriptor layout, expanded memref arguments) so that upstream
`mlir-opt` verifies it and C code sees the same ABI.

Passes:

    convert-to-llvm          everything; afterwards only `llvm.*`, `builtin.module`
                             and `builtin.unrealized_conversion_cast` may remain
    convert-arith-to-llvm    one dialect at a time (for testing); the values they
    convert-math-to-llvm     share with unconverted ops are bridged by
    convert-func-to-llvm     `builtin.unrealized_conversion_cast`
    convert-cf-to-llvm
    convert-memref-to-llvm
    convert-vector-to-llvm

`scf` must be lowered first (`noma-convert-scf-to-cf`). Run `reconcile-unrealized-casts`
afterwards. An op that cannot be lowered is a one-line error naming it and its
location.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from noma.lowering.to_llvm.arith import ARITH_PATTERNS
from noma.lowering.to_llvm.cf import CF_PATTERNS
from noma.lowering.to_llvm.func import FUNC_PATTERNS
from noma.lowering.to_llvm.math import MATH_PATTERNS
from noma.lowering.to_llvm.memref import MEMREF_PATTERNS, guard_allocations
from noma.lowering.to_llvm.types import LoweringError, check_lowered, sharing_constants
from noma.lowering.to_llvm.vector import VECTOR_PATTERNS

__all__ = [
    "ConvertArithToLLVMPass",
    "ConvertCfToLLVMPass",
    "ConvertFuncToLLVMPass",
    "ConvertMathToLLVMPass",
    "ConvertMemRefToLLVMPass",
    "ConvertToLLVMPass",
    "ConvertVectorToLLVMPass",
]

_LEGAL_BUILTIN = (builtin.ModuleOp, builtin.UnrealizedConversionCastOp)


class _DispatchByOpType(RewritePattern):
    """Tries, for each op, the pattern that last lowered an op of the same type
    first, and skips `llvm`/`builtin` ops (already lowered, or casts), so the
    walk does not try every pattern on every op it creates."""

    def __init__(self, patterns: Sequence[RewritePattern]) -> None:
        self.patterns = tuple(patterns)
        self.by_type: dict[type[Operation], RewritePattern] = {}

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if op.dialect_name() in ("llvm", "builtin"):
            return
        known = self.by_type.get(type(op))
        candidates = self.patterns if known is None else (known, *self.patterns)
        for pattern in candidates:
            pattern.match_and_rewrite(op, rewriter)
            if rewriter.has_done_action:
                self.by_type[type(op)] = pattern
                return


def apply_patterns(module: builtin.ModuleOp, patterns: Sequence[RewritePattern]) -> None:
    """Apply `patterns` to every op of `module`, in one walk: the patterns
    emit only `llvm` ops and casts, which need no further rewriting (what is
    left unlowered is reported by `check_lowered`), so neither the ops they
    create nor a second walk over the whole module are looked at."""
    walker = PatternRewriteWalker(_DispatchByOpType(patterns), apply_recursively=False)
    with sharing_constants():
        walker.rewrite_module(module)


@dataclass(frozen=True)
class _DialectToLLVM(ModulePass):
    """Lowers the ops of `dialects` with `patterns`; any op of those dialects
    left behind is an error."""

    patterns: ClassVar[tuple[RewritePattern, ...]]
    dialects: ClassVar[frozenset[str]]

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        try:
            apply_patterns(op, self.patterns)
        except LoweringError as e:
            raise e.in_pass(self.name) from None
        check_lowered(op, self.name, self.is_illegal)
        try:
            if self.lowers_memref:
                guard_allocations(op)
        except LoweringError as e:
            raise e.in_pass(self.name) from None

    @property
    def lowers_memref(self) -> bool:
        """Allocations need their NULL guards once everything is lowered."""
        return any(p in MEMREF_PATTERNS for p in self.patterns)

    def is_illegal(self, op: Operation) -> bool:
        return op.dialect_name() in self.dialects


@dataclass(frozen=True)
class ConvertArithToLLVMPass(_DialectToLLVM):
    """arith -> llvm."""

    name = "convert-arith-to-llvm"
    patterns = ARITH_PATTERNS
    dialects = frozenset({"arith"})


@dataclass(frozen=True)
class ConvertMathToLLVMPass(_DialectToLLVM):
    """math -> llvm (intrinsics)."""

    name = "convert-math-to-llvm"
    patterns = MATH_PATTERNS
    dialects = frozenset({"math"})


@dataclass(frozen=True)
class ConvertFuncToLLVMPass(_DialectToLLVM):
    """func -> llvm with expanded memref arguments and `noma.entry` wrappers."""

    name = "convert-func-to-llvm"
    patterns = FUNC_PATTERNS
    dialects = frozenset({"func"})


@dataclass(frozen=True)
class ConvertCfToLLVMPass(_DialectToLLVM):
    """cf.br / cf.cond_br -> llvm.br / llvm.cond_br."""

    name = "convert-cf-to-llvm"
    patterns = CF_PATTERNS
    dialects = frozenset({"cf"})


@dataclass(frozen=True)
class ConvertMemRefToLLVMPass(_DialectToLLVM):
    """memref -> llvm on MLIR's descriptor struct (malloc/free)."""

    name = "convert-memref-to-llvm"
    patterns = MEMREF_PATTERNS
    dialects = frozenset({"memref"})


@dataclass(frozen=True)
class ConvertVectorToLLVMPass(_DialectToLLVM):
    """vector.load/store/broadcast/fma -> llvm (1-D vectors)."""

    name = "convert-vector-to-llvm"
    patterns = VECTOR_PATTERNS
    dialects = frozenset({"vector"})


@dataclass(frozen=True)
class ConvertToLLVMPass(_DialectToLLVM):
    """arith, math, func, cf, memref, vector -> llvm, in one walk. Afterwards only `llvm`
    ops, `builtin.module` and unrealized casts (for reconcile-unrealized-casts)
    remain; anything else (scf not lowered by noma-convert-scf-to-cf, cf.assert,
    tensor ops, ...) is reported."""

    name = "convert-to-llvm"
    patterns = (
        *FUNC_PATTERNS,
        *CF_PATTERNS,
        *ARITH_PATTERNS,
        *MATH_PATTERNS,
        *MEMREF_PATTERNS,
        *VECTOR_PATTERNS,
    )
    dialects = frozenset()

    def is_illegal(self, op: Operation) -> bool:
        return op.dialect_name() != "llvm" and not isinstance(op, _LEGAL_BUILTIN)
