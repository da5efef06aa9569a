"""Every op of the `noma` dialect has exactly one lowering to loops, found in
the one registry, or is listed with the pass that removes it earlier."""

from __future__ import annotations

import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation

from noma.dialects.noma import Noma
from noma.dialects.noma.interfaces import ScalarLowerable
from noma.lowering.noma_to_loops import (
    creation,
    elementwise,
    files,
    io,
    reductions,
    registry,
    shape_ops,
    slicing,
    storage,
    tape,
    tensor_ops,
)
from noma.pipeline import STAGES, all_passes

RULE_MODULES = (
    creation, elementwise, files, io, reductions, shape_ops, slicing, storage, tape, tensor_ops,
)


def test_every_op_has_a_rule_or_is_removed_earlier() -> None:
    ops = set(Noma.operations)
    with_rule = set(registry.LOOPS_RULES)
    removed = set(registry.REMOVED_BEFORE_LOOPS)
    assert sorted(op.name for op in ops - with_rule - removed) == []
    assert sorted(op.name for op in with_rule & removed) == []
    assert sorted(op.name for op in (with_rule | removed) - ops) == []


def test_each_op_is_registered_by_exactly_one_module() -> None:
    counts: dict[type[Operation], int] = {}
    for module in RULE_MODULES:
        for op_type in module.RULES:
            counts[op_type] = counts.get(op_type, 0) + 1
    assert sorted(op.name for op, n in counts.items() if n != 1) == []
    assert set(counts) == set(registry.LOOPS_RULES)


def test_a_rule_does_something_and_lives_in_the_module_mirroring_its_op() -> None:
    """`noma.matmul` (dialects/noma/tensor_ops.py) is lowered by
    lowering/noma_to_loops/tensor_ops.py."""
    for op_type, rule in registry.LOOPS_RULES.items():
        functions = [f for f in (rule.on_tensors, rule.on_scalars) if f is not None]
        assert functions, op_type.name
        dialect_file = op_type.__module__.rsplit(".", 1)[1]
        for function in functions:
            assert function.__module__ == f"noma.lowering.noma_to_loops.{dialect_file}", op_type.name


def test_scalar_elementwise_ops_lower_on_scalars_and_tensors() -> None:
    for op_type in Noma.operations:
        if issubclass(op_type, ScalarLowerable):
            rule = registry.LOOPS_RULES[op_type]
            assert rule.on_scalars is not None and rule.on_tensors is not None, op_type.name


def test_the_removing_passes_run_before_the_loops_stage() -> None:
    passes = all_passes()
    before_loops = ",".join(
        s.passes for s in STAGES[: [s.name for s in STAGES].index("loops")]
    ).split(",")
    for op_type, pass_name in registry.REMOVED_BEFORE_LOOPS.items():
        assert pass_name in passes, op_type.name
        assert pass_name in before_loops, op_type.name


@pytest.mark.parametrize("op_type", sorted(registry.REMOVED_BEFORE_LOOPS, key=lambda o: o.name))
def test_an_op_removed_earlier_is_reported_with_its_pass(op_type: type[Operation]) -> None:
    op = op_type.__new__(op_type)
    Operation.__init__(op)
    assert f"run `{registry.REMOVED_BEFORE_LOOPS[op_type]}`" in str(registry.cannot_lower(op))


def test_an_op_with_no_rule_is_reported_as_having_none() -> None:
    assert "it has no lowering" in str(registry.cannot_lower(ModuleOp([])))
