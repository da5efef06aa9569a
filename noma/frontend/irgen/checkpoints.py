"""`save_checkpoint` and `load_checkpoint` (docs/language.md 13.5).

A checkpoint is one safetensors file: the marker `__noma_checkpoint__` =
[format version], and for each learnable parameter `W` in scope its value
`W` and every slot of its optimizer state `W.<slot>` (the moments of the
optimizer table, then the step count `W.t`). Both statements are made of
the ops the language already has: reads of parameters and state, one
`noma.save_safetensors`; `noma.check_checkpoint`, exact loads, run-time
shape checks of everything, and only then the writes, so that a checkpoint
that does not fit the program changes nothing.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, TensorType, f64
from xdsl.ir import SSAValue

from noma.dialects.noma import files, storage
from noma.dialects.noma.creation import DimOp
from noma.dialects.noma.io import AssertOp
from noma.dialects.noma.optimizers import STEP_SLOT, state_slots
from noma.dialects.noma.shapes import shape_of
from noma.frontend import ast
from noma.frontend.irgen.context import GenContext, StatementTable
from noma.frontend.irgen.files import FilesGen, dynamic_tensor
from noma.frontend.irgen.scope import ParamBinding
from noma.frontend.irgen.storage_access import StorageAccess


class CheckpointGen:
    """The two checkpoint statements."""

    def __init__(self, ctx: GenContext, files: FilesGen, storage: StorageAccess) -> None:
        self.ctx = ctx
        self.files = files
        self.storage = storage

    def statement_handlers(self) -> StatementTable:
        return {ast.SaveCheckpoint: self.gen_save, ast.LoadCheckpoint: self.gen_load}

    def parameters(self) -> list[tuple[str, ParamBinding]]:
        """The learnable parameters in scope, in the order they were declared."""
        visible = self.ctx.scope.visible_names().items()
        return [(name, b) for name, b in visible if isinstance(b, ParamBinding)]

    # -- save ---------------------------------------------------------------------

    def gen_save(self, stmt: ast.SaveCheckpoint) -> None:
        ctx = self.ctx
        path = self.files.file_path(stmt.path)
        marker_type = TensorType(f64, [1])
        marker = DenseIntOrFPElementsAttr.from_list(marker_type, [files.CHECKPOINT_VERSION])
        names = [files.CHECKPOINT_MARKER]
        values = [ctx.emit(arith.ConstantOp(marker)).result]
        for name, binding in self.parameters():
            names.append(name)
            values.append(self.storage.read_storage(name, binding, stmt.loc))
            for slot in state_slots():
                names.append(f"{name}.{slot}")
                values.append(ctx.emit(storage.StateReadOp(binding.handle, slot)).value)
        ctx.emit(files.SaveSafetensorsOp(path, names, values))

    # -- load ---------------------------------------------------------------------

    def gen_load(self, stmt: ast.LoadCheckpoint) -> None:
        ctx = self.ctx
        if ctx.optimize is not None:
            raise ctx.error(stmt.loc, "`load_checkpoint` cannot be used inside an optimize loop")
        path = self.files.file_path(stmt.path)
        ctx.emit(files.CheckCheckpointOp(path))
        entries: list[tuple[str, ParamBinding, str | None, SSAValue]] = []
        for name, binding in self.parameters():
            value = self.load_entry(path, name, binding, None)
            entries.append((name, binding, None, value))
            for slot in state_slots():
                entries.append((name, binding, slot, self.load_entry(path, name, binding, slot)))
        # Every check before the first write: a checkpoint that does not
        # fit changes nothing.
        values = {name: value for name, _, slot, value in entries if slot is None}
        for name, binding, slot, value in entries:
            if slot != STEP_SLOT:
                self.check_shape(path, name, binding, slot, value, values[name])
        for name, binding, slot, value in entries:
            self.write(name, binding, slot, value)

    def load_entry(self, path: str, name: str, binding: ParamBinding, slot: str | None) -> SSAValue:
        value_type = binding.handle.type.value_type  # type: ignore[attr-defined]
        rank = 0 if slot == STEP_SLOT else len(shape_of(value_type))
        entry = name if slot is None else f"{name}.{slot}"
        load = files.LoadSafetensorsOp(path, entry, dynamic_tensor(rank), exact=True)
        return self.files.scalar_if_rank0(self.ctx.emit(load).result)

    def check_shape(
        self,
        path: str,
        name: str,
        binding: ParamBinding,
        slot: str | None,
        value: SSAValue,
        parameter_value: SSAValue,
    ) -> None:
        """Each dimension of a loaded tensor is the parameter's, where the
        parameter's shape is fixed, else that of the loaded value (a
        parameter that `realloc` resizes takes the checkpoint's shape)."""
        ctx = self.ctx
        entry = name if slot is None else f"{name}.{slot}"
        fixed = shape_of(binding.handle.type.value_type)  # type: ignore[attr-defined]
        for axis, size in enumerate(fixed):
            actual = ctx.emit(DimOp(value, axis)).result
            if size is not None:
                expected, whose = ctx.constant(float(size)), f"parameter '{name}'"
            elif slot is not None:
                expected, whose = ctx.emit(DimOp(parameter_value, axis)).result, f"'{name}'"
            else:
                continue
            same = ctx.emit(arith.CmpfOp(actual, expected, "oeq")).result
            text = (
                f"checkpoint {path}: dimension {axis} of '{entry}' is {{0}}, "
                f"where {whose} has {{1}}; nothing was loaded"
            )
            ctx.emit(AssertOp(same, text, [actual, expected]))

    def write(self, name: str, binding: ParamBinding, slot: str | None, value: SSAValue) -> None:
        ctx = self.ctx
        handle = binding.handle
        handle_type = handle.type.value_type  # type: ignore[attr-defined]
        resizable = any(d is None for d in shape_of(handle_type))
        if slot is None:
            ctx.emit(storage.WriteOp(ctx.cast_to(value, handle_type), handle, resize=resizable))
            # Its shape is the checkpoint's now, whatever was known before.
            ctx.scope.rebind(name, ParamBinding(handle, binding.loc))
        elif slot == STEP_SLOT:
            ctx.emit(storage.StateWriteOp(value, handle, slot))
        else:
            ctx.emit(
                storage.StateWriteOp(
                    ctx.cast_to(value, handle_type), handle, slot, resize=resizable
                )
            )
