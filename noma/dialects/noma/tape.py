"""The tape: a LIFO stack of f64 values that lets the gradient code replay a
loop backwards. `autodiff` makes a forward loop push the values each
iteration starts from, and the reverse loop pop them in reverse order.

    %t = noma.tape_new : !noma.tape
    noma.tape_push %t, %x : f64
    %x = noma.tape_pop %t : f64
    noma.tape_free %t
"""

from __future__ import annotations

from xdsl.dialects.builtin import f64
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    result_def,
    traits_def,
)
from xdsl.traits import MemoryAllocEffect, MemoryFreeEffect, MemoryReadEffect, MemoryWriteEffect

from noma.dialects.noma.types import TapeType


@irdl_op_definition
class TapeNewOp(IRDLOperation):
    """An empty tape.

    %t = noma.tape_new : !noma.tape
    """

    name = "noma.tape_new"

    tape = result_def(TapeType)

    traits = traits_def(MemoryAllocEffect())

    assembly_format = "attr-dict `:` type($tape)"

    def __init__(self):
        super().__init__(result_types=[TapeType()])


@irdl_op_definition
class TapePushOp(IRDLOperation):
    """Pushes a value.

    noma.tape_push %t, %x : f64
    """

    name = "noma.tape_push"

    tape = operand_def(TapeType)
    value = operand_def(f64)

    traits = traits_def(MemoryWriteEffect())

    assembly_format = "$tape `,` $value attr-dict `:` type($value)"

    def __init__(self, tape: SSAValue | Operation, value: SSAValue | Operation):
        super().__init__(operands=[tape, value])


@irdl_op_definition
class TapePopOp(IRDLOperation):
    """Pops the most recently pushed value.

    %x = noma.tape_pop %t : f64
    """

    name = "noma.tape_pop"

    tape = operand_def(TapeType)
    value = result_def(f64)

    # A pop both reads and moves the stack: it must never be dropped or reordered.
    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())

    assembly_format = "$tape attr-dict `:` type($value)"

    def __init__(self, tape: SSAValue | Operation):
        super().__init__(operands=[tape], result_types=[f64])


@irdl_op_definition
class TapeFreeOp(IRDLOperation):
    """Releases a tape.

    noma.tape_free %t
    """

    name = "noma.tape_free"

    tape = operand_def(TapeType)

    traits = traits_def(MemoryFreeEffect())

    assembly_format = "$tape attr-dict"

    def __init__(self, tape: SSAValue | Operation):
        super().__init__(operands=[tape])
