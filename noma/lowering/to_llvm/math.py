"""`math` -> `llvm` (semantics of MLIR's MathToLLVM).

Ops with an intrinsic op in xDSL's llvm dialect use it (`llvm.intr.exp`, ...);
the others call the LLVM intrinsic by name with `llvm.call_intrinsic`, which
both upstream `mlir-translate` and NOMA's translation accept.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import llvm, math
from xdsl.dialects.builtin import IntegerAttr
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from noma.lowering.to_llvm.arith import call_intrinsic, intrinsic_suffix
from noma.lowering.to_llvm.types import (
    I1,
    emit,
    float_constant,
    operands_to_llvm,
    replace_with_llvm,
)

_UnaryBuilder = Callable[[SSAValue, llvm.FastMathAttr], Operation]
_BinaryBuilder = Callable[[SSAValue, SSAValue, llvm.FastMathAttr], Operation]

_UNARY_OPS: dict[type[Operation], _UnaryBuilder] = {
    math.AbsFOp: lambda x, fm: llvm.FAbsOp(x, x.type, fm),
    math.CeilOp: llvm.FCeilOp,
    math.FloorOp: llvm.FFloorOp,
    math.SqrtOp: llvm.FSqrtOp,
    math.ExpOp: llvm.FExpOp,
    math.Exp2Op: llvm.FExp2Op,
    math.LogOp: llvm.FLogOp,
    math.Log2Op: llvm.FLog2Op,
    math.SinOp: llvm.FSinOp,
    math.CosOp: llvm.FCosOp,
}

_UNARY_INTRINSICS: dict[type[Operation], str] = {
    math.TanOp: "llvm.tan",
    math.TanhOp: "llvm.tanh",
    math.Log10Op: "llvm.log10",
    math.RoundOp: "llvm.round",
    math.RoundEvenOp: "llvm.roundeven",
    math.TruncOp: "llvm.trunc",
    math.AsinOp: "llvm.asin",
    math.AcosOp: "llvm.acos",
    math.AtanOp: "llvm.atan",
    math.SinhOp: "llvm.sinh",
    math.CoshOp: "llvm.cosh",
}

_BINARY_OPS: dict[type[Operation], _BinaryBuilder] = {
    math.PowFOp: llvm.FPowOp,
    math.CopySignOp: llvm.FCopySignOp,
}

_BINARY_INTRINSICS: dict[type[Operation], str] = {
    math.Atan2Op: "llvm.atan2",
}


def _fastmath(op: Operation) -> llvm.FastMathAttr:
    flags = getattr(op, "fastmath", None)
    return llvm.FastMathAttr(flags.data if flags is not None else None)


class UnaryMathLowering(RewritePattern):
    """`math.exp %x : f64` -> `llvm.intr.exp(%x) : (f64) -> f64`; `math.tanh %x` ->
    `llvm.call_intrinsic "llvm.tanh.f64"(%x)` (absf ceil floor sqrt exp exp2 log
    log2 sin cos as ops; tan tanh log10 round roundeven trunc asin acos atan sinh
    cosh as named intrinsics)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        builder = _UNARY_OPS.get(type(op))
        name = _UNARY_INTRINSICS.get(type(op))
        if builder is None and name is None:
            return
        (x,) = operands_to_llvm(op, rewriter)
        if builder is not None:
            result = emit(rewriter, builder(x, _fastmath(op)))
        else:
            result = call_intrinsic(rewriter, f"{name}.{intrinsic_suffix(x.type)}", [x], x.type)
        replace_with_llvm(op, rewriter, [result])


class BinaryMathLowering(RewritePattern):
    """`math.powf %a, %b : f64` -> `llvm.intr.pow(%a, %b) : (f64, f64) -> f64`
    (copysign likewise; atan2 -> `llvm.call_intrinsic "llvm.atan2.f64"`)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        builder = _BINARY_OPS.get(type(op))
        name = _BINARY_INTRINSICS.get(type(op))
        if builder is None and name is None:
            return
        a, b = operands_to_llvm(op, rewriter)
        if builder is not None:
            result = emit(rewriter, builder(a, b, _fastmath(op)))
        else:
            result = call_intrinsic(rewriter, f"{name}.{intrinsic_suffix(a.type)}", [a, b], a.type)
        replace_with_llvm(op, rewriter, [result])


class FmaLowering(RewritePattern):
    """`math.fma %a, %b, %c : f64` -> `llvm.intr.fma(%a, %b, %c)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.FmaOp, rewriter: PatternRewriter) -> None:
        a, b, c = operands_to_llvm(op, rewriter)
        replace_with_llvm(op, rewriter, [emit(rewriter, llvm.FMAOp(a, b, c))])


class RsqrtLowering(RewritePattern):
    """`math.rsqrt %x : f64` -> `1.0 / llvm.intr.sqrt(%x)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.RsqrtOp, rewriter: PatternRewriter) -> None:
        (x,) = operands_to_llvm(op, rewriter)
        root = emit(rewriter, llvm.FSqrtOp(x))
        one = float_constant(rewriter, 1.0, x.type)
        replace_with_llvm(op, rewriter, [emit(rewriter, llvm.FDivOp(one, root))])


class Log1pLowering(RewritePattern):
    """`math.log1p %x : f64` -> `llvm.intr.log(1.0 + %x)` (as upstream MathToLLVM)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.Log1pOp, rewriter: PatternRewriter) -> None:
        (x,) = operands_to_llvm(op, rewriter)
        one = float_constant(rewriter, 1.0, x.type)
        sum_ = emit(rewriter, llvm.FAddOp(one, x))
        replace_with_llvm(op, rewriter, [emit(rewriter, llvm.FLogOp(sum_))])


class Expm1Lowering(RewritePattern):
    """`math.expm1 %x : f64` -> `llvm.intr.exp(%x) - 1.0` (as upstream MathToLLVM)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.ExpM1Op, rewriter: PatternRewriter) -> None:
        (x,) = operands_to_llvm(op, rewriter)
        exp = emit(rewriter, llvm.FExpOp(x))
        one = float_constant(rewriter, 1.0, x.type)
        replace_with_llvm(op, rewriter, [emit(rewriter, llvm.FSubOp(exp, one))])


class AbsILowering(RewritePattern):
    """`math.absi %x : i64` -> `llvm.call_intrinsic "llvm.abs.i64"(%x, false)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: math.AbsIOp, rewriter: PatternRewriter) -> None:
        (x,) = operands_to_llvm(op, rewriter)
        poison = emit(rewriter, llvm.ConstantOp(IntegerAttr(0, I1), I1))
        name = f"llvm.abs.{intrinsic_suffix(x.type)}"
        replace_with_llvm(op, rewriter, [call_intrinsic(rewriter, name, [x, poison], x.type)])


MATH_PATTERNS: tuple[RewritePattern, ...] = (
    UnaryMathLowering(),
    BinaryMathLowering(),
    FmaLowering(),
    RsqrtLowering(),
    Log1pLowering(),
    Expm1Lowering(),
    AbsILowering(),
)
