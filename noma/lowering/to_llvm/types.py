"""Type conversion to the LLVM dialect, shared by every `*-to-llvm` pattern.

    index                 -> i64
    memref<d0 x .. x T>   -> !llvm.struct<(ptr, ptr, i64, array<R x i64>, array<R x i64>)>
    memref<T> (rank 0)    -> !llvm.struct<(ptr, ptr, i64)>
    iN, fN, llvm types    -> unchanged

The descriptor does not depend on the element type, which matters only to the
ops that address elements: a memref element is stored as its own converted type
(`index` as i64, and a memref as its descriptor struct, as upstream does for
`memref<memref<?x?xf64>>`, the "cell" holding a buffer whose shape changes),
laid out as LLVM lays out that type with 64-bit pointers (`element_size`,
`element_alignment`).

The patterns are not a dialect-conversion driver: each one rewrites one op and
bridges the values it reads and defines with `builtin.unrealized_conversion_cast`
(original type <-> converted type). When every op is lowered the casts come in
inverse pairs, which `reconcile-unrealized-casts` removes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache

from xdsl.builder import Builder
from xdsl.dialects import func, llvm
from xdsl.dialects.builtin import (
    AnyFloat,
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    NoneAttr,
    UnrealizedConversionCastOp,
    UnregisteredOp,
    VectorType,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint
from xdsl.traits import SymbolTable

from noma.diagnostics import NomaError, op_loc

PTR = llvm.LLVMPointerType()
I64 = i64
I1 = IntegerType(1)


class LoweringError(NomaError):
    """An op or type that the LLVM lowering does not support (one line, names
    the op; located at it)."""

    def __init__(self, op: Operation, message: str):
        super().__init__(op_loc(op), message, op=op)

    def in_pass(self, pass_name: str) -> LoweringError:
        """The same error, saying which pass raised it."""
        assert self.op is not None
        return LoweringError(self.op, f"{pass_name}: {self.message}")


def op_name(op: Operation) -> str:
    """The op's name as written in the input (also for unregistered ops)."""
    if isinstance(op, UnregisteredOp):
        return op.op_name.data
    return op.name


def lowering_error(op: Operation, message: str) -> LoweringError:
    """`cannot lower '<op name>': <message>`, one line, at the op."""
    return LoweringError(op, f"cannot lower '{op_name(op)}': {message}")


# --- types -------------------------------------------------------------------


@cache
def descriptor_type(rank: int) -> llvm.LLVMStructType:
    """MLIR's ranked memref descriptor: (allocated, aligned, offset, sizes, strides).
    Cached: attributes are immutable, and building (and verifying) a struct
    type per use was a tenth of the lowering's time."""
    fields: list[Attribute] = [PTR, PTR, I64]
    if rank > 0:
        fields += [llvm.LLVMArrayType(rank, I64), llvm.LLVMArrayType(rank, I64)]
    return llvm.LLVMStructType.from_type_list(fields)


def _is_scalar(t: Attribute) -> bool:
    return isinstance(t, IntegerType | AnyFloat)


def is_legal_type(t: Attribute) -> bool:
    """True for types that the LLVM dialect accepts as they are."""
    if _is_scalar(t):
        return True
    if isinstance(t, VectorType):
        return _is_scalar(t.get_element_type())
    return isinstance(
        t,
        llvm.LLVMPointerType
        | llvm.LLVMStructType
        | llvm.LLVMArrayType
        | llvm.LLVMVoidType
        | llvm.LLVMFunctionType,
    )


def try_convert_type(t: Attribute) -> Attribute | None:
    """The LLVM type standing for `t`, or None if `t` has no LLVM form."""
    if isinstance(t, IndexType):
        return I64
    if isinstance(t, MemRefType):
        if try_convert_type(t.get_element_type()) is None:
            return None
        return descriptor_type(t.get_num_dims())
    return t if is_legal_type(t) else None


def convert_type(t: Attribute, op: Operation) -> Attribute:
    """The LLVM type standing for `t`; raises a diagnostic naming `op` otherwise."""
    converted = try_convert_type(t)
    if converted is None:
        raise lowering_error(op, f"type {t} has no LLVM lowering")
    return converted


def needs_cast(t: Attribute) -> bool:
    """True if `t` has an LLVM form different from itself (index, memref)."""
    return try_convert_type(t) not in (None, t)


def element_type(t: MemRefType[Attribute], op: Operation) -> Attribute:
    """The LLVM type of one memref element: index elements are stored as i64, and
    memref elements as their descriptor struct.

        memref<?xindex>              -> i64
        memref<memref<?x?xf64>>      -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
    """
    return convert_type(t.get_element_type(), op)


POINTER_SIZE = 8
"""Bytes of an `!llvm.ptr` (NOMA targets 64-bit hosts, as the i64 descriptor does)."""


def _layout(t: Attribute, op: Operation) -> tuple[int, int]:
    """(allocation size, ABI alignment) in bytes of LLVM type `t`, as LLVM's
    default data layout on a 64-bit host gives them: integers take the next
    power-of-two bytes, structs pad each field to its alignment and the whole
    to the largest one (a descriptor, made of pointers and i64, has no padding:
    8 * (3 + 2 * rank) bytes, 8-aligned)."""
    if isinstance(t, IndexType):
        return 8, 8
    if isinstance(t, IntegerType):
        size = 1 << max(0, (t.width.data - 1).bit_length() - 3)
        return size, size
    if isinstance(t, Float64Type):
        return 8, 8
    if isinstance(t, Float32Type):
        return 4, 4
    if isinstance(t, Float16Type):
        return 2, 2
    if isinstance(t, llvm.LLVMPointerType):
        return POINTER_SIZE, POINTER_SIZE
    if isinstance(t, llvm.LLVMArrayType):
        size, align = _layout(t.type, op)
        return t.size.data * size, align
    if isinstance(t, llvm.LLVMStructType):
        offset, align = 0, 1
        for field in t.types.data:
            field_size, field_align = _layout(field, op)
            offset = -(-offset // field_align) * field_align + field_size
            align = max(align, field_align)
        return -(-offset // align) * align, align
    raise lowering_error(op, f"unsupported memref element type {t}")


def element_size(t: Attribute, op: Operation) -> int:
    """Size in bytes of one element of LLVM type `t` as laid out in memory (the
    stride of a `getelementptr` over `t`): 8 for f64, 40 for a rank-1 descriptor."""
    return _layout(t, op)[0]


def element_alignment(t: Attribute, op: Operation) -> int:
    """ABI alignment in bytes of LLVM type `t` (a power of two): 8 for f64 and for
    any descriptor."""
    return _layout(t, op)[1]


def has_identity_layout(t: MemRefType[Attribute]) -> bool:
    """Row-major layout with offset 0 (no layout, or an equivalent strided one)."""
    if isinstance(t.layout, NoneAttr):
        return True
    shape = t.get_shape()
    if any(d < 0 for d in shape):
        return False
    return tuple(t.layout.get_strides() or ()) == MemRefType.strides_for_shape(shape) and (
        t.layout.get_offset() == 0
    )


# --- casts between original and converted values ------------------------------


def cast(value: SSAValue, to: Attribute, builder: Builder) -> SSAValue:
    """`value` seen as type `to`: itself, the input of the cast it came from, or a
    new `unrealized_conversion_cast` inserted at the builder's insertion point."""
    if value.type == to:
        return value
    owner = value.owner
    if (
        isinstance(owner, UnrealizedConversionCastOp)
        and len(owner.inputs) == 1
        and owner.inputs[0].type == to
    ):
        return owner.inputs[0]
    cast_op, result = UnrealizedConversionCastOp.cast_one(value, to)
    builder.insert(cast_op)
    return result


def to_llvm(value: SSAValue, op: Operation, builder: Builder) -> SSAValue:
    """`value` cast to its LLVM type."""
    return cast(value, convert_type(value.type, op), builder)


def operands_to_llvm(op: Operation, builder: Builder) -> list[SSAValue]:
    """Every operand of `op`, cast to its LLVM type."""
    return [to_llvm(v, op, builder) for v in op.operands]


def replace_with_llvm(
    op: Operation, rewriter: PatternRewriter, new_results: Sequence[SSAValue]
) -> None:
    """Replace `op` (whose new ops are already inserted) by `new_results`, casting
    each back to the original result type."""
    originals = [cast(v, r.type, rewriter) for v, r in zip(new_results, op.results)]
    rewriter.replace(op, (), originals)


def emit(builder: Builder, op: Operation) -> SSAValue:
    """Insert `op` at the builder's insertion point and return its only result."""
    builder.insert(op)
    return op.results[0]


_shared_constants: dict[tuple[Block, Attribute, int], SSAValue] | None = None
"""While a conversion runs (`sharing_constants`): the integer constants made
so far, by function entry block, type and value."""


@contextmanager
def sharing_constants() -> Iterator[None]:
    """Within this, `constant` makes each integer constant once per function,
    at the top of its entry block (which dominates every use), instead of
    once per use: the descriptor arithmetic asks for the same few sizes,
    strides and byte counts over and over."""
    global _shared_constants
    saved, _shared_constants = _shared_constants, {}
    try:
        yield
    finally:
        _shared_constants = saved


def _function_entry(builder: Builder) -> Block | None:
    """The entry block of the function holding the builder's insertion
    point, if any (a block being built outside a function has none)."""
    block: Block | None = builder.insertion_point.block
    while block is not None:
        owner = block.parent_op()
        if isinstance(owner, llvm.FuncOp | func.FuncOp):
            return owner.body.blocks.first
        block = owner.parent_block() if owner is not None else None
    return None


def constant(builder: Builder, value: int, type: Attribute = I64) -> SSAValue:
    """`llvm.mlir.constant(value) : type` (an integer); one per function
    within `sharing_constants`."""
    entry = _function_entry(builder) if _shared_constants is not None else None
    if _shared_constants is None or entry is None:
        return emit(builder, llvm.ConstantOp(IntegerAttr(value, type), type))
    key = (entry, type, value)
    known = _shared_constants.get(key)
    if known is not None and known.owner.parent_block() is entry:
        return known
    op = llvm.ConstantOp(IntegerAttr(value, type), type)
    builder.insert(op, InsertPoint.at_start(entry))
    _shared_constants[key] = op.results[0]
    return op.results[0]


def float_constant(builder: Builder, value: float, type: Attribute) -> SSAValue:
    """`llvm.mlir.constant(value : type) : type` (a float)."""
    assert isinstance(type, AnyFloat), type
    return emit(builder, llvm.ConstantOp(FloatAttr(value, type), type))


# --- block arguments -----------------------------------------------------------


def convert_block_arguments(block: Block, rewriter: PatternRewriter) -> None:
    """Give `block`'s arguments their LLVM types; uses inside see the original
    type again through a cast at the top of the block. Idempotent."""
    saved = rewriter.insertion_point
    for arg in list(block.args):
        if not needs_cast(arg.type):
            continue
        original = arg.type
        parent = block.parent_op()
        converted = try_convert_type(original)
        if converted is None:
            assert parent is not None
            raise lowering_error(parent, f"block argument of type {original}")
        new_arg = rewriter.replace_value_with_new_type(arg, converted)
        cast_op, back = UnrealizedConversionCastOp.cast_one(new_arg, original)
        rewriter.insert(cast_op, InsertPoint.at_start(block))
        rewriter.replace_uses_with_if(new_arg, back, lambda use: use.operation is not cast_op)
    rewriter.insertion_point = saved


# --- module-level symbols ------------------------------------------------------


def enclosing_module(op: Operation) -> ModuleOp:
    """The `builtin.module` that holds `op`."""
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, ModuleOp):
        parent = parent.parent_op()
    if parent is None:
        raise lowering_error(op, "op is not inside a builtin.module")
    return parent


def declare_function(
    op: Operation,
    name: str,
    inputs: Sequence[Attribute],
    output: Attribute | None,
    rewriter: PatternRewriter,
) -> None:
    """Declare the external `llvm.func @name` (e.g. malloc, free) unless the
    module already has a symbol of that name."""
    module = enclosing_module(op)
    if SymbolTable.lookup_symbol(module, name) is not None:
        return
    decl = llvm.FuncOp(
        name, llvm.LLVMFunctionType(inputs, output), linkage=llvm.LinkageAttr("external")
    )
    rewriter.insert(decl, InsertPoint.at_start(module.body.block))


# --- legality --------------------------------------------------------------------


def check_lowered(
    module: ModuleOp, pass_name: str, is_illegal: Callable[[Operation], bool]
) -> None:
    """Raise a one-line diagnostic naming the first op left behind that the pass
    should have lowered."""
    for op in module.walk():
        if is_illegal(op):
            reason = (
                "run noma-convert-scf-to-cf first"
                if op.dialect_name() == "scf"
                else "no lowering to the LLVM dialect for this op"
            )
            raise LoweringError(op, f"{pass_name}: cannot lower '{op_name(op)}': {reason}")
