"""Patterns lowering `noma` ops on f64 scalars to arith, math, memref and
calls into the runtime.

A parameter handle becomes four rank-0 buffers (value, moments `m` and `v`,
step count `t`), allocated on the stack in the function's entry block so that
LLVM can keep them in registers. The handle is materialised as an
`unrealized_conversion_cast` of those buffers, which the ops using the handle
look through; the casts die once every use is lowered.
"""

from __future__ import annotations

from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import (
    Float64Type,
    FloatAttr,
    UnrealizedConversionCastOp,
    f64,
)
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import creation, io, storage, tape
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.interfaces import ScalarLowerable
from noma.lowering.noma_to_loops.runtime import Runtime, located_text
from noma.lowering.noma_to_loops.storage import PARAM_SLOTS, slots_of


def _storage_buffer(handle: SSAValue, slot: str) -> SSAValue | None:
    """The buffer of `slot` behind a lowered parameter handle, or None if the
    handle is not lowered yet."""
    owner = handle.owner
    if not isinstance(owner, UnrealizedConversionCastOp):
        return None
    return owner.inputs[slots_of(handle.type).index(slot)]


def _is_scalar_op(op: Operation) -> bool:
    types = [v.type for v in (*op.operands, *op.results)]
    return all(isinstance(t, Float64Type) for t in types)


class LowerScalarElementwise(RewritePattern):
    """`noma.add %a, %b : f64, f64 -> f64` -> `arith.addf %a, %b : f64`, by
    the op's own `lower_scalar` hook."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, ScalarLowerable) or not _is_scalar_op(op):
            return
        result = op.lower_scalar(NomaBuilder(InsertPoint.before(op), op.location), op.operands)
        rewriter.replace(op, [], [result])


class LowerLearn(RewritePattern):
    """`%p = noma.learn "w" %init : f64 -> !noma.param<f64>` -> four
    `memref.alloca() : memref<f64>` in the entry block, stores of the initial
    value and zero state, and a cast standing for the handle."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: storage.LearnOp, rewriter: PatternRewriter) -> None:
        if op.init.type != f64:
            return
        entry = _entry_block(op)
        hoisted = NomaBuilder(InsertPoint.at_start(entry), op.location)
        buffers = [hoisted.insert(memref.AllocaOp.get(f64, shape=[])).memref for _ in PARAM_SLOTS]
        b = NomaBuilder(InsertPoint.before(op), op.location)
        zero = b.insert(arith.ConstantOp(FloatAttr(0.0, f64))).result
        for buffer, value in zip(buffers, [op.init, zero, zero, zero]):
            b.insert(memref.StoreOp.get(value, buffer, []))
        cast = b.insert(UnrealizedConversionCastOp.get(buffers, [op.param.type]))
        rewriter.replace(op, [], cast.results)


def _entry_block(op: Operation):
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp):
        parent = parent.parent_op()
    assert parent is not None
    return parent.body.blocks[0]


class LowerStorageAccess(RewritePattern):
    """Reads and writes of a parameter's value or state become
    `memref.load`/`memref.store` on its rank-0 buffers."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        match op:
            case storage.ReadOp(handle=handle):
                self._load(op, _storage_buffer(handle, "value"), rewriter)
            case storage.StateReadOp(param=param, slot=slot):
                self._load(op, _storage_buffer(param, slot.data), rewriter)
            case storage.WriteOp(value=value, handle=handle):
                self._store(op, value, _storage_buffer(handle, "value"), rewriter)
            case storage.StateWriteOp(value=value, param=param, slot=slot):
                self._store(op, value, _storage_buffer(param, slot.data), rewriter)
            case _:
                pass

    @staticmethod
    def _load(op: Operation, buffer: SSAValue | None, rewriter: PatternRewriter) -> None:
        if buffer is not None:
            load = memref.LoadOp.get(buffer, [])
            load.location = op.location
            rewriter.replace(op, load)

    @staticmethod
    def _store(
        op: Operation, value: SSAValue, buffer: SSAValue | None, rewriter: PatternRewriter
    ) -> None:
        if buffer is not None:
            store = memref.StoreOp.get(value, buffer, [])
            store.location = op.location
            rewriter.replace(op, store)


class LowerRuntimeCalls(RewritePattern):
    """Printing, warnings and the autodiff tape become runtime calls:
    `noma.print %x : f64` -> `func.call @noma_print_f64(%x)`."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        b = NomaBuilder(InsertPoint.before(op), op.location)
        rt, loc = self.runtime, op.location
        match op:
            case io.PrintOp(value=value) if value.type == f64:
                rt.call(b, "noma_print_f64", [value], loc)
                rewriter.erase(op)
            case io.PrintStringOp(text=text):
                rt.call(b, "noma_print_str", [rt.string(b, text.data, loc)], loc)
                rewriter.erase(op)
            case io.AssertOp(condition=condition, text=text, values=values):
                message = located_text(op, "runtime error", text.data)
                rt.check(b, condition, message, list(values), loc)
                rewriter.erase(op)
            case io.WarningOp(text=text, value=value):
                message = rt.string(b, located_text(op, "warning", text.data), loc)
                rt.call(b, "noma_warning", [message, value], loc)
                rewriter.erase(op)
            case creation.RandomOp(distribution=distribution, a=a, b=b_) if op.result.type == f64:
                name = "noma_rng_normal" if distribution.data == "normal" else "noma_rng_uniform_range"
                call = rt.call(b, name, [a, b_], loc)
                rewriter.replace(op, [], [call.results[0]])
            case tape.TapeNewOp():
                handle = rt.call(b, "noma_tape_new", [], loc).results[0]
                cast = UnrealizedConversionCastOp.get([handle], [op.tape.type])
                rewriter.replace(op, cast)
            case tape.TapePushOp(tape=t, value=value) if _tape_handle(t) is not None:
                rt.call(b, "noma_tape_push", [_tape_handle(t), value], loc)
                rewriter.erase(op)
            case tape.TapePopOp(tape=t) if _tape_handle(t) is not None:
                call = rt.call(b, "noma_tape_pop", [_tape_handle(t)], loc)
                rewriter.replace(op, [], [call.results[0]])
            case tape.TapeFreeOp(tape=t) if _tape_handle(t) is not None:
                rt.call(b, "noma_tape_free", [_tape_handle(t)], loc)
                rewriter.erase(op)
            case _:
                pass


def _tape_handle(tape_value: SSAValue) -> SSAValue | None:
    owner = tape_value.owner
    return owner.inputs[0] if isinstance(owner, UnrealizedConversionCastOp) else None
