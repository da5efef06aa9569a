"""The tape: a LIFO stack of values (f64 scalars and f64 tensors) that lets
the gradient code replay a loop backwards. `autodiff` makes a forward loop
push the values each iteration starts from, and the reverse loop pop them in
reverse order.

    %t = noma.tape_new : !noma.tape
    noma.tape_push %t, %x : f64
    noma.tape_push %t, %h : tensor<1x8xf64>
    %h2 = noma.tape_pop %t : tensor<1x8xf64>
    %x2 = noma.tape_pop %t : f64
    noma.tape_free %t

A tensor on the tape is a value, not a reference: the tape keeps its
elements (and its run-time shape) as they were when pushed, whatever later
happens to the buffer the tensor lived in, and a pop gives a new tensor.
"""

from __future__ import annotations

from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    result_def,
    traits_def,
)
from xdsl.traits import MemoryAllocEffect, MemoryFreeEffect, MemoryReadEffect, MemoryWriteEffect

from noma.dialects.noma.types import TapeType, ValueType, verify_value_type


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
    """Pushes a value: an f64 or a tensor of f64 (its elements are kept).

    noma.tape_push %t, %x : f64
    noma.tape_push %t, %h : tensor<?x8xf64>
    """

    name = "noma.tape_push"

    tape = operand_def(TapeType)
    value = operand_def(ValueType)

    traits = traits_def(MemoryWriteEffect())

    def verify_(self) -> None:
        verify_value_type(self.value.type, "a value on the tape")

    assembly_format = "$tape `,` $value attr-dict `:` type($value)"

    def __init__(self, tape: SSAValue | Operation, value: SSAValue | Operation):
        super().__init__(operands=[tape, value])


@irdl_op_definition
class TapePopOp(IRDLOperation):
    """Pops the most recently pushed value, which must have been pushed with
    the same type (a tensor of dynamic shape gets the shape it was pushed
    with).

    %x = noma.tape_pop %t : f64
    %h = noma.tape_pop %t : tensor<?x8xf64>
    """

    name = "noma.tape_pop"

    tape = operand_def(TapeType)
    value = result_def(ValueType)

    # A pop both reads and moves the stack: it must never be dropped or reordered.
    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())

    assembly_format = "$tape attr-dict `:` type($value)"

    def __init__(self, tape: SSAValue | Operation, value_type: Attribute):
        super().__init__(operands=[tape], result_types=[value_type])

    def verify_(self) -> None:
        verify_value_type(self.value.type, "a value on the tape")


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
