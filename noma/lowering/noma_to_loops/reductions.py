"""Loops of the reductions along an axis, the softmax family, arg-extrema
and one-hot (`dialects/noma/reductions.py`).

Each op is one loop nest over the axes it keeps; inside, short loops run
along the reduced axis. Reductions and `argmax`/`argmin` read each element
once; `logsumexp` and `log_softmax` read a line twice (its maximum, then
the sum of `exp(x - max)`; `log_softmax` a third time to write), `softmax`
reads it twice and rescales the line it wrote. A line is short and stays
in cache, so the data is swept once. An elementwise producer used only by
one of these ops is never stored: the op computes it inline at each read
(`FUSING_CONSUMERS` in the dialect file, `fusible_producer` in loops.py).
The softmax family computes such a producer once per element: its first
pass (the maximum) writes each element into the output line (`softmax`,
`log_softmax`) or a scratch line (`logsumexp`), which the later passes read
back; the arithmetic is the same as reading the source twice, so the
results are bit for bit those of a stored producer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.dialects import arith, math, memref, scf
from xdsl.dialects.builtin import DYNAMIC_INDEX, FloatAttr, IntegerAttr, TensorType, f64, i64
from xdsl.ir import Block, Region, SSAValue
from xdsl.rewriter import InsertPoint

from noma.dialects.noma import reductions as red
from noma.dialects.noma.builder import NomaBuilder
from noma.dialects.noma.shapes import shape_of
from noma.lowering.noma_to_loops.loops import INDEX, LoopLowering, is_tensor
from noma.lowering.noma_to_loops.rule import LoopsRule

LineStep = Callable[[NomaBuilder, SSAValue, list[SSAValue]], list[SSAValue]]
"""(builder, index along the axis, carried values) -> the next carried values."""


def _f64(b: NomaBuilder, x: float) -> SSAValue:
    return b.insert(arith.ConstantOp(FloatAttr(x, f64))).result


def _index(b: NomaBuilder, n: int) -> SSAValue:
    return b.insert(arith.ConstantOp(IntegerAttr(n, INDEX))).result


def _along_line(
    b: NomaBuilder, extent: SSAValue, inits: Sequence[SSAValue], step: LineStep
) -> list[SSAValue]:
    """`for k in 0..extent` carrying `inits` through `step`; the results."""
    block = Block(arg_types=[INDEX, *(v.type for v in inits)])
    inner = NomaBuilder(InsertPoint.at_end(block), b.location)
    carried = step(inner, block.args[0], list(block.args[1:]))
    inner.insert(scf.YieldOp(*carried))
    loop = b.insert(scf.ForOp(_index(b, 0), extent, _index(b, 1), list(inits), Region(block)))
    return list(loop.results)


class Lines:
    """The lines of `source` along `axis`: a loop nest over the other axes,
    in whose body `element(b, k)` reads the line's element `k` (computing a
    fused producer inline) and `store(b, buffer, k, value)` writes into a
    buffer of the source's shape."""

    def __init__(self, lw: LoopLowering, source: SSAValue, axis: int):
        self.lw = lw
        self.source = source
        self.axis = axis
        self.dims = lw.dims(source)
        self.extent = self.dims[axis]
        self.outer_dims = [d for i, d in enumerate(self.dims) if i != axis]

    def full_indices(
        self, b: NomaBuilder, outer: Sequence[SSAValue], k: SSAValue
    ) -> list[SSAValue]:
        return [*outer[: self.axis], k, *outer[self.axis :]]

    def reduced_indices(
        self, b: NomaBuilder, outer: Sequence[SSAValue], keepdims: bool
    ) -> list[SSAValue]:
        if not keepdims:
            return list(outer)
        return [*outer[: self.axis], _index(b, 0), *outer[self.axis :]]

    def element(self, b: NomaBuilder, outer: Sequence[SSAValue], k: SSAValue) -> SSAValue:
        return self.lw.scalar_at(b, self.source, self.full_indices(b, outer, k))

    def computed_inline(self) -> bool:
        """Whether each read of an element computes a fused producer."""
        return self.lw.bz.fusible_producer(self.source) is not None

    def reduced_dims(self, keepdims: bool) -> list[SSAValue]:
        if not keepdims:
            return self.outer_dims
        one = self.lw.index_constant(1)
        return [*self.outer_dims[: self.axis], one, *self.outer_dims[self.axis :]]

    def each(self, body: Callable[[NomaBuilder, list[SSAValue]], None]) -> None:
        self.lw.loop_nest(self.outer_dims, body)


def _reduce_lines(
    lw: LoopLowering,
    op: red.AxisReductionOp,
    line_value: Callable[[Lines, NomaBuilder, list[SSAValue]], SSAValue],
) -> SSAValue:
    """The result of a reduction whose value on one line is `line_value`."""
    lines = Lines(lw, op.source, op.axis_index)
    if not is_tensor(op.result):
        return line_value(lines, lw.b, [])
    out = lw.alloc(op.result.type, lines.reduced_dims(op.keepdims))

    def body(b: NomaBuilder, outer: list[SSAValue]) -> None:
        value = line_value(lines, b, outer)
        b.insert(memref.StoreOp.get(value, out, lines.reduced_indices(b, outer, op.keepdims)))

    lines.each(body)
    return out


# -- one value per line -------------------------------------------------------------


def _line_sum(lines: Lines, b: NomaBuilder, outer: list[SSAValue]) -> SSAValue:
    def step(b: NomaBuilder, k: SSAValue, acc: list[SSAValue]) -> list[SSAValue]:
        return [b.insert(arith.AddfOp(acc[0], lines.element(b, outer, k))).result]

    return _along_line(b, lines.extent, [_f64(b, 0.0)], step)[0]


def _line_mean(lines: Lines, b: NomaBuilder, outer: list[SSAValue]) -> SSAValue:
    count = LoopLowering.index_as_f64(b, lines.extent)
    return b.insert(arith.DivfOp(_line_sum(lines, b, outer), count)).result


def _line_extremum(largest: bool) -> Callable[[Lines, NomaBuilder, list[SSAValue]], SSAValue]:
    """The maximum (or minimum) of a line; NaN if the line holds one."""
    combine = arith.MaximumfOp if largest else arith.MinimumfOp
    start = float("-inf") if largest else float("inf")

    def line(lines: Lines, b: NomaBuilder, outer: list[SSAValue]) -> SSAValue:
        def step(b: NomaBuilder, k: SSAValue, acc: list[SSAValue]) -> list[SSAValue]:
            return [b.insert(combine(acc[0], lines.element(b, outer, k))).result]

        return _along_line(b, lines.extent, [_f64(b, start)], step)[0]

    return line


def _line_arg_extremum(largest: bool) -> Callable[[Lines, NomaBuilder, list[SSAValue]], SSAValue]:
    """The index of the first maximum (minimum) of a line: an element
    replaces the best so far only when strictly better, so ties keep the
    first. A NaN never wins; a line of NaNs gives 0."""
    predicate = "ogt" if largest else "olt"
    start = float("-inf") if largest else float("inf")

    def line(lines: Lines, b: NomaBuilder, outer: list[SSAValue]) -> SSAValue:
        def step(b: NomaBuilder, k: SSAValue, acc: list[SSAValue]) -> list[SSAValue]:
            best, where = acc
            x = lines.element(b, outer, k)
            better = b.insert(arith.CmpfOp(x, best, predicate)).result
            return [
                b.insert(arith.SelectOp(better, x, best)).result,
                b.insert(arith.SelectOp(better, k, where)).result,
            ]

        _, where = _along_line(b, lines.extent, [_f64(b, start), _index(b, 0)], step)
        return LoopLowering.index_as_f64(b, where)

    return line


@dataclass(frozen=True)
class Kept:
    """Where the first pass over a line writes each element it computed,
    for the later passes to read back: `buffer` at `indices(b, k)`."""

    buffer: SSAValue
    indices: Callable[[NomaBuilder, SSAValue], list[SSAValue]]

    def store(self, b: NomaBuilder, k: SSAValue, x: SSAValue) -> None:
        b.insert(memref.StoreOp.get(x, self.buffer, self.indices(b, k)))

    def load(self, b: NomaBuilder, k: SSAValue) -> SSAValue:
        return b.insert(memref.LoadOp.get(self.buffer, self.indices(b, k))).res


ElementReader = Callable[[NomaBuilder, SSAValue], SSAValue]
"""(builder, index along the line) -> the element there."""


def _max_keeping(
    lines: Lines, b: NomaBuilder, outer: list[SSAValue], kept: Kept | None
) -> tuple[SSAValue, ElementReader]:
    """The line's maximum, and how the later passes read an element: from
    `kept`, where this pass wrote each element it computed, else from the
    source again."""

    def step(b: NomaBuilder, k: SSAValue, acc: list[SSAValue]) -> list[SSAValue]:
        x = lines.element(b, outer, k)
        if kept is not None:
            kept.store(b, k, x)
        return [b.insert(arith.MaximumfOp(acc[0], x)).result]

    m = _along_line(b, lines.extent, [_f64(b, float("-inf"))], step)[0]
    if kept is not None:
        return m, kept.load
    return m, lambda b, k: lines.element(b, outer, k)


def _line_sum_exp(b: NomaBuilder, lines: Lines, read: ElementReader, m: SSAValue) -> SSAValue:
    """`sum(exp(x - m))` over the line: each term at most 1 for `m` its max."""

    def step(b: NomaBuilder, k: SSAValue, acc: list[SSAValue]) -> list[SSAValue]:
        shifted = b.insert(arith.SubfOp(read(b, k), m)).result
        term = b.insert(math.ExpOp(shifted)).result
        return [b.insert(arith.AddfOp(acc[0], term)).result]

    return _along_line(b, lines.extent, [_f64(b, 0.0)], step)[0]


def _line_logsumexp(
    lines: Lines, b: NomaBuilder, outer: list[SSAValue], kept: Kept | None = None
) -> tuple[SSAValue, ElementReader]:
    """The line's `max + log(sum(exp(x - max)))`, and the element reader of
    its passes (for `log_softmax`'s last one)."""
    m, read = _max_keeping(lines, b, outer, kept)
    total = _line_sum_exp(b, lines, read, m)
    return b.insert(arith.AddfOp(m, b.insert(math.LogOp(total)).result)).result, read


def _logsumexp(lw: LoopLowering, op: red.LogSumExpOp) -> SSAValue:
    """One value per line; a fused producer is computed once per element
    into a scratch line (allocated once for all lines)."""
    lines = Lines(lw, op.source, op.axis_index)
    kept = None
    if lines.computed_inline():
        static = shape_of(op.source.type)[op.axis_index]
        line_type = TensorType(f64, [DYNAMIC_INDEX if static is None else static])
        scratch = lw.alloc(line_type, [lines.extent])
        kept = Kept(scratch, lambda b, k: [k])
    return _reduce_lines(lw, op, lambda lines, b, outer: _line_logsumexp(lines, b, outer, kept)[0])


# -- whole lines -------------------------------------------------------------------


def _each_line_into(
    lw: LoopLowering,
    op: red.SameShapeAxisOp,
    fill: Callable[[Lines, NomaBuilder, list[SSAValue], SSAValue], None],
) -> SSAValue:
    """A new buffer of the source's shape, each line written by `fill`."""
    lines = Lines(lw, op.source, op.axis_index)
    out = lw.alloc(op.result.type, lines.dims)
    lines.each(lambda b, outer: fill(lines, b, outer, out))
    return out


def _write_line(
    lines: Lines,
    b: NomaBuilder,
    outer: list[SSAValue],
    out: SSAValue,
    value: Callable[[NomaBuilder, SSAValue], SSAValue],
) -> None:
    def step(b: NomaBuilder, k: SSAValue, _: list[SSAValue]) -> list[SSAValue]:
        b.insert(memref.StoreOp.get(value(b, k), out, lines.full_indices(b, outer, k)))
        return []

    _along_line(b, lines.extent, [], step)


def _kept_in(lines: Lines, outer: list[SSAValue], out: SSAValue) -> Kept | None:
    """The output line as the store of the elements of a fused producer."""
    if not lines.computed_inline():
        return None
    return Kept(out, lambda b, k: lines.full_indices(b, outer, k))


def _softmax_line(lines: Lines, b: NomaBuilder, outer: list[SSAValue], out: SSAValue) -> None:
    """Max; then `exp(x - max)` written out and summed; then scaled."""
    m, read = _max_keeping(lines, b, outer, _kept_in(lines, outer, out))

    def exp_step(b: NomaBuilder, k: SSAValue, acc: list[SSAValue]) -> list[SSAValue]:
        shifted = b.insert(arith.SubfOp(read(b, k), m)).result
        term = b.insert(math.ExpOp(shifted)).result
        b.insert(memref.StoreOp.get(term, out, lines.full_indices(b, outer, k)))
        return [b.insert(arith.AddfOp(acc[0], term)).result]

    total = _along_line(b, lines.extent, [_f64(b, 0.0)], exp_step)[0]
    scale = b.insert(arith.DivfOp(_f64(b, 1.0), total)).result

    def rescale(b: NomaBuilder, k: SSAValue) -> SSAValue:
        term = b.insert(memref.LoadOp.get(out, lines.full_indices(b, outer, k))).res
        return b.insert(arith.MulfOp(term, scale)).result

    _write_line(lines, b, outer, out, rescale)


def _log_softmax_line(lines: Lines, b: NomaBuilder, outer: list[SSAValue], out: SSAValue) -> None:
    lse, read = _line_logsumexp(lines, b, outer, _kept_in(lines, outer, out))
    _write_line(lines, b, outer, out, lambda b, k: b.insert(arith.SubfOp(read(b, k), lse)).result)


def _mask_line(largest: bool) -> Callable[[Lines, NomaBuilder, list[SSAValue], SSAValue], None]:
    """1.0 at the line's first extremum, 0.0 elsewhere."""
    arg = _line_arg_extremum(largest)

    def fill(lines: Lines, b: NomaBuilder, outer: list[SSAValue], out: SSAValue) -> None:
        where = arg(lines, b, outer)
        one, zero = _f64(b, 1.0), _f64(b, 0.0)

        def value(b: NomaBuilder, k: SSAValue) -> SSAValue:
            here = b.insert(arith.CmpfOp(LoopLowering.index_as_f64(b, k), where, "oeq")).result
            return b.insert(arith.SelectOp(here, one, zero)).result

        _write_line(lines, b, outer, out, value)

    return fill


# -- broadcast_axis and one_hot ------------------------------------------------------


def _broadcast_axis(lw: LoopLowering, op: red.BroadcastAxisOp) -> SSAValue:
    dims = lw.dims(op.like)
    out = lw.alloc(op.result.type, dims)
    axis, keepdims = op.axis.value.data, op.keepdims
    value = op.value
    buffer = lw.buffer(value) if is_tensor(value) else None

    def body(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        if buffer is None:
            element = value
        else:
            indices = list(ivs)
            if keepdims:
                indices[axis] = _index(b, 0)
            else:
                del indices[axis]
            element = b.insert(memref.LoadOp.get(buffer, indices)).res
        b.insert(memref.StoreOp.get(element, out, ivs))

    lw.loop_nest(dims, body)
    return out


def _one_hot(lw: LoopLowering, op: red.OneHotOp) -> SSAValue:
    (rows,) = lw.dims(op.labels)
    (classes,) = lw.dims_from_f64([op.classes])  # at least 1, finite
    static = shape_of(op.result.type)[1]
    if static is not None:
        fixed = lw.index_constant(static)
        lw.check_same(classes, fixed, "one_hot with {0} classes where {1} are needed")
        classes = fixed
    out = lw.alloc(op.result.type, [rows, classes])
    lw.fill(out, [rows, classes], 0.0)
    labels = lw.buffer(op.labels)
    one = lw.f64_constant(1.0)
    classes_f64 = lw.index_as_f64(lw.b, classes)
    zero_f64 = lw.f64_constant(0.0)

    def body(b: NomaBuilder, ivs: list[SSAValue]) -> None:
        (i,) = ivs
        label = b.insert(memref.LoadOp.get(labels, [i])).res
        whole = b.insert(arith.CmpfOp(b.insert(math.FloorOp(label)).result, label, "oeq")).result
        low = b.insert(arith.CmpfOp(label, zero_f64, "oge")).result
        high = b.insert(arith.CmpfOp(label, classes_f64, "olt")).result
        ok = b.insert(arith.AndIOp(whole, b.insert(arith.AndIOp(low, high)).result)).result
        saved, lw.b = lw.b, b  # the check goes inside the loop
        try:
            lw.check(
                ok, "one_hot label {0} is not a class index from 0 to {1} - 1", [label, classes_f64]
            )
        finally:
            lw.b = saved
        as_int = b.insert(arith.FPToSIOp(label, i64)).result
        column = b.insert(arith.IndexCastOp(as_int, INDEX)).result
        b.insert(memref.StoreOp.get(one, out, [i, column]))

    lw.loop_nest([rows], body)
    return out


# -- the table ---------------------------------------------------------------------------


def _reduction(
    line_value: Callable[[Lines, NomaBuilder, list[SSAValue]], SSAValue],
) -> LoopsRule:
    return LoopsRule(on_tensors=lambda lw, op: _reduce_lines(lw, op, line_value))


def _lines_rule(fill: Callable[[Lines, NomaBuilder, list[SSAValue], SSAValue], None]) -> LoopsRule:
    return LoopsRule(on_tensors=lambda lw, op: _each_line_into(lw, op, fill))


RULES = {
    red.SumAxisOp: _reduction(_line_sum),
    red.MeanAxisOp: _reduction(_line_mean),
    red.MaxAxisOp: _reduction(_line_extremum(True)),
    red.MinAxisOp: _reduction(_line_extremum(False)),
    red.LogSumExpOp: LoopsRule(on_tensors=_logsumexp),
    red.ArgMaxOp: _reduction(_line_arg_extremum(True)),
    red.ArgMinOp: _reduction(_line_arg_extremum(False)),
    red.SoftmaxOp: _lines_rule(_softmax_line),
    red.LogSoftmaxOp: _lines_rule(_log_softmax_line),
    red.MaxMaskOp: _lines_rule(_mask_line(True)),
    red.MinMaskOp: _lines_rule(_mask_line(False)),
    red.BroadcastAxisOp: LoopsRule(on_tensors=_broadcast_axis),
    red.OneHotOp: LoopsRule(on_tensors=_one_hot),
}
