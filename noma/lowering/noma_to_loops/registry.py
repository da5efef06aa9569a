"""The one table through which the lowering to loops finds each `noma`
op's rule, collected from the modules that mirror the dialect's files, and
the ops that never reach it because an earlier pass removes them.

Adding an op: write its rule in the module mirroring the op's dialect file
and add it to that module's `RULES`; `tests/lowering/test_loops_registry.py`
fails for an op of the dialect that has neither a rule nor an entry in
`REMOVED_BEFORE_LOOPS`.
"""

from __future__ import annotations

from xdsl.ir import Operation

from noma.dialects.noma import epochs, storage, training
from noma.diagnostics import NomaError
from noma.lowering.noma_to_loops import (
    creation,
    elementwise,
    files,
    io,
    reductions,
    shape_ops,
    slicing,
    tape,
    tensor_ops,
)
from noma.lowering.noma_to_loops import storage as storage_rules
from noma.lowering.noma_to_loops.rule import LoopsRule


def _collect(*tables: dict[type[Operation], LoopsRule]) -> dict[type[Operation], LoopsRule]:
    rules: dict[type[Operation], LoopsRule] = {}
    for table in tables:
        for op_type, rule in table.items():
            assert op_type not in rules, f"two loops rules for {op_type.name}"
            rules[op_type] = rule
    return rules


LOOPS_RULES: dict[type[Operation], LoopsRule] = _collect(
    elementwise.RULES,
    tensor_ops.RULES,
    creation.RULES,
    slicing.RULES,
    reductions.RULES,
    shape_ops.RULES,
    files.RULES,
    storage_rules.RULES,
    io.RULES,
    tape.RULES,
)
"""Op class -> its rule. Looked up by exact class: a subclass is an op of
its own and needs a rule of its own."""

REMOVED_BEFORE_LOOPS: dict[type[Operation], str] = {
    training.OptimizeOp: "expand-optimizers",
    training.MinimizeOp: "expand-optimizers",
    training.UntilOp: "expand-optimizers",
    storage.ResetOptimizerOp: "expand-optimizers",
    epochs.EpochEndOp: "expand-optimizers",
    storage.ReallocOp: "legalize-growth",
}
"""Op class -> the pass that removes it before the lowering to loops."""


def rule_of(op: Operation) -> LoopsRule | None:
    return LOOPS_RULES.get(type(op))


def cannot_lower(op: Operation) -> NomaError:
    """The located error for an op the lowering to loops does not handle."""
    removing_pass = REMOVED_BEFORE_LOOPS.get(type(op))
    if removing_pass is not None:
        why = f"run `{removing_pass}` before lowering to loops"
    else:
        why = "it has no lowering"
    return NomaError.at_op(op, f"cannot lower '{op.name}' to loops: {why}")
