"""Parameters and buffers: the explicit, mutable storage of NOMA programs.

A `noma.learn` creates a parameter handle; the value is read and written
explicitly, so that reads inside the training loop see every update. The
optimizer state (the moments the optimizer table declares, `m` and `v`
today, and the step count `t`; `noma.dialects.noma.optimizers`) is attached
to the parameter and reached through `noma.state_read`/`noma.state_write`,
which the optimizer expansion introduces.

    %W = noma.learn "W" %init : f64 -> !noma.param<f64>
    %w = noma.read %W : !noma.param<f64> -> f64
    noma.write %w2, %W : f64, !noma.param<f64>
    %m = noma.state_read %W "m" : !noma.param<f64> -> f64
    noma.state_write %m2, %W "m" : f64, !noma.param<f64>
    noma.reset_optimizer (%W : !noma.param<f64>)
    %B = noma.alloc [%rows, %cols] : !noma.buffer<tensor<?x?xf64>>
    noma.realloc %W [%rows, %cols] init "zeros" : !noma.param<tensor<?x?xf64>>
    noma.write %grown, %W resize : tensor<?x?xf64>, !noma.param<tensor<?x?xf64>>
    noma.check_alive %B "B" : !noma.buffer<tensor<?x?xf64>>
    noma.free %B : !noma.buffer<tensor<?x?xf64>>

Storage whose shape can change (a parameter that is reallocated, any buffer)
has a value type with dynamic dimensions: its handle stands for storage that
is replaced, not for a fixed block of memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import StringAttr, TensorType, UnitAttr, f64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import (
    MemoryAllocEffect,
    MemoryFreeEffect,
    MemoryReadEffect,
    MemoryWriteEffect,
)
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.effects import WritesProgramOutput
from noma.dialects.noma.interfaces import DifferentiableOp, VJPContext
from noma.dialects.noma.optimizers import STEP_SLOT, state_slots
from noma.dialects.noma.types import (
    BufferType,
    ParamType,
    StorageType,
    ValueType,
)


def storage_value_type(handle: Attribute) -> Attribute:
    assert isinstance(handle, ParamType | BufferType)
    return handle.value_type


def state_slot_type(param: ParamType, slot: str) -> Attribute:
    """The optimizer state of a parameter (`optimizers.state_slots()`): the
    moments are shaped like the parameter, the step count is an f64."""
    return f64 if slot == STEP_SLOT else param.value_type


def _rank(t: Attribute) -> int:
    return t.get_num_dims() if isinstance(t, TensorType) else 0


@irdl_op_definition
class LearnOp(IRDLOperation):
    """Declares a learnable parameter initialised from `init`.

    %W = noma.learn "W" %init : tensor<2x2xf64> -> !noma.param<tensor<2x2xf64>>
    """

    name = "noma.learn"

    sym_name = prop_def(StringAttr)
    init = operand_def(ValueType)
    param = result_def(ParamType)

    traits = traits_def(MemoryAllocEffect())

    assembly_format = "$sym_name $init attr-dict `:` type($init) `->` type($param)"

    def __init__(self, name: str, init: SSAValue | Operation, param_type: ParamType | None = None):
        init_v = SSAValue.get(init)
        super().__init__(
            operands=[init_v],
            result_types=[param_type or ParamType(init_v.type)],
            properties={"sym_name": StringAttr(name)},
        )

    def verify_(self) -> None:
        assert isinstance(self.param.type, ParamType)
        value_type = self.param.type.value_type
        if _rank(value_type) != _rank(self.init.type):
            raise VerifyException(
                f"parameter '{self.sym_name.data}' of type {value_type} cannot be "
                f"initialised from a {self.init.type}"
            )


@irdl_op_definition
class ReadOp(IRDLOperation, DifferentiableOp):
    """The current value of a parameter or buffer. Its derivative rule passes
    the adjoint of the value to the handle: the adjoint of a parameter handle
    is the parameter's gradient.

        %w = noma.read %W : !noma.param<f64> -> f64
    """

    name = "noma.read"

    handle = operand_def(StorageType)
    value = result_def(ValueType)

    traits = traits_def(MemoryReadEffect())

    assembly_format = "$handle attr-dict `:` type($handle) `->` type($value)"

    def __init__(self, handle: SSAValue | Operation):
        handle_v = SSAValue.get(handle)
        super().__init__(operands=[handle_v], result_types=[storage_value_type(handle_v.type)])

    def vjp(self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]):
        return [result_adjoints[0] if ctx.needs(0) else None]

    def verify_(self) -> None:
        if self.value.type != storage_value_type(self.handle.type):
            raise VerifyException(
                f"reading a {self.handle.type} gives a {storage_value_type(self.handle.type)}, "
                f"not a {self.value.type}"
            )


def _verify_resize(op: IRDLOperation, resize: UnitAttr | None, storage: Attribute) -> None:
    if resize is not None and not _is_resizable(storage):
        raise VerifyException(
            f"'{op.name}' with `resize` needs storage of dynamic shape, not {storage}"
        )


def _is_resizable(value_type: Attribute) -> bool:
    return isinstance(value_type, TensorType) and all(
        d < 0 for d in value_type.get_shape()
    )


@irdl_op_definition
class WriteOp(IRDLOperation):
    """Stores a new value into a parameter or buffer. The value must have the
    storage's current shape (checked at run time where not static), unless
    `resize` is given: then the storage takes the value's shape, its old
    contents are released.

        noma.write %w, %W : f64, !noma.param<f64>
        noma.write %grown, %W resize : tensor<?x?xf64>, !noma.param<tensor<?x?xf64>>
    """

    name = "noma.write"

    value = operand_def(ValueType)
    handle = operand_def(StorageType)
    resize = opt_prop_def(UnitAttr)

    traits = traits_def(MemoryWriteEffect())

    assembly_format = (
        "$value `,` $handle (`resize` $resize^)? attr-dict `:` type($value) `,` type($handle)"
    )

    def __init__(
        self, value: SSAValue | Operation, handle: SSAValue | Operation, resize: bool = False
    ):
        super().__init__(
            operands=[value, handle], properties={"resize": UnitAttr()} if resize else {}
        )

    def verify_(self) -> None:
        if _rank(self.value.type) != _rank(storage_value_type(self.handle.type)):
            raise VerifyException(f"cannot store a {self.value.type} into a {self.handle.type}")
        _verify_resize(self, self.resize, storage_value_type(self.handle.type))


def _verify_slot(op: IRDLOperation, slot: StringAttr) -> None:
    if slot.data not in state_slots():
        raise VerifyException(
            f"'{op.name}': unknown optimizer state slot '{slot.data}', expected one of "
            f"{', '.join(state_slots())}"
        )


@irdl_op_definition
class StateReadOp(IRDLOperation):
    """Reads one slot of a parameter's optimizer state: `m` and `v` are shaped
    like the parameter, `t` (the step count) is an f64.

        %m = noma.state_read %W "m" : !noma.param<f64> -> f64
    """

    name = "noma.state_read"

    param = operand_def(ParamType)
    slot = prop_def(StringAttr)
    value = result_def(ValueType)

    traits = traits_def(MemoryReadEffect())

    assembly_format = "$param $slot attr-dict `:` type($param) `->` type($value)"

    def __init__(self, param: SSAValue | Operation, slot: str):
        param_v = SSAValue.get(param)
        assert isinstance(param_v.type, ParamType)
        super().__init__(
            operands=[param_v],
            result_types=[state_slot_type(param_v.type, slot)],
            properties={"slot": StringAttr(slot)},
        )

    def verify_(self) -> None:
        _verify_slot(self, self.slot)
        assert isinstance(self.param.type, ParamType)
        expected = state_slot_type(self.param.type, self.slot.data)
        if self.value.type != expected:
            raise VerifyException(
                f"optimizer state '{self.slot.data}' of a {self.param.type} is a "
                f"{expected}, not a {self.value.type}"
            )


@irdl_op_definition
class StateWriteOp(IRDLOperation):
    """Writes one slot of a parameter's optimizer state; with `resize` the
    slot takes the value's shape, as in `noma.write`.

        noma.state_write %m, %W "m" : f64, !noma.param<f64>
        noma.state_write %m2, %W "m" resize : tensor<?xf64>, !noma.param<tensor<?xf64>>
    """

    name = "noma.state_write"

    value = operand_def(ValueType)
    param = operand_def(ParamType)
    slot = prop_def(StringAttr)
    resize = opt_prop_def(UnitAttr)

    traits = traits_def(MemoryWriteEffect())

    assembly_format = (
        "$value `,` $param $slot (`resize` $resize^)? attr-dict `:` type($value) `,` type($param)"
    )

    def __init__(
        self,
        value: SSAValue | Operation,
        param: SSAValue | Operation,
        slot: str,
        resize: bool = False,
    ):
        properties: dict[str, Attribute] = {"slot": StringAttr(slot)}
        if resize:
            properties["resize"] = UnitAttr()
        super().__init__(operands=[value, param], properties=properties)

    def verify_(self) -> None:
        _verify_slot(self, self.slot)
        assert isinstance(self.param.type, ParamType)
        expected = state_slot_type(self.param.type, self.slot.data)
        if _rank(self.value.type) != _rank(expected):
            raise VerifyException(
                f"cannot store a {self.value.type} into optimizer state "
                f"'{self.slot.data}' of a {self.param.type}"
            )
        _verify_resize(self, self.resize, expected)


@irdl_op_definition
class ResetOptimizerOp(IRDLOperation):
    """Clears the optimizer state (moments and step count) of the parameters.

    noma.reset_optimizer (%W, %b : !noma.param<f64>, !noma.param<f64>)
    """

    name = "noma.reset_optimizer"

    params = var_operand_def(ParamType)

    traits = traits_def(MemoryWriteEffect())

    assembly_format = "`(` ($params^ `:` type($params))? `)` attr-dict"

    def __init__(self, params: Sequence[SSAValue | Operation]):
        super().__init__(operands=[params])


@irdl_op_definition
class AllocOp(IRDLOperation):
    """A zero-filled buffer; dimensions are f64 values truncated to integers
    at run time, each of which must be at least 1.

        %B = noma.alloc [%rows, %cols] : !noma.buffer<tensor<?x?xf64>>
    """

    name = "noma.alloc"

    dims = var_operand_def(f64)
    buffer = result_def(BufferType)

    traits = traits_def(MemoryAllocEffect())

    assembly_format = "`[` $dims `]` attr-dict `:` type($buffer)"

    def __init__(self, dims: Sequence[SSAValue | Operation], buffer_type: BufferType):
        super().__init__(operands=[dims], result_types=[buffer_type])

    def verify_(self) -> None:
        assert isinstance(self.buffer.type, BufferType)
        if not _is_resizable(self.buffer.type.value_type):
            raise VerifyException(
                f"a buffer's dimensions are dynamic: {self.buffer.type.value_type} has static ones"
            )
        rank = _rank(self.buffer.type.value_type)
        if rank != len(self.dims):
            raise VerifyException(
                f"'noma.alloc' of a rank-{rank} buffer needs {rank} dimensions, "
                f"got {len(self.dims)}"
            )


INIT_POLICIES = ("default", "zeros", "normal", "uniform", "tensor")
_INIT_ARITY = {"default": 0, "zeros": 0, "normal": 2, "uniform": 2, "tensor": 1}


@irdl_op_definition
class ReallocOp(IRDLOperation):
    """Resizes a parameter or buffer in place to new dimensions of the same
    rank (f64 values truncated at run time, each at least 1), keeping every
    element whose index exists in both shapes and, for a parameter, its
    optimizer state. New elements of a parameter follow the init policy:
    `default` (normal(0, 0.3)), `zeros`, `normal`(mean, std), `uniform`(lo,
    hi) or `tensor`(a value of the new shape); new elements of a buffer are
    zero. Resizing to the current shape does nothing. The storage must have
    a dynamic shape; `legalize-growth` expands the op into tensor work.

        noma.realloc %W [%r, %c] init "normal"(%mean, %std : f64, f64) : !noma.param<tensor<?x?xf64>>
    """

    name = "noma.realloc"

    handle = operand_def(StorageType)
    dims = var_operand_def(f64)
    init_args = var_operand_def(ValueType)
    init = prop_def(StringAttr)

    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(MemoryAllocEffect(), MemoryFreeEffect(), MemoryWriteEffect())

    assembly_format = (
        "$handle `[` $dims `]` `init` $init (`(` $init_args^ `:` type($init_args) `)`)? "
        "attr-dict `:` type($handle)"
    )

    def __init__(
        self,
        handle: SSAValue | Operation,
        dims: Sequence[SSAValue | Operation],
        init: str = "default",
        init_args: Sequence[SSAValue | Operation] = (),
    ):
        super().__init__(
            operands=[handle, dims, init_args],
            properties={"init": StringAttr(init)},
        )

    def verify_(self) -> None:
        value_type = storage_value_type(self.handle.type)
        if not _is_resizable(value_type):
            raise VerifyException(
                f"'noma.realloc' needs storage of dynamic shape, not {self.handle.type}"
            )
        if _rank(value_type) != len(self.dims):
            raise VerifyException(
                f"'noma.realloc' keeps the rank: a {value_type} needs {_rank(value_type)} "
                f"dimensions, got {len(self.dims)}"
            )
        policy = self.init.data
        if policy not in INIT_POLICIES:
            raise VerifyException(
                f"unknown init policy '{policy}', expected one of {', '.join(INIT_POLICIES)}"
            )
        if len(self.init_args) != _INIT_ARITY[policy]:
            raise VerifyException(
                f"init policy '{policy}' takes {_INIT_ARITY[policy]} operands, "
                f"got {len(self.init_args)}"
            )
        expected_types = [value_type] if policy == "tensor" else [f64] * len(self.init_args)
        for arg, expected in zip(self.init_args, expected_types, strict=True):
            if _rank(arg.type) != _rank(expected):
                raise VerifyException(
                    f"init policy '{policy}' takes a {expected}, got a {arg.type}"
                )
        if isinstance(self.handle.type, BufferType) and policy != "default":
            raise VerifyException("a buffer's new elements are zero; it takes no init policy")


@irdl_op_definition
class CheckAliveOp(IRDLOperation):
    """Stops the program with a located run-time error if the buffer was
    freed: the check before a use that the compiler cannot prove safe.

        noma.check_alive %B "B" : !noma.buffer<tensor<?xf64>>
    """

    name = "noma.check_alive"

    handle = operand_def(BufferType)
    sym_name = prop_def(StringAttr)

    # It may stop the program with a message: an effect on the program's
    # output that must not be dropped (but need not be repeated).
    traits = traits_def(MemoryReadEffect(), WritesProgramOutput())

    assembly_format = "$handle $sym_name attr-dict `:` type($handle)"

    def __init__(self, handle: SSAValue | Operation, name: str):
        super().__init__(operands=[handle], properties={"sym_name": StringAttr(name)})


@irdl_op_definition
class FreeOp(IRDLOperation):
    """Releases a buffer; the handle must not be used afterwards.

    noma.free %B : !noma.buffer<tensor<?x?xf64>>
    """

    name = "noma.free"

    handle = operand_def(StorageType)

    traits = traits_def(MemoryFreeEffect())

    assembly_format = "$handle attr-dict `:` type($handle)"

    def __init__(self, handle: SSAValue | Operation):
        super().__init__(operands=[handle])
