"""Op interfaces of the `noma` dialect.

`DifferentiableOp` is NOMA's AutoDiffOpInterface: an op states its own
vector-Jacobian product next to its definition, and the `autodiff` pass stays
generic. `ScalarLowerable` states an elementwise op's meaning on one f64
element in `arith`/`math`, backend-neutral: the loops lowering (in
`noma/lowering/`) uses it on scalars and inside its loop nests.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Protocol

from xdsl.builder import Builder
from xdsl.ir import SSAValue

from noma.dialects.noma.builder import NomaBuilder


class VJPContext(Protocol):
    """What a derivative rule sees while the reverse sweep runs.

    Forward values are reached through `operand`/`result`, not through the op,
    because the reverse code may live in another region where the forward
    values were recomputed.
    """

    @property
    def b(self) -> NomaBuilder: ...

    def operand(self, index: int) -> SSAValue: ...

    def result(self, index: int) -> SSAValue: ...

    def needs(self, index: int) -> bool:
        """Whether operand `index` needs an adjoint (it is active)."""
        ...


class DifferentiableOp(abc.ABC):
    """An op with a reverse-mode derivative rule."""

    @abc.abstractmethod
    def vjp(
        self, ctx: VJPContext, result_adjoints: Sequence[SSAValue | None]
    ) -> Sequence[SSAValue | None]:
        """Given the adjoints of the results (None for zero), emit code with
        `ctx.b` that computes the adjoint of each operand, or None where the
        operand needs none or the contribution is zero."""


class ScalarLowerable(abc.ABC):
    """An elementwise op that lowers to arith/math on f64 scalars."""

    @abc.abstractmethod
    def lower_scalar(self, b: Builder, operands: Sequence[SSAValue]) -> SSAValue:
        """Emit the scalar computation for one element and return its value."""
