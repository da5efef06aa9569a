"""Writes the self-growing XOR demo, examples/self_growing_xor.noma, and its
variant with reset_optimizer() after the growth,
examples/self_growing_xor_reset.noma, with the weights of data/xor_init.json
written out with 17 significant digits (exactly the JSON's doubles), and
their expected output: `.out`, every loss the program prints and then main's
result, and `.err`, the warning of phase 1, which stops at max_iterations.

    python benchmarks/gen_growth_example.py           # (re)write the six files
    python benchmarks/gen_growth_example.py --check   # exit 1 if one is stale

The expected losses are those of the NumPy peer
(benchmarks/peers/xor_growth_numpy.py) with its EXACT kernels, which follow
NOMA's floating-point order and call the C library's exp, so they are the
numbers the compiled program prints, bit for bit. The program text reuses
the number and matrix formatting of benchmarks/gen_xor_example.py.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
from script_module import load_module

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
INIT_PATH = ROOT / "data" / "xor_init.json"
EXAMPLES = ROOT / "examples"
STEM = "self_growing_xor"

INDENT = "    "


def xor_gen() -> ModuleType:
    """benchmarks/gen_xor_example.py: `number`, `matrix`, `up_to_date`,
    `write_atomically`."""
    return load_module(HERE / "gen_xor_example.py")


def peer() -> ModuleType:
    """benchmarks/peers/xor_growth_numpy.py."""
    return load_module(HERE / "peers" / "xor_growth_numpy.py")


@dataclass(frozen=True)
class Variant:
    reset: bool

    @property
    def example(self) -> Path:
        return EXAMPLES / (f"{STEM}_reset.noma" if self.reset else f"{STEM}.noma")


VARIANTS = (Variant(reset=False), Variant(reset=True))


# --------------------------------------------------------------------------
# Program text
# --------------------------------------------------------------------------


def decimal(x: float) -> str:
    """`number(x)`, with a decimal point when it would have none (`0.0`, not
    `0`), so the placeholders of the init tensors read as numbers."""
    text = xor_gen().number(x)
    return text if any(c in text for c in ".en") else text + ".0"


def literal(array: np.ndarray, indent: str = INDENT) -> str:
    """A 2-D array as a tensor literal, formatted as gen_xor_example does."""
    return xor_gen().matrix(array.tolist(), indent, decimal)


def realloc_statements(init_path: Path = INIT_PATH, indent: str = INDENT) -> str:
    """The growth event: both reallocs with their init tensors (full new
    shape; the old weights' places hold 0.0 placeholders). Also the event
    that `benchmarks/run.py xor-growth` times."""
    w1_init, w2_init = peer().growth_inits(peer().initial_weights(init_path))
    return (
        f"realloc W1 = [2, {w1_init.shape[1]}] init {literal(w1_init, indent)};\n"
        f"{indent}realloc W2 = [{w2_init.shape[0]}, 1] init {literal(w2_init, indent)};"
    )


def phase2_steps(init_path: Path = INIT_PATH) -> dict[bool, int]:
    """reset -> the steps phase 2 takes to reach the `until` condition."""
    weights = peer().initial_weights(init_path)
    return {v.reset: peer().run(v.reset, weights, peer().EXACT).phase2_steps for v in VARIANTS}


def comment(*paragraphs: str, indent: str = "") -> str:
    """Paragraphs as `//` comment lines of at most 80 columns, a blank
    comment line between paragraphs; a paragraph starting with four spaces
    is kept as it is (a command)."""
    blocks = []
    for paragraph in paragraphs:
        if paragraph.startswith("    "):
            blocks.append([f"{indent}// {paragraph}"])
        else:
            width = 80 - len(indent) - 3
            blocks.append([f"{indent}// {line}" for line in textwrap.wrap(paragraph, width)])
    return f"\n{indent}//\n".join("\n".join(block) for block in blocks)


def header(variant: Variant, steps: dict[bool, int]) -> str:
    """The comment at the top of the example: what it is, how to run it."""
    kept, reset = steps[False], steps[True]
    if not variant.reset:
        about = [
            (
                "The self-growing XOR demo. A 2-2-1 sigmoid network (no biases) trains on XOR "
                "with Adam and cannot fit it in 200 steps; then W1 and W2 grow, while the "
                "program runs, into a 2-16-1 network, and training goes on: the old weights "
                "and their Adam moments keep their indices, the new weights come from "
                "data/xor_init.json, the new moments start at zero and each parameter's step "
                f"count continues. The grown network reaches loss < 0.002 after {kept} more "
                "steps."
            ),
            (
                f"examples/{STEM}_reset.noma is the same run with reset_optimizer() right "
                f"after the growth; it needs {reset} steps instead of {kept}."
            ),
        ]
    else:
        about = [
            (
                f"The self-growing XOR demo, reset variant: the same run as "
                f"examples/{STEM}.noma (a 2-2-1 sigmoid network trained with Adam grows into "
                "a 2-16-1 network after 200 steps), except that reset_optimizer() right after "
                "the growth sets the Adam moments and step counts of W1 and W2 back to zero. "
                f"Phase 2 then needs {reset} steps to reach loss < 0.002, against {kept} when "
                "the optimizer state is kept."
            )
        ]
    return comment(
        *about,
        "Every loss is printed; phase 1 stops at max_iterations with a warning on stderr, "
        "and main returns the last loss. Run it with",
        f"    noma run examples/{variant.example.name}",
        "benchmarks/run.py xor-growth times the same run against C and NumPy peers. "
        "Generated by benchmarks/gen_growth_example.py from data/xor_init.json; do not "
        "edit by hand.",
    )


def optimize_loop(lr: float, max_iterations: int) -> str:
    return f"""\
    let max_iterations = {max_iterations};
    optimize(W1, W2) with adam({lr}) until loss < {peer().UNTIL} {{
        let pred = forward(X, W1, W2);
        let loss = mean((pred - Y) * (pred - Y));
        print(loss);
        minimize loss;
    }}"""


def render(variant: Variant, init_path: Path = INIT_PATH) -> str:
    """The text of the variant's example."""
    p = peer()
    weights = p.initial_weights(init_path)
    growth_comment = comment(
        f"Growth: {p.HIDDEN_AFTER - p.HIDDEN_BEFORE} more hidden units. realloc is index "
        "preserving: the old weights and their Adam moments keep their indices (the new "
        "moments are zero, the step counts go on). The init tensor gives the new elements "
        f"only: its first {p.HIDDEN_BEFORE} columns (of W1) and rows (of W2) are "
        "placeholders.",
        indent=INDENT,
    )
    reset = (
        "\n    // Reset variant: forget the moments and step counts of W1 and W2.\n"
        "    reset_optimizer();"
        if variant.reset
        else ""
    )
    return f"""\
{header(variant, phase2_steps(init_path))}
fn forward(X, W1, W2) {{
    return sigmoid(matmul(sigmoid(matmul(X, W1)), W2));
}}

fn main() {{
    let X = tensor [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let Y = tensor [[0.0], [1.0], [1.0], [0.0]];
    learn W1 = {literal(weights.w1)};
    learn W2 = {literal(weights.w2)};

    // Phase 1: the 2-2-1 network cannot fit XOR in {p.PHASE1.max_iterations} Adam steps.
{optimize_loop(p.PHASE1.lr, p.PHASE1.max_iterations)}

{growth_comment}
    {realloc_statements(init_path)}{reset}

    // Phase 2: the 2-{p.HIDDEN_AFTER}-1 network, up to {p.PHASE2.max_iterations} Adam steps.
{optimize_loop(p.PHASE2.lr, p.PHASE2.max_iterations)}
    return loss;
}}
"""


# --------------------------------------------------------------------------
# Expected output
# --------------------------------------------------------------------------


def expected_output(variant: Variant, init_path: Path = INIT_PATH) -> str:
    """What `noma run` prints on stdout: every loss, then main's result (the
    last loss), each in Python's repr form, which is NOMA's print format."""
    p = peer()
    result = p.run(variant.reset, p.initial_weights(init_path), p.EXACT)
    return "".join(f"{loss!r}\n" for loss in [*result.losses, result.final_loss])


def phase1_location(text: str) -> tuple[int, int]:
    """Line and column (1-based) of the `optimize` keyword of phase 1, where
    NOMA locates its max_iterations warning."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("optimize("):
            return number, line.index("optimize") + 1
    raise ValueError("no optimize statement")


def expected_stderr(variant: Variant, text: str) -> str:
    """The warning of phase 1, located, as `noma run examples/...` prints it
    (phase 2 reaches its `until` condition in both variants)."""
    from noma.passes.expand_optimizers import MAX_ITERATIONS_WARNING

    line, column = phase1_location(text)
    message = MAX_ITERATIONS_WARNING.format(peer().PHASE1.max_iterations)
    shown = variant.example.relative_to(ROOT)
    return f"{shown}:{line}:{column}: warning: {message}\n"


def files(init_path: Path = INIT_PATH) -> dict[Path, str]:
    """Every file this script writes, with its text."""
    out: dict[Path, str] = {}
    for variant in VARIANTS:
        text = render(variant, init_path)
        out[variant.example] = text
        out[variant.example.with_suffix(".out")] = expected_output(variant, init_path)
        out[variant.example.with_suffix(".err")] = expected_stderr(variant, text)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="only check that the files are up to date"
    )
    args = parser.parse_args()
    gen = xor_gen()
    wanted = files()
    stale = [p for p, text in wanted.items() if not gen.up_to_date(p, text)]
    if args.check:
        for p in stale:
            print(
                f"{p.relative_to(ROOT)} is out of date: run {Path(__file__).name}", file=sys.stderr
            )
        return 1 if stale else 0
    for p, text in wanted.items():
        gen.write_atomically(p, text)
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
