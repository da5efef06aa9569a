"""The training loop as IR: `noma.optimize`, `noma.minimize`, `noma.until`.

`noma.optimize` holds the body of an `optimize` statement as a region. Values
the body assigns to variables from outside are carried (`iter_args`, as in
`scf.for`); the `noma.until` terminator gives the stop condition, the next
carried values and the values the body exports (names defined in the body stay
visible after the loop). Results are the final carried values followed by the
exports.

One iteration: run the body; if the condition is non-zero, stop with the
parameters as they are; otherwise apply one optimizer step with the gradients
of the `noma.minimize` objective. At most `max_iterations` iterations run (as
in the original NOMA), the last one stepping too; a loop that stops so warns.
The exports are the values of the last iteration, computed before its step.

    %n, %loss = noma.optimize "adam" (%W : !noma.param<f64>) lr(%lr) beta1(%b1) beta2(%b2) eps(%eps) max_iterations(%max) iter_args(%n0 : f64) {
    ^bb0(%i : f64):
      %w = noma.read %W : !noma.param<f64> -> f64
      %loss = noma.mul %w, %w : f64, f64 -> f64
      noma.minimize %loss : f64
      %c = noma.cmp "lt", %loss, %tol : f64, f64 -> f64
      noma.until %c next(%i : f64) exports(%loss : f64)
    } -> f64, f64

`autodiff` fills in the gradients of each `noma.minimize`:

      noma.minimize %loss wrt(%W : !noma.param<f64>) grads(%dW : f64) : f64

An op of the body marked `noma.after_step` (the parameter growth the body
requested, LANGUAGE.md section 6) runs after the iteration's step, and only
when a step is taken:

      scf.if %grow { noma.realloc %W [%r, %c] init "zeros" : ... } {noma.after_step}
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import StringAttr, f64
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    region_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.traits import HasAncestor, HasParent, IsTerminator, RecursiveMemoryEffect
from xdsl.utils.exceptions import VerifyException

from noma.dialects.noma.optimizers import HYPER_OPERANDS, optimizer_names
from noma.dialects.noma.types import ParamType, ValueType

AFTER_STEP_ATTR = "noma.after_step"
"""Marks an op of an optimize body that runs after the iteration's step."""


@irdl_op_definition
class OptimizeOp(IRDLOperation):
    """The optimize loop. `optimizer` names an entry of the optimizer table
    (`noma.dialects.noma.optimizers`), which says which of the operands `lr`,
    `beta1`, `beta2`, `eps` carry its hyper-parameters: `beta2` is the
    second-moment decay of Adam and the decay of RMSprop; `beta1` is Adam's
    first-moment decay. `max_iterations` bounds the number of iterations (of
    passes, for mini-batch training)."""

    name = "noma.optimize"

    optimizer = prop_def(StringAttr)
    params = var_operand_def(ParamType)
    lr = operand_def(f64)
    beta1 = operand_def(f64)
    beta2 = operand_def(f64)
    eps = operand_def(f64)
    max_iterations = operand_def(f64)
    inits = var_operand_def(ValueType)

    res = var_result_def(ValueType)
    body = region_def("single_block")

    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(RecursiveMemoryEffect())

    assembly_format = (
        "$optimizer `(` ($params^ `:` type($params))? `)` `lr` `(` $lr `)` "
        "`beta1` `(` $beta1 `)` `beta2` `(` $beta2 `)` `eps` `(` $eps `)` "
        "`max_iterations` `(` $max_iterations `)` "
        "(`iter_args` `(` $inits^ `:` type($inits) `)`)? $body attr-dict "
        "(`->` type($res)^)?"
    )

    def __init__(
        self,
        optimizer: str,
        params: Sequence[SSAValue],
        hyper: Sequence[SSAValue],
        inits: Sequence[SSAValue],
        body: Region,
        result_types: Sequence[Attribute],
    ):
        lr, beta1, beta2, eps, max_iterations = hyper
        super().__init__(
            operands=[params, lr, beta1, beta2, eps, max_iterations, inits],
            result_types=[result_types],
            regions=[body],
            properties={"optimizer": StringAttr(optimizer)},
        )

    def hyper_operand(self, name: str) -> SSAValue:
        """The operand `name` (a key of HYPER_OPERANDS: `lr`, `beta1`, ...)."""
        assert name in HYPER_OPERANDS, name
        operands: dict[str, SSAValue] = {
            "lr": self.lr,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "eps": self.eps,
        }
        return operands[name]

    @property
    def until(self) -> UntilOp:
        terminator = self.body.block.last_op
        assert isinstance(terminator, UntilOp)
        return terminator

    def verify_(self) -> None:
        if self.optimizer.data not in optimizer_names():
            raise VerifyException(
                f"unknown optimizer '{self.optimizer.data}', expected one of "
                f"{', '.join(optimizer_names())}"
            )
        block = self.body.block
        if [a.type for a in block.args] != [v.type for v in self.inits]:
            raise VerifyException(
                "the body's block arguments must match the types of the iter_args"
            )
        terminator = block.last_op
        if not isinstance(terminator, UntilOp):
            raise VerifyException("the body of 'noma.optimize' must end in 'noma.until'")
        if [v.type for v in terminator.next] != [v.type for v in self.inits]:
            raise VerifyException("'noma.until' must yield one value per iter_arg, of its type")
        expected = [v.type for v in (*terminator.next, *terminator.exports)]
        if [r.type for r in self.res] != expected:
            raise VerifyException(
                "the results of 'noma.optimize' are its carried values followed by "
                "the exports of 'noma.until'"
            )
        minimizes = [op for op in self.body.walk() if isinstance(op, MinimizeOp)]
        if len(minimizes) != 1:
            raise VerifyException(
                f"the body of an optimize loop needs exactly one 'noma.minimize', "
                f"found {len(minimizes)}"
            )


@irdl_op_definition
class MinimizeOp(IRDLOperation):
    """Records the objective of the enclosing optimize loop. After `autodiff`
    it also carries the parameters the objective depends on and their
    gradients."""

    name = "noma.minimize"

    objective = operand_def(f64)
    params = var_operand_def(ParamType)
    grads = var_operand_def(ValueType)

    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(HasAncestor(OptimizeOp))

    assembly_format = (
        "$objective (`wrt` `(` $params^ `:` type($params) `)`)? "
        "(`grads` `(` $grads^ `:` type($grads) `)`)? attr-dict `:` type($objective)"
    )

    def __init__(
        self,
        objective: SSAValue | Operation,
        params: Sequence[SSAValue] = (),
        grads: Sequence[SSAValue] = (),
    ):
        super().__init__(operands=[objective, params, grads])

    @property
    def is_differentiated(self) -> bool:
        return len(self.grads) > 0 or len(self.params) > 0

    def verify_(self) -> None:
        if len(self.params) != len(self.grads):
            raise VerifyException(
                f"'noma.minimize' needs one gradient per parameter, got "
                f"{len(self.grads)} for {len(self.params)}"
            )
        for param, grad in zip(self.params, self.grads):
            assert isinstance(param.type, ParamType)
            if grad.type != param.type.value_type:
                raise VerifyException(
                    f"the gradient of a {param.type} must be a {param.type.value_type}, "
                    f"got {grad.type}"
                )


@irdl_op_definition
class UntilOp(IRDLOperation):
    """Terminates an optimize body: the stop condition (non-zero stops), the
    next values of the carried variables, and the exported values."""

    name = "noma.until"

    condition = operand_def(f64)
    next = var_operand_def(ValueType)
    exports = var_operand_def(ValueType)

    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(IsTerminator(), HasParent(OptimizeOp))

    assembly_format = (
        "$condition (`next` `(` $next^ `:` type($next) `)`)? "
        "(`exports` `(` $exports^ `:` type($exports) `)`)? attr-dict"
    )

    def __init__(
        self,
        condition: SSAValue | Operation,
        next: Sequence[SSAValue] = (),
        exports: Sequence[SSAValue] = (),
    ):
        super().__init__(operands=[condition, next, exports])


def new_body(arg_types: Sequence[Attribute]) -> Region:
    return Region(Block(arg_types=arg_types))
