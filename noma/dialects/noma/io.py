"""Printing and run-time diagnostics.

    noma.print %x : f64
    noma.print_string "hello"
    noma.warning "optimize stopped after {0} steps", %n : f64

`noma.warning` prints `file:line:col: warning: <text>` on stderr at run time,
with `{0}` replaced by the operand in shortest round-trip form; the location
is the op's own.
"""

from __future__ import annotations

from xdsl.dialects.builtin import StringAttr, f64
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    traits_def,
)
from xdsl.traits import MemoryWriteEffect

from noma.dialects.noma.types import ValueType


@irdl_op_definition
class PrintOp(IRDLOperation):
    """Prints a value on its own line (LANGUAGE.md section 8).

    noma.print %x : f64
    """

    name = "noma.print"

    value = operand_def(ValueType)

    traits = traits_def(MemoryWriteEffect())

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

    traits = traits_def(MemoryWriteEffect())

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

    traits = traits_def(MemoryWriteEffect())

    assembly_format = "$text `,` $value attr-dict `:` type($value)"

    def __init__(self, text: str, value: SSAValue | Operation):
        super().__init__(operands=[value], properties={"text": StringAttr(text)})
