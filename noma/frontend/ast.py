"""The abstract syntax tree of NOMA programs.

Every node carries the `SourceLoc` of its first token so that every later stage
can report `file:line:col` diagnostics. Nodes are plain frozen dataclasses; the
parser builds them and `irgen` walks them. The tree covers the whole language of
LANGUAGE.md, including constructs whose lowering arrives in later milestones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from noma.frontend.diagnostics import SourceLoc

# ---------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    loc: SourceLoc


@dataclass(frozen=True)
class Number(Expr):
    """A numeric literal; every number is an f64."""

    value: float


@dataclass(frozen=True)
class String(Expr):
    """A string literal (escapes already decoded)."""

    value: str


@dataclass(frozen=True)
class Name(Expr):
    """A reference to a variable, parameter or buffer."""

    name: str


@dataclass(frozen=True)
class TensorLiteral(Expr):
    """`tensor [..]` or a bare nested bracket literal; elements are expressions
    (numbers or nested `TensorLiteral`s)."""

    elements: tuple[Expr, ...]


@dataclass(frozen=True)
class Unary(Expr):
    """Unary `-` or `!`."""

    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    """A binary operator: `|| && == != < > <= >= + - * / % ** ^`.

    `^` is parsed as power and normalised to `**` by the parser.
    """

    op: str
    lhs: Expr
    rhs: Expr


@dataclass(frozen=True)
class Call(Expr):
    """A call of a built-in or user function. `kwargs` holds keyword arguments
    (only meaningful for optimizer specs such as `adam(lr=0.01)`)."""

    callee: str
    args: tuple[Expr, ...]
    kwargs: tuple[tuple[str, Expr], ...] = ()
    callee_loc: SourceLoc | None = None


@dataclass(frozen=True)
class Index(Expr):
    """Postfix indexing `base[index]`."""

    base: Expr
    index: Expr


@dataclass(frozen=True)
class Slice(Expr):
    """`lower:upper` inside a subscript; a bound left out is None (the
    start or the end of the axis)."""

    lower: Expr | None
    upper: Expr | None


@dataclass(frozen=True)
class Sliced(Expr):
    """`base[s0, s1, ...]` with at least one slice or more than one
    subscript; each subscript is an index (an Expr) or a `Slice`. A plain
    `base[i]` stays an `Index`."""

    base: Expr
    subscripts: tuple[Expr, ...]


@dataclass(frozen=True)
class Cast(Expr):
    """`expr as f64 | f32 | i32 | i64`."""

    operand: Expr
    type_name: str


# ---------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stmt:
    loc: SourceLoc


@dataclass(frozen=True)
class Let(Stmt):
    name: str
    value: Expr


@dataclass(frozen=True)
class Assign(Stmt):
    name: str
    value: Expr


@dataclass(frozen=True)
class Learn(Stmt):
    name: str
    value: Expr


@dataclass(frozen=True)
class OptimizerSpec:
    """The `with OPT(args)` clause of an optimize statement."""

    loc: SourceLoc
    name: str
    args: tuple[Expr, ...]
    kwargs: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True)
class Optimize(Stmt):
    params: tuple[Name, ...]
    optimizer: OptimizerSpec | None
    until: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Minimize(Stmt):
    value: Expr


@dataclass(frozen=True)
class Alloc(Stmt):
    name: str
    dims: tuple[Expr, ...]


@dataclass(frozen=True)
class InitPolicy:
    """`init zeros | normal(m, s) | uniform(lo, hi) | <expr>` of a realloc."""

    loc: SourceLoc
    kind: str  # "zeros", "normal", "uniform" or "expr"
    args: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Realloc(Stmt):
    name: str
    dims: tuple[Expr, ...]
    init: InitPolicy | None


@dataclass(frozen=True)
class Free(Stmt):
    name: str


@dataclass(frozen=True)
class ResetOptimizer(Stmt):
    """`reset_optimizer();` (all parameters) or `reset_optimizer(p, ...)`."""

    params: tuple[Name, ...]


@dataclass(frozen=True)
class If(Stmt):
    """`if c { } else if c2 { } else { }`; an `else if` chain is nested in
    `else_body` as a single `If`."""

    cond: Expr
    then_body: tuple[Stmt, ...]
    else_body: tuple[Stmt, ...] | None


@dataclass(frozen=True)
class While(Stmt):
    cond: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Batch(Stmt):
    """`batch xb [, i] in X with n { }` and the lockstep form
    `batch xb, yb [, i] in X, Y with n { }`.

    `names` are the block variables bound to `sources` pairwise; `index` is the
    optional block-number variable.
    """

    names: tuple[str, ...]
    index: str | None
    sources: tuple[Expr, ...]
    batch_size: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Return(Stmt):
    value: Expr | None


@dataclass(frozen=True)
class LoadCsv(Stmt):
    name: str
    path: Expr


@dataclass(frozen=True)
class SaveCheckpoint(Stmt):
    """`save_checkpoint "path";`: every parameter with its optimizer state."""

    path: Expr


@dataclass(frozen=True)
class LoadCheckpoint(Stmt):
    """`load_checkpoint "path";`: what `save_checkpoint` wrote, restored."""

    path: Expr


@dataclass(frozen=True)
class SaveCsv(Stmt):
    value: Expr
    path: Expr


@dataclass(frozen=True)
class LoadSafetensors(Stmt):
    name: str
    path: Expr


@dataclass(frozen=True)
class SaveSafetensors(Stmt):
    entries: tuple[tuple[str, Expr], ...]
    path: Expr


@dataclass(frozen=True)
class ExprStmt(Stmt):
    value: Expr


# ---------------------------------------------------------------------------
# Top level
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    loc: SourceLoc
    name: str


@dataclass(frozen=True)
class Function:
    loc: SourceLoc
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    name_loc: SourceLoc | None = None


@dataclass(frozen=True)
class Program:
    filename: str
    functions: tuple[Function, ...]
    source: str = field(repr=False, default="")

    def function(self, name: str) -> Function | None:
        for f in self.functions:
            if f.name == name:
                return f
        return None
