"""Tensor ops as loop nests over memrefs.

`LoopLowering` is what an op's loops rule (`rule.py`) builds with: the
buffer behind each tensor value, its run-time dimensions, allocation of
result buffers, `scf.for` nests, loads with NumPy broadcasting, and run-time
checks that report `file:line:col: runtime error: ...`.

Elementwise chains are fused: an elementwise op whose only use is another
elementwise op (or a reduction) of the same shape in the same block is never
materialised; its consumer computes it inline, element by element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from xdsl.dialects import arith, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    FloatAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    NoneAttr,
    TensorType,
    UnitAttr,
    f64,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import tensor_ops as tops
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.interfaces import ScalarLowerable
from noma.dialects.noma.reductions import FUSING_CONSUMERS
from noma.dialects.noma.shapes import Shape, is_static, num_elements, shape_of
from noma.lowering.noma_to_loops.runtime import FLAT, Runtime, located_text, location_prefix
from noma.passes.unswitch_broadcasts import BROADCAST_SELECT

if TYPE_CHECKING:
    from noma.lowering.noma_to_loops.bufferize import Bufferizer

INDEX = IndexType()


def memref_type(t: Attribute) -> Attribute:
    """tensor<2x?xf64> -> memref<2x?xf64>; other types are kept."""
    if isinstance(t, TensorType):
        return MemRefType(t.element_type, t.get_shape())
    return t


def is_tensor(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType)


def is_tensor_type(t: Attribute) -> bool:
    return isinstance(t, TensorType)


def copy_into(b: NomaBuilder, source: SSAValue, target: SSAValue) -> None:
    """`memref.copy`, first casting the source to the target's type when
    they differ only in which dimensions are static (the sizes agree: the
    callers check them)."""
    if source.type != target.type:
        source = b.insert(memref.CastOp.get(source, target.type)).results[0]  # type: ignore[arg-type]
    b.insert(memref.CopyOp(source, target))


def fusible_producer(value: SSAValue) -> Operation | None:
    """The elementwise op computing `value`, if its consumers can compute it
    inline instead of it being stored: a broadcast scalar always (it costs
    nothing to recompute), any other elementwise op when it has a single
    consumer of the same shape in the same block."""
    op = value.owner
    if not isinstance(op, ScalarLowerable | tops.BroadcastToOp) or not is_tensor(value):
        return None
    users = [use.operation for use in value.uses]
    if not users or any(u.parent_block() is not op.parent_block() for u in users):
        return None
    inlining_users = all(
        isinstance(u, (tops.SumOp, tops.MeanOp, *FUSING_CONSUMERS))
        or isinstance(u, ScalarLowerable) and u.results[0].type == value.type
        for u in users
    )
    if not inlining_users:
        return None
    if any(
        is_tensor(o) and o.type != value.type and not is_static(shape_of(o.type))
        for o in op.operands
    ):
        return None  # broadcasting a dynamic shape: materialised, with its checks
    if isinstance(op, tops.BroadcastToOp) and not is_tensor(op.value):
        return op
    return op if len(users) == 1 else None


class LoopLowering:
    """Builds the loops of one tensor op, just before it."""

    def __init__(self, bufferizer: Bufferizer, op: Operation):
        self.bz = bufferizer
        self.op = op
        self.b = NomaBuilder(InsertPoint.before(op), op.location)
        self.flat_views: dict[SSAValue, SSAValue] | None = None
        """Set while iterating over a flat index: the 1-D view of each leaf."""
        self.before_loops = NomaBuilder(InsertPoint.before(op), op.location)
        """Inserts before the op, and so before every loop built for it."""
        self.broadcast_conditions: dict[tuple[SSAValue, int], SSAValue] = {}
        self.fused_dims: dict[SSAValue, list[SSAValue]] = {}
        """The run-time dimensions of each fused producer, computed (and
        checked) once."""
        self.loop_extents: dict[SSAValue, SSAValue] = {}
        """The induction variable of each loop built here (from 0, step 1) ->
        its upper bound: an index known to be below a tensor's own dimension
        needs no broadcasting select (`broadcast_indices`)."""

    @property
    def runtime(self) -> Runtime:
        return self.bz.runtime

    # -- values --------------------------------------------------------------

    def buffer(self, value: SSAValue) -> SSAValue:
        return self.bz.buffer(value)

    def index_constant(self, n: int) -> SSAValue:
        return self.b.insert(arith.ConstantOp(IntegerAttr(n, INDEX))).result

    def f64_constant(self, x: float) -> SSAValue:
        return self.b.insert(arith.ConstantOp(FloatAttr(x, f64))).result

    def dims(self, value: SSAValue) -> list[SSAValue]:
        """The run-time dimensions of a tensor value."""
        result = []
        producer = self.bz.fusible_producer(value) if value not in self.bz.buffers else None
        if producer is not None and not is_static(shape_of(value.type)):
            # Computed inline, never stored: its shape is its operands'
            # broadcast, checked at run time as a stored result's would be
            # (operands of one dynamic type may still differ, or be 1).
            if isinstance(producer, tops.BroadcastToOp):
                return self.dims(producer.like)
            if value not in self.fused_dims:
                tensors = [o for o in producer.operands if is_tensor(o)]
                self.fused_dims[value] = self.result_dims(value, tensors)
            return self.fused_dims[value]
        source = self.transposed_source(value) if value not in self.bz.buffers else None
        if source is not None and not is_static(shape_of(value.type)):
            return self.dims(source)[::-1]  # read in place by its matmul
        for i, d in enumerate(shape_of(value.type)):
            if d is None:
                dim = memref.DimOp(self.buffer(value), self.index_constant(i))
                result.append(self.b.insert(dim).result)
            else:
                result.append(self.index_constant(d))
        return result

    def alloc(self, t: Attribute, dims: Sequence[SSAValue]) -> SSAValue:
        """A new buffer of tensor type `t` with run-time dimensions `dims`
        (which a static type does not need)."""
        shape = shape_of(t)
        dynamic = [d for d, s in zip(dims, shape, strict=True) if s is None] if dims else []
        alloc = memref.AllocOp.get(
            f64, shape=[DYNAMIC_INDEX if s is None else s for s in shape], dynamic_sizes=dynamic
        )
        return self.bz.own(self.b.insert(alloc).memref, self.op)

    def loop_nest(
        self, dims: Sequence[SSAValue], body: Callable[[NomaBuilder, list[SSAValue]], None]
    ) -> None:
        """`for i0 in 0..dims[0]: for i1 ...: body(ivs)` with `scf.for`."""
        zero, one = self.index_constant(0), self.index_constant(1)

        def nest(b: NomaBuilder, level: int, ivs: list[SSAValue]) -> None:
            if level == len(dims):
                body(b, ivs)
                return
            block = Block(arg_types=[INDEX])
            self.loop_extents[block.args[0]] = dims[level]
            inner = NomaBuilder(InsertPoint.at_end(block), b.location)
            nest(inner, level + 1, [*ivs, block.args[0]])
            inner.insert(scf.YieldOp())
            b.insert(scf.ForOp(zero, dims[level], one, [], Region(block)))

        nest(self.b, 0, [])

    def accumulate(
        self, dims: Sequence[SSAValue], element: Callable[[NomaBuilder, list[SSAValue]], SSAValue]
    ) -> SSAValue:
        """The sum of `element(ivs)` over the index space `dims`."""
        zero, one = self.index_constant(0), self.index_constant(1)
        init = self.f64_constant(0.0)

        def nest(b: NomaBuilder, level: int, ivs: list[SSAValue], total: SSAValue) -> SSAValue:
            if level == len(dims):
                return b.insert(arith.AddfOp(total, element(b, ivs))).result
            block = Block(arg_types=[INDEX, f64])
            self.loop_extents[block.args[0]] = dims[level]
            inner = NomaBuilder(InsertPoint.at_end(block), b.location)
            result = nest(inner, level + 1, [*ivs, block.args[0]], block.args[1])
            inner.insert(scf.YieldOp(result))
            return b.insert(scf.ForOp(zero, dims[level], one, [total], Region(block))).results[0]

        return nest(self.b, 0, [], init)

    # -- elements -------------------------------------------------------------

    def broadcast_indices(
        self, b: NomaBuilder, value: SSAValue, ivs: Sequence[SSAValue]
    ) -> list[SSAValue]:
        """Indices into `value` for the element at `ivs` of a broadcast
        result: trailing axes aligned, axes of size 1 pinned to 0. A dynamic
        axis is pinned at run time, `select(dim == 1, 0, iv)` marked
        BROADCAST_SELECT, its condition computed before the op's loops (it
        is loop-invariant), so that noma-unswitch-broadcasts can give the
        loops a version for the usual case, where nothing broadcasts."""
        shape = shape_of(value.type)
        offset = len(ivs) - len(shape)
        indices = []
        for axis, extent in enumerate(shape):
            iv = ivs[offset + axis]
            if extent == 1:
                iv = b.insert(arith.ConstantOp(IntegerAttr(0, INDEX))).result
            elif extent is None and not self.bounded_by_dim(iv, value, axis):
                zero = b.insert(arith.ConstantOp(IntegerAttr(0, INDEX))).result
                pin = arith.SelectOp(self.is_broadcast(value, axis), zero, iv)
                pin.attributes[BROADCAST_SELECT] = UnitAttr()
                iv = b.insert(pin).result
            indices.append(iv)
        return indices

    def is_broadcast(self, value: SSAValue, axis: int) -> SSAValue:
        """`dim(value, axis) == 1`, computed once, just before the op."""
        key = (self.buffer(value), axis)
        if key not in self.broadcast_conditions:
            b = self.before_loops
            dim = b.insert(
                memref.DimOp(key[0], b.insert(arith.ConstantOp(IntegerAttr(axis, INDEX))).result)
            ).result
            one = b.insert(arith.ConstantOp(IntegerAttr(1, INDEX))).result
            self.broadcast_conditions[key] = b.insert(arith.CmpiOp(dim, one, "eq")).result
        return self.broadcast_conditions[key]

    def bounded_by_dim(self, iv: SSAValue, value: SSAValue, axis: int) -> bool:
        """Whether `iv` runs from 0 below `value`'s own dimension `axis`
        (`memref.dim` of its buffer): then, were that dimension 1, `iv`
        would be 0 anyway, and the broadcasting select is an identity that
        would only keep LLVM from seeing consecutive loads."""
        extent = self.loop_extents.get(iv)
        if extent is None or not isinstance(dim := extent.owner, memref.DimOp):
            return False
        index = dim.index.owner
        return (
            dim.source == self.buffer(value)
            and isinstance(index, arith.ConstantOp)
            and isinstance(index.value, IntegerAttr)
            and index.value.value.data == axis
        )

    def scalar_at(self, b: NomaBuilder, value: SSAValue, ivs: Sequence[SSAValue]) -> SSAValue:
        """The element of `value` at `ivs` (indices of the consumer's shape):
        computed inline for a fused producer, else loaded."""
        if not is_tensor(value):
            return value
        producer = self.bz.fusible_producer(value)
        if producer is not None:
            self.bz.fused.add(producer)
            if isinstance(producer, tops.BroadcastToOp):
                return self.scalar_at(b, producer.value, ivs)
            assert isinstance(producer, ScalarLowerable)
            operands = [self.scalar_at(b, o, ivs) for o in producer.operands]
            saved = b.location
            b.location = producer.location
            try:
                return producer.lower_scalar(b, operands)
            finally:
                b.location = saved
        if self.flat_views is not None:
            return b.insert(memref.LoadOp.get(self.flat_views[value], ivs)).res
        indices = self.broadcast_indices(b, value, ivs)
        return b.insert(memref.LoadOp.get(self.buffer(value), indices)).res

    # -- flat iteration -------------------------------------------------------------

    def leaves(self, value: SSAValue) -> list[SSAValue]:
        """The stored tensors an element of `value` is computed from, looking
        through the producers that will be fused into it."""
        if not is_tensor(value):
            return []
        producer = self.bz.fusible_producer(value)
        if producer is None:
            return [value]
        if isinstance(producer, tops.BroadcastToOp):
            return self.leaves(producer.value)
        return [leaf for o in producer.operands for leaf in self.leaves(o)]

    def flat_view(self, buffer: SSAValue, count: int) -> SSAValue:
        """`buffer` (identity layout) seen as a 1-D memref of `count` elements."""
        view_type = MemRefType(f64, [count])
        cast = memref.ReinterpretCastOp(buffer, [], [], [], [0], [count], [1], view_type)
        return self.b.insert(cast).results[0]

    def try_flat(self, shape_type: Attribute, roots: Sequence[SSAValue]) -> int | None:
        """When every stored tensor feeding `roots` has the static type
        `shape_type` (no broadcasting), iterate over one flat index: LLVM then
        sees contiguous accesses it can vectorise. Sets up the views and
        gives the element count, else None."""
        count = num_elements(shape_of(shape_type))
        if count is None or not is_tensor_type(shape_type):
            return None
        leaves = [leaf for root in roots for leaf in self.leaves(root)]
        if any(leaf.type != shape_type for leaf in leaves):
            return None
        if any(not isinstance(self.buffer(leaf).type.layout, NoneAttr) for leaf in leaves):
            return None  # a strided view (`views.py`) is not contiguous
        self.flat_views = {leaf: self.flat_view(self.buffer(leaf), count) for leaf in leaves}
        return count

    # -- run-time checks ---------------------------------------------------------

    def check(self, ok: SSAValue, message: str, values: Sequence[SSAValue] = ()) -> None:
        """Stop with `file:line:col: runtime error: message` unless `ok`
        (an i1); `{0}` and `{1}` in the message are replaced by `values`."""
        as_f64 = [self.index_as_f64(self.b, v) for v in values]
        text = located_text(self.op, "runtime error", message)
        self.runtime.check(self.b, ok, text, as_f64, self.op.location)

    @staticmethod
    def index_as_f64(b: NomaBuilder, value: SSAValue) -> SSAValue:
        if value.type == f64:
            return value
        as_int = b.insert(arith.IndexCastOp(value, i64)).result
        return b.insert(arith.SIToFPOp(as_int, f64)).result

    def check_same(self, a: SSAValue, b: SSAValue, message: str) -> None:
        """Check two index values are equal (only emitted when not both
        static, by the callers)."""
        same = self.b.insert(arith.CmpiOp(a, b, "eq")).result
        self.check(same, message, [a, b])

    def check_shapes(
        self, ok: SSAValue, message: str, a: Sequence[SSAValue], b: Sequence[SSAValue]
    ) -> None:
        """Stop with a located runtime error unless `ok`; `{0}` and `{1}` in
        the message are replaced by the shapes `a` and `b` (index dims)."""
        text = located_text(self.op, "runtime error", message)
        self.runtime.check_shapes(self.b, ok, text, (a, b), self.op.location)

    def check_same_shape(
        self, a: SSAValue, b_dims: Sequence[SSAValue], b_shape: Shape, message: str
    ) -> None:
        """Check at run time that tensor `a` has dimensions `b_dims` (of
        static shape `b_shape` where known) on the axes where the two are
        not both static; the message gets both shapes."""
        a_dims = self.dims(a)
        ok: SSAValue | None = None
        for x, y, sa, sb in zip(a_dims, b_dims, shape_of(a.type), b_shape, strict=True):
            if sa is not None and sb is not None:
                continue
            same = self.b.insert(arith.CmpiOp(x, y, "eq")).result
            ok = same if ok is None else self.b.insert(arith.AndIOp(ok, same)).result
        if ok is not None:
            self.check_shapes(ok, message, a_dims, b_dims)

    def index_from_f64(self, value: SSAValue, extent: SSAValue) -> SSAValue:
        """An f64 index truncated toward zero, negative counting from the
        end, checked against `extent`."""
        as_int = self.b.insert(arith.FPToSIOp(value, i64)).result
        index = self.b.insert(arith.IndexCastOp(as_int, INDEX)).result
        zero = self.index_constant(0)
        negative = self.b.insert(arith.CmpiOp(index, zero, "slt")).result
        wrapped = self.b.insert(arith.AddiOp(index, extent)).result
        index = self.b.insert(arith.SelectOp(negative, wrapped, index)).result
        low = self.b.insert(arith.CmpiOp(index, zero, "sge")).result
        high = self.b.insert(arith.CmpiOp(index, extent, "slt")).result
        inside = self.b.insert(arith.AndIOp(low, high)).result
        # fptosi saturates (NaN -> 0, +-inf -> the i64 bounds, which the
        # comparisons above reject); a NaN index must not read element 0.
        is_number = self.b.insert(arith.CmpfOp(value, value, "ord")).result
        inside = self.b.insert(arith.AndIOp(inside, is_number)).result
        self.check(inside, "index {0} is out of bounds for a dimension of size {1}", [value, extent])
        return index

    # -- op lowerings ------------------------------------------------------------

    def result_dims(self, result: SSAValue, operands: Sequence[SSAValue]) -> list[SSAValue]:
        """Dimensions of a broadcast result. Where an operand's dimension is
        dynamic, check at run time that it is 1 or the result's."""
        shape = shape_of(result.type)
        dims: list[SSAValue] = []
        shown = [self.dims(o) if is_tensor(o) else [] for o in [*operands, *operands][:2]]
        for axis, extent in enumerate(shape):
            dim = self.index_constant(extent) if extent is not None else None
            for operand in operands:
                o_shape = shape_of(operand.type)
                o_axis = axis - (len(shape) - len(o_shape))
                if o_axis < 0 or o_shape[o_axis] == 1:
                    continue
                if o_shape[o_axis] is not None and dim is not None:
                    continue  # both static: the frontend checked them
                this = self.dims(operand)[o_axis]
                if dim is None:
                    dim = this
                    continue
                one = self.index_constant(1)
                same = self.b.insert(arith.CmpiOp(dim, this, "eq")).result
                this_one = self.b.insert(arith.CmpiOp(this, one, "eq")).result
                ok = self.b.insert(arith.OrIOp(same, this_one)).result
                if extent is None:
                    dim_one = self.b.insert(arith.CmpiOp(dim, one, "eq")).result
                    ok = self.b.insert(arith.OrIOp(ok, dim_one)).result
                    dim = self.b.insert(arith.SelectOp(dim_one, this, dim)).result
                self.check_shapes(
                    ok, "operands of shapes {0} and {1} do not broadcast", *shown
                )
            dims.append(dim if dim is not None else self.index_constant(1))
        return dims

    def elementwise(self, op: Operation, destination: SSAValue | None = None) -> SSAValue:
        """The loop computing an elementwise op, into a new buffer, or into
        `destination` (borrowed) when it can be iterated flat."""
        result = op.results[0]
        operands = [o for o in op.operands]
        if isinstance(op, tops.BroadcastToOp):
            operands = [op.value]
        count = self.try_flat(result.type, operands)
        if count is not None:
            out = destination if destination is not None else self.alloc(result.type, [])
            target = self.flat_view(out, count)
            dims = [self.index_constant(count)]
        else:
            like = [op.like] if isinstance(op, tops.BroadcastToOp) else []
            dims = self.result_dims(result, [*operands, *like])
            out = target = self.alloc(result.type, dims)

        def body(b: NomaBuilder, ivs: list[SSAValue]) -> None:
            if isinstance(op, tops.BroadcastToOp):
                element = self.scalar_at(b, op.value, ivs)
            else:
                assert isinstance(op, ScalarLowerable)
                element = op.lower_scalar(b, [self.scalar_at(b, o, ivs) for o in operands])
            b.insert(memref.StoreOp.get(element, target, ivs))

        self.loop_nest(dims, body)
        return out

    def numel(self, value: SSAValue) -> SSAValue:
        """The number of elements of `value`, as an f64."""
        static = num_elements(shape_of(value.type))
        if static is not None:
            return self.f64_constant(float(static))
        count = self.index_constant(1)
        for d in self.dims(value):
            count = self.b.insert(arith.MuliOp(count, d)).result
        return self.index_as_f64(self.b, count)

    def transposed_source(self, value: SSAValue) -> SSAValue | None:
        """The source of `value` when it is a transpose used only by matmuls,
        which then read the source with swapped indices instead."""
        op = value.owner
        if not self.bz.transpose_read_by_matmuls(op):
            return None
        assert isinstance(op, tops.TransposeOp)
        self.bz.fused.add(op)
        return op.source

    def dims_from_f64(self, values: Sequence[SSAValue]) -> list[SSAValue]:
        """Dimensions given as f64 values, truncated toward zero. One runtime
        call (`noma_check_dims`) checks them all before anything converts
        them: each at least 1 and finite, the buffer within the size limit
        (its byte count cannot overflow), else a located runtime error that
        names the requested shape."""
        array = self.bz.entry_builder(self.op).insert(
            memref.AllocaOp.get(f64, shape=[len(values)])
        ).memref  # at the function's entry: a loop must not grow the stack
        for axis, value in enumerate(values):
            self.b.insert(memref.StoreOp.get(value, array, [self.index_constant(axis)]))
        flat = self.b.insert(memref.CastOp.get(array, FLAT)).results[0]
        where = self.runtime.string(self.b, location_prefix(self.op), self.op.location)
        self.runtime.call(self.b, "noma_check_dims", [where, flat], self.op.location)
        dims = []
        for value in values:
            as_int = self.b.insert(arith.FPToSIOp(value, i64)).result
            dims.append(self.b.insert(arith.IndexCastOp(as_int, INDEX)).result)
        return dims

    def shaped_dims(self, t: Attribute, values: Sequence[SSAValue]) -> list[SSAValue]:
        """Run-time dimensions of a result of tensor type `t` given as f64
        values: the static ones of `t`, checked against the values."""
        dims = self.dims_from_f64(values)
        for axis, extent in enumerate(shape_of(t)):
            if extent is not None:
                static = self.index_constant(extent)
                self.check_same(dims[axis], static, "a dimension of {0} where {1} is needed")
                dims[axis] = static
        return dims

    def fill_value(
        self, t: Attribute, values: Sequence[SSAValue], element: Callable[[NomaBuilder], SSAValue]
    ) -> SSAValue:
        """A new tensor of type `t` and dimensions `values` (f64), element
        after element in row-major order."""
        dims = self.shaped_dims(t, values)
        out = self.alloc(t, dims)
        self.loop_nest(dims, lambda b, ivs: b.insert(memref.StoreOp.get(element(b), out, ivs)))
        return out

    def fill(self, buffer: SSAValue, dims: Sequence[SSAValue], x: float) -> None:
        constant = self.f64_constant(x)
        self.loop_nest(dims, lambda b, ivs: b.insert(memref.StoreOp.get(constant, buffer, ivs)))

    def copy(self, value: SSAValue, t: Attribute | None = None) -> SSAValue:
        """A new buffer holding the elements of tensor `value`."""
        dims = self.dims(value)
        out = self.alloc(t or value.type, dims)
        copy_into(self.b, self.buffer(value), out)
        return out
