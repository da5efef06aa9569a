"""The finite-difference gradient checks' tables, as importable data.

tests/autodiff/ checks every derivative rule against central finite
differences on the cases below; tests/test_op_registry.py reads the same
tables (through `checked_noma_programs` and `checked_mlir_modules`) to find
which ops those checks go through, so that an op with a derivative rule and
no case fails there. A case added here is both run and counted.

- NOMA source, whose function `f` (and its helpers) autodiff turns into
  `f__vjp`: scalar rules (`SCALAR_*`, `CONTROL_FLOW`), tensor rules
  (`TENSOR_*`, `REDUCTIONS_AND_ALGEBRA`, `BATCH_LOOPS`);
- whole programs whose optimize body reads the parameters itself
  (`PARAMETER_CASES`): the gradient is what one SGD step applies;
- hand-written IR of `(f64, f64) -> f64` functions, called from an
  optimize loop: `arith`/`math` ops (`UPSTREAM_CASES`) and `noma` ops no
  source construct produces (`NOMA_IR_CASES`).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

Shape = tuple[int, ...]


def literal(shape: Shape, fill: float = 0.5) -> str:
    """A NOMA literal of the given shape (scalars are numbers)."""
    if not shape:
        return str(fill)
    inner = literal(shape[1:], fill)
    return "[" + ", ".join([inner] * shape[0]) + "]"


# ---------------------------------------------------------------------------
# Scalar rules (tests/autodiff/test_derivative_rules.py)
# ---------------------------------------------------------------------------


def scalar_program(f_source: str, arity: int) -> str:
    """`f_source` (defining `f` of `arity` scalars) and a `main` whose
    optimize loop calls it, so that autodiff generates `f__vjp`."""
    params = ", ".join(f"p{i}" for i in range(arity))
    learns = "\n".join(f"    learn p{i} = 0.5;" for i in range(arity))
    return f"""
{f_source}
fn main() {{
{learns}
    optimize({params}) with sgd(0.1) until loss < 1 {{
        let loss = f({params});
        minimize loss;
    }}
}}
"""


moderate = st.floats(-3.0, 3.0, allow_nan=False)
positive = st.floats(0.1, 5.0, allow_nan=False)

SCALAR_UNARY: dict[str, st.SearchStrategy[float]] = {
    "sigmoid": moderate,
    "relu": moderate.filter(lambda x: abs(x) > 1e-3),
    "tanh": moderate,
    "exp": moderate,
    "log": positive,
    "sqrt": positive,
    "sin": moderate,
    "cos": moderate,
    "tan": st.floats(-1.3, 1.3),
    "abs": moderate.filter(lambda x: abs(x) > 1e-3),
}
"""Built-in -> its inputs: `f(x) = builtin(x)`."""

SCALAR_ROUNDING: tuple[str, ...] = ("floor", "ceil")
"""`f(x) = builtin(x) * x`: the rounding contributes nothing."""

SCALAR_BINARY: dict[str, tuple[str, st.SearchStrategy[float], st.SearchStrategy[float]]] = {
    "add": ("x + y", moderate, moderate),
    "sub": ("x - y", moderate, moderate),
    "mul": ("x * y", moderate, moderate),
    "div": ("x / y", moderate, moderate.filter(lambda y: abs(y) > 0.2)),
    "pow": ("x ** y", positive, moderate),
    "pow_call": ("pow(x, y)", positive, moderate),
    "caret": ("x ^ y", positive, moderate),
    "min": ("min(x, y)", moderate, moderate),
    "max": ("max(x, y)", moderate, moderate),
    "rem": ("x % y", moderate, positive),
}
"""Case -> (`f(x, y)`'s expression, inputs of x, inputs of y)."""


def scalar_unary_source(builtin: str) -> str:
    return f"fn f(x) {{ return {builtin}(x); }}"


def scalar_rounding_source(builtin: str) -> str:
    return f"fn f(x) {{ return {builtin}(x) * x; }}"


def scalar_binary_source(expression: str) -> str:
    return f"fn f(x, y) {{ return {expression}; }}"


CONTROL_FLOW: dict[str, str] = {
    "if_else": """
fn f(x, y) {
    let z = 0;
    if x * y > 1 { z = sin(x) * y; } else { z = exp(y - x); }
    return z * x;
}""",
    "while_loop": """
fn f(x, y) {
    let acc = x;
    let i = 0;
    while i < 5 { acc = acc * y + sin(acc); i = i + 1; }
    return acc;
}""",
    "data_dependent_loop": """
fn f(x, y) {
    let acc = 0.5;
    while acc < 4 + x * x { acc = acc + 0.3 + 0.1 * tanh(y * acc); }
    return acc * y;
}""",
    "nested_control_flow": """
fn f(x, y) {
    let s = 0;
    let i = 0;
    while i < 3 {
        if s < 1 { s = s + x * y; } else { s = s * 0.5 + sqrt(y * y + 1); }
        i = i + 1;
    }
    return s;
}""",
    "early_return": """
fn f(x, y) {
    if x > 0 { return x * y * y; }
    let t = x - y;
    return t * t;
}""",
    "nested_calls": """
fn sq(v) { return v * v; }
fn g(a, b) { return sq(a) * b + sq(b); }
fn f(x, y) { print(x); return g(sin(x), y) + sq(g(x, 1.5)); }""",
    "short_circuit": """
fn f(x, y) {
    let z = x;
    if x > 0 && y > 0 { z = x * y; }
    return z + (x > 1 || y < 0) * x;
}""",
    "not": """
fn f(x, y) {
    return (!(x < y)) * x * y + (!(x * y > 1)) * sin(x);
}""",
}
"""Case -> the source of `f(x, y)` (and its helpers)."""


# ---------------------------------------------------------------------------
# Tensor rules (tests/autodiff/test_tensor_rules.py)
# ---------------------------------------------------------------------------


def tensor_program(body: str, shapes: tuple[Shape, ...], helpers: str = "") -> str:
    """`f(p0, p1, ...)` returning `body`, for parameters of `shapes`, after
    `helpers` (functions `body` may call)."""
    names = [f"p{i}" for i in range(len(shapes))]
    learns = "\n".join(f"    learn {n} = {literal(s)};" for n, s in zip(names, shapes, strict=True))
    return f"""
{helpers}
fn f({", ".join(names)}) {{ return {body}; }}
fn main() {{
{learns}
    optimize({", ".join(names)}) with sgd(0.1) until 1 {{
        let loss = f({", ".join(names)});
        minimize loss;
    }}
}}
"""


BROADCAST_PAIRS: list[tuple[Shape, Shape]] = [
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((), (2, 2)),
    ((2, 2), ()),
    ((1, 2, 2), (2, 1)),
]

TENSOR_BINARY: dict[str, tuple[str, dict[str, tuple[float, float]]]] = {
    "add": ("p0 + p1", {}),
    "sub": ("p0 - p1", {}),
    "mul": ("p0 * p1", {}),
    "div": ("p0 / p1", {"b": (0.5, 2.0)}),
    "pow": ("p0 ** p1", {"a": (0.2, 2.0)}),
    "pow_builtin": ("pow(p0, p1)", {"a": (0.2, 2.0)}),
    "min": ("min(p0, p1)", {}),
    "max": ("max(p0, p1)", {}),
    "rem": ("p0 % p1", {"b": (0.5, 2.0)}),
    # Elementwise on tensors (no short circuit; the left side has the
    # broadcast shape, so it is a tensor): zero derivative.
    "and": ("(p0 + 0 * p1 > 0) && (p1 < 0.5)", {}),
    "or": ("(p0 + 0 * p1 > 0) || (p1 < 0.5)", {}),
}
"""Case -> (expression of p0 and p1 broadcast together, value ranges of
p0 ("a") and p1 ("b")); the function is `sum((expression) * p2)`, and the
logical cases add `p0 * p1` so that the sum depends on the parameters."""


def tensor_binary_body(name: str) -> str:
    expression = TENSOR_BINARY[name][0]
    if name in ("and", "or"):
        return f"sum(({expression}) * p2 + p0 * p1 * p2)"
    return f"sum(({expression}) * p2)"


TENSOR_UNARY: dict[str, tuple[float, float]] = {
    "exp": (-2.0, 2.0),
    "log": (0.2, 3.0),
    "sqrt": (0.2, 3.0),
    "sin": (-2.0, 2.0),
    "cos": (-2.0, 2.0),
    "tan": (-1.2, 1.2),
    "tanh": (-2.0, 2.0),
    "sigmoid": (-3.0, 3.0),
    "relu": (-2.0, 2.0),
    "abs": (-2.0, 2.0),
}
"""Built-in -> value range; the function is `sum(builtin(p0) * p1)`."""

TENSOR_UNARY_SHAPES: list[Shape] = [(3,), (2, 3), (2, 1, 2)]


def tensor_unary_body(name: str) -> str:
    return f"sum({name}(p0) * p1)"


REDUCTIONS_AND_ALGEBRA: dict[str, tuple[str, list[Shape], int]] = {
    "sum": ("sum(p0 * p0)", [(2, 3)], 0),
    "sum_1d": ("sum(exp(p0))", [(4,)], 0),
    "mean": ("mean(p0 * p0 * p0)", [(3, 2)], 0),
    "mean_3d": ("mean(sin(p0))", [(2, 1, 3)], 0),
    "dot": ("dot(p0, p1)", [(3,), (3,)], 0),
    "dot_self": ("dot(p0, p0 * p1)", [(4,), (4,)], 0),
    "matmul": ("sum(matmul(p0, p1) * p2)", [(2, 3), (3, 4), (2, 4)], 1),
    "matmul_chain": ("sum(sigmoid(matmul(sigmoid(matmul(p0, p1)), p2)))", [(4, 2), (2, 3), (3, 1)], 0),
    "index_row": ("sum(p0[1] * p1)", [(3, 2), (2,)], 1),
    "index_negative": ("sum(p0[-1] * p1)", [(3, 2), (2,)], 1),
    "index_element": ("p0[1][0] * 3 + p0[2][1] * p0[0][0]", [(3, 2)], 0),
    "index_1d": ("p0[2] * p0[0]", [(4,)], 0),
    "literal": ("sum([[p0, p1], [p1 * p0, 2]] * p2)", [(), (), (2, 2)], 1),
    "bias_broadcast": ("sum(sigmoid(matmul(p0, p1) + p2))", [(4, 2), (2, 3), (3,)], 0),
    # Shape built-ins and slices (frontend/irgen/shapes.py).
    "transpose": ("sum(sin(transpose(p0)) * p1)", [(2, 3), (3, 2)], 1),
    "reshape": ("sum(sin(reshape(p0, [3, -1])) * p1)", [(2, 3), (3, 2)], 1),
    "reshape_3d": ("sum(exp(reshape(p0, [2, 1, 3])) * p1)", [(3, 2), (2, 1, 3)], 1),
    "where": ("sum(where(p2 > 0, p0 * p0, sin(p1)))", [(2, 3), (3,), (2, 1)], 1),
    "where_scalar": ("sum(where(p1 > 0, p0, 2 * p0) * p1)", [(3,), (3,)], 1),
    "clip": ("sum(clip(p0, -0.7312, 0.6181) * p1)", [(2, 3), (2, 3)], 1),
    "slice_rows": ("sum(sin(p0[1:3]) * p1)", [(4, 2), (2, 2)], 1),
    "slice_open_negative": ("sum(p0[-2:] * p0[:2])", [(4, 3)], 0),
    "slice_column": ("sum(p0[:, 1] * p1)", [(3, 2), (3,)], 1),
    "slice_block": ("sum(exp(p0[1:3, -3:-1]) * p1)", [(3, 4), (2, 2)], 1),
    "slice_row_range": ("sum(p0[1, 1:] * p1)", [(2, 3), (2,)], 1),
    "concat_rows": ("sum(sin(concat(p0, p1, p0 * p1)) * p2)", [(2, 3), (2, 3), (6, 3)], 1),
    "permute": ("sum(sin(transpose(p0, [2, 0, 1])) * p1)", [(2, 3, 4), (4, 2, 3)], 1),
    "concat_columns": ("sum(exp(concat(p0, p1, axis=1)) * p2)", [(2, 1), (2, 3), (2, 4)], 1),
}
"""Case -> (body of `f`, parameter shapes, how many trailing parameters
are fixed projections, not checked)."""

AXIS_OPS: tuple[str, ...] = (
    "sum", "mean", "max", "min", "logsumexp", "softmax", "log_softmax",
)
"""Built-ins along an axis (tests/autodiff/test_axis_rules.py): the
function is `sum(op(p0 * 1.5, axis=k[, keepdims=1]) * p1)`, the product
being an elementwise producer the op computes inline, p1 a fixed
projection of the op's result shape."""

AXIS_SAME_SHAPE = ("softmax", "log_softmax")


def axis_body(name: str, axis: int, keepdims: bool) -> str:
    keep = ", keepdims=1" if keepdims and name not in AXIS_SAME_SHAPE else ""
    return f"sum({name}(p0 * 1.5, axis={axis}{keep}) * p1)"


def axis_result_shape(name: str, shape: Shape, axis: int, keepdims: bool) -> Shape:
    if name in AXIS_SAME_SHAPE:
        return shape
    axis %= len(shape)
    if keepdims:
        return (*shape[:axis], 1, *shape[axis + 1 :])
    return (*shape[:axis], *shape[axis + 1 :])


BATCH_LOOPS: dict[str, tuple[str, list[Shape]]] = {
    # noma.rows in a loop: every block's adjoint lands on its own rows.
    "rows": (
        (
            "fn g(a, w) { let s = 0; batch ab, i in a with 2 { s = s + sum(sin(ab) * w) * (i + 1); } "
            "return s; }"
        ),
        [(5, 2), (2,)],
    ),
    "rows_1d": (
        (
            "fn g(a, w) { let s = 0; batch ab, i in a with 3 { s = s + dot(ab, ab) * (i + w); } "
            "return s; }"
        ),
        [(7,), ()],
    ),
    "rows_lockstep": (
        (
            "fn g(a, b) { let s = 0; batch ab, bb, i in a, b with 2 { "
            "s = s + sum(ab * bb * bb) * (i + 1); } return s; }"
        ),
        [(5, 3), (5, 3)],
    ),
}
"""Case -> (a helper `g` walking its arguments with a `batch` loop, the
parameter shapes); `f` returns `g(p0, p1, ...)`. The loop is
differentiated iteration by iteration, through `noma.rows` of each block."""


def batch_loop_body(name: str) -> str:
    shapes = BATCH_LOOPS[name][1]
    return "g(" + ", ".join(f"p{i}" for i in range(len(shapes))) + ")"


# ---------------------------------------------------------------------------
# Whole programs (tests/autodiff/test_parameter_gradients.py)
# ---------------------------------------------------------------------------

PARAMETER_CASES: dict[str, tuple[str, list[Shape]]] = {
    "matmul": ("sum(sigmoid(matmul(p0, p1)) * p0[0][0])", [(2, 3), (3, 2)]),
    "elementwise": ("sum(tanh(p0 * p1) + p0 * p0)", [(2, 2), (2, 2)]),
    "broadcast": ("mean((p0 - p1) ** 2)", [(3, 2), (1, 2)]),
}
"""Case -> (a loss of 2-D parameters p0, p1, their shapes). The optimize
body computes it from its own reads of the parameters (no call), so the
gradient goes through `noma.read`'s rule to the parameter handles."""


def parameter_program(body: str, count: int) -> str:
    """`main(P0, P1, ...)`: learns `p<i>` from argument `P<i>`, and takes one
    SGD step of rate 1 on `body`, so that each `p<i>` ends as its initial
    value minus its gradient."""
    names = [f"p{i}" for i in range(count)]
    learns = "\n".join(f"    learn {n} = {n.upper()};" for n in names)
    return f"""
fn main({", ".join(n.upper() for n in names)}) {{
{learns}
    optimize({", ".join(names)}) with sgd(1.0, max_iterations=1) until 0 {{
        let loss = {body};
        minimize loss;
    }}
}}
"""


# ---------------------------------------------------------------------------
# Hand-written IR (tests/autodiff/test_upstream_rules.py)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IRCase:
    body: str
    """IR computing `%r` from `%x` and `%y` (f64)."""
    x: tuple[float, float]
    y: tuple[float, float] = (-2.0, 2.0)


UPSTREAM_CASES: dict[str, IRCase] = {
    "addf": IRCase("%r = arith.addf %x, %y : f64", (-3, 3)),
    "subf": IRCase("%r = arith.subf %x, %y : f64", (-3, 3)),
    "mulf": IRCase("%r = arith.mulf %x, %y : f64", (-3, 3)),
    "divf": IRCase("%r = arith.divf %x, %y : f64", (-3, 3), (0.3, 3)),
    "negf": IRCase("%n = arith.negf %x : f64\n%r = arith.mulf %n, %y : f64", (-3, 3)),
    "maximumf": IRCase("%r = arith.maximumf %x, %y : f64", (-2, 2)),
    "minimumf": IRCase("%r = arith.minimumf %x, %y : f64", (-2, 2)),
    "maxnumf": IRCase("%r = arith.maxnumf %x, %y : f64", (-2, 2)),
    "minnumf": IRCase("%r = arith.minnumf %x, %y : f64", (-2, 2)),
    "select": IRCase(
        "%c = arith.cmpf olt, %x, %y : f64\n"
        "%xx = arith.mulf %x, %x : f64\n"
        "%r = arith.select %c, %xx, %y : f64",
        (-2, 2),
    ),
    "exp": IRCase("%r = math.exp %x : f64", (-3, 3)),
    "exp2": IRCase("%r = math.exp2 %x : f64", (-3, 3)),
    "expm1": IRCase("%r = math.expm1 %x : f64", (-3, 3)),
    "log": IRCase("%r = math.log %x : f64", (0.1, 5)),
    "log2": IRCase("%r = math.log2 %x : f64", (0.1, 5)),
    "log10": IRCase("%r = math.log10 %x : f64", (0.1, 5)),
    "log1p": IRCase("%r = math.log1p %x : f64", (-0.9, 5)),
    "sqrt": IRCase("%r = math.sqrt %x : f64", (0.1, 5)),
    "rsqrt": IRCase("%r = math.rsqrt %x : f64", (0.1, 5)),
    "sin": IRCase("%r = math.sin %x : f64", (-3, 3)),
    "cos": IRCase("%r = math.cos %x : f64", (-3, 3)),
    "tan": IRCase("%r = math.tan %x : f64", (-1.3, 1.3)),
    "tanh": IRCase("%r = math.tanh %x : f64", (-3, 3)),
    "sinh": IRCase("%r = math.sinh %x : f64", (-3, 3)),
    "cosh": IRCase("%r = math.cosh %x : f64", (-3, 3)),
    "asin": IRCase("%r = math.asin %x : f64", (-0.9, 0.9)),
    "acos": IRCase("%r = math.acos %x : f64", (-0.9, 0.9)),
    "atan": IRCase("%r = math.atan %x : f64", (-3, 3)),
    "absf": IRCase("%r = math.absf %x : f64", (-3, 3)),
    "powf": IRCase("%r = math.powf %x, %y : f64", (0.1, 3)),
    "atan2": IRCase("%r = math.atan2 %x, %y : f64", (0.2, 2), (-2, 2)),
    "fma": IRCase("%r = math.fma %x, %y, %x : f64", (-3, 3)),
    # Rounding, comparisons, constants and integer casts: zero derivative.
    "floor": IRCase("%f = math.floor %x : f64\n%r = arith.mulf %f, %y : f64", (-3, 3)),
    "ceil": IRCase("%f = math.ceil %x : f64\n%r = arith.mulf %f, %y : f64", (-3, 3)),
    "round": IRCase("%f = math.round %x : f64\n%r = arith.mulf %f, %y : f64", (-3, 3)),
    "roundeven": IRCase("%f = math.roundeven %x : f64\n%r = arith.mulf %f, %y : f64", (-3, 3)),
    "trunc": IRCase("%f = math.trunc %x : f64\n%r = arith.mulf %f, %y : f64", (-3, 3)),
    "casts": IRCase(
        "%i = arith.fptosi %x : f64 to i64\n"
        "%f = arith.sitofp %i : i64 to f64\n"
        "%two = arith.constant 2.0 : f64\n"
        "%r = math.fma %f, %y, %two : f64",
        (-3, 3),
    ),
}
"""The `arith` and `math` rules, one case each."""

NOMA_IR_CASES: dict[str, IRCase] = {
    # noma.fill: its value operand's adjoint is the sum of the result's.
    "fill": IRCase(
        """%two = arith.constant 2.0 : f64
%t = noma.fill [%two, %two] %x : tensor<2x2xf64>
%u = noma.mul %t, %y : tensor<2x2xf64>, f64 -> tensor<2x2xf64>
%v = noma.sin %u : tensor<2x2xf64> -> tensor<2x2xf64>
%r = noma.sum %v : tensor<2x2xf64> -> f64""",
        (-2, 2),
    ),
    # noma.transpose: made by matmul's rule, differentiated like any op.
    "transpose": IRCase(
        """%xy = noma.mul %x, %y : f64, f64 -> f64
%m = noma.from_elements %x, %y, %xy, %x : tensor<2x2xf64>
%t = noma.transpose %m : tensor<2x2xf64> -> tensor<2x2xf64>
%w = noma.from_elements %y, %x, %y, %y : tensor<2x2xf64>
%p = noma.mul %t, %w : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
%s = noma.sin %p : tensor<2x2xf64> -> tensor<2x2xf64>
%r = noma.sum %s : tensor<2x2xf64> -> f64""",
        (-2, 2),
    ),
    # noma.cast to dynamic dimensions, and the shape queries on it (zero
    # derivative: they count elements).
    "cast_numel_dim": IRCase(
        """%m = noma.from_elements %x, %y, %y, %x, %x, %y : tensor<3x2xf64>
%c = noma.cast %m : tensor<3x2xf64> -> tensor<?x?xf64>
%n = noma.numel %c : tensor<?x?xf64> -> f64
%d = noma.dim %c 0 : tensor<?x?xf64>
%e = noma.exp %c : tensor<?x?xf64> -> tensor<?x?xf64>
%s = noma.sum %e : tensor<?x?xf64> -> f64
%nd = noma.mul %n, %d : f64, f64 -> f64
%r = noma.div %s, %nd : f64, f64 -> f64""",
        (-2, 2),
    ),
    # The ops adjoint code is made of (the rules of sum, index, rows and
    # broadcasting emit them): differentiable too, for second passes and
    # hand-written IR.
    "broadcast_to": IRCase(
        """%m = noma.from_elements %x, %y, %y, %x : tensor<2x2xf64>
%b = noma.broadcast_to %x, %m : f64, tensor<2x2xf64> -> tensor<2x2xf64>
%p = noma.mul %b, %m : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
%s = noma.tanh %p : tensor<2x2xf64> -> tensor<2x2xf64>
%r = noma.sum %s : tensor<2x2xf64> -> f64""",
        (-2, 2),
    ),
    "reduce_to": IRCase(
        """%xy = noma.mul %x, %y : f64, f64 -> f64
%m = noma.from_elements %x, %y, %xy, %x : tensor<2x2xf64>
%row = noma.from_elements %y, %x : tensor<2xf64>
%red = noma.reduce_to %m, %row : tensor<2x2xf64>, tensor<2xf64> -> tensor<2xf64>
%sr = noma.sin %row : tensor<2xf64> -> tensor<2xf64>
%p = noma.mul %red, %sr : tensor<2xf64>, tensor<2xf64> -> tensor<2xf64>
%r = noma.sum %p : tensor<2xf64> -> f64""",
        (-2, 2),
    ),
    "index_adjoint": IRCase(
        """%one = arith.constant 1.0 : f64
%m = noma.from_elements %x, %y, %y, %x, %x, %y : tensor<3x2xf64>
%row = noma.from_elements %y, %x : tensor<2xf64>
%s = noma.index_adjoint %row, %one, %m : tensor<2xf64>, f64, tensor<3x2xf64> -> tensor<3x2xf64>
%e = noma.sin %m : tensor<3x2xf64> -> tensor<3x2xf64>
%p = noma.mul %s, %e : tensor<3x2xf64>, tensor<3x2xf64> -> tensor<3x2xf64>
%r = noma.sum %p : tensor<3x2xf64> -> f64""",
        (-2, 2),
    ),
    "rows_adjoint": IRCase(
        """%one = arith.constant 1.0 : f64
%m = noma.from_elements %x, %y, %y, %x, %x, %y : tensor<3x2xf64>
%b = noma.from_elements %y, %x, %x, %x : tensor<2x2xf64>
%bd = noma.cast %b : tensor<2x2xf64> -> tensor<?x2xf64>
%s = noma.rows_adjoint %bd [%one] like %m : tensor<?x2xf64>, tensor<3x2xf64> -> tensor<3x2xf64>
%e = noma.cos %m : tensor<3x2xf64> -> tensor<3x2xf64>
%p = noma.mul %s, %e : tensor<3x2xf64>, tensor<3x2xf64> -> tensor<3x2xf64>
%r = noma.sum %p : tensor<3x2xf64> -> f64""",
        (-2, 2),
    ),
    # The adjoint helpers of the reductions along an axis.
    "broadcast_axis": IRCase(
        """%m = noma.from_elements %x, %y, %y, %x, %x, %y : tensor<3x2xf64>
%row = noma.from_elements %y, %x, %x : tensor<3xf64>
%b = noma.broadcast_axis %row, %m 1 : tensor<3xf64>, tensor<3x2xf64> -> tensor<3x2xf64>
%e = noma.sin %m : tensor<3x2xf64> -> tensor<3x2xf64>
%p = noma.mul %b, %e : tensor<3x2xf64>, tensor<3x2xf64> -> tensor<3x2xf64>
%r = noma.sum %p : tensor<3x2xf64> -> f64""",
        (-2, 2),
    ),
    "max_mask": IRCase(
        """%m = noma.from_elements %x, %y, %y, %x : tensor<2x2xf64>
%k = noma.max_mask %m 1 : tensor<2x2xf64> -> tensor<2x2xf64>
%e = noma.sin %m : tensor<2x2xf64> -> tensor<2x2xf64>
%p = noma.mul %k, %e : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
%r = noma.sum %p : tensor<2x2xf64> -> f64""",
        (-2, 2),
    ),
    "min_mask": IRCase(
        """%m = noma.from_elements %x, %y, %y, %x : tensor<2x2xf64>
%k = noma.min_mask %m 0 : tensor<2x2xf64> -> tensor<2x2xf64>
%e = noma.exp %m : tensor<2x2xf64> -> tensor<2x2xf64>
%p = noma.mul %k, %e : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
%r = noma.sum %p : tensor<2x2xf64> -> f64""",
        (-2, 2),
    ),
}
"""`noma` ops no NOMA source produces in a differentiated function, on
hand-written IR (tensors inside, f64 in and out)."""


def mlir_module_text(bodies: dict[str, str]) -> str:
    """One `(f64, f64) -> f64` function per body, and an optimize loop that
    calls all of them (so that autodiff generates each one's `__vjp`)."""
    functions = []
    calls = []
    total = "%x0"
    for i, (name, body) in enumerate(bodies.items()):
        lines = "\n    ".join(body.splitlines())
        functions.append(
            f"func.func @{name}(%x: f64, %y: f64) -> f64 {{\n    {lines}\n"
            "    func.return %r : f64\n}"
        )
        calls.append(f"%r{i} = func.call @{name}(%x0, %y0) : (f64, f64) -> f64")
        calls.append(f"%s{i} = noma.add {total}, %r{i} : f64, f64 -> f64")
        total = f"%s{i}"
    body = "\n    ".join(calls)
    return "\n".join(functions) + f"""
func.func @main() {{
  %h = arith.constant 0.5 : f64
  %X = noma.learn "X" %h : f64 -> !noma.param<f64>
  %Y = noma.learn "Y" %h : f64 -> !noma.param<f64>
  noma.optimize "sgd" (%X, %Y : !noma.param<f64>, !noma.param<f64>) lr(%h) beta1(%h) beta2(%h) eps(%h) max_iterations(%h) {{
    %x0 = noma.read %X : !noma.param<f64> -> f64
    %y0 = noma.read %Y : !noma.param<f64> -> f64
    {body}
    noma.minimize {total} : f64
    noma.until {total}
  }}
  func.return
}}
"""


# ---------------------------------------------------------------------------
# What the checks go through (tests/test_op_registry.py)
# ---------------------------------------------------------------------------


def checked_noma_programs() -> dict[str, str]:
    """Every NOMA program a finite-difference check compiles, by case.
    The checked code is `f` and its helpers, except in `parameter/*` cases,
    where it is main's optimize body."""
    programs: dict[str, str] = {}
    for name in SCALAR_UNARY:
        programs[f"scalar_unary/{name}"] = scalar_program(scalar_unary_source(name), 1)
    for name in SCALAR_ROUNDING:
        programs[f"scalar_rounding/{name}"] = scalar_program(scalar_rounding_source(name), 1)
    for name, (expression, _, _) in SCALAR_BINARY.items():
        programs[f"scalar_binary/{name}"] = scalar_program(scalar_binary_source(expression), 2)
    for name, source in CONTROL_FLOW.items():
        programs[f"control_flow/{name}"] = scalar_program(source, 2)
    for name in TENSOR_BINARY:
        programs[f"tensor_binary/{name}"] = tensor_program(
            tensor_binary_body(name), ((2, 3), (2, 3), (2, 3))
        )
    for name in TENSOR_UNARY:
        programs[f"tensor_unary/{name}"] = tensor_program(tensor_unary_body(name), ((3,), (3,)))
    for name, (body, shapes, _) in REDUCTIONS_AND_ALGEBRA.items():
        programs[f"tensor_op/{name}"] = tensor_program(body, tuple(shapes))
    for name in AXIS_OPS:
        for axis, keepdims in ((1, False), (-2, True)):
            shapes = ((2, 3), axis_result_shape(name, (2, 3), axis, keepdims))
            programs[f"axis/{name}/{axis}/{keepdims}"] = tensor_program(
                axis_body(name, axis, keepdims), shapes
            )
    for name, (helper, shapes) in BATCH_LOOPS.items():
        programs[f"batch_loop/{name}"] = tensor_program(batch_loop_body(name), tuple(shapes), helper)
    for name, (body, shapes) in PARAMETER_CASES.items():
        programs[f"parameter/{name}"] = parameter_program(body, len(shapes))
    return programs


def checked_mlir_modules() -> dict[str, str]:
    """The hand-written modules the finite-difference checks compile."""
    return {
        "upstream": mlir_module_text({f"case_{n}": c.body for n, c in UPSTREAM_CASES.items()}),
        "noma_ir": mlir_module_text({f"case_{n}": c.body for n, c in NOMA_IR_CASES.items()}),
    }

