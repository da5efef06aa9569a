"""Loops of the slicing ops (`dialects/noma/slicing.py`): `noma.rows` is a
strided view of its tensor's buffer when its consumers only read it
(`views.py`), else it copies the block of rows into a buffer of its own (for
consumers that need the identity layout: flat views, calls, the runtime);
`noma.rows_adjoint` copies its block into zeros of the tensor's shape. Both
check at run time that the block lies inside the tensor."""

from __future__ import annotations

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import i64
from xdsl.ir import SSAValue

from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shapes import shape_of
from noma.dialects.noma.slicing import RowsAdjointOp, RowsOp
from noma.lowering.noma_to_loops import views
from noma.lowering.noma_to_loops.loops import INDEX, LoopLowering
from noma.lowering.noma_to_loops.rule import LoopsRule


def _row_index(lw: LoopLowering, value: SSAValue) -> SSAValue:
    """A row number given as an f64 (a whole number), as an index."""
    as_int = lw.b.insert(arith.FPToSIOp(value, i64)).result
    return lw.b.insert(arith.IndexCastOp(as_int, INDEX)).result


def _check_inside(lw: LoopLowering, start: SSAValue, count: SSAValue, rows: SSAValue) -> None:
    """The block of `count` rows from row `start` lies inside a tensor of
    `rows` rows."""
    b = lw.b
    zero = lw.index_constant(0)
    from_row_zero = b.insert(arith.CmpiOp(start, zero, "sge")).result
    lw.check(from_row_zero, "a block of rows cannot start at row {0}", [start])
    end = b.insert(arith.AddiOp(start, count)).result
    ordered = b.insert(arith.CmpiOp(end, start, "sge")).result
    inside = b.insert(arith.CmpiOp(end, rows, "sle")).result
    ok = b.insert(arith.AndIOp(ordered, inside)).result
    last_row = b.insert(arith.SubiOp(end, lw.index_constant(1))).result
    lw.check(
        ok,
        "a block of rows ending at row {0} is out of bounds for a tensor of {1} rows",
        [last_row, rows],
    )


def _rows(lw: LoopLowering, op: RowsOp) -> SSAValue:
    dims = lw.dims(op.source)
    start, count = _row_index(lw, op.start), _row_index(lw, op.count)
    _check_inside(lw, start, count, dims[0])
    static_rows = shape_of(op.result.type)[0]
    if static_rows is not None:
        expected = lw.index_constant(static_rows)
        lw.check_same(count, expected, "a block of {0} rows where {1} are needed")
        count = expected
    if views.lowered_as_view(lw, op):
        whole = views.view_of(lw, op.source)
        if whole is not None:
            return views.materialize(lw, views.rows_of(lw, whole, start, count), op.result.type)
    block_dims = [count, *dims[1:]]
    out = lw.alloc(op.result.type, block_dims)
    source = lw.buffer(op.source)

    def copy_element(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        row = b.insert(arith.AddiOp(start, ivs[0])).result
        element = b.insert(memref.LoadOp.get(source, [row, *ivs[1:]])).res
        b.insert(memref.StoreOp.get(element, out, ivs))

    lw.loop_nest(block_dims, copy_element)
    return out


def _rows_adjoint(lw: LoopLowering, op: RowsAdjointOp) -> SSAValue:
    dims = lw.dims(op.like)
    block_dims = lw.dims(op.value)
    start = _row_index(lw, op.start)
    _check_inside(lw, start, block_dims[0], dims[0])
    out = lw.alloc(op.result.type, dims)
    lw.fill(out, dims, 0.0)
    value = lw.buffer(op.value)

    def copy_element(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        row = b.insert(arith.AddiOp(start, ivs[0])).result
        element = b.insert(memref.LoadOp.get(value, ivs)).res
        b.insert(memref.StoreOp.get(element, out, [row, *ivs[1:]]))

    lw.loop_nest(block_dims, copy_element)
    return out


RULES = {
    RowsOp: LoopsRule(on_tensors=_rows),
    RowsAdjointOp: LoopsRule(on_tensors=_rows_adjoint),
}
