"""`memref` -> `llvm` (MemRefToLLVM) on MLIR's descriptor struct.

Buffers come from `malloc` (declared as `llvm.func @malloc(i64) -> !llvm.ptr`)
and go back with `free`. The byte count of a run-time size is computed without
overflow (as i128, saturated) and a count that does not fit in i64 becomes -1,
which no malloc satisfies; a NULL from malloc (of a non-zero count) branches to
`llvm.call @noma_alloc_failed(%bytes, %where, %where_len)` (the C runtime's
"prog.noma:3:5: runtime error: out of memory" exit, `llvm.unreachable` after
it), added by `guard_allocations` once every op is lowered.

Loads and stores address `aligned + offset + sum(i_k * stride_k)` with strides
and offset taken from the type when it fixes them and from the descriptor
otherwise. Allocation, copy and globals need the identity
(row-major) layout. `reinterpret_cast` builds a new descriptor over the same
pointers, so views (such as an N-d buffer seen as a flat `memref<?xf64>`) cost
no copy.

An element may itself be a memref (as upstream allows): the element is its
descriptor struct, stored in memory and loaded or stored as a whole, and the
element size is the struct's. This is how a buffer whose shape changes at run
time lives in a mutable cell, a rank-0 `memref<memref<?x?xf64>>`:

    %cell = memref.alloca() : memref<memref<?x?xf64>>
    memref.store %buf, %cell[] : memref<memref<?x?xf64>>
    %b = memref.load %cell[] : memref<memref<?x?xf64>>

becomes, with D = !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>,

    %slot = llvm.alloca %one x D {alignment = 8 : i64} : (i64) -> !llvm.ptr
    llvm.store %buf_desc, %slot : D, !llvm.ptr
    %b_desc = llvm.load %slot : !llvm.ptr -> D
"""

from __future__ import annotations

from xdsl.dialects import arith, func, llvm, memref
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    NoneAttr,
    StridedLayoutAttr,
    SymbolTable,
    TensorType,
    UnrealizedConversionCastOp,
    i8,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from noma.diagnostics import op_loc
from noma.lowering.to_llvm.arith import icmp
from noma.lowering.to_llvm.descriptor import (
    Descriptor,
    Index,
    materialize,
    mul,
    pack,
    ranked,
    row_major,
    static_offset,
    static_strides,
)
from noma.lowering.to_llvm.runtime import runtime_function_type
from noma.lowering.to_llvm.types import (
    I1,
    I64,
    PTR,
    constant,
    declare_function,
    element_alignment,
    element_size,
    element_type,
    emit,
    has_identity_layout,
    lowering_error,
    replace_with_llvm,
    to_llvm,
)

GLOBAL_ALLOCATED_MARKER = 0xDEADBEEF
"""Allocated pointer of a descriptor of a global (as upstream): freeing it faults."""


def _descriptor(value: SSAValue, op: Operation, rewriter: PatternRewriter) -> Descriptor:
    return Descriptor(to_llvm(value, op, rewriter), ranked(value.type, op))


def _identity(t: MemRefType[Attribute], op: Operation) -> MemRefType[Attribute]:
    if not has_identity_layout(t):
        raise lowering_error(op, f"only the identity layout is supported, got {t}")
    return t


def _sizes(
    t: MemRefType[Attribute],
    dynamic: tuple[SSAValue, ...],
    op: Operation,
    rewriter: PatternRewriter,
) -> list[Index]:
    """Sizes of an allocation: static dims from the type, operands for `?`."""
    pending = iter(dynamic)
    return [
        to_llvm(next(pending), op, rewriter) if d == DYNAMIC_INDEX else d for d in t.get_shape()
    ]


def _index(value: SSAValue, op: Operation, rewriter: PatternRewriter) -> Index:
    """An index operand: its value if it is a constant, else the i64 SSA value."""
    known = constant_index(value)
    return known if known is not None else to_llvm(value, op, rewriter)


def _aligned(raw: SSAValue, alignment: int, rewriter: PatternRewriter) -> SSAValue:
    """`raw` rounded up to a multiple of `alignment` (a power of two)."""
    address = emit(rewriter, llvm.PtrToIntOp(raw, I64))
    bumped = emit(rewriter, llvm.AddOp(address, constant(rewriter, alignment - 1)))
    rounded = emit(rewriter, llvm.AndOp(bumped, constant(rewriter, -alignment)))
    shift = emit(rewriter, llvm.SubOp(rounded, address))
    return emit(rewriter, llvm.GEPOp.from_mixed_indices(raw, [shift], i8))


class AllocLowering(RewritePattern):
    """`memref.alloc(%n) : memref<?x3xf64>` -> `llvm.call @malloc(%n * 3 * 8)` and a
    descriptor with sizes [%n, 3], strides [3, 1], offset 0; with `alignment = A`
    it allocates A more bytes and aligns the aligned pointer.

    `memref.alloc() : memref<memref<?x?xf64>>` (a cell on the heap) mallocs one
    56-byte descriptor; malloc's 16-byte alignment covers its 8."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.AllocOp, rewriter: PatternRewriter) -> None:
        t = _identity(op.memref.type, op)
        elem = element_type(t, op)
        sizes = _sizes(t, tuple(op.dynamic_sizes), op, rewriter)
        # Strides only: the element count is part of the checked byte count.
        inner_strides, inner_count = row_major(rewriter, sizes[1:])
        strides = [inner_count, *inner_strides] if sizes else []
        alignment = op.alignment.value.data if op.alignment is not None else 0
        if alignment & (alignment - 1):
            raise lowering_error(op, f"alignment {alignment} is not a power of two")
        nbytes = _byte_count(rewriter, sizes, element_size(elem, op), alignment, op)
        declare_function(op, "malloc", [I64], PTR, rewriter)
        call = llvm.CallOp("malloc", materialize(rewriter, nbytes), return_type=PTR)
        call.location = op.location  # where a failure is reported
        raw = emit(rewriter, call)
        aligned = _aligned(raw, alignment, rewriter) if alignment > 1 else raw
        desc = pack(rewriter, len(sizes), [raw, aligned, 0, *sizes, *strides])
        replace_with_llvm(op, rewriter, [desc])


I128 = IntegerType(128)
I64_MAX = 2**63 - 1


def _byte_count(
    b: PatternRewriter, sizes: list[Index], element: int, alignment: int, op: Operation
) -> Index:
    """Bytes of a buffer of `sizes` elements of `element` bytes (plus
    `alignment` when it is over 1): a Python int when every size is static
    (an error if it does not fit in i64); else computed in i128, saturated at
    2^63 after each product (so it never wraps), and -1 when it does not fit
    in i64 (malloc then fails, and the guard reports it)."""
    extra = alignment if alignment > 1 else 0
    static = element
    dynamic: list[SSAValue] = []
    for size in sizes:
        if isinstance(size, int):
            static *= size
        else:
            dynamic.append(size)
    if not dynamic:
        if static + extra > I64_MAX:
            raise lowering_error(op, f"a buffer of {static + extra} bytes is too large")
        return static + extra
    if static == 0:
        return extra
    if static + extra > I64_MAX:
        return -1
    bound = constant(b, 2**63, I128)
    total = constant(b, static, I128)
    for size in dynamic:
        wide = emit(b, llvm.ZExtOp(size, I128))
        product = emit(b, llvm.MulOp(total, wide))
        over = emit(b, icmp(product, bound, "ugt"))
        total = emit(b, llvm.SelectOp(over, bound, product))
    if extra:
        total = emit(b, llvm.AddOp(total, constant(b, extra, I128)))
    too_big = emit(b, icmp(total, constant(b, I64_MAX, I128), "ugt"))
    narrow = emit(b, llvm.TruncOp(total, I64))
    return emit(b, llvm.SelectOp(too_big, constant(b, -1), narrow))


def guard_allocations(module: ModuleOp) -> None:
    """After each `llvm.call @malloc(%bytes)`: a NULL result (for a non-zero
    `%bytes`) branches to a block that calls the runtime's
    `noma_alloc_failed(%bytes, %where, %where_len)`, which reports
    "<where>runtime error: out of memory ..." and exits; the rest of the block
    goes on in a new block. `where` is the allocation's source location
    ("prog.noma:3:5: ", empty when it has none), a constant global. A call
    already guarded (by an earlier run of a pass) is left as it is."""
    calls = [
        op
        for op in module.walk()
        if isinstance(op, llvm.CallOp)
        and op.callee is not None
        and op.callee.string_value() == "malloc"
        and not _is_guarded(op)
    ]
    if not calls:
        return
    body = module.body.block
    first = body.first_op
    assert first is not None  # the module holds the functions being lowered
    if SymbolTable.lookup_symbol(module, FAILED) is None:
        failed_type = runtime_function_type(FAILED)
        body.insert_op_before(
            llvm.FuncOp(FAILED, failed_type, linkage=llvm.LinkageAttr("external")), first
        )
    places: dict[str, tuple[str, int]] = {}
    for call in calls:
        loc = op_loc(call)
        where = f"{loc}: " if loc is not None else ""
        if where not in places:
            places[where] = (_add_text_global(module, where), len(where.encode("utf-8")))
        _guard(call, *places[where])


FAILED = "noma_alloc_failed"
"""The runtime function a failed allocation calls (declared in noma.runtime.abi)."""
_WHERE_PREFIX = "__noma_alloc_where"
"""The constant globals holding the allocations' source locations."""


def _add_text_global(module: ModuleOp, text: str) -> str:
    """A private constant byte array holding `text`; its symbol."""
    n = 0
    while SymbolTable.lookup_symbol(module, f"{_WHERE_PREFIX}{n}") is not None:
        n += 1
    symbol = f"{_WHERE_PREFIX}{n}"
    data = text.encode("utf-8")
    signed = [v - 256 if v > 127 else v for v in data]
    value = DenseIntOrFPElementsAttr.from_list(TensorType(i8, [len(data)]), signed)
    text_global = llvm.GlobalOp(
        llvm.LLVMArrayType(len(data), i8), symbol, "private", constant=True, value=value
    )
    module.body.block.add_op(text_global)
    return symbol


def _is_guarded(call: llvm.CallOp) -> bool:
    """The call's block ends in its guard: a branch whose failing side
    reports this call's byte count."""
    block = call.parent_block()
    branch = block.last_op if block is not None else None
    if not isinstance(branch, llvm.CondBrOp):
        return False
    report = next(
        (op for op in branch.then_block.ops if isinstance(op, llvm.CallOp)), None
    )
    return (
        report is not None
        and report.callee is not None
        and report.callee.string_value() == FAILED
        and report.args[0] is call.args[0]
    )


def _guard(call: llvm.CallOp, where: str, where_len: int) -> None:
    block, region = call.parent_block(), call.parent_region()
    owner = region.parent_op() if region is not None else None
    if block is None or region is None or not isinstance(owner, llvm.FuncOp | func.FuncOp):
        # An scf region must stay one block: the guard needs a CFG.
        raise lowering_error(call, "an allocation inside scf: run noma-convert-scf-to-cf first")
    after = call.next_op
    assert after is not None, "a block ends with its terminator"
    rest = block.split_before(after)
    failed_block = Block()
    region.add_block(failed_block)
    nbytes, raw = call.args[0], call.results[0]
    address = llvm.PtrToIntOp(raw, I64)  # xDSL's icmp takes integers only
    zero = llvm.ConstantOp(IntegerAttr(0, I64), I64)
    is_null = icmp(address.results[0], zero.results[0], "eq")
    wanted = icmp(nbytes, zero.results[0], "ne")
    failed = llvm.AndOp(is_null.results[0], wanted.results[0])
    branch = llvm.CondBrOp(failed.results[0], failed_block, (), rest, ())
    for op in (address, zero, is_null, wanted, failed, branch):
        op.location = call.location
        block.add_op(op)
    text = llvm.AddressOfOp(where, PTR)
    length = llvm.ConstantOp(IntegerAttr(where_len, I64), I64)
    report = llvm.CallOp(FAILED, nbytes, text.results[0], length.results[0])
    unreachable = llvm.UnreachableOp()
    for op in (text, length, report, unreachable):
        op.location = call.location
        failed_block.add_op(op)


class AllocaLowering(RewritePattern):
    """`memref.alloca() : memref<f64>` -> `llvm.alloca %one x f64` and a descriptor
    whose allocated and aligned pointers are both the stack slot; the slot is
    aligned to the element (8 for f64 and for a descriptor element: `memref.alloca()
    : memref<memref<?xf64>>` -> `llvm.alloca %one x !llvm.struct<(ptr, ptr, i64,
    array<1 x i64>, array<1 x i64>)> {alignment = 8}`)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.AllocaOp, rewriter: PatternRewriter) -> None:
        t = _identity(op.memref.type, op)
        elem = element_type(t, op)
        sizes = _sizes(t, tuple(op.dynamic_sizes), op, rewriter)
        strides, count = row_major(rewriter, sizes)
        alignment = op.alignment.value.data if op.alignment is not None else 0
        alignment = max(alignment, element_alignment(elem, op))
        slot = emit(rewriter, llvm.AllocaOp(materialize(rewriter, count), elem, alignment))
        desc = pack(rewriter, len(sizes), [slot, slot, 0, *sizes, *strides])
        replace_with_llvm(op, rewriter, [desc])


class DeallocLowering(RewritePattern):
    """`memref.dealloc %m` -> `llvm.call @free(%allocated)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.DeallocOp, rewriter: PatternRewriter) -> None:
        allocated = _descriptor(op.memref, op, rewriter).allocated_ptr(rewriter)
        declare_function(op, "free", [PTR], None, rewriter)
        rewriter.replace(op, llvm.CallOp("free", allocated))


class LoadLowering(RewritePattern):
    """`memref.load %m[%i, %j] : memref<?x?xf64>` -> `llvm.load (llvm.getelementptr
    %aligned[%offset + %i * %s0 + %j * %s1]) : f64`; a memref element is loaded as
    its whole descriptor struct (`memref.load %cell[] : memref<memref<?xf64>>` ->
    `llvm.load %aligned : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<1 x i64>,
    array<1 x i64>)>`)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.LoadOp, rewriter: PatternRewriter) -> None:
        desc = _descriptor(op.memref, op, rewriter)
        elem = element_type(desc.type, op)
        indices = [_index(i, op, rewriter) for i in op.indices]
        address = desc.element_ptr(rewriter, indices, elem)
        replace_with_llvm(op, rewriter, [emit(rewriter, llvm.LoadOp(address, elem))])


class StoreLowering(RewritePattern):
    """`memref.store %v, %m[%i] : memref<?xf64>` -> `llvm.store %v, (llvm.getelementptr
    %aligned[%offset + %i * %s0])`; a memref value is stored as its descriptor
    struct (`memref.store %b, %cell[] : memref<memref<?xf64>>` -> `llvm.store %b_desc,
    %aligned : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>,
    !llvm.ptr`)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.StoreOp, rewriter: PatternRewriter) -> None:
        desc = _descriptor(op.memref, op, rewriter)
        elem = element_type(desc.type, op)
        indices = [_index(i, op, rewriter) for i in op.indices]
        address = desc.element_ptr(rewriter, indices, elem)
        value = to_llvm(op.value, op, rewriter)
        rewriter.replace(op, llvm.StoreOp(value, address))


def constant_index(value: SSAValue) -> int | None:
    """The integer `value` is known to hold, looking through casts and constants."""
    owner = value.owner
    while isinstance(owner, UnrealizedConversionCastOp) and len(owner.inputs) == 1:
        owner = owner.inputs[0].owner
    if isinstance(owner, arith.ConstantOp | llvm.ConstantOp) and isinstance(
        owner.value, IntegerAttr
    ):
        return owner.value.value.data
    return None


class DimLowering(RewritePattern):
    """`memref.dim %m, %c1 : memref<4x?xf64>` -> `llvm.extractvalue %m[3, 1]` (a
    constant for a static dim; a select over the sizes for a non-constant index)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.DimOp, rewriter: PatternRewriter) -> None:
        desc = _descriptor(op.source, op, rewriter)
        index = constant_index(op.index)
        if index is not None:
            if not 0 <= index < desc.rank:
                raise lowering_error(op, f"dimension {index} out of range for {desc.type}")
            replace_with_llvm(op, rewriter, [materialize(rewriter, desc.size(rewriter, index))])
            return
        dim = to_llvm(op.index, op, rewriter)
        result = constant(rewriter, 0)
        for d in range(desc.rank):
            hit = emit(rewriter, icmp(dim, constant(rewriter, d), "eq"))
            size = materialize(rewriter, desc.size(rewriter, d))
            result = emit(rewriter, llvm.SelectOp(hit, size, result))
        replace_with_llvm(op, rewriter, [result])


class CastLowering(RewritePattern):
    """`memref.cast %m : memref<3xi8> to memref<?xi8>` -> the same descriptor (ranked
    to ranked of the same rank: the struct type does not change)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.CastOp, rewriter: PatternRewriter) -> None:
        source = ranked(op.source.type, op)
        dest = ranked(op.dest.type, op)
        if source.get_num_dims() != dest.get_num_dims():
            raise lowering_error(op, "casts between ranks are not supported")
        replace_with_llvm(op, rewriter, [to_llvm(op.source, op, rewriter)])


class CopyLowering(RewritePattern):
    """`memref.copy %a, %b : memref<?xf64> to memref<?xf64>` ->
    `llvm.call_intrinsic "llvm.memcpy.p0.p0.i64"(%b_ptr, %a_ptr, %n * 8, false)`
    (identity layouts: both buffers are contiguous)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.CopyOp, rewriter: PatternRewriter) -> None:
        _identity(ranked(op.source.type, op), op)
        _identity(ranked(op.destination.type, op), op)
        source = _descriptor(op.source, op, rewriter)
        target = _descriptor(op.destination, op, rewriter)
        elem = element_type(source.type, op)
        count = source.num_elements(rewriter)
        nbytes = materialize(rewriter, mul(rewriter, count, element_size(elem, op)))
        zeros: list[Index] = [0] * source.rank
        src = source.element_ptr(rewriter, zeros, elem)
        dst = target.element_ptr(rewriter, zeros, elem)
        volatile = constant(rewriter, 0, I1)
        call = llvm.CallIntrinsicOp("llvm.memcpy.p0.p0.i64", [dst, src, nbytes, volatile], [])
        rewriter.replace(op, call)


def _mixed(
    static: DenseArrayBase, dynamic: tuple[SSAValue, ...], op: Operation, rewriter: PatternRewriter
) -> list[Index]:
    """A mixed static/dynamic index list (offsets, sizes or strides of a view op):
    static entries as they are, each `?` from the next operand (folded when it is a
    constant, so the descriptor arithmetic of later loads folds too)."""
    pending = iter(dynamic)
    return [
        _index(next(pending), op, rewriter) if v == DYNAMIC_INDEX else v
        for v in static.get_values()
    ]


def _check_result_layout(op: memref.ReinterpretCastOp, result: MemRefType[Attribute]) -> None:
    """Where the result type fixes the offset or a stride, the op must give that
    same static value (upstream's verifier rule, which xDSL's lacks): loads through
    the result read those from the type, so a different value in the op would be
    silently ignored."""
    if not isinstance(result.layout, NoneAttr | StridedLayoutAttr):
        raise lowering_error(op, f"the result needs a strided layout, got {result}")
    expected = [static_offset(result), *static_strides(result)]
    given = [*op.static_offsets.get_values(), *op.static_strides.get_values()]
    names = ["offset", *(f"stride {d}" for d in range(len(given) - 1))]
    for name, fixed, value in zip(names, expected, given, strict=True):
        if fixed is not None and fixed != value:
            shown = "dynamic" if value == DYNAMIC_INDEX else value
            raise lowering_error(
                op, f"{name} is {shown} but the result type {result} fixes it to {fixed}"
            )


class ReinterpretCastLowering(RewritePattern):
    """`memref.reinterpret_cast %m to offset: [0], sizes: [%n], strides: [1] :
    memref<4x2xf64> to memref<?xf64>` -> a new descriptor holding %m's allocated and
    aligned pointers and the given offset, sizes and strides (as upstream: a view,
    no data moves)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.ReinterpretCastOp, rewriter: PatternRewriter) -> None:
        result = ranked(op.result.type, op)
        rank = result.get_num_dims()
        if len(op.static_offsets) != 1 or len(op.static_strides) != rank:
            raise lowering_error(op, f"expected one offset and {rank} strides")
        _check_result_layout(op, result)
        source = _descriptor(op.source, op, rewriter)
        pointers = [source.allocated_ptr(rewriter), source.aligned_ptr(rewriter)]
        offsets = _mixed(op.static_offsets, tuple(op.offsets), op, rewriter)
        sizes = _mixed(op.static_sizes, tuple(op.sizes), op, rewriter)
        strides = _mixed(op.static_strides, tuple(op.strides), op, rewriter)
        desc = pack(rewriter, rank, [*pointers, *offsets, *sizes, *strides])
        replace_with_llvm(op, rewriter, [desc])


class GlobalLowering(RewritePattern):
    """`memref.global "private" constant @s : memref<3xi8> = dense<[104, 105, 0]>` ->
    `llvm.mlir.global private constant @s(dense<[104, 105, 0]> : tensor<3xi8>) :
    !llvm.array<3 x i8>` (any shape is flattened to one array)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.GlobalOp, rewriter: PatternRewriter) -> None:
        t = _identity(ranked(op.type, op), op)
        if any(d == DYNAMIC_INDEX for d in t.get_shape()):
            raise lowering_error(op, "a global needs a static shape")
        elem = element_type(t, op)
        if not isinstance(elem, IntegerType | AnyFloat):
            raise lowering_error(op, f"a global needs integer or float elements, got {t}")
        count = 1
        for d in t.get_shape():
            count *= d
        private = op.sym_visibility.data == "private"
        init = op.initial_value
        if isinstance(init, DenseIntOrFPElementsAttr):
            values = list(init.get_values())
        else:  # `uninitialized`: zero-filled
            values = [0 if isinstance(elem, IntegerType) else 0.0]
        value = DenseIntOrFPElementsAttr.from_list(TensorType(elem, [count]), values)
        alignment = op.alignment.value.data if op.alignment is not None else None
        new = llvm.GlobalOp(
            llvm.LLVMArrayType(count, elem),
            op.sym_name,
            "private" if private else "external",
            constant=op.constant is not None,
            value=value,
            alignment=alignment,
        )
        rewriter.replace(op, new)


class GetGlobalLowering(RewritePattern):
    """`memref.get_global @s : memref<3xi8>` -> a descriptor whose aligned pointer is
    `llvm.mlir.addressof @s` (allocated pointer 0xdeadbeef, as upstream)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: memref.GetGlobalOp, rewriter: PatternRewriter) -> None:
        t = _identity(op.memref.type, op)
        address = emit(rewriter, llvm.AddressOfOp(op.name_.root_reference, PTR))
        marker = emit(rewriter, llvm.IntToPtrOp(constant(rewriter, GLOBAL_ALLOCATED_MARKER)))
        sizes: list[Index] = list(t.get_shape())
        strides, _ = row_major(rewriter, sizes)
        desc = pack(rewriter, len(sizes), [marker, address, 0, *sizes, *strides])
        replace_with_llvm(op, rewriter, [desc])


MEMREF_PATTERNS: tuple[RewritePattern, ...] = (
    AllocLowering(),
    AllocaLowering(),
    DeallocLowering(),
    LoadLowering(),
    StoreLowering(),
    DimLowering(),
    CastLowering(),
    ReinterpretCastLowering(),
    CopyLowering(),
    GlobalLowering(),
    GetGlobalLowering(),
)
