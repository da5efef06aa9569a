"""LLVM dialect -> LLVM IR text (stage 8's first half), with xDSL's LLVM backend.

`xdsl.backend.llvm.convert.convert_module` builds an llvmlite module from a
module holding only `llvm.func` and `llvm.mlir.global`; its text is what
llvmlite's `parse_assembly` (and any LLVM tool) reads. The lowering emits only
ops that backend translates (`llvm.call_intrinsic` stands in for LLVM ops xDSL
lacks). Two legalizations run first (as MLIR's legalize-for-export does), in
place when the caller owns the module (`legalize_in_place=True`, as the
compiler driver does), else on a copy made only when something needs them:

- a conditional branch to the same block on both edges gets a forwarding block,
  since an LLVM PHI cannot take two different values from one predecessor;
- blocks are put in reverse post-order, because the backend converts blocks in
  list order and needs each value defined before the blocks that use it.
"""

from __future__ import annotations

from xdsl.backend.llvm.convert import convert_module
from xdsl.dialects import llvm
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region
from xdsl.utils.exceptions import LLVMTranslationException

from noma.diagnostics import NomaError, op_loc

LEGALIZE_PASS_NAME = "legalize-for-export"
"""How `--verify-each` names the legalization in its errors."""


class TranslationError(NomaError):
    """The module is not (only) in the LLVM dialect, or uses something the
    backend cannot translate."""

    def __init__(self, message: str, op: Operation | None = None):
        super().__init__(None if op is None else op_loc(op), message, op=op)


def translate_to_llvmir(
    module: ModuleOp,
    *,
    target_triple: str | None = None,
    data_layout: str = "",
    legalize_in_place: bool = False,
    verify_each: bool = False,
) -> str:
    """LLVM IR text of an `llvm`-dialect module.

    The triple is the module's `llvm.target_triple`, else `target_triple`, else
    the host's; `data_layout` (e.g. `str(target_machine.target_data)`) is set when
    given. The input module is not modified, unless `legalize_in_place`: then
    its blocks may be reordered and forwarding blocks added (the meaning stays
    the same), which spares copying the whole module. `verify_each` verifies
    the legalized module (a failure is a located internal error)."""
    for op in module.ops:
        if op.dialect_name() != "llvm":
            raise TranslationError(
                f"cannot translate '{op.name}': only llvm.func and llvm.mlir.global may "
                "appear at the top level (lower to the llvm dialect first)",
                op,
            )
    for op in module.walk():
        if op is not module and op.dialect_name() != "llvm":
            raise TranslationError(f"cannot translate '{op.name}': not an llvm dialect op", op)
    module = sort_blocks(
        ensure_distinct_successors(module, in_place=legalize_in_place),
        in_place=legalize_in_place,
    )
    if verify_each:
        from noma.frontend.verify import verify_after_pass

        verify_after_pass(module, LEGALIZE_PASS_NAME)
    try:
        llvm_module = convert_module(
            module, fallback_target_triple=target_triple, data_layout=data_layout
        )
    except (NotImplementedError, LLVMTranslationException, KeyError, AssertionError) as e:
        raise TranslationError(f"cannot translate to LLVM IR: {e!r}") from e
    return str(llvm_module)


def _shared_successor(op: object) -> bool:
    return (
        isinstance(op, llvm.CondBrOp)
        and op.then_block is op.else_block
        and bool(op.then_arguments or op.else_arguments)
    )


def ensure_distinct_successors(module: ModuleOp, *, in_place: bool = False) -> ModuleOp:
    """`llvm.cond_br %c, ^bb(%a), ^bb(%b)` -> `llvm.cond_br %c, ^bb(%a), ^fwd` with
    `^fwd: llvm.br ^bb(%b)`. Returns `module` itself when nothing needs it or when
    `in_place`, else a legalized copy (then the input is not modified)."""
    shared = [op for op in _terminators(module) if _shared_successor(op)]
    if not shared:
        return module
    if not in_place:
        module = module.clone()
        shared = [op for op in _terminators(module) if _shared_successor(op)]
    for op in shared:
        assert isinstance(op, llvm.CondBrOp)
        block, region = op.parent_block(), op.parent_region()
        assert block is not None and region is not None
        forward = Block()
        region.insert_block_after(forward, block)
        forward.add_op(llvm.BrOp(op.else_block, *op.else_arguments))
        branch = llvm.CondBrOp(op.cond, op.then_block, op.then_arguments, forward, ())
        block.insert_op_before(branch, op)
        block.erase_op(op)
    return module


def _terminators(module: ModuleOp) -> list[object]:
    """The last op of every block of every function (where branches are)."""
    return [
        block.last_op
        for func in module.ops
        if isinstance(func, llvm.FuncOp)
        for block in func.body.blocks
        if block.last_op is not None
    ]


def _reverse_post_order(region: Region) -> list[Block]:
    """Blocks reachable from the entry in reverse post-order, then the others."""
    blocks = list(region.blocks)
    visited: set[Block] = {blocks[0]}
    post_order: list[Block] = []
    stack = [(blocks[0], iter(_successors(blocks[0])))]
    while stack:
        block, successors = stack[-1]
        successor = next((s for s in successors if s not in visited), None)
        if successor is None:
            post_order.append(block)
            stack.pop()
        else:
            visited.add(successor)
            stack.append((successor, iter(_successors(successor))))
    order = post_order[::-1]
    return order + [b for b in blocks if b not in visited]


def _successors(block: Block) -> tuple[Block, ...]:
    last = block.last_op
    return tuple(last.successors) if last is not None else ()


def sort_blocks(module: ModuleOp, *, in_place: bool = False) -> ModuleOp:
    """Every function's blocks in reverse post-order (dominators first). Returns
    `module` itself when already so or when `in_place`, else a sorted copy
    (then the input is not modified)."""

    def unsorted(m: ModuleOp) -> list[tuple[Region, list[Block]]]:
        regions = [op.body for op in m.ops if isinstance(op, llvm.FuncOp)]
        orders = [(r, _reverse_post_order(r)) for r in regions if r.blocks]
        return [(r, order) for r, order in orders if order != list(r.blocks)]

    pending = unsorted(module)
    if not pending:
        return module
    if not in_place:
        module = module.clone()
        pending = unsorted(module)
    for region, order in pending:
        for block in order:
            region.detach_block(block)
        for block in order:
            region.add_block(block)
    return module
