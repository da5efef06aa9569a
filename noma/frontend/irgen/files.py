"""File I/O statements and main's parameters (LANGUAGE.md section 8).

A tensor read from a file has a rank fixed when compiling (see
noma.frontend.file_ranks) and dimensions the file decides at run time.
The same holds for main's parameters, whose files are named when the
program runs (`--arg X=x.csv`); `ranks` gives the ranks of those known when
compiling.
"""

from __future__ import annotations

from collections.abc import Mapping

from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType, f64
from xdsl.ir import SSAValue

from noma.dialects.noma import files
from noma.dialects.noma import tensor_ops as tops
from noma.dialects.noma.shapes import shape_of
from noma.dialects.noma.storage import storage_value_type
from noma.frontend import ast
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.file_ranks import (  # noqa: F401 - arg_ranks, file_rank: re-exported
    DEFAULT_RANK,
    arg_ranks,
    file_rank,
    safetensors_rank,
)
from noma.frontend.irgen.context import GenContext, StatementTable
from noma.frontend.irgen.expressions import ExpressionGen
from noma.frontend.irgen.scope import ParamBinding, StorageBinding, ValueBinding
from noma.frontend.irgen.storage_access import StorageAccess


def dynamic_tensor(rank: int) -> TensorType:
    return TensorType(f64, [DYNAMIC_INDEX] * rank)


class FilesGen:
    """`load_csv`, `save_csv`, `load_safetensors`, `save_safetensors`, and
    main's parameters."""

    def __init__(self, ctx: GenContext, exprs: ExpressionGen, storage: StorageAccess) -> None:
        self.ctx = ctx
        self.exprs = exprs
        self.storage = storage

    def statement_handlers(self) -> StatementTable:
        return {
            ast.LoadCsv: self.gen_load_csv,
            ast.SaveCsv: self.gen_save_csv,
            ast.LoadSafetensors: self.gen_load_safetensors,
            ast.SaveSafetensors: self.gen_save_safetensors,
        }

    def file_path(self, path: ast.Expr) -> str:
        if not isinstance(path, ast.String):
            raise self.ctx.error(path.loc, "a file path must be a string literal")
        if not path.value:
            raise self.ctx.error(path.loc, "a file path must not be empty")
        return path.value

    def gen_load_csv(self, stmt: ast.LoadCsv) -> None:
        op = files.LoadCsvOp(self.file_path(stmt.path), dynamic_tensor(2))
        self.bind_loaded(stmt.name, self.ctx.emit(op).result, stmt.loc)

    def gen_load_safetensors(self, stmt: ast.LoadSafetensors) -> None:
        path = self.file_path(stmt.path)
        rank = self.loaded_rank(stmt.name, path)
        op = files.LoadSafetensorsOp(path, stmt.name, dynamic_tensor(rank))
        self.bind_loaded(stmt.name, self.scalar_if_rank0(self.ctx.emit(op).result), stmt.loc)

    def scalar_if_rank0(self, loaded: SSAValue) -> SSAValue:
        """A rank-0 tensor read from a file (shape `[]`) is a scalar."""
        if shape_of(loaded.type):
            return loaded
        return self.ctx.emit(tops.SumOp(loaded)).result

    def loaded_rank(self, name: str, path: str) -> int:
        """The rank of a safetensors load: the file's, else the rank of the
        parameter or buffer it goes into, else the default."""
        rank = safetensors_rank(path, name)
        if rank is not None:
            return rank
        binding = self.ctx.scope.lookup(name)
        if isinstance(binding, StorageBinding):
            return len(shape_of(storage_value_type(binding.handle.type)))
        return DEFAULT_RANK

    def bind_loaded(self, name: str, value: SSAValue, loc: SourceLoc) -> None:
        """A load defines a variable, or replaces the value of a parameter or
        buffer of that name (its shape checked at run time)."""
        ctx = self.ctx
        binding = ctx.scope.lookup(name)
        if isinstance(binding, StorageBinding):
            if isinstance(binding, ParamBinding) and ctx.optimize is not None:
                raise ctx.error(
                    loc, f"cannot load into learnable parameter '{name}' inside an optimize loop"
                )
            self.storage.write_storage(name, binding, value, loc)
            return
        ctx.scope.define(name, ValueBinding(value))

    def gen_save_csv(self, stmt: ast.SaveCsv) -> None:
        path = self.file_path(stmt.path)
        value = self.exprs.gen_expr(stmt.value)
        rank = len(shape_of(value.type))
        if rank > 2:
            raise self.ctx.error(
                stmt.value.loc,
                f"save_csv writes scalars, 1-D and 2-D tensors, not a rank-{rank} one",
            )
        self.ctx.emit(files.SaveCsvOp(value, path))

    def gen_save_safetensors(self, stmt: ast.SaveSafetensors) -> None:
        path = self.file_path(stmt.path)
        values = [self.exprs.gen_expr(e) for _, e in stmt.entries]
        self.ctx.emit(files.SaveSafetensorsOp(path, [n for n, _ in stmt.entries], values))

    def gen_main_parameter(self, param: ast.Param, ranks: Mapping[str, int]) -> None:
        """main's parameter: the file named for it when the program runs."""
        ctx = self.ctx
        rank = ranks.get(param.name, DEFAULT_RANK)
        with ctx.at(param.loc):
            value = ctx.emit(files.LoadArgOp(param.name, dynamic_tensor(rank))).result
            value = self.scalar_if_rank0(value)
        ctx.scope.define(param.name, ValueBinding(value))
