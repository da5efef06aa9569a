"""Whole-program checks that need no types: `main` exists, calls name a known
function with the right number of arguments, a function that hides a
built-in is a warning, and
no function is recursive (user functions are specialised per call, so a call
cycle would never end; it is rejected with the cycle spelled out).
"""

from __future__ import annotations

from collections.abc import Iterator

from noma.frontend import ast
from noma.frontend.builtins import BUILTINS
from noma.frontend.diagnostics import NomaError, SourceLoc


def check_program(program: ast.Program) -> list[NomaError]:
    """Raise the first error of `program`; give its warnings."""
    functions = {f.name: f for f in program.functions}
    # A user function hides the built-in of its name, as in the original
    # NOMA (which looks user functions up first): calls resolve to it.
    warnings = [
        NomaError(
            f.name_loc or f.loc,
            f"function `{f.name}` hides the built-in of the same name",
            severity="warning",
        )
        for f in program.functions
        if f.name in BUILTINS
    ]
    if "main" not in functions:
        if not program.functions:
            # Nothing to point at but the start of the file.
            raise NomaError(
                SourceLoc(program.filename, 1, 1),
                "the program has no `fn main() { ... }` (it defines no function at all): "
                "execution starts at main",
            )
        raise NomaError(
            program.functions[0].loc,
            "the program has no `fn main() { ... }`: execution starts at main",
        )
    for f in program.functions:
        for call in calls_in(f.body):
            _check_call(call, functions)
    _reject_recursion(program, functions)
    return warnings


def _check_call(call: ast.Call, functions: dict[str, ast.Function]) -> None:
    loc = call.callee_loc or call.loc
    accepted = () if call.callee in functions else getattr(BUILTINS.get(call.callee), "keywords", ())
    unknown = [(name, value) for name, value in call.kwargs if name not in accepted]
    if unknown:
        name, value = unknown[0]
        where = f"'{call.callee}' takes only {', '.join(accepted)}" if accepted else (
            "keyword arguments are only accepted by optimizers and some built-ins"
        )
        raise NomaError(value.loc, f"unknown keyword argument '{name}=': {where}")
    n = len(call.args)
    if call.callee in BUILTINS and call.callee not in functions:
        builtin = BUILTINS[call.callee]
        too_few = n < builtin.min_args
        too_many = builtin.max_args is not None and n > builtin.max_args
        if too_few or too_many:
            raise NomaError(loc, f"'{call.callee}' takes {builtin.arity_text()}, got {n}")
        return
    callee = functions.get(call.callee)
    if callee is None:
        raise NomaError(loc, f"unknown function '{call.callee}'" + _suggest(call.callee, functions))
    if len(callee.params) != n:
        expected = len(callee.params)
        raise NomaError(
            loc,
            f"'{call.callee}' takes {expected} argument{'' if expected == 1 else 's'}, got {n}",
        )


def _suggest(name: str, functions: dict[str, ast.Function]) -> str:
    import difflib

    close = difflib.get_close_matches(name, [*functions, *BUILTINS], n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _reject_recursion(program: ast.Program, functions: dict[str, ast.Function]) -> None:
    """Depth-first search of the call graph, with an explicit stack (a chain
    of thousands of functions is long, not deep); the first back edge found
    is reported at the call that closes the cycle."""
    callees = {
        name: [c for c in calls_in(f.body) if c.callee in functions]
        for name, f in functions.items()
    }
    done: set[str] = set()
    for f in program.functions:
        if f.name in done:
            continue
        # The path from the root, each function with the index of its next call.
        path: list[tuple[str, int]] = [(f.name, 0)]
        on_path = {f.name}
        while path:
            name, next_call = path[-1]
            calls = callees[name]
            if next_call == len(calls):
                path.pop()
                on_path.discard(name)
                done.add(name)
                continue
            path[-1] = (name, next_call + 1)
            call = calls[next_call]
            if call.callee in on_path:
                names = [n for n, _ in path]
                cycle = [*names[names.index(call.callee) :], call.callee]
                raise NomaError(
                    call.callee_loc or call.loc,
                    f"recursive call to '{call.callee}' ({' -> '.join(cycle)}): "
                    "recursion is not supported",
                )
            if call.callee not in done:
                path.append((call.callee, 0))
                on_path.add(call.callee)


def calls_in(stmts: tuple[ast.Stmt, ...]) -> Iterator[ast.Call]:
    for expr in exprs_in(stmts):
        if isinstance(expr, ast.Call):
            yield expr


def exprs_in(stmts: tuple[ast.Stmt, ...]) -> Iterator[ast.Expr]:
    """Every expression of the statements, nested ones included."""
    for stmt in stmts:
        for root in _stmt_exprs(stmt):
            yield from _walk_expr(root)
        for body in child_bodies(stmt):
            yield from exprs_in(body)


def child_bodies(stmt: ast.Stmt) -> list[tuple[ast.Stmt, ...]]:
    match stmt:
        case ast.If(then_body=then_body, else_body=else_body):
            return [then_body] + ([else_body] if else_body is not None else [])
        case ast.While(body=body) | ast.Optimize(body=body) | ast.Batch(body=body):
            return [body]
        case _:
            return []


def _stmt_exprs(stmt: ast.Stmt) -> list[ast.Expr]:
    match stmt:
        case ast.Let(value=v) | ast.Assign(value=v) | ast.Learn(value=v):
            return [v]
        case ast.Minimize(value=v) | ast.ExprStmt(value=v):
            return [v]
        case ast.Return(value=v):
            return [v] if v is not None else []
        case ast.Optimize(params=params, optimizer=spec, until=until):
            exprs: list[ast.Expr] = [*params, until]
            if spec is not None:
                exprs += [*spec.args, *(e for _, e in spec.kwargs)]
            return exprs
        case ast.Alloc(dims=dims):
            return list(dims)
        case ast.Realloc(dims=dims, init=init):
            return [*dims, *(init.args if init is not None else ())]
        case ast.ResetOptimizer(params=params):
            return list(params)
        case ast.If(cond=c) | ast.While(cond=c):
            return [c]
        case ast.Batch(sources=sources, batch_size=n):
            return [*sources, n]
        case ast.LoadCsv(path=p) | ast.LoadSafetensors(path=p):
            return [p]
        case ast.SaveCsv(value=v, path=p):
            return [v, p]
        case ast.SaveSafetensors(entries=entries, path=p):
            return [*(e for _, e in entries), p]
        case _:
            return []


def _walk_expr(expr: ast.Expr) -> Iterator[ast.Expr]:
    # An explicit stack: expressions can be nested deeper than Python's
    # recursion limit allows.
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        match e:
            case ast.Unary(operand=o) | ast.Cast(operand=o):
                stack.append(o)
            case ast.Binary(lhs=lhs, rhs=rhs):
                stack += [rhs, lhs]
            case ast.Call(args=args, kwargs=kwargs):
                stack += [*(v for _, v in reversed(kwargs)), *reversed(args)]
            case ast.Index(base=base, index=index):
                stack += [index, base]
            case ast.Sliced(base=base, subscripts=subscripts):
                stack += [*reversed(subscripts), base]
            case ast.Slice(lower=lower, upper=upper):
                stack += [b for b in (upper, lower) if b is not None]
            case ast.TensorLiteral(elements=elements):
                stack += list(reversed(elements))
            case _:
                pass
