"""Mini-batch training: an optimize loop whose iterations are the blocks of
passes over the data (epochs).

A `minimize` inside a `batch` loop steps once per block, while the `until`
condition is checked once per pass and `max_iterations` counts passes
(LANGUAGE.md section 5). The frontend generates such a loop as a
`noma.optimize` whose body handles one block, and marks it with
`noma.epoch_end`, which tells `expand-optimizers` whether the block of this
iteration is the last of its pass:

    %r = noma.optimize "sgd"(%W : ...) ... max_iterations(%passes) iter_args(...) {
    ^bb0(..., %block : f64):
      ... the block's body, noma.minimize %loss ...
      %last = noma.cmp "ge", %end, %rows : f64, f64 -> f64
      noma.epoch_end %last : f64
      noma.until %c next(...) exports(...)
    }
"""

from __future__ import annotations

from xdsl.dialects.builtin import f64
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, operand_def, traits_def
from xdsl.traits import HasParent
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.training import OptimizeOp


@irdl_op_definition
class EpochEndOp(IRDLOperation):
    """Marks an optimize loop as mini-batch training: an iteration ends a
    pass over the data (an epoch) when `last` is non-zero. The `until`
    condition then counts only at the end of a pass, and `max_iterations`
    bounds the passes that take steps: once they are done, one more pass
    runs without steps, so that what the body exports describes the final
    parameters, and the loop ends at its last block.

        noma.epoch_end %last : f64
    """

    name = "noma.epoch_end"

    last = operand_def(f64)

    # No memory effect is declared: the op has unknown effects, so that dead
    # code elimination keeps it although it has no result.
    traits = traits_def(HasParent(OptimizeOp))

    assembly_format = "$last attr-dict `:` type($last)"

    def __init__(self, last: SSAValue | Operation):
        super().__init__(operands=[last])

    def verify_(self) -> None:
        block = self.parent_block()
        assert block is not None
        marks = [op for op in block.ops if isinstance(op, EpochEndOp)]
        if len(marks) != 1:
            raise VerifyException(
                f"an optimize body has at most one 'noma.epoch_end', found {len(marks)}"
            )


def epoch_end_of(optimize: OptimizeOp) -> EpochEndOp | None:
    """The mark of a mini-batch optimize loop, if it is one."""
    return next((op for op in optimize.body.block.ops if isinstance(op, EpochEndOp)), None)


EPOCH_OPS = (EpochEndOp,)
