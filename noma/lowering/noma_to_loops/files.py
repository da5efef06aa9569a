"""Loops of the file ops (`dialects/noma/files.py`): runtime calls on flat
views of buffers.

A load asks the runtime to read the file into a handle, sizes a new buffer
from the handle's dimensions and has the runtime copy the elements into it:

    %h = func.call @noma_load_csv(%where, %path) : (memref<?xi8>, memref<?xi8>) -> i64
    %d0 = func.call @noma_loaded_dim(%h, %c0) : (i64, i64) -> i64
    ...
    %X = memref.alloc(%r, %c) : memref<?x?xf64>
    func.call @noma_loaded_take(%h, %flat_X) : (i64, memref<?xf64>) -> ()

A save passes the value as a flat `memref<?xf64>` and its shape as a
`memref<?xi64>`, as printing does. `%where` is the statement's location
(`prog.noma:3:5: `), which the runtime puts before its error messages.
"""

from __future__ import annotations

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import DYNAMIC_INDEX, IndexType, IntegerAttr, f64, i64
from xdsl.ir import Operation, SSAValue

from noma.dialects.noma import files
from noma.dialects.noma.shapes import shape_of
from noma.lowering.noma_to_loops.loops import LoopLowering
from noma.lowering.noma_to_loops.rule import LoopsRule, rules_for
from noma.lowering.noma_to_loops.runtime import FLAT, location_prefix


def where(lw: LoopLowering) -> SSAValue:
    """The location prefix of the runtime's error messages for this op."""
    return lw.runtime.string(lw.b, location_prefix(lw.op), lw.op.location)


def _i64(lw: LoopLowering, n: int) -> SSAValue:
    return lw.b.insert(arith.ConstantOp(IntegerAttr(n, i64))).result


def _flat(lw: LoopLowering, buffer: SSAValue, dims: list[SSAValue]) -> SSAValue:
    """An identity-layout buffer of dimensions `dims` seen as a flat
    `memref<?xf64>`."""
    count = lw.index_constant(1)
    for d in dims:
        count = lw.b.insert(arith.MuliOp(count, d)).result
    cast = memref.ReinterpretCastOp(buffer, [], [count], [], [0], [DYNAMIC_INDEX], [1], FLAT)
    return lw.b.insert(cast).results[0]


def flat_and_shape(lw: LoopLowering, value: SSAValue) -> tuple[SSAValue, SSAValue]:
    """`value` (a scalar or a tensor) as a flat `memref<?xf64>` of its
    elements in row-major order, and its shape as a `memref<?xi64>`."""
    entry = lw.bz.entry_builder(lw.op)
    if value.type == f64:
        cell = entry.insert(memref.AllocaOp.get(f64, shape=[1])).memref
        lw.b.insert(memref.StoreOp.get(value, cell, [lw.index_constant(0)]))
        flat = lw.b.insert(memref.CastOp.get(cell, FLAT)).results[0]
        dims: list[SSAValue] = []
    else:
        dims = lw.dims(value)
        flat = _flat(lw, lw.buffer(value), dims)
    return flat, lw.runtime.shape_array(lw.b, dims, alloca_at=entry)


def _load(
    lw: LoopLowering, op: files.LoadCsvOp | files.LoadSafetensorsOp | files.LoadArgOp
) -> SSAValue:
    """A new buffer holding the file's tensor."""
    rt, b, loc = lw.runtime, lw.b, op.location
    rank = len(shape_of(op.result.type))
    match op:
        case files.LoadCsvOp():
            args = [where(lw), rt.string(b, op.path.data, loc)]
            handle = rt.call(b, "noma_load_csv", args, loc).results[0]
        case files.LoadSafetensorsOp():
            args = [where(lw), rt.string(b, op.path.data, loc), rt.string(b, op.tensor.data, loc)]
            function = "noma_load_checkpoint_entry" if op.exact else "noma_load_safetensors"
            handle = rt.call(b, function, [*args, _i64(lw, rank)], loc).results[0]
        case files.LoadArgOp():
            args = [where(lw), rt.string(b, op.parameter.data, loc), _i64(lw, rank)]
            handle = rt.call(b, "noma_load_arg", args, loc).results[0]
    dims = []
    for axis in range(rank):
        size = rt.call(b, "noma_loaded_dim", [handle, _i64(lw, axis)], loc).results[0]
        dims.append(b.insert(arith.IndexCastOp(size, IndexType())).result)
    buffer = lw.alloc(op.result.type, dims)
    rt.call(b, "noma_loaded_take", [handle, _flat(lw, buffer, dims)], loc)
    return buffer


def _save(lw: LoopLowering, op: Operation) -> None:
    """`noma.save_csv` and `noma.save_safetensors` as runtime calls."""
    rt, b, loc = lw.runtime, lw.b, op.location
    if isinstance(op, files.SaveCsvOp):
        flat, shape = flat_and_shape(lw, op.value)
        path = rt.string(b, op.path.data, loc)
        rt.call(b, "noma_save_csv", [where(lw), path, flat, shape], loc)
        return
    assert isinstance(op, files.SaveSafetensorsOp)
    writer = rt.call(b, "noma_safetensors_writer_new", [], loc).results[0]
    for name, value in zip(op.names, op.values, strict=True):
        flat, shape = flat_and_shape(lw, value)
        name_text = rt.string(b, name.data, loc)
        rt.call(b, "noma_safetensors_writer_add", [writer, name_text, flat, shape], loc)
    path = rt.string(b, op.path.data, loc)
    rt.call(b, "noma_safetensors_writer_save", [writer, where(lw), path], loc)


def _check_checkpoint(lw: LoopLowering, op: files.CheckCheckpointOp) -> None:
    path = lw.runtime.string(lw.b, op.path.data, op.location)
    lw.runtime.call(lw.b, "noma_check_checkpoint", [where(lw), path], op.location)


RULES = {
    **rules_for(files.LOAD_OPS, LoopsRule(on_tensors=_load)),
    # Saving a scalar goes through the same runtime calls as a tensor.
    **rules_for(files.SAVE_OPS, LoopsRule(on_tensors=_save, scalars_bufferized=True)),
    files.CheckCheckpointOp: LoopsRule(on_tensors=_check_checkpoint, scalars_bufferized=True),
}
