"""Run-time file I/O (LANGUAGE.md section 8): CSV and safetensors files read
and written while the program runs, and the files given for main's
parameters.

    %X = noma.load_csv "data/x.csv" : tensor<?x?xf64>
    %W = noma.load_safetensors "w.safetensors" "W1" : tensor<?x?xf64>
    %Y = noma.load_arg "Y" : tensor<?x?xf64>
    noma.save_csv %P, "pred.csv" : tensor<?x1xf64>
    noma.save_safetensors "w.safetensors" ["W1", "b"] (%W1, %b : tensor<2x3xf64>, tensor<3xf64>)
    noma.check_checkpoint "c.safetensors"

A loaded tensor's rank is fixed when compiling and its dimensions are
dynamic: the data decides them when the program runs, which checks that the
file holds a tensor of that rank. The C runtime does the reading and writing
(one implementation for the JIT and executables); every write goes to a
temporary file renamed into place. Loaded data carries no gradient.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import ArrayAttr, StringAttr, TensorType, UnitAttr
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import MemoryReadEffect
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.effects import WritesProgramOutput
from noma.dialects.noma.interfaces import DifferentiableOp, VJPContext
from noma.dialects.noma.shapes import shape_of
from noma.dialects.noma.types import ValueType


def _verify_dynamic_tensor(op: IRDLOperation, t: Attribute) -> None:
    # Rank 0 is a safetensors scalar (shape `[]`): a tensor<f64>.
    shape = shape_of(t)
    if not isinstance(t, TensorType) or any(d is not None for d in shape):
        raise VerifyException(
            f"'{op.name}' gives a tensor with dynamic dimensions, got {t}"
        )


class _LoadOp(IRDLOperation, DifferentiableOp):
    """What the loads share: a fresh tensor of run-time shape, no gradient."""

    result = result_def(TensorType)

    # Reads the file system; two loads of one file may differ if it changed.
    traits = traits_def(MemoryReadEffect())

    def verify_(self) -> None:
        _verify_dynamic_tensor(self, self.result.type)

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        return []



@irdl_op_definition
class LoadCsvOp(_LoadOp):
    """A numeric CSV file read at run time: one row per line, `#` comments.
    A CSV file is always a 2-D tensor `[rows, columns]`.

        %X = noma.load_csv "data/x.csv" : tensor<?x?xf64>
    """

    name = "noma.load_csv"

    path = prop_def(StringAttr)

    assembly_format = "$path attr-dict `:` type($result)"

    def __init__(self, path: str, result_type: Attribute):
        super().__init__(result_types=[result_type], properties={"path": StringAttr(path)})

    def verify_(self) -> None:
        super().verify_()
        if len(shape_of(self.result.type)) != 2:
            raise VerifyException("'noma.load_csv' gives a 2-D tensor")


@irdl_op_definition
class LoadSafetensorsOp(_LoadOp):
    """The tensor `tensor` of a safetensors file (F64, or F32 widened), or
    the file's only tensor when it has none of that name, unless `exact`
    (an entry of a checkpoint): then a missing name is an error.

        %W = noma.load_safetensors "w.safetensors" "W1" : tensor<?x?xf64>
        %m = noma.load_safetensors "c.safetensors" "W1.m" exact : tensor<?x?xf64>
    """

    name = "noma.load_safetensors"

    path = prop_def(StringAttr)
    tensor = prop_def(StringAttr)
    exact = opt_prop_def(UnitAttr)

    assembly_format = "$path $tensor (`exact` $exact^)? attr-dict `:` type($result)"

    def __init__(self, path: str, tensor: str, result_type: Attribute, exact: bool = False):
        properties: dict[str, Attribute] = {"path": StringAttr(path), "tensor": StringAttr(tensor)}
        if exact:
            properties["exact"] = UnitAttr()
        super().__init__(result_types=[result_type], properties=properties)


@irdl_op_definition
class LoadArgOp(_LoadOp):
    """The file given for main's parameter `parameter` (`--arg X=x.csv`,
    `--arg W=w.safetensors` or `w.safetensors:name`), read at run time.

        %X = noma.load_arg "X" : tensor<?x?xf64>
    """

    name = "noma.load_arg"

    parameter = prop_def(StringAttr)

    assembly_format = "$parameter attr-dict `:` type($result)"

    def __init__(self, parameter: str, result_type: Attribute):
        super().__init__(
            result_types=[result_type], properties={"parameter": StringAttr(parameter)}
        )


@irdl_op_definition
class SaveCsvOp(IRDLOperation):
    """Writes a scalar, a 1-D tensor (one value per line) or a 2-D tensor (one
    row per line) as CSV, values in shortest round-trip form.

        noma.save_csv %P, "pred.csv" : tensor<?x1xf64>
    """

    name = "noma.save_csv"

    value = operand_def(ValueType)
    path = prop_def(StringAttr)

    traits = traits_def(WritesProgramOutput())

    assembly_format = "$value `,` $path attr-dict `:` type($value)"

    def __init__(self, value: SSAValue | Operation, path: str):
        super().__init__(operands=[value], properties={"path": StringAttr(path)})

    def verify_(self) -> None:
        if len(shape_of(self.value.type)) > 2:
            raise VerifyException("'noma.save_csv' writes scalars, 1-D and 2-D tensors")


@irdl_op_definition
class SaveSafetensorsOp(IRDLOperation):
    """Writes named scalars and tensors to a safetensors file, as F64.

    noma.save_safetensors "w.safetensors" ["W1", "b"] (%W1, %b : tensor<2x3xf64>, tensor<3xf64>)
    """

    name = "noma.save_safetensors"

    path = prop_def(StringAttr)
    names = prop_def(ArrayAttr[StringAttr])
    values = var_operand_def(ValueType)

    traits = traits_def(WritesProgramOutput())

    assembly_format = "$path $names `(` $values `:` type($values) `)` attr-dict"

    def __init__(self, path: str, names: Sequence[str], values: Sequence[SSAValue | Operation]):
        super().__init__(
            operands=[values],
            properties={
                "path": StringAttr(path),
                "names": ArrayAttr([StringAttr(n) for n in names]),
            },
        )

    def verify_(self) -> None:
        names = [n.data for n in self.names]
        if len(names) != len(self.values):
            raise VerifyException(
                f"'noma.save_safetensors' has {len(names)} names for {len(self.values)} values"
            )
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise VerifyException(f"'noma.save_safetensors' names '{duplicates[0]}' twice")


@irdl_op_definition
class CheckCheckpointOp(IRDLOperation):
    """Stops the program with a located run-time error unless the file is a
    checkpoint of this NOMA (`load_checkpoint`, docs/language.md 13.5): a
    safetensors file with the marker tensor `__noma_checkpoint__` = [1].

        noma.check_checkpoint "c.safetensors"
    """

    name = "noma.check_checkpoint"

    path = prop_def(StringAttr)

    traits = traits_def(MemoryReadEffect(), WritesProgramOutput())

    assembly_format = "$path attr-dict"

    def __init__(self, path: str):
        super().__init__(properties={"path": StringAttr(path)})


CHECKPOINT_MARKER = "__noma_checkpoint__"
"""The tensor that makes a safetensors file a checkpoint: [format version]."""
CHECKPOINT_VERSION = 1.0

LOAD_OPS = (LoadCsvOp, LoadSafetensorsOp, LoadArgOp)
SAVE_OPS = (SaveCsvOp, SaveSafetensorsOp)
FILE_OPS = (*LOAD_OPS, *SAVE_OPS, CheckCheckpointOp)
