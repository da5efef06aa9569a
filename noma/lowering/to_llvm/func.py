"""`func` -> `llvm` with MLIR's default calling convention (FuncToLLVM).

Every memref argument is expanded into its descriptor fields (allocated ptr,
aligned ptr, offset, sizes..., strides...), so a C function taking a
`memref<?xi8>` as `(char *, char *, int64_t, int64_t, int64_t)` is called the
same way by NOMA's lowering and by upstream's. Results are returned by value:
nothing (void), one converted value, or a struct packing several.

A function with the unit attribute `noma.entry` also gets
`llvm.func @_noma_packed_<name>(%args: !llvm.ptr)`, the runtime's entry point
of type `void (*)(void **)`: `args[i]` points to argument i (to a descriptor
struct in memory for a memref), `args[n_args]` to where the result is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import func, llvm
from xdsl.dialects.builtin import DenseArrayBase, FunctionType, MemRefType, i64
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint

from noma.lowering.to_llvm.descriptor import Descriptor, field_types, pack, ranked
from noma.lowering.to_llvm.types import (
    PTR,
    cast,
    convert_block_arguments,
    convert_type,
    emit,
    replace_with_llvm,
    to_llvm,
)
from noma.symbols import ENTRY_ATTR, PACKED_PREFIX


def expanded_argument_types(t: Attribute, op: Operation) -> list[Attribute]:
    """The LLVM parameters standing for one argument of type `t`."""
    if isinstance(t, MemRefType):
        convert_type(t, op)  # rejects element types with no LLVM form
        return field_types(t.get_num_dims())
    return [convert_type(t, op)]


def result_type(outputs: Sequence[Attribute], op: Operation) -> Attribute:
    """void, the converted single result, or a struct of the converted results."""
    converted = [convert_type(t, op) for t in outputs]
    if not converted:
        return llvm.LLVMVoidType()
    if len(converted) == 1:
        return converted[0]
    return llvm.LLVMStructType.from_type_list(converted)


def llvm_function_type(t: FunctionType, op: Operation) -> llvm.LLVMFunctionType:
    inputs = [p for arg in t.inputs.data for p in expanded_argument_types(arg, op)]
    return llvm.LLVMFunctionType(inputs, result_type(t.outputs.data, op))


def call_arguments(values: Sequence[SSAValue], op: Operation, builder: Builder) -> list[SSAValue]:
    """Call operands in the expanded convention: memrefs become their fields."""
    args: list[SSAValue] = []
    for value in values:
        converted = to_llvm(value, op, builder)
        if isinstance(value.type, MemRefType):
            args += Descriptor(converted, ranked(value.type, op)).fields(builder)
        else:
            args.append(converted)
    return args


def _expand_entry_block(block: Block, op: Operation, rewriter: PatternRewriter) -> None:
    """Replace the entry block's arguments by the expanded LLVM parameters; the
    body keeps seeing the original values through casts (memrefs are rebuilt
    from their fields with `llvm.insertvalue`)."""
    rewriter.insertion_point = InsertPoint.at_start(block)
    originals = list(block.args)
    for arg in originals:
        params = [
            rewriter.insert_block_argument(block, len(block.args), t)
            for t in expanded_argument_types(arg.type, op)
        ]
        if isinstance(arg.type, MemRefType):
            struct = pack(rewriter, arg.type.get_num_dims(), params)
            value = cast(struct, arg.type, rewriter)
        else:
            value = cast(params[0], arg.type, rewriter)
        rewriter.replace_all_uses_with(arg, value)
    for arg in originals:
        rewriter.erase_block_argument(arg)


class FuncLowering(RewritePattern):
    """`func.func @f(%m: memref<?xf64>, %i: index) -> f64` -> `llvm.func @f(%a: !llvm.ptr,
    %b: !llvm.ptr, %o: i64, %s: i64, %st: i64, %i: i64) -> f64` (declarations too)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.FuncOp, rewriter: PatternRewriter) -> None:
        ftype = llvm_function_type(op.function_type, op)
        body = rewriter.move_region_contents_to_new_regions(op.body)
        blocks = list(body.blocks)
        if blocks:
            _expand_entry_block(blocks[0], op, rewriter)
            for block in blocks[1:]:
                convert_block_arguments(block, rewriter)
        new_ops: list[Operation] = [
            llvm.FuncOp(
                op.sym_name,
                ftype,
                linkage=llvm.LinkageAttr("external"),
                sym_visibility=op.sym_visibility,
                body=body,
                extra_attrs=dict(op.attributes),
            )
        ]
        if ENTRY_ATTR in op.attributes:
            new_ops.append(packed_entry_point(op, ftype))
        rewriter.replace(op, new_ops, [])


def packed_entry_point(op: func.FuncOp, ftype: llvm.LLVMFunctionType) -> llvm.FuncOp:
    """`llvm.func @_noma_packed_f(%args: !llvm.ptr)`: loads each argument through
    `args[i]`, calls `@f`, stores the result through `args[n]`."""
    block = Block(arg_types=[PTR])
    builder = Builder(InsertPoint.at_end(block))
    args_array = block.args[0]

    def slot(i: int) -> SSAValue:
        address = emit(builder, llvm.GEPOp(args_array, [i], PTR))
        return emit(builder, llvm.LoadOp(address, PTR))

    inputs = op.function_type.inputs.data
    call_args: list[SSAValue] = []
    for i, t in enumerate(inputs):
        loaded = emit(builder, llvm.LoadOp(slot(i), convert_type(t, op)))
        if isinstance(t, MemRefType):
            call_args += Descriptor(loaded, ranked(t, op)).fields(builder)
        else:
            call_args.append(loaded)
    returns = ftype.output
    has_result = not isinstance(returns, llvm.LLVMVoidType)
    call = llvm.CallOp(op.sym_name.data, *call_args, return_type=returns if has_result else None)
    builder.insert(call)
    if has_result:
        builder.insert(llvm.StoreOp(call.results[0], slot(len(inputs))))
    builder.insert(llvm.ReturnOp())
    return llvm.FuncOp(
        PACKED_PREFIX + op.sym_name.data,
        llvm.LLVMFunctionType([PTR]),
        linkage=llvm.LinkageAttr("external"),
        body=Region(block),
    )


class CallLowering(RewritePattern):
    """`%r = func.call @g(%m) : (memref<?xi8>) -> f64` -> `%r = llvm.call @g(%alloc,
    %aligned, %offset, %size, %stride) : (...) -> f64`; several results come back
    in a struct and are unpacked with `llvm.extractvalue`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.CallOp, rewriter: PatternRewriter) -> None:
        args = call_arguments(op.arguments, op, rewriter)
        returns = result_type(op.result_types, op)
        has_result = not isinstance(returns, llvm.LLVMVoidType)
        call = llvm.CallOp(op.callee, *args, return_type=returns if has_result else None)
        rewriter.insert(call)
        if len(op.res) <= 1:
            replace_with_llvm(op, rewriter, call.results)
            return
        assert isinstance(returns, llvm.LLVMStructType)
        results = [
            emit(
                rewriter,
                llvm.ExtractValueOp(DenseArrayBase.from_list(i64, [i]), call.results[0], t),
            )
            for i, t in enumerate(returns.types.data)
        ]
        replace_with_llvm(op, rewriter, results)


class ReturnLowering(RewritePattern):
    """`func.return %a, %b : f64, index` -> `llvm.return %s : !llvm.struct<(f64, i64)>`
    (one value is returned as is, none gives `llvm.return`)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: func.ReturnOp, rewriter: PatternRewriter) -> None:
        values = [to_llvm(v, op, rewriter) for v in op.arguments]
        if not values:
            rewriter.replace(op, llvm.ReturnOp())
            return
        if len(values) == 1:
            rewriter.replace(op, llvm.ReturnOp(values[0]))
            return
        struct_type = llvm.LLVMStructType.from_type_list([v.type for v in values])
        struct = emit(rewriter, llvm.UndefOp(struct_type))
        for i, v in enumerate(values):
            position = DenseArrayBase.from_list(i64, [i])
            struct = emit(rewriter, llvm.InsertValueOp(position, struct, v))
        rewriter.replace(op, llvm.ReturnOp(struct))


FUNC_PATTERNS: tuple[RewritePattern, ...] = (
    FuncLowering(),
    CallLowering(),
    ReturnLowering(),
)
