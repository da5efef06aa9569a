"""`arith` -> `llvm`: one pattern per op family (semantics of MLIR's ArithToLLVM).

Operations whose LLVM counterpart xDSL's llvm dialect lacks are written with
`llvm.call_intrinsic` (maximum/minimum, saturating float-to-int) or expanded
(uitofp), so that both upstream `mlir-opt` and NOMA's translation accept them.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import arith, llvm
from xdsl.dialects.builtin import (
    AnyFloat,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    VectorType,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from noma.lowering.to_llvm.types import (
    I1,
    constant,
    convert_type,
    emit,
    float_constant,
    lowering_error,
    operands_to_llvm,
    replace_with_llvm,
)


def intrinsic_suffix(t: Attribute) -> str:
    """LLVM's overload suffix of a scalar or vector type: f64, i32, v4f64."""
    if isinstance(t, VectorType):
        shape = t.get_shape()
        return f"v{shape[0]}{intrinsic_suffix(t.get_element_type())}"
    if isinstance(t, IntegerType):
        return f"i{t.width.data}"
    if isinstance(t, AnyFloat):
        return f"f{t.bitwidth}"
    raise ValueError(f"no intrinsic suffix for {t}")


def call_intrinsic(
    rewriter: PatternRewriter, name: str, args: list[SSAValue], result: Attribute
) -> SSAValue:
    return emit(rewriter, llvm.CallIntrinsicOp(name, args, [result]))


class ConstantLowering(RewritePattern):
    """`arith.constant 2 : index` -> `llvm.mlir.constant(2 : i64) : i64`
    (scalars only; dense arrays go through `memref.global`)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.ConstantOp, rewriter: PatternRewriter) -> None:
        value = op.value
        if isinstance(value, DenseIntOrFPElementsAttr):
            raise lowering_error(op, "dense constants must be lowered via memref.global")
        t = convert_type(op.result.type, op)
        if isinstance(value, IntegerAttr):
            value = IntegerAttr(value.value.data, t)  # pyright: ignore[reportArgumentType]
        elif not isinstance(value, FloatAttr):
            raise lowering_error(op, f"unsupported constant {value}")
        replace_with_llvm(op, rewriter, [emit(rewriter, llvm.ConstantOp(value, t))])


_FLOAT_BINARY: dict[type[Operation], type[llvm.AbstractFloatArithOp]] = {
    arith.AddfOp: llvm.FAddOp,
    arith.SubfOp: llvm.FSubOp,
    arith.MulfOp: llvm.FMulOp,
    arith.DivfOp: llvm.FDivOp,
}


class FloatBinaryLowering(RewritePattern):
    """`arith.addf %a, %b fastmath<fast> : f64` -> `llvm.fadd %a, %b {fastmathFlags =
    #llvm.fastmath<fast>} : f64` (likewise subf, mulf, divf)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        target = _FLOAT_BINARY.get(type(op))
        if target is None:
            return
        assert isinstance(op, arith.FloatingPointLikeBinaryOperation)
        lhs, rhs = operands_to_llvm(op, rewriter)
        flags = llvm.FastMathAttr(op.fastmath.data)
        replace_with_llvm(op, rewriter, [emit(rewriter, target(lhs, rhs, flags))])


class NegfLowering(RewritePattern):
    """`arith.negf %a : f64` -> `llvm.fneg %a : f64`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.NegfOp, rewriter: PatternRewriter) -> None:
        (operand,) = operands_to_llvm(op, rewriter)
        flags = llvm.FastMathAttr(op.fastmath.data)
        replace_with_llvm(op, rewriter, [emit(rewriter, llvm.FNegOp(operand, flags))])


_INTEGER_BINARY: dict[type[Operation], Callable[[SSAValue, SSAValue], Operation]] = {
    arith.AddiOp: llvm.AddOp,
    arith.SubiOp: llvm.SubOp,
    arith.MuliOp: llvm.MulOp,
    arith.DivSIOp: llvm.SDivOp,
    arith.DivUIOp: llvm.UDivOp,
    arith.RemSIOp: llvm.SRemOp,
    arith.RemUIOp: llvm.URemOp,
    arith.AndIOp: llvm.AndOp,
    arith.OrIOp: llvm.OrOp,
    arith.XOrIOp: llvm.XOrOp,
    arith.ShLIOp: llvm.ShlOp,
    arith.ShRSIOp: llvm.AShrOp,
    arith.ShRUIOp: llvm.LShrOp,
}


class IntegerBinaryLowering(RewritePattern):
    """`arith.addi %a, %b : index` -> `llvm.add %a, %b : i64` (likewise subi muli
    divsi divui remsi remui andi ori xori shli shrsi shrui)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        target = _INTEGER_BINARY.get(type(op))
        if target is None:
            return
        lhs, rhs = operands_to_llvm(op, rewriter)
        replace_with_llvm(op, rewriter, [emit(rewriter, target(lhs, rhs))])


_INTEGER_MINMAX: dict[type[Operation], str] = {
    arith.MinSIOp: "slt",
    arith.MaxSIOp: "sgt",
    arith.MinUIOp: "ult",
    arith.MaxUIOp: "ugt",
}


class IntegerMinMaxLowering(RewritePattern):
    """`arith.minsi %a, %b : i64` -> `llvm.select (llvm.icmp "slt" %a, %b), %a, %b`
    (likewise maxsi minui maxui)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        predicate = _INTEGER_MINMAX.get(type(op))
        if predicate is None:
            return
        lhs, rhs = operands_to_llvm(op, rewriter)
        cond = emit(rewriter, icmp(lhs, rhs, predicate))
        replace_with_llvm(op, rewriter, [emit(rewriter, llvm.SelectOp(cond, lhs, rhs))])


_FLOAT_MINMAX: dict[type[Operation], str | Callable[[SSAValue, SSAValue], Operation]] = {
    arith.MaximumfOp: "llvm.maximum",
    arith.MinimumfOp: "llvm.minimum",
    arith.MaxnumfOp: llvm.VectorFMaxOp,
    arith.MinnumfOp: llvm.VectorFMinOp,
}


class FloatMinMaxLowering(RewritePattern):
    """`arith.maximumf %a, %b : f64` -> `llvm.call_intrinsic "llvm.maximum.f64"(%a, %b)`
    (NaN-propagating; minimumf likewise); `arith.maxnumf` -> `llvm.intr.maxnum`."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        target = _FLOAT_MINMAX.get(type(op))
        if target is None:
            return
        lhs, rhs = operands_to_llvm(op, rewriter)
        t = lhs.type
        if isinstance(target, str):
            result = call_intrinsic(rewriter, f"{target}.{intrinsic_suffix(t)}", [lhs, rhs], t)
        else:
            result = emit(rewriter, target(lhs, rhs))
        replace_with_llvm(op, rewriter, [result])


def icmp(lhs: SSAValue, rhs: SSAValue, predicate: str) -> llvm.ICmpOp:
    flag = llvm.ICmpPredicateFlag(predicate)
    return llvm.ICmpOp(lhs, rhs, IntegerAttr(flag.to_int(), i64))


class CmpiLowering(RewritePattern):
    """`arith.cmpi slt, %a, %b : index` -> `llvm.icmp "slt" %a, %b : i64`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.CmpiOp, rewriter: PatternRewriter) -> None:
        lhs, rhs = operands_to_llvm(op, rewriter)
        name = arith.CMPI_COMPARISON_OPERATIONS[op.predicate.value.data]
        replace_with_llvm(op, rewriter, [emit(rewriter, icmp(lhs, rhs, name))])


class CmpfLowering(RewritePattern):
    """`arith.cmpf olt, %a, %b : f64` -> `llvm.fcmp "olt" %a, %b : f64`; the
    predicates `false`/`true` become `llvm.mlir.constant(false/true) : i1`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.CmpfOp, rewriter: PatternRewriter) -> None:
        name = arith.CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]
        if name in ("false", "true"):
            if isinstance(op.lhs.type, VectorType):
                raise lowering_error(op, f"vector cmpf {name} is not supported")
            result = constant(rewriter, int(name == "true"), I1)
        else:
            lhs, rhs = operands_to_llvm(op, rewriter)
            result = emit(rewriter, llvm.FCmpOp(lhs, rhs, name))
        replace_with_llvm(op, rewriter, [result])


class SelectLowering(RewritePattern):
    """`arith.select %c, %a, %b : memref<?xf64>` -> `llvm.select %c, %a, %b : i1,
    !llvm.struct<...>` (any operand type with an LLVM form)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.SelectOp, rewriter: PatternRewriter) -> None:
        cond, lhs, rhs = operands_to_llvm(op, rewriter)
        replace_with_llvm(op, rewriter, [emit(rewriter, llvm.SelectOp(cond, lhs, rhs))])


def _width(t: Attribute) -> int:
    """Bit width of an integer or index type (index is i64 once lowered)."""
    if isinstance(t, IntegerType):
        return t.width.data
    assert isinstance(t, IndexType), t
    return 64


def resize_integer(
    rewriter: PatternRewriter, value: SSAValue, to: Attribute, signed: bool
) -> SSAValue:
    """`value` (an LLVM integer) extended or truncated to the integer type `to`."""
    src, dst = _width(value.type), _width(to)
    if dst < src:
        return emit(rewriter, llvm.TruncOp(value, to))
    if dst > src:
        return emit(rewriter, (llvm.SExtOp if signed else llvm.ZExtOp)(value, to))
    return value


class IndexCastLowering(RewritePattern):
    """`arith.index_cast %i : index to i32` -> `llvm.trunc %i : i64 to i32`
    (sext when widening; same width is a no-op)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.IndexCastOp, rewriter: PatternRewriter) -> None:
        (value,) = operands_to_llvm(op, rewriter)
        to = convert_type(op.result.type, op)
        replace_with_llvm(op, rewriter, [resize_integer(rewriter, value, to, True)])


_CASTS: dict[type[Operation], Callable[[SSAValue, Attribute], Operation]] = {
    arith.ExtUIOp: llvm.ZExtOp,
    arith.ExtSIOp: llvm.SExtOp,
    arith.TruncIOp: llvm.TruncOp,
    arith.ExtFOp: llvm.FPExtOp,
    arith.TruncFOp: llvm.FPTruncOp,
    arith.SIToFPOp: llvm.SIToFPOp,
    arith.BitcastOp: llvm.BitcastOp,
}


class CastLowering(RewritePattern):
    """`arith.extui %b : i1 to i64` -> `llvm.zext %b : i1 to i64` (likewise extsi,
    trunci, extf, truncf, sitofp, bitcast)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        target = _CASTS.get(type(op))
        if target is None:
            return
        (value,) = operands_to_llvm(op, rewriter)
        to = convert_type(op.results[0].type, op)
        replace_with_llvm(op, rewriter, [emit(rewriter, target(value, to))])


class UIToFPLowering(RewritePattern):
    """`arith.uitofp %b : i1 to f64` -> `llvm.select %b, 1.0, 0.0`; narrower than
    i64: `llvm.zext` then `llvm.sitofp`; i64: sitofp, halving values >= 2^63 first
    (`(x >> 1) | (x & 1)`, converted, doubled) so the rounding stays correct."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.UIToFPOp, rewriter: PatternRewriter) -> None:
        (value,) = operands_to_llvm(op, rewriter)
        ft = op.result.type
        width = _width(value.type)
        if width == 1:
            one = float_constant(rewriter, 1.0, ft)
            zero = float_constant(rewriter, 0.0, ft)
            result = emit(rewriter, llvm.SelectOp(value, one, zero))
        elif width < 64:
            wide = emit(rewriter, llvm.ZExtOp(value, i64))
            result = emit(rewriter, llvm.SIToFPOp(wide, ft))
        elif width == 64:
            result = _uitofp_i64(rewriter, value, ft)
        else:
            raise lowering_error(op, f"uitofp from {value.type} is not supported")
        replace_with_llvm(op, rewriter, [result])


def _uitofp_i64(rewriter: PatternRewriter, x: SSAValue, ft: Attribute) -> SSAValue:
    direct = emit(rewriter, llvm.SIToFPOp(x, ft))
    one = constant(rewriter, 1)
    half = emit(rewriter, llvm.LShrOp(x, one))
    low_bit = emit(rewriter, llvm.AndOp(x, one))
    halved = emit(rewriter, llvm.OrOp(half, low_bit))
    halved_f = emit(rewriter, llvm.SIToFPOp(halved, ft))
    doubled = emit(rewriter, llvm.FAddOp(halved_f, halved_f))
    non_negative = emit(rewriter, icmp(x, constant(rewriter, 0), "sge"))
    return emit(rewriter, llvm.SelectOp(non_negative, direct, doubled))


class FPToIntLowering(RewritePattern):
    """`arith.fptosi %x : f64 to i64` -> `llvm.call_intrinsic
    "llvm.fptosi.sat.i64.f64"(%x)` (saturating: NaN -> 0, out of range -> the
    nearest bound); fptoui likewise with "llvm.fptoui.sat"."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if isinstance(op, arith.FPToSIOp):
            kind = "fptosi"
        elif isinstance(op, arith.FPToUIOp):
            kind = "fptoui"
        else:
            return
        (value,) = operands_to_llvm(op, rewriter)
        to = convert_type(op.results[0].type, op)
        name = f"llvm.{kind}.sat.{intrinsic_suffix(to)}.{intrinsic_suffix(value.type)}"
        replace_with_llvm(op, rewriter, [call_intrinsic(rewriter, name, [value], to)])


ARITH_PATTERNS: tuple[RewritePattern, ...] = (
    ConstantLowering(),
    FloatBinaryLowering(),
    NegfLowering(),
    IntegerBinaryLowering(),
    IntegerMinMaxLowering(),
    FloatMinMaxLowering(),
    CmpiLowering(),
    CmpfLowering(),
    SelectLowering(),
    IndexCastLowering(),
    CastLowering(),
    UIToFPLowering(),
    FPToIntLowering(),
)
