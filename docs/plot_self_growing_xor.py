"""Plots the loss curves of the self-growing XOR demo into
docs/images/self_growing_xor.png: examples/self_growing_xor.noma (the Adam
state kept across the growth) against examples/self_growing_xor_reset.noma
(reset_optimizer() right after it), log-scale loss against Adam steps, the
growth and the `until loss < 0.002` threshold marked.

    pip install -e '.[plot]'
    python docs/plot_self_growing_xor.py              # runs both examples with NOMA
    python docs/plot_self_growing_xor.py --expected   # plots their expected .out instead
    python docs/plot_self_growing_xor.py --output /tmp/growth.png

Each example prints its loss once per iteration of its optimize loops, before
the iteration's step, and then main's result; the loss printed after k Adam
steps is plotted at k. Phase 1 prints the losses after 0..199 steps (its last
iteration takes step 200), phase 2 those after 200, 201, ... steps: the point
at step 200 is the first loss of the grown 2-16-1 network. The image is
written atomically (noma.atomic).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "images" / "self_growing_xor.png"
TOOL = "plot_self_growing_xor.py"

PHASE1_STEPS = 200
"""Phase 1 always runs all its max_iterations = 200 iterations, each with
its step (the 2-2-1 network never reaches the target): it prints 200 losses."""
UNTIL = 0.002


@dataclass(frozen=True)
class Curve:
    example: str
    label: str
    color: str


CURVES = (
    Curve("examples/self_growing_xor.noma", "Adam state kept", "tab:blue"),
    Curve("examples/self_growing_xor_reset.noma", "reset_optimizer() at growth", "tab:orange"),
)


class PlotError(Exception):
    """Reported as one message and exit status 1."""


def parse_losses(stdout: str, source: str) -> list[float]:
    """The printed losses: every line but the last (main's result)."""
    try:
        values = [float(line) for line in stdout.splitlines()]
    except ValueError:
        raise PlotError(f"{source} printed something else than numbers") from None
    if len(values) < PHASE1_STEPS + 2:
        raise PlotError(f"{source} printed {len(values)} lines, too few for both phases")
    return values[:-1]


def noma_losses(example: str) -> list[float]:
    """Runs the example with `noma run` (this interpreter's NOMA)."""
    proc = subprocess.run(
        [sys.executable, "-m", "noma.tools.noma_cli", "run", example],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != 0:
        raise PlotError(f"`noma run {example}` failed:\n{proc.stderr.rstrip()}")
    return parse_losses(proc.stdout, example)


def expected_losses(example: str) -> list[float]:
    """The losses of the example's expected output (`.out`)."""
    path = (ROOT / example).with_suffix(".out")
    return parse_losses(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))


def steps_axis(losses: list[float]) -> list[int]:
    """The Adam steps taken before each printed loss: one step per loss,
    across both phases."""
    return list(range(len(losses)))


def render(curves: dict[Curve, list[float]]) -> bytes:
    """The figure as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for curve, losses in curves.items():
        steps = steps_axis(losses)
        after_growth = len(losses) - PHASE1_STEPS - 1  # the last loss met the target
        label = f"{curve.label}: {after_growth}"
        ax.plot(steps, losses, color=curve.color, linewidth=1.6, label=label)
        ax.plot(steps[-1], losses[-1], "o", color=curve.color, markersize=5)
    ax.axvline(PHASE1_STEPS, color="0.35", linestyle=":", linewidth=1.2)
    ax.annotate(
        "growth: 2-2-1 → 2-16-1",
        (PHASE1_STEPS, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, -14),
        textcoords="offset points",
        color="0.25",
        fontsize=9,
    )
    ax.axhline(UNTIL, color="tab:red", linestyle="--", linewidth=1.0)
    ax.annotate(
        f"until loss < {UNTIL}",
        (0.0, UNTIL),
        xycoords=("axes fraction", "data"),
        xytext=(4, 4),
        textcoords="offset points",
        color="tab:red",
        fontsize=9,
    )
    ax.set_yscale("log")
    ax.set_xlabel("Adam steps")
    ax.set_ylabel("loss  mean((pred - Y)²)")
    ax.set_title("Self-growing XOR: Adam(0.05) on 2-2-1, then Adam(0.12) on 2-16-1")
    ax.legend(
        title=f"steps after growth to loss < {UNTIL}",
        title_fontsize=9,
        loc="lower left",
        bbox_to_anchor=(0.0, 0.1),
        fontsize=9,
    )
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=TOOL, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--expected",
        action="store_true",
        help="plot the examples' expected outputs (.out) instead of running them",
    )
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help="the PNG to write (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if not have_matplotlib():
        print(f"{TOOL}: error: matplotlib is missing: pip install -e '.[plot]'", file=sys.stderr)
        return 1
    losses = expected_losses if args.expected else noma_losses
    try:
        curves = {curve: losses(curve.example) for curve in CURVES}
    except PlotError as e:
        print(f"{TOOL}: error: {e}", file=sys.stderr)
        return 1
    from noma import atomic

    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(args.output, render(curves))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
