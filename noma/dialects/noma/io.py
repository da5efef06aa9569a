"""Printing and run-time diagnostics.

    noma.print %x : f64
    noma.print_string "hello"
    noma.warning "optimize stopped after {0} steps", %n : f64
    noma.assert %ok, "dimension {0} of the init tensor is not {1}" (%d, %n : f64, f64)

`noma.warning` prints `file:line:col: warning: <text>` on stderr at run time,
with `{0}` replaced by the operand in shortest round-trip form; the location
is the op's own. `noma.assert` stops the program with
`file:line:col: runtime error: <text>` (exit status 1) when its condition is
zero, with `{0}` and `{1}` replaced by its values.

    noma.progress_begin
    noma.progress_step %loss : f64
    noma.progress_end

mark an optimize loop (`noma-report-progress` puts them there) for the
runtime's live progress line: the loop starts, an iteration computed this
objective, the loop ended. They print only when progress is shown (a
terminal, or `--progress`).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import StringAttr, f64, i1
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    traits_def,
    var_operand_def,
)
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.effects import WritesProgramOutput
from noma.dialects.noma.types import ValueType


@irdl_op_definition
class PrintOp(IRDLOperation):
    """Prints a value on its own line (LANGUAGE.md section 8).

    noma.print %x : f64
    """

    name = "noma.print"

    value = operand_def(ValueType)

    traits = traits_def(WritesProgramOutput())

    assembly_format = "$value attr-dict `:` type($value)"

    def __init__(self, value: SSAValue | Operation):
        super().__init__(operands=[value])


@irdl_op_definition
class PrintStringOp(IRDLOperation):
    """Prints a string verbatim on its own line.

    noma.print_string "hello"
    """

    name = "noma.print_string"

    text = prop_def(StringAttr)

    traits = traits_def(WritesProgramOutput())

    assembly_format = "$text attr-dict"

    def __init__(self, text: str):
        super().__init__(properties={"text": StringAttr(text)})


@irdl_op_definition
class WarningOp(IRDLOperation):
    """Prints a located warning on stderr at run time; `{0}` in the text is
    replaced by the value.

        noma.warning "reached {0} steps", %n : f64
    """

    name = "noma.warning"

    text = prop_def(StringAttr)
    value = operand_def(f64)

    traits = traits_def(WritesProgramOutput())

    assembly_format = "$text `,` $value attr-dict `:` type($value)"

    def __init__(self, text: str, value: SSAValue | Operation):
        super().__init__(operands=[value], properties={"text": StringAttr(text)})


@irdl_op_definition
class AssertOp(IRDLOperation):
    """A run-time check: unless `condition` holds, print a located runtime
    error (`{0}` and `{1}` in the text replaced by the values) and exit 1.

        noma.assert %ok, "dimension {0} of the init tensor is not {1}" (%d, %n : f64, f64)
    """

    name = "noma.assert"

    condition = operand_def(i1)
    text = prop_def(StringAttr)
    values = var_operand_def(f64)

    traits = traits_def(WritesProgramOutput())

    assembly_format = "$condition `,` $text (`(` $values^ `:` type($values) `)`)? attr-dict"

    def __init__(
        self,
        condition: SSAValue | Operation,
        text: str,
        values: Sequence[SSAValue | Operation] = (),
    ):
        super().__init__(operands=[condition, values], properties={"text": StringAttr(text)})

    def verify_(self) -> None:
        if len(self.values) > 2:
            raise VerifyException("'noma.assert' reports at most two values")


@irdl_op_definition
class ProgressBeginOp(IRDLOperation):
    """An optimize loop starts: its progress line may be shown from now on.

    noma.progress_begin
    """

    name = "noma.progress_begin"

    traits = traits_def(WritesProgramOutput())

    assembly_format = "attr-dict"

    def __init__(self):
        super().__init__()


@irdl_op_definition
class ProgressStepOp(IRDLOperation):
    """An iteration of the optimize loop computed this objective.

    noma.progress_step %loss : f64
    """

    name = "noma.progress_step"

    objective = operand_def(f64)

    traits = traits_def(WritesProgramOutput())

    assembly_format = "$objective attr-dict `:` type($objective)"

    def __init__(self, objective: SSAValue | Operation):
        super().__init__(operands=[objective])


@irdl_op_definition
class ProgressEndOp(IRDLOperation):
    """The optimize loop ended: its progress line, if shown, is finished.

    noma.progress_end
    """

    name = "noma.progress_end"

    traits = traits_def(WritesProgramOutput())

    assembly_format = "attr-dict"

    def __init__(self):
        super().__init__()
