"""The worked example of docs/passes.md: a pass `expand-small-powers`.

`noma.pow %x, %c` with `%c` a constant whole number from 1 to
`max-exponent` becomes a chain of `noma.mul` (x ** 3 = (x * x) * x); other
powers are left alone, or, with `require-all=true`, reported as a located
error. tests/tools/test_example_pass.py registers it in noma-opt and runs
it (quoted in docs/passes.md verbatim, checked there too).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from noma.diagnostics import NomaError
from noma.dialects.noma.elementwise import MulOp, PowOp


def constant_exponent(op: PowOp) -> float | None:
    """The exponent of `op` when it is an `arith.constant`."""
    owner = op.rhs.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, FloatAttr):
        return owner.value.value.data
    return None


@dataclass
class ExpandSmallPower(RewritePattern):
    """`noma.pow %x, k` -> `k - 1` multiplications, for whole k in [1, max]."""

    max_exponent: int
    require_all: bool

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: PowOp, rewriter: PatternRewriter) -> None:
        k = constant_exponent(op)
        if k is None or k != int(k) or not 1 <= k <= self.max_exponent or op.lhs.type != op.result.type:
            if self.require_all:
                raise NomaError.at_op(
                    op,
                    "expand-small-powers: the exponent is not a constant whole number "
                    f"from 1 to {self.max_exponent}",
                )
            return
        products: list[MulOp] = []
        value = op.lhs
        for _ in range(int(k) - 1):
            products.append(MulOp(value, op.lhs))
            value = products[-1].result
        rewriter.replace(op, products, [value])


@dataclass(frozen=True)
class ExpandSmallPowersPass(ModulePass):
    """Replace small whole powers by multiplications."""

    name = "expand-small-powers"

    max_exponent: int = 4
    """Largest exponent expanded (`-p 'expand-small-powers{max-exponent=8}'`)."""
    require_all: bool = False
    """Report every `noma.pow` that is not expanded, at the op."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        pattern = ExpandSmallPower(self.max_exponent, self.require_all)
        PatternRewriteWalker(pattern).rewrite_module(op)
