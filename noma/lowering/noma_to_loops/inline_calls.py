"""The `noma-inline-calls` pass: calls of the module's own functions are
replaced by the callee's body, on tensors or on memrefs.

The `loops` stage runs it first on tensors: a user function and its
generated adjoint, inlined into one loop body, are then one block of pure
ops, in which `cse` computes once the forward values the adjoint recomputes
and `canonicalize` drops the adjoints nobody reads (those of the data). It
also runs inside `convert-noma-to-loops`, after bufferization, for the
calls left there (the pass run alone, or the IR of another front end):
after bufferization a user function and its generated adjoint allocate
their temporaries on every call and free them before returning; LLVM
inlines the call but keeps each `malloc`/`free` pair. Inlined here, on
memrefs, those temporaries become temporaries of the caller's loop body,
which `noma-hoist-temporaries` then allocates once for the whole run.

    func.func @fn.f(%x: memref<4xf64>) -> memref<4xf64> {     %t = memref.alloc()
      %t = memref.alloc() : memref<4xf64>                      ... %x ...
      ...                                               ->     (uses of %r use %t)
      func.return %t : memref<4xf64>
    }
    %r = func.call @fn.f(%a)

Ownership carries over unchanged: arguments stay borrowed, the returned
buffer (owned by the caller as a call result) is the callee's allocation,
freed where the caller freed the result. A callee's stack cells
(`memref.alloca` at its entry) move to the caller's entry, so that a call in
a loop does not grow the stack. Functions that call themselves (directly or
not), that have more than one block, or a dynamically sized `alloca`, are
left as calls; so are callees of more than `max-ops` ops. A user function
(`fn.` prefix) that nothing calls any more and that is not an entry point
(`noma.entry`) is removed: compiled twice it would cost compile time.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from noma.symbols import ENTRY_ATTR, SYMBOL_PREFIX

MAX_OPS = 5000
"""Callees larger than this (ops, nested ones included) stay calls."""
MAX_CALLER_GROWTH = 20
"""A caller takes inlined bodies until it has this many times MAX_OPS ops."""


def _calls(f: func.FuncOp) -> list[func.CallOp]:
    return [op for op in f.walk() if isinstance(op, func.CallOp)]


def _recursive(functions: dict[str, func.FuncOp]) -> set[str]:
    """The functions on a cycle of the call graph."""
    edges = {
        name: {c.callee.root_reference.data for c in _calls(f)} & functions.keys()
        for name, f in functions.items()
    }
    on_cycle: set[str] = set()
    for start in functions:
        stack, seen = list(edges[start]), set()
        while stack:
            name = stack.pop()
            if name == start:
                on_cycle.add(start)
                break
            if name not in seen:
                seen.add(name)
                stack += edges[name]
    return on_cycle


def _inlinable(f: func.FuncOp, max_ops: int) -> bool:
    if len(f.body.blocks) != 1 or f.attributes.get(ENTRY_ATTR) is not None:
        return False
    size = 0
    for op in f.walk():
        size += 1
        if isinstance(op, memref.AllocaOp) and (op.dynamic_sizes or op.parent_op() is not f):
            return False  # cannot move to the caller's entry
    return size <= max_ops


def _inline(call: func.CallOp, callee: func.FuncOp, caller_entry: Operation) -> list[func.CallOp]:
    """Clone `callee`'s body before `call`, its allocas at the caller's
    entry, and replace the call's results by what it returned; the calls
    it cloned."""
    body = callee.body.block
    mapping: dict[SSAValue, SSAValue] = dict(zip(body.args, call.arguments, strict=True))
    returned: list[SSAValue] = []
    cloned_calls: list[func.CallOp] = []
    for op in body.ops:
        if isinstance(op, func.ReturnOp):
            returned = [mapping.get(v, v) for v in op.arguments]
            continue
        clone = op.clone(value_mapper=mapping)
        cloned_calls += [c for c in clone.walk() if isinstance(c, func.CallOp)]
        if isinstance(op, memref.AllocaOp):
            Rewriter.insert_op(clone, InsertPoint.before(caller_entry))
        else:
            Rewriter.insert_op(clone, InsertPoint.before(call))
    for result, value in zip(call.results, returned, strict=True):
        result.replace_all_uses_with(value)
    call.detach()
    call.erase()
    return cloned_calls


@dataclass(frozen=True)
class InlineCallsPass(ModulePass):
    """Replace calls of the module's own functions by their bodies."""

    name = "noma-inline-calls"

    max_ops: int = MAX_OPS

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        functions = {
            f.sym_name.data: f for f in op.ops if isinstance(f, func.FuncOp) and f.body.blocks
        }
        recursive = _recursive(functions)
        inlinable = {
            name
            for name, f in functions.items()
            if name not in recursive and _inlinable(f, self.max_ops)
        }
        # Top-down from the entry points, from the callees' own bodies: a call
        # cloned in by an inlining is inlined in turn (a work list), so a chain
        # of n calls costs O(n) clones, not the O(n^2) of inlining into every
        # intermediate function first. A caller stops growing at
        # max-caller-ops (a call tree can be exponential); a function still
        # called after that is processed as a caller in turn.
        done: set[str] = set()

        def process(name: str) -> None:
            done.add(name)
            f = functions[name]
            size = sum(1 for _ in f.walk())
            entry = f.body.blocks[0].first_op
            assert entry is not None
            work = _calls(f)
            while work:
                call = work.pop()
                callee = call.callee.root_reference.data
                if callee not in inlinable or callee == name:
                    continue
                callee_size = sum(1 for _ in functions[callee].walk())
                if size + callee_size > self.max_ops * MAX_CALLER_GROWTH:
                    continue
                size += callee_size
                work.extend(_inline(call, functions[callee], entry))

        pending = [n for n, f in functions.items() if f.attributes.get(ENTRY_ATTR) is not None]
        pending += [n for n in functions if not n.startswith(SYMBOL_PREFIX)]
        while pending:
            name = pending.pop()
            if name in done:
                continue
            process(name)
            called = {c.callee.root_reference.data for c in _calls(functions[name])}
            pending += [n for n in called if n in functions and n not in done]
        _remove_unused_user_functions(functions)


def _remove_unused_user_functions(functions: dict[str, func.FuncOp]) -> None:
    """Erase the `fn.` functions no remaining function calls and that are
    not entry points, so LLVM does not compile what was inlined twice (a dead
    one may keep another alive until it goes: repeat)."""
    alive = dict(functions)
    while True:
        referenced = {c.callee.root_reference.data for f in alive.values() for c in _calls(f)}
        dead = [
            name
            for name, f in alive.items()
            if name.startswith(SYMBOL_PREFIX)
            and name not in referenced
            and f.attributes.get(ENTRY_ATTR) is None
        ]
        if not dead:
            return
        for name in dead:
            f = alive.pop(name)
            f.detach()
            f.erase()
