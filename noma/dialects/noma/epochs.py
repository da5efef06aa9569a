"""Mini-batch training: an optimize loop whose iterations are the blocks of
passes over the data (epochs).

A `minimize` inside a `batch` loop steps once per block, right after the
block's `batch` body, the last block included, while the `until` condition is
checked once per pass, after its last step, and `max_iterations` counts passes
(LANGUAGE.md section 5). The frontend generates such a loop as a
`noma.optimize` whose body handles one block, and marks it with
`noma.epoch_end`, which tells `expand-optimizers` where the block's step goes
and whether the block of this iteration is the last of its pass:

    %r = noma.optimize "sgd"(%W : ...) ... max_iterations(%passes) iter_args(...) {
    ^bb0(..., %block : f64):
      ... the block's body, noma.minimize %loss ...
      %last = noma.cmp "ge", %end, %rows : f64, f64 -> f64
      noma.epoch_end %last : f64            // the step goes here
      %c = scf.if %is_last { ... the end of the pass, the condition ... }
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
    pass over the data (an epoch) when `last` is non-zero. Every iteration
    takes its optimizer step where the mark stands, so the ops after it (the
    end of the pass, the condition) see the step. The `until` condition
    counts only at the end of a pass, and `max_iterations` bounds the passes;
    the loop ends at the last block of a pass.

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
