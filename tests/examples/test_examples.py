"""Every program in examples/ runs with `noma run` and prints exactly its
expected output (`<name>.out`), with nothing or exactly `<name>.err` on
stderr. The expected numbers themselves are checked independently against
Python re-implementations in test_reference.py.

`noma run` runs in this process (the real entry point, fds 1 and 2
captured), on the session's one compile of each example (in_process.py);
two examples also run as `noma` processes, as a user starts them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from in_process import noma_in_process

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.noma"))
QUICK = {"minimize_square", "tensor_basics", "builtins"}
"""Examples that also run in the quick subset (`pytest -m "not slow"`)."""
AS_PROCESSES = ["xor_2_16_1", "csv_linear_regression"]
"""A warning on stderr; a file read at run time."""


def expected(example: Path) -> tuple[int, str, str]:
    err = example.with_suffix(".err")
    return 0, example.with_suffix(".out").read_text(), err.read_text() if err.exists() else ""


def test_every_example_has_an_expected_output() -> None:
    assert EXAMPLES, "no examples found"
    missing = [p.name for p in EXAMPLES if not p.with_suffix(".out").exists()]
    assert not missing, f"examples without a .out file: {missing}"


@pytest.mark.parametrize(
    "example",
    [pytest.param(p, marks=() if p.stem in QUICK else pytest.mark.slow) for p in EXAMPLES],
    ids=lambda p: p.stem,
)
def test_example_output(example: Path) -> None:
    proc = noma_in_process("run", str(example.relative_to(ROOT)), cwd=ROOT, share_compile=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == expected(example)


@pytest.mark.slow
@pytest.mark.parametrize("name", AS_PROCESSES)
def test_example_output_of_the_noma_process(name: str) -> None:
    example = ROOT / "examples" / f"{name}.noma"
    proc = subprocess.run(
        ["noma", "run", str(example.relative_to(ROOT))], cwd=ROOT, capture_output=True,
        text=True, stdin=subprocess.DEVNULL, timeout=300, check=False,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == expected(example)
