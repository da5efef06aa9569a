"""The optimizers of `noma.optimize`, described once.

Each entry of `OPTIMIZERS` says everything NOMA knows about one optimizer:
its name (the `optimizer` property of `noma.optimize`, the word after `with`
in a program), the number the `optimizer` variable selects it by, its
hyper-parameters (their order in `with NAME(...)`, their keywords, the
operand of `noma.optimize` that carries each, their defaults), the state it
keeps per parameter, and its update rule. The frontend, the dialect's
verifiers, `expand-optimizers`, `legalize-growth` and the loops lowering of
the parameter storage all read this table, so adding an optimizer is one
entry here plus its tests (docs/language.md, "Adding an optimizer").

The update rule lives here, in the dialect, and not in `expand-optimizers`:
it is what the optimizer's name *means*, written with the `noma` dialect's
own ops at the level of `noma.optimize`, like the derivative rules kept next
to the ops. It lowers nothing; `expand-optimizers` decides where a step goes
(the loop, the step count, reading and writing the parameter) and calls the
rule for the arithmetic.

The hyper-parameters travel as the four operands `lr`, `beta1`, `beta2` and
`eps` of `noma.optimize` (plus `max_iterations`, which belongs to the loop):
an optimizer names the ones it uses and calls them what its users do
(RMSprop's `beta` is carried by `beta2`). An optimizer needing a fifth would
need a new operand on `noma.optimize`.

The state slots of a parameter are the moments the optimizers keep (tensors
shaped like the parameter, zero when it is created or reset, resized with it)
and the step count `t` (an f64), shared by every optimizer: a parameter
trained by Adam in one loop and by RMSprop in the next keeps its `v`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from xdsl.ir import SSAValue

from noma.dialects.noma import elementwise as ew
from noma.dialects.noma.builder import NomaBuilder

HYPER_OPERANDS: Mapping[str, float] = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
"""The operands of `noma.optimize` that carry hyper-parameters, in the op's
operand order, each with the value it takes when the chosen optimizer does
not use it (and the default of the hyper-parameters it carries, unless their
entry says otherwise)."""

STEP_SLOT = "t"
"""The state slot counting a parameter's steps (an f64)."""


@dataclass(frozen=True)
class HyperParameter:
    keyword: str
    """Its name in the `with` clause; an optimizer's hyper-parameters are
    listed in the order they are given positionally."""
    operand: str
    """The operand of `noma.optimize` that carries it: a key of HYPER_OPERANDS."""
    default: float | None = None
    """None: the operand's value in HYPER_OPERANDS."""
    aliases: tuple[str, ...] = ()
    """Other keywords that set it (`learning_rate` for `lr`)."""

    @property
    def default_value(self) -> float:
        return HYPER_OPERANDS[self.operand] if self.default is None else self.default


@dataclass(frozen=True)
class Step:
    """What an update rule builds one step of one parameter with."""

    b: NomaBuilder
    """Inserts the step's ops, at the step's source location."""
    value: SSAValue
    """The parameter's value before the step, of the gradient's type."""
    grad: SSAValue
    step: SSAValue
    """The parameter's step count, this step included (1.0 on its first)."""
    hyper: Mapping[str, SSAValue]
    """The optimizer's hyper-parameters by keyword."""
    read_state: Callable[[str], SSAValue]
    """A moment slot's value before the step, of the gradient's type."""
    write_state: Callable[[str, SSAValue], None]


UpdateRule = Callable[[Step], SSAValue]
"""Builds one step's arithmetic; gives the parameter's new value."""


@dataclass(frozen=True)
class Optimizer:
    name: str
    title: str
    """How messages name it: `Adam`."""
    code: int
    """The value of the `optimizer` variable that selects it (LANGUAGE.md 5.3)."""
    hyper: tuple[HyperParameter, ...]
    moments: tuple[str, ...]
    """The state slots shaped like the parameter that its rule reads and writes."""
    update: UpdateRule
    selected_by: str | None = None
    """A variable whose non-zero value selects it when the program gives
    neither a `with` clause nor `optimizer` (`use_adam`)."""

    @property
    def positional(self) -> tuple[str, ...]:
        return tuple(h.keyword for h in self.hyper)

    def keywords(self) -> dict[str, HyperParameter]:
        """Every keyword it takes, aliases included, in the order of its
        hyper-parameters."""
        return {k: h for h in self.hyper for k in (h.keyword, *h.aliases)}


def decayed(b: NomaBuilder, average: SSAValue, sample: SSAValue, beta: SSAValue) -> SSAValue:
    """`beta * average + (1 - beta) * sample`: an exponential moving average."""
    return b.add(b.mul(beta, average), b.mul(b.sub(b.constant(1.0), beta), sample))


def _sgd(s: Step) -> SSAValue:
    """w - lr * g"""
    return s.b.sub(s.value, s.b.mul(s.hyper["lr"], s.grad))


def _adam(s: Step) -> SSAValue:
    """Adam with bias correction by the parameter's own step count."""
    b, g = s.b, s.grad
    beta1, beta2 = s.hyper["beta1"], s.hyper["beta2"]
    m = decayed(b, s.read_state("m"), g, beta1)
    v = decayed(b, s.read_state("v"), b.mul(g, g), beta2)
    s.write_state("m", m)
    s.write_state("v", v)
    one = b.constant(1.0)
    m_hat = b.div(m, b.sub(one, b.binary(ew.PowOp, beta1, s.step)))
    v_hat = b.div(v, b.sub(one, b.binary(ew.PowOp, beta2, s.step)))
    update = b.div(b.mul(s.hyper["lr"], m_hat), b.add(b.unary(ew.SqrtOp, v_hat), s.hyper["eps"]))
    return b.sub(s.value, update)


def _rmsprop(s: Step) -> SSAValue:
    """w - lr * g / (sqrt(v) + eps), v the decayed average of g²."""
    b, g = s.b, s.grad
    v = decayed(b, s.read_state("v"), b.mul(g, g), s.hyper["beta"])
    s.write_state("v", v)
    update = b.div(b.mul(s.hyper["lr"], g), b.add(b.unary(ew.SqrtOp, v), s.hyper["eps"]))
    return b.sub(s.value, update)


_LR = HyperParameter("lr", "lr", aliases=("learning_rate",))
_EPS = HyperParameter("eps", "eps", aliases=("epsilon",))

OPTIMIZERS: dict[str, Optimizer] = {}
"""Every optimizer, by name, in the order messages list them."""


def register_optimizer(optimizer: Optimizer) -> Optimizer:
    """Add an optimizer to the table (tests add their own; restore the table
    after them)."""
    if optimizer.name in OPTIMIZERS:
        raise ValueError(f"optimizer '{optimizer.name}' is already registered")
    if any(o.code == optimizer.code for o in OPTIMIZERS.values()):
        raise ValueError(f"optimizer code {optimizer.code} is already taken")
    operands = [h.operand for h in optimizer.hyper]
    if len(set(operands)) != len(operands) or not set(operands) <= set(HYPER_OPERANDS):
        raise ValueError(
            f"optimizer '{optimizer.name}': each hyper-parameter needs its own operand "
            f"among {', '.join(HYPER_OPERANDS)}"
        )
    if STEP_SLOT in optimizer.moments:
        raise ValueError(f"'{STEP_SLOT}' is the step count, not a moment")
    OPTIMIZERS[optimizer.name] = optimizer
    return optimizer


register_optimizer(Optimizer("sgd", "SGD", 1, (_LR,), (), _sgd))
register_optimizer(
    Optimizer(
        "adam",
        "Adam",
        2,
        (_LR, HyperParameter("beta1", "beta1"), HyperParameter("beta2", "beta2"), _EPS),
        ("m", "v"),
        _adam,
        selected_by="use_adam",
    )
)
register_optimizer(
    Optimizer(
        "rmsprop",
        "RMSprop",
        3,
        (_LR, HyperParameter("beta", "beta2", 0.9), _EPS),
        ("v",),
        _rmsprop,
        selected_by="use_rmsprop",
    )
)

DEFAULT_OPTIMIZER = "sgd"
"""The optimizer of a program that chooses none."""


def optimizer_names() -> tuple[str, ...]:
    return tuple(OPTIMIZERS)


def moment_slots() -> tuple[str, ...]:
    """The moment slots of every parameter: those of all optimizers, in
    table order, each once."""
    return tuple(dict.fromkeys(slot for o in OPTIMIZERS.values() for slot in o.moments))


def state_slots() -> tuple[str, ...]:
    """Every optimizer state slot of a parameter: the moments, then the step count."""
    return (*moment_slots(), STEP_SLOT)


def listed(names: tuple[str, ...] | list[str], last: str = ", ") -> str:
    """`a, b, c`, or `a, b or c` with `last=" or "`."""
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + last + names[-1]
