"""What one `noma` op's lowering to loops is: a `LoopsRule`.

The lowering runs in two steps, and a rule says what the op becomes in each:

- `on_tensors`, during bufferization, when the op works on tensors or on
  tensor storage: it builds the op's loop nest with a `LoopLowering` (placed
  just before the op) and returns the buffer (a tensor result) or value (a
  scalar result) that replaces the op's result, or None when it replaced the
  results itself or the op has none. The bufferizer erases the op.
- `on_scalars`, after bufferization, for what is left on f64 scalars: it
  rewrites the op through the rewriter, or leaves it when it does not apply
  (the op is then reported as not lowered).

Rules live in the modules of this package that mirror the dialect's files
(`tensor_ops.py` for `dialects/noma/tensor_ops.py`, ...); `registry.py`
collects them into the one table the lowering dispatches through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

if TYPE_CHECKING:
    from noma.lowering.noma_to_loops.loops import LoopLowering
    from noma.lowering.noma_to_loops.runtime import Runtime

# `Any` for the op: each rule takes its own op class, which Callable's
# contravariance would otherwise reject in a table of all of them.
TensorRule = Callable[["LoopLowering", Any], SSAValue | None]
"""(loop builder, op) -> the replacement of the op's result, or None."""

ScalarRule = Callable[[Any, PatternRewriter, "Runtime"], None]
"""(op, rewriter, runtime): rewrites the op on scalars, or leaves it."""


@dataclass(frozen=True)
class LoopsRule:
    """How one op class lowers to loops."""

    on_tensors: TensorRule | None = None
    on_scalars: ScalarRule | None = None
    scalars_bufferized: bool = False
    """`on_tensors` lowers the op even when it has no tensor (saving a
    scalar goes through the same runtime calls as saving a tensor), and a
    function holding such an op is bufferized."""


def rules_for(op_types: tuple[type[Operation], ...], rule: LoopsRule) -> dict[type[Operation], LoopsRule]:
    """The same rule for each of `op_types` (a family such as the binary ops)."""
    return {op_type: rule for op_type in op_types}
