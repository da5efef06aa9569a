"""Types of the `noma` dialect.

NOMA values are `f64` scalars or `tensor<...xf64>` tensors (builtin types). The
dialect adds handles for mutable storage:

    !noma.param<f64>                 a learnable parameter: its value and the
    !noma.param<tensor<2x3xf64>>     optimizer state attached to it
    !noma.buffer<tensor<?x?xf64>>    an explicit buffer made by `alloc`
    !noma.tape                       a LIFO stack of f64 values and tensors
                                     that autodiff uses to replay loops
                                     backwards
"""

from __future__ import annotations

from xdsl.dialects.builtin import Float64Type, TensorType, f64
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition, param_def
from xdsl.utils.exceptions import VerifyException

ValueType = Float64Type | TensorType
"""The IRDL constraint of NOMA values: an f64 scalar or an f64 tensor."""


def verify_value_type(t: Attribute, what: str) -> None:
    if t == f64:
        return
    if isinstance(t, TensorType) and t.element_type == f64:
        return
    raise VerifyException(f"{what} must be f64 or a tensor of f64, got {t}")


@irdl_attr_definition
class ParamType(ParametrizedAttribute, TypeAttribute):
    """A handle to a learnable parameter holding a value of `value_type`.

    The handle stands for the parameter's storage and its optimizer state
    (moments and step count); reading it gives the current value.
    """

    name = "noma.param"
    value_type: Attribute = param_def()

    def verify(self) -> None:
        verify_value_type(self.value_type, "a parameter's value")


@irdl_attr_definition
class BufferType(ParametrizedAttribute, TypeAttribute):
    """A handle to an explicit buffer created by `alloc`."""

    name = "noma.buffer"
    value_type: Attribute = param_def()

    def verify(self) -> None:
        verify_value_type(self.value_type, "a buffer's value")


@irdl_attr_definition
class TapeType(ParametrizedAttribute, TypeAttribute):
    """A LIFO stack of f64 values and f64 tensors recorded by a forward loop
    and replayed in reverse by the gradient code."""

    name = "noma.tape"


StorageType = ParamType | BufferType
