"""`if`, `while` and `return` as structured control flow.

Branches become `scf.if` whose results are the variables the branches assign;
loops become `scf.while` whose carried values are the variables the body may
assign. A `return` nested in control flow sets two pseudo-variables (returned
flag and result) and the statements after it run under `scf.if !returned`, so
every function stays in structured form, which `autodiff` differentiates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import f64
from xdsl.ir import Attribute, Block, Region, SSAValue

from noma.dialects.noma.shapes import shape_of, type_of
from noma.frontend import ast
from noma.frontend.checks import child_bodies
from noma.frontend.diagnostics import SourceLoc
from noma.frontend.irgen.base import RESULT, RETURNED
from noma.frontend.irgen.expressions import ExpressionsMixin
from noma.frontend.irgen.scope import Binding, Scope, StorageBinding, ValueBinding
from noma.frontend.irgen.tensors import describe, describe_type, joined_type


def binding_value(binding: Binding) -> SSAValue:
    return binding.value if isinstance(binding, ValueBinding) else binding.handle


def with_value(binding: Binding, value: SSAValue) -> Binding:
    if isinstance(binding, ValueBinding):
        return ValueBinding(value)
    return replace(binding, handle=value)


def contains_return(stmts: tuple[ast.Stmt, ...]) -> bool:
    return any(
        isinstance(s, ast.Return) or any(map(contains_return, child_bodies(s))) for s in stmts
    )


def definitely_returns(stmts: tuple[ast.Stmt, ...]) -> bool:
    for s in stmts:
        if isinstance(s, ast.Return):
            return True
        if isinstance(s, ast.If) and s.else_body is not None:
            if definitely_returns(s.then_body) and definitely_returns(s.else_body):
                return True
    return False


def rebound_names(stmts: tuple[ast.Stmt, ...], scope: Scope) -> Iterator[str]:
    """Names whose binding a statement list may change, nested bodies
    included: variables it assigns, buffers and parameters it reallocates or
    frees (assigning a parameter writes its storage and keeps the binding).
    Shadowing is ignored, which only over-approximates."""
    for s in stmts:
        match s:
            case ast.Assign(name=name) if isinstance(scope.lookup(name), ValueBinding):
                yield name
            case ast.Realloc(name=name) | ast.Free(name=name):
                yield name
            case ast.Return():
                yield RETURNED
                yield RESULT
            case _:
                pass
        for body in child_bodies(s):
            yield from rebound_names(body, scope)


MAX_RETURN_GUARDS = 200
"""How many statements that may `return` can follow each other in one
function body (see `gen_unless_returned`); the Python stack, and every pass
walking the nested regions, grow with it."""


class ControlFlowMixin(ExpressionsMixin):
    # -- if --------------------------------------------------------------------

    def gen_if(self, stmt: ast.If) -> None:
        with self.at(stmt.cond.loc):
            value = self.gen_expr(stmt.cond)
            cond = self.truthy(self.require_scalar(value, stmt.cond.loc, "the condition of `if`"))
        else_body = stmt.else_body
        self.gen_conditional(
            cond,
            stmt.loc,
            lambda: self.gen_nested_block(stmt.then_body),
            (lambda: self.gen_nested_block(else_body)) if else_body is not None else None,
        )

    def gen_nested_block(self, stmts: tuple[ast.Stmt, ...]) -> None:
        """A body nested in control flow inside an optimize body counts as
        nested for the rules on `minimize`."""
        ctx = self.state.optimize
        if ctx is not None:
            ctx.nesting += 1
        try:
            self.gen_block(stmts)
        finally:
            if ctx is not None:
                ctx.nesting -= 1

    def gen_conditional(
        self,
        cond: SSAValue,
        loc: SourceLoc,
        then_fn: Callable[[], None],
        else_fn: Callable[[], None] | None,
    ) -> None:
        """`scf.if` on an i1 whose results are the outer variables either
        branch changed; those variables are rebound to the results."""
        parent = self.scope
        then_scope, else_scope = Scope(parent), Scope(parent)
        then_block, else_block = Block(), Block()
        with self.inside(then_block, then_scope):
            then_fn()
        if else_fn is not None:
            with self.inside(else_block, else_scope):
                else_fn()

        changed = [
            n for n in parent.visible_names() if n in then_scope.writes or n in else_scope.writes
        ]
        for name in [n for n in changed if isinstance(parent.lookup(n), StorageBinding)]:
            changed.remove(name)
            then_b, else_b = then_scope.written(name), else_scope.written(name)
            assert isinstance(then_b, StorageBinding) and isinstance(else_b, StorageBinding)
            parent.rebind(name, self.merged_storage(then_b, else_b))
        then_values, else_values, types = [], [], []
        for name in changed:
            # A branch's own `let` of the same name shadows, so read the write.
            then_b, else_b = then_scope.written(name), else_scope.written(name)
            assert then_b is not None and else_b is not None
            types.append(self._merged_type(name, then_b, else_b, loc))
            then_values.append(binding_value(then_b))
            else_values.append(binding_value(else_b))

        with self.inside(then_block, then_scope), self.at(loc):
            self.emit(scf.YieldOp(*map(self.cast_to, then_values, types)))
        if else_fn is not None or changed:
            with self.inside(else_block, else_scope), self.at(loc):
                self.emit(scf.YieldOp(*map(self.cast_to, else_values, types)))
            else_region = Region(else_block)
        else:
            else_region = Region()
        with self.at(loc):
            if_op = self.emit(scf.IfOp(cond, types, Region(then_block), else_region))
        for name, result in zip(changed, if_op.results):
            binding = parent.lookup(name)
            assert binding is not None
            parent.rebind(name, with_value(binding, result))

    def _merged_type(self, name: str, a: Binding, b: Binding, loc: SourceLoc) -> Attribute:
        """The type of a variable after a branch: the join of its types on
        both branches (tensor shapes that differ become dynamic)."""
        if type(a) is not type(b):
            raise self.error(loc, f"'{name}' is a different kind of variable on each branch")
        return self.joined(name, binding_value(a), binding_value(b).type, loc)

    def joined(self, name: str, value: SSAValue, other: Attribute, loc: SourceLoc) -> Attribute:
        joined = joined_type(value.type, other)
        if joined is None:
            raise self.error(
                loc,
                f"'{name}' is {describe(value)} on one path and "
                f"{describe_type(other)} on another; a variable keeps its rank",
            )
        return joined  # type: ignore[return-value]

    # -- while -------------------------------------------------------------------

    def loop_carried(self, body: tuple[ast.Stmt, ...]) -> list[str]:
        """Outer variables the body may change, in a stable order: values
        become loop-carried; what is known of storage the body reallocates
        or frees is forgotten before the loop (the storage itself is not
        carried, its handle stays the same)."""
        visible = self.scope.visible_names()
        wanted = set(rebound_names(body, self.scope))
        storage = [n for n in visible if n in wanted and isinstance(visible[n], StorageBinding)]
        self.forget_storage_facts(storage, body)
        return [n for n in visible if n in wanted and n not in storage]

    def gen_while(self, stmt: ast.While) -> None:
        carried = self.loop_carried(stmt.body)
        parent = self.scope
        bindings = [parent.lookup(n) for n in carried]
        types = [binding_value(b).type for b in bindings if b is not None]
        while True:
            attempt = self._while_regions(stmt, carried, bindings, types)
            if isinstance(attempt, tuple):
                break
            # A carried tensor changed shape in the body: generate the loop
            # again with the joined (more dynamic) types.
            types = attempt
        before, after = attempt
        with self.at(stmt.loc):
            inits = [self.cast_to(binding_value(b), t) for b, t in zip(bindings, types) if b]
            loop = self.emit(scf.WhileOp(inits, types, Region(before), Region(after)))
        for name, binding, result in zip(carried, bindings, loop.results):
            assert binding is not None
            parent.rebind(name, with_value(binding, result))

    def next_carried(
        self, carried: list[str], types: list[Attribute], body: Scope, loc: SourceLoc
    ) -> tuple[list[SSAValue], list[Attribute]]:
        """The values a loop body leaves in its carried variables, and the
        join of their types with the types the loop carried them with."""
        values = []
        for name in carried:
            binding = body.written(name)
            assert binding is not None
            values.append(binding_value(binding))
        joined = [self.joined(n, v, t, loc) for n, v, t in zip(carried, values, types)]
        return values, joined

    def _while_regions(
        self,
        stmt: ast.While,
        carried: list[str],
        bindings: list[Binding | None],
        types: list[Attribute],
    ) -> tuple[Block, Block] | list[Attribute]:
        """The before and after blocks of the loop, or more general carried
        types when the body changes the type of a carried variable."""
        parent = self.scope
        before_scope = Scope(parent)
        before = Block(arg_types=types)
        for name, binding, arg in zip(carried, bindings, before.args):
            assert binding is not None
            before_scope.define(name, with_value(binding, arg))
        with self.inside(before, before_scope):
            with self.at(stmt.cond.loc):
                value = self.gen_expr(stmt.cond)
                self.require_scalar(value, stmt.cond.loc, "the condition of `while`")
                cond = self.truthy(value)
                if self.state.uses_return_flag and RETURNED in carried:
                    cond = self.emit(arith.AndIOp(cond, self.not_returned())).result
                self.emit(scf.ConditionOp(cond, *before.args))

        after_scope = Scope(parent)
        after = Block(arg_types=types)
        for name, binding, arg in zip(carried, bindings, after.args):
            assert binding is not None
            after_scope.define(name, with_value(binding, arg))
        body_scope = Scope(after_scope)
        with self.inside(after, body_scope):
            self.gen_nested_block(stmt.body)
            next_values, joined = self.next_carried(carried, types, body_scope, stmt.loc)
            if joined != types:
                return joined
            with self.at(stmt.loc):
                self.emit(scf.YieldOp(*next_values))
        return before, after

    # -- return ------------------------------------------------------------------

    def not_returned(self) -> SSAValue:
        returned = self.scope.lookup(RETURNED)
        assert isinstance(returned, ValueBinding)
        return self.emit(arith.CmpfOp(returned.value, self.constant(0.0), "oeq")).result

    def gen_return(self, stmt: ast.Return) -> None:
        st = self.state
        if st.optimize is not None:
            raise self.error(stmt.loc, "`return` cannot leave an optimize loop")
        has_value = stmt.value is not None
        if st.returns_value is not None and st.returns_value != has_value:
            raise self.error(
                stmt.loc, "this function returns a value on some paths and nothing on others"
            )
        st.returns_value = has_value
        value = self.gen_expr(stmt.value) if stmt.value is not None else None
        if not st.uses_return_flag:
            st.final_return = (value, stmt.loc)
            return
        with self.at(stmt.loc):
            self.scope.rebind(RETURNED, ValueBinding(self.constant(1.0)))
            if value is not None:
                self.scope.rebind(RESULT, ValueBinding(self.fit_result(value, stmt.loc)))

    def fit_result(self, value: SSAValue, loc: SourceLoc) -> SSAValue:
        """`value` as the type of the result variable. The first return fixes
        that type; a later one of another shape makes it the join of both
        (the function is generated again, `ResultTypeRetry`); one of another
        rank, or a scalar against a tensor, is an error: as a variable, a
        function's result keeps its rank."""
        st = self.state
        if st.result_type is None:
            if value.type == f64:
                st.result_type = f64  # the result variable already is an f64
                return value
            raise ResultTypeRetry(value.type, loc)
        if value.type == st.result_type:
            return value
        joined = joined_type(value.type, st.result_type)
        if joined is None:
            raise self.error(
                loc,
                f"function '{self.fn.name}' returns {describe(value)} here and "
                f"{describe_type(st.result_type)} on another path; a function's result keeps "
                "its rank (return the same kind of value on every path)",
            )
        if joined != st.result_type:
            raise ResultTypeRetry(joined, loc)
        return self.cast_to(value, joined)

    def gen_unless_returned(self, rest: tuple[ast.Stmt, ...], loc: SourceLoc) -> None:
        """Run `rest` only if no `return` ran before it. Each such guard
        nests the rest of the function one level deeper (in the IR too), so
        their number is limited, with a located error."""
        st = self.state
        if st.return_guards >= MAX_RETURN_GUARDS:
            raise self.error(
                loc,
                f"more than {MAX_RETURN_GUARDS} statements in a row may `return` in this "
                "function, and each puts the rest of the function inside a branch: "
                "split the function",
            )
        with self.at(loc):
            cond = self.not_returned()
        st.return_guards += 1
        try:
            self.gen_conditional(cond, loc, lambda: self.gen_block(rest), None)
        finally:
            st.return_guards -= 1

    def setup_return_flag(self, body: tuple[ast.Stmt, ...]) -> None:
        """Use the flag only when some `return` is not the last statement of
        the function body."""
        nested = contains_return(body[:-1]) or (
            len(body) > 0 and not isinstance(body[-1], ast.Return) and contains_return(body[-1:])
        )
        if not nested:
            return
        self.state.uses_return_flag = True
        self.scope.define(RETURNED, ValueBinding(self.constant(0.0)))
        result_type = self.state.result_type or f64
        self.scope.define(RESULT, ValueBinding(self.placeholder(result_type)))

    def placeholder(self, t: Attribute) -> SSAValue:
        """A value of type `t` for a result no `return` has set yet."""
        shape = shape_of(t)
        if all(d is not None for d in shape):
            return self.b.constant(0.0, t)
        ones = self.b.constant(0.0, type_of(tuple(1 if d is None else d for d in shape)))
        return self.cast_to(ones, t)


class ResultTypeRetry(Exception):
    """Generate the function again with its result variable of this type."""

    def __init__(self, result_type: Attribute, loc: SourceLoc):
        super().__init__(str(result_type))
        self.result_type = result_type
        self.loc = loc
