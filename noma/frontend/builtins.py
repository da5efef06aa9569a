"""The built-in functions of NOMA (LANGUAGE.md section 7): their arity and the
`noma` op each one becomes. IR generation and the semantic checks both read
this table, so a new built-in is added here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from noma.dialects.noma import elementwise as ew


@dataclass(frozen=True)
class Builtin:
    name: str
    min_args: int
    max_args: int | None
    """None: any number (at least `min_args`)."""
    op: type[ew.UnaryOp | ew.BinaryOp] | None = None
    """The elementwise op it maps to, when it is one."""
    keywords: tuple[str, ...] = ()
    """The keyword arguments it accepts (`axis=1`), after the positional ones."""
    milestone: str | None = None
    """Set when the frontend accepts the call but code generation for it
    arrives later: the reason given in the "not supported yet" error."""

    def arity_text(self) -> str:
        if self.max_args == self.min_args:
            n = self.min_args
            return f"{n} argument" + ("" if n == 1 else "s")
        if self.max_args is None:
            return f"at least {self.min_args} arguments"
        return f"{self.min_args} to {self.max_args} arguments"


_UNARY = {
    "sigmoid": ew.SigmoidOp,
    "relu": ew.ReluOp,
    "tanh": ew.TanhOp,
    "exp": ew.ExpOp,
    "log": ew.LogOp,
    "sqrt": ew.SqrtOp,
    "sin": ew.SinOp,
    "cos": ew.CosOp,
    "tan": ew.TanOp,
    "abs": ew.AbsOp,
    "floor": ew.FloorOp,
    "ceil": ew.CeilOp,
}
_BINARY = {"pow": ew.PowOp, "min": ew.MinOp, "max": ew.MaxOp}

_AXIS = ("axis", "keepdims")
AXIS_BUILTINS: dict[str, Builtin] = {
    # Reductions along an axis (noma/frontend/irgen/reductions.py); max and
    # min with two arguments stay elementwise.
    "sum": Builtin("sum", 1, 1, keywords=_AXIS),
    "mean": Builtin("mean", 1, 1, keywords=_AXIS),
    "max": Builtin("max", 1, 2, ew.MaxOp, keywords=_AXIS),
    "min": Builtin("min", 1, 2, ew.MinOp, keywords=_AXIS),
    "logsumexp": Builtin("logsumexp", 1, 1, keywords=_AXIS),
    "softmax": Builtin("softmax", 1, 1, keywords=("axis",)),
    "log_softmax": Builtin("log_softmax", 1, 1, keywords=("axis",)),
    "argmax": Builtin("argmax", 1, 1, keywords=_AXIS),
    "argmin": Builtin("argmin", 1, 1, keywords=_AXIS),
    "one_hot": Builtin("one_hot", 2, 2),
}
"""Built-ins IR generation hands to `ReductionGen` when called with one
positional argument or with keywords (`one_hot` always)."""

BUILTINS: dict[str, Builtin] = {
    **{name: Builtin(name, 1, 1, op) for name, op in _UNARY.items()},
    **{name: Builtin(name, 2, 2, op) for name, op in _BINARY.items()},
    "print": Builtin("print", 1, 1),
    "sum": Builtin("sum", 1, 1),
    "mean": Builtin("mean", 1, 1),
    **AXIS_BUILTINS,
    "dot": Builtin("dot", 2, 2),
    "matmul": Builtin("matmul", 2, 2),
    "rand": Builtin("rand", 0, 0),
    "rand_uniform": Builtin("rand_uniform", 2, 2),
    "rand_normal": Builtin("rand_normal", 2, 2),
    "rand_tensor": Builtin("rand_tensor", 1, None),
    "rand_normal_tensor": Builtin("rand_normal_tensor", 3, None),
    "xavier_init": Builtin("xavier_init", 3, None),
    "he_init": Builtin("he_init", 2, None),
    # Shape built-ins and selection (irgen/shapes.py).
    "transpose": Builtin("transpose", 1, 2),
    "reshape": Builtin("reshape", 2, 2),
    "size": Builtin("size", 2, 2),
    "where": Builtin("where", 3, 3),
    "clip": Builtin("clip", 3, 3),
    "concat": Builtin("concat", 1, None, keywords=("axis",)),
}

TENSOR_BUILTINS = ("sum", "mean", "dot", "matmul")
"""Built-ins that are tensor ops rather than elementwise ones."""

RANDOM_BUILTINS = (
    "rand",
    "rand_uniform",
    "rand_normal",
    "rand_tensor",
    "rand_normal_tensor",
    "xavier_init",
    "he_init",
)
"""Built-ins that draw from the program's seeded generator."""
