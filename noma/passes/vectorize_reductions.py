"""The `noma-vectorize-reductions` pass: float reductions in L fixed lanes.

A loop that folds floats into a carried value (`acc = acc + x[k]`) is a
chain of dependent additions that LLVM may not reorder without fast-math:
it stays scalar and runs at the latency of one add per element. This pass
reassociates such a loop itself, in an order that depends only on the
`lanes` option (L), never on the machine:

    %r = scf.for %k = %lb to %ub step %c1          lane l sums the elements
           iter_args(%acc = %init) -> (f64) {      k = lb + l (mod L):
      %x = memref.load %buf[%k] : memref<?xf64>
      %s = arith.addf %acc, %x : f64        ->     %lanes:L = scf.for %k = %lb to %main step %cL
      scf.yield %s : f64                              iter_args(%a0 = %init, %a1 = %id, ...)
    }                                                 { body at %k, %k+1, ..., %k+L-1 }
                                                   %t = halving tree of the lanes
                                                   %r = scf.for %k = %main to %ub step %c1
                                                          iter_args(%acc = %t) { body }

`%main = ub - (ub - lb) rem L`. Lane 0 starts from the loop's initial
value, the others from the operation's identity (-0.0 for addf, 1.0 for
mulf, the initial value itself for the idempotent max/min), so a loop of
fewer than L iterations gives exactly what it gave before. The lanes are
combined by a fixed halving tree (lane l with lane l + L/2, level by
level: ((a0+a4)+(a2+a6))+((a1+a5)+(a3+a7)) for 8), then the remainder is
folded in order. LLVM's SLP vectoriser (switched on in runtime/jit.py)
turns the L independent chains into vector adds (on Zen 4, four chains of
<2 x double> for L = 8).

A loop is rewritten when its step is the constant 1, every carried value
is a scalar float `acc' = op(acc, x)` with `op` one of addf, mulf,
maximumf, minimumf, maxnumf, minnumf (associative in exact arithmetic; the
max/min family exactly associative, so their results do not move at all),
`acc` used only there, and the body has no memory effect other than reads
(loads; no stores, calls or allocations). A loop marked `noma.ordered`
keeps its order, and the loops this pass produced are marked so that it
does not split them again. `lanes=1` turns the pass off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import AnyFloat, FloatAttr, IndexType, IntegerAttr, ModuleOp, UnitAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.traits import MemoryEffectKind, get_effects

LANES = 8
"""Default lane count: fixed, not the host's vector width, so that a
program's results are the same bits on every x86 machine."""

ORDERED = "noma.ordered"
"""A unit attribute on an `scf.for` whose reduction order must be kept."""
LANES_ATTR = "noma.reduction_lanes"
"""On the main loop this pass made: the lane count it used."""
REMAINDER_ATTR = "noma.reduction_remainder"
"""On the remainder loop this pass made."""

CombineOp = (
    arith.AddfOp
    | arith.MulfOp
    | arith.MaximumfOp
    | arith.MinimumfOp
    | arith.MaxnumfOp
    | arith.MinnumfOp
)
_IDEMPOTENT = (arith.MaximumfOp, arith.MinimumfOp, arith.MaxnumfOp, arith.MinnumfOp)


def _combine_of(loop: scf.ForOp, position: int) -> CombineOp | None:
    """The op folding element values into carried value `position`, if it
    is a reduction this pass can reassociate."""
    acc = loop.body.block.args[position + 1]
    if not isinstance(acc.type, AnyFloat) or not acc.has_one_use():
        return None
    combine = acc.get_user_of_unique_use()
    if not isinstance(combine, CombineOp) or combine.parent_block() is not loop.body.block:
        return None
    yielded = loop.body.block.last_op
    assert isinstance(yielded, scf.YieldOp)
    result = combine.result
    if yielded.operands[position] is not result or not result.has_one_use():
        return None
    if combine.lhs is combine.rhs:
        return None  # acc + acc is no fold of elements
    if getattr(combine, "fastmath", None) is not None and combine.fastmath.data:
        return None  # already reassociable by LLVM: leave it to LLVM
    return combine


def _insert(rewriter: PatternRewriter, ops: Operation | Sequence[Operation]) -> None:
    """Insert before the loop being rewritten (the rewriter's insertion
    point while it is matched)."""
    for op in [ops] if isinstance(ops, Operation) else ops:
        rewriter.insert(op)


def _only_reads(op: Operation) -> bool:
    """`op` (with what it holds) reads memory at most: it can be run for
    several iterations at once, in any order."""
    effects = get_effects(op)
    return effects is not None and all(e.kind == MemoryEffectKind.READ for e in effects)


def _is_constant_one(value: SSAValue) -> bool:
    owner = value.owner
    return (
        isinstance(owner, arith.ConstantOp)
        and isinstance(owner.value, IntegerAttr)
        and owner.value.value.data == 1
    )


def _constant_index(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


def _identity(combine: CombineOp, init: SSAValue, rewriter: PatternRewriter) -> SSAValue:
    """The starting value of lanes 1..L-1: neutral for the op, so that
    lanes that see no element leave the result unchanged bit for bit."""
    if isinstance(combine, _IDEMPOTENT):
        return init
    neutral = -0.0 if isinstance(combine, arith.AddfOp) else 1.0
    constant = arith.ConstantOp(FloatAttr(neutral, init.type))
    _insert(rewriter, constant)
    return constant.result


def _halving_tree(
    combine: CombineOp, lanes: Sequence[SSAValue], rewriter: PatternRewriter
) -> SSAValue:
    """Lane i with lane i + n/2, level by level, as a vector reduction
    halves its register: for 8 lanes ((a0+a4)+(a2+a6))+((a1+a5)+(a3+a7)).
    An odd lane out is carried to the next level unchanged. Combining the
    upper half with the lower keeps each level one vector operation, which
    is what LLVM's SLP vectoriser recognises."""
    level = list(lanes)
    while len(level) > 1:
        half = len(level) // 2
        folded: list[SSAValue] = []
        for i in range(half):
            op = type(combine)(level[i], level[i + half])
            _insert(rewriter, op)
            folded.append(op.result)
        level = folded + level[2 * half :]
    return level[0]


@dataclass
class VectorizeReduction(RewritePattern):
    """One reduction loop into a main loop of `lanes` partial results, a
    fixed combining tree and a scalar remainder loop."""

    lanes: int

    @op_type_rewrite_pattern
    def match_and_rewrite(self, loop: scf.ForOp, rewriter: PatternRewriter) -> None:
        if self.lanes < 2 or not loop.iter_args or not _is_constant_one(loop.step):
            return
        if not isinstance(loop.lb.type, IndexType):
            return  # the lane offsets are index constants
        if any(name in loop.attributes for name in (ORDERED, LANES_ATTR, REMAINDER_ATTR)):
            return
        combines = [_combine_of(loop, i) for i in range(len(loop.iter_args))]
        if any(c is None for c in combines) or not _only_reads(loop):
            return
        ops = [c for c in combines if c is not None]

        lanes = self.lanes
        lb, ub = _constant_index(loop.lb), _constant_index(loop.ub)
        if lb is not None and ub is not None and ub - lb < lanes:
            return  # not one whole group: nothing to gain
        # 1, ..., L-1: the offsets of lanes 1.., and L: the main loop's step
        offsets: list[SSAValue] = []
        for n in range(1, lanes + 1):
            constant = arith.ConstantOp(IntegerAttr(n, IndexType()))
            _insert(rewriter, constant)
            offsets.append(constant.result)
        main_end = self._main_end(loop, offsets[-1], rewriter)
        starts: list[SSAValue] = []
        for combine, init in zip(ops, loop.iter_args, strict=True):
            identity = _identity(combine, init, rewriter)
            starts += [init] + [identity] * (lanes - 1)

        body = self._main_body(loop, lanes, offsets[:-1])
        main = scf.ForOp(loop.lb, main_end, offsets[-1], starts, body)
        main.attributes[LANES_ATTR] = IntegerAttr(lanes, 64)
        _insert(rewriter, main)
        totals = [
            _halving_tree(combine, main.results[i * lanes : (i + 1) * lanes], rewriter)
            for i, combine in enumerate(ops)
        ]
        if lb is not None and ub is not None and (ub - lb) % lanes == 0:
            rewriter.replace(loop, [], totals)  # no remainder
            return
        remainder_body = Region()
        loop.body.clone_into(remainder_body)
        remainder = scf.ForOp(main_end, loop.ub, loop.step, totals, remainder_body)
        remainder.attributes[REMAINDER_ATTR] = UnitAttr()
        rewriter.replace(loop, remainder)

    def _main_end(self, loop: scf.ForOp, step: SSAValue, rewriter: PatternRewriter) -> SSAValue:
        """Where the main loop stops: `ub - (ub - lb) rem L`, so that it
        runs whole groups of L, and nothing when `ub <= lb`."""
        lb, ub = _constant_index(loop.lb), _constant_index(loop.ub)
        if lb is not None and ub is not None:
            constant = arith.ConstantOp(IntegerAttr(ub - (ub - lb) % self.lanes, IndexType()))
            _insert(rewriter, constant)
            return constant.result
        trip = arith.SubiOp(loop.ub, loop.lb)
        rest = arith.RemSIOp(trip, step)
        end = arith.SubiOp(loop.ub, rest)
        _insert(rewriter, [trip, rest, end])
        return end.result

    @staticmethod
    def _main_body(loop: scf.ForOp, lanes: int, offsets: Sequence[SSAValue]) -> Region:
        """The loop body once per lane: lane l at index `k + l`, folding
        into its own copy of each carried value."""
        carried = len(loop.iter_args)
        arg_types: list[Attribute] = [IndexType()] + [
            a.type for a in loop.iter_args for _ in range(lanes)
        ]
        block = Block(arg_types=arg_types)
        k = block.args[0]
        old = loop.body.block
        yielded: list[list[SSAValue]] = [[] for _ in range(carried)]
        for lane in range(lanes):
            position: SSAValue = k
            if lane:
                shifted = arith.AddiOp(k, offsets[lane - 1])
                block.add_op(shifted)
                position = shifted.result
            mapping: dict[SSAValue, SSAValue] = {old.args[0]: position}
            for i in range(carried):
                mapping[old.args[i + 1]] = block.args[1 + i * lanes + lane]
            for op in old.ops:
                if isinstance(op, scf.YieldOp):
                    for i, value in enumerate(op.operands):
                        yielded[i].append(mapping.get(value, value))
                    continue
                block.add_op(op.clone(mapping))
        block.add_op(scf.YieldOp(*[v for lane_values in yielded for v in lane_values]))
        return Region(block)


@dataclass(frozen=True)
class VectorizeReductionsPass(ModulePass):
    """Reassociate float reduction loops into `lanes` partial results
    combined in a fixed order (see the module docstring)."""

    name = "noma-vectorize-reductions"

    lanes: int = LANES

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.lanes < 1:
            raise ValueError(
                f"noma-vectorize-reductions: lanes must be at least 1, got {self.lanes}"
            )
        if self.lanes == 1:
            return
        PatternRewriteWalker(
            VectorizeReduction(self.lanes), apply_recursively=False
        ).rewrite_module(op)
