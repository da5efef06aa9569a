"""Tensors end to end: static shape errors at compile time, run-time checks
where shapes are dynamic, bounds-checked indexing, printing, results as
numpy arrays, and memory that stays flat however long training runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from programs import peak_rss_kib as run_peak_rss_kib
from programs import run_cli

import noma
from noma.compiler import ProgramError
from noma.frontend.diagnostics import NomaError


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("fn main() {\n  return matmul([[1, 2, 3], [4, 5, 6]], [[1, 2, 3], [4, 5, 6]]);\n}\n",
         "p.noma:2:10: error: matmul of [2, 3] by [2, 3]: the inner dimensions 3 and 2 differ"),
        ("fn main() {\n  let a = [[1, 2, 3], [4, 5, 6]];\n  return a + [[1, 2], [3, 4], [5, 6]];\n}\n",
         "p.noma:3:12: error: '+' of a [2, 3] tensor and a [3, 2] tensor: they do not broadcast"),
        ("fn main() {\n  return dot([1, 2], [1, 2, 3]);\n}\n",
         "p.noma:2:10: error: dot of tensors of lengths 2 and 3"),
        ("fn main() {\n  return [[1, 2], [3]];\n}\n", "p.noma:2:19: error: ragged tensor literal"),
        ("fn main() {\n  let x = 2;\n  return x[0];\n}\n", "p.noma:3:11: error: cannot index a scalar"),
        ("fn main() {\n  if [1, 2] { return 1; }\n  return 0;\n}\n",
         "p.noma:2:6: error: the condition of `if` must be a scalar"),
    ],
)  # fmt: skip
def test_static_shape_errors_are_compile_errors(tmp_path: Path, source: str, message: str) -> None:
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_out_of_bounds_index_is_a_located_runtime_error(tmp_path: Path) -> None:
    proc = run_cli(
        tmp_path,
        "fn main() {\n  let a = [[1, 2], [3, 4]];\n  let i = 0;\n"
        "  while i < 5 { print(a[i][0]); i = i + 1; }\n}\n",
    )
    assert proc.returncode == 1
    assert proc.stdout == "1.0\n3.0\n"
    assert proc.stderr == (
        "p.noma:4:24: runtime error: index 2 is out of bounds for a dimension of size 2\n"
    )


def test_negative_indices_count_from_the_end(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "fn main() {\n  let a = [10, 20, 30];\n  return a[-1] + a[-3];\n}\n")
    assert (proc.returncode, proc.stdout) == (0, "40.0\n")
    proc = run_cli(tmp_path, "fn main() {\n  let a = [10, 20, 30];\n  return a[-4];\n}\n")
    assert proc.returncode == 1
    assert "p.noma:3:11: runtime error: index -4 is out of bounds" in proc.stderr


DYNAMIC = """
fn main() {{
  let x = [1.0, 2.0];
  if {grow} {{ x = [1.0, 2.0, 3.0]; }}
  print(x);
  return sum(x + [10.0, 20.0]);
}}
"""


def test_dynamic_shapes_are_checked_at_run_time(tmp_path: Path) -> None:
    """`x` is a [2] or a [3] tensor depending on a run-time condition, so its
    type is tensor<?xf64>; adding a [2] is checked when it runs."""
    ok = run_cli(tmp_path, DYNAMIC.format(grow="0"))
    assert (ok.returncode, ok.stdout) == (0, "[1.0, 2.0]\n33.0\n")
    assert "tensor<?xf64>" in noma.compile(DYNAMIC.format(grow="0")).ir("noma").__str__()
    bad = run_cli(tmp_path, DYNAMIC.format(grow="1"))
    assert bad.returncode == 1
    assert bad.stdout == "[1.0, 2.0, 3.0]\n"
    assert bad.stderr == (
        "p.noma:6:16: runtime error: operands of shapes [3] and [2] do not broadcast\n"
    )


FUSED = "fn main(A, B) {\n    return sum(A * B) + sum(exp(A - B));\n}\n"


@pytest.mark.parametrize(
    ("a_rows", "b_rows"), [(3, 3), (1, 3), (3, 1), (3, 2), (2, 3)]
)
def test_fused_operands_of_one_dynamic_type_broadcast_or_fail(a_rows: int, b_rows: int) -> None:
    """A and B are both [?, ?]: the fused A * B and A - B must check that
    their rows agree or one of them is 1 (it once read past B's rows, and
    iterated over A's when A was the one broadcast), and the loop versions
    for operands that do not broadcast (noma-unswitch-broadcasts) must give
    what the general ones give."""
    rng = np.random.default_rng(a_rows * 10 + b_rows)
    a, b = rng.normal(size=(a_rows, 4)), rng.normal(size=(b_rows, 4))
    program = noma.compile(FUSED)
    if a_rows == b_rows or 1 in (a_rows, b_rows):
        got = program.run(args={"A": a, "B": b})
        expected = np.sum(a * b) + np.sum(np.exp(a - b))
        assert got == pytest.approx(expected, rel=1e-12)
    else:
        with pytest.raises(ProgramError, match=(
            rf"operands of shapes \[{a_rows}, 4\] and \[{b_rows}, 4\] do not broadcast"
        )):  # fmt: skip
            program.run(args={"A": a, "B": b})


def test_runtime_error_in_the_python_api() -> None:
    program = noma.compile("fn main() { let a = [1, 2]; let i = 5; return a[i]; }")
    with pytest.raises(ProgramError):
        program.run()
    # The process is still alive, and the program can run again.
    with pytest.raises(ProgramError):
        program.run()


def test_results_are_numpy_arrays() -> None:
    result = noma.compile("fn main() { return [[1, 2], [3, 4]] * 0.5; }").run()
    assert isinstance(result, np.ndarray)
    np.testing.assert_array_equal(result, [[0.5, 1.0], [1.5, 2.0]])
    row = noma.compile("fn main() { let m = [[1, 2], [3, 4]]; return m[1]; }").run()
    np.testing.assert_array_equal(row, [3.0, 4.0])


def test_function_specialised_per_shape() -> None:
    program = noma.compile(
        "fn double(x) { return x * 2; }\n"
        "fn main() { return double(3) + sum(double([1, 2])) + sum(double([[1], [2]])); }"
    )
    assert program.run() == 6 + 6 + 6
    symbols = [op.sym_name.data for op in program.ir("noma").ops]
    assert symbols.count("fn.main") == 1 and len([s for s in symbols if "double" in s]) == 3


def test_shape_errors_inside_functions_name_the_call_site_types() -> None:
    program = noma.compile(
        "fn f(a, b) { return matmul(a, b); }\nfn main() { return f([[1, 2]], [[1, 2]]); }"
    )
    with pytest.raises(NomaError) as info:
        program.llvm_ir
    assert info.value.loc is not None and info.value.loc.line == 1


MEMORY = """
fn main() {{
    let X = [[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [1.0, 0.5, 0.25, 2.0, 1.0, 0.0, 3.0, 1.0]];
    learn W = [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [0.0, 0.1, 0.0, 0.1, 0.0, 0.1, 0.0, 0.1]];
    let max_iterations = {steps};
    let history = [0.0, 0.0, 0.0, 0.0];
    optimize(W) with adam(0.001) until loss < 0 {{
        let H = sigmoid(X * W + W);
        let acc = H;
        let i = 0;
        while i < 2 {{ acc = acc * 0.5 + H; i = i + 1; }}
        let loss = mean(H * H) + sum(W * W);
        history = history * 0.5 + [loss, loss, loss, loss];
        minimize loss;
    }}
    return sum(history) + sum(acc);
}}
"""


def peak_rss_kib(tmp_path: Path, steps: int) -> int:
    """The peak resident memory of `noma run` training `steps` steps."""
    program = tmp_path / f"memory_{steps}.noma"
    program.write_text(MEMORY.format(steps=steps))
    return run_peak_rss_kib(program)


@pytest.mark.slow
def test_memory_is_flat_across_training_iterations(tmp_path: Path) -> None:
    """Every temporary of an iteration (forward, gradient, optimizer step, a
    tensor carried by a loop and one carried across iterations) is freed or
    reused in that iteration: 200,000 steps use the memory of 2,000."""
    short = peak_rss_kib(tmp_path, 2_000)
    long = peak_rss_kib(tmp_path, 200_000)
    print(f"peak RSS: 2,000 steps {short} KiB, 200,000 steps {long} KiB")
    assert long <= short * 1.10


def test_sum_and_mean_of_a_scalar_are_the_scalar() -> None:
    """One element: its sum and its mean are itself (as np.sum, np.mean),
    gradient included; once refused with "cannot lower 'noma.sum' to loops"."""
    assert noma.compile("fn main() { return sum(2.5) + mean(-1.0) * 10; }").run() == -7.5
    # d/dw sum(w * w) = 2 w: sgd(0.25) halves w at every step, from 1 to 1/64.
    trained = noma.compile(
        "fn main() {\n  learn w = 1.0;\n  optimize(w) with sgd(0.25, max_iterations=100) "
        "until w < 0.02 {\n    let loss = mean(sum(w * w));\n    minimize loss;\n  }\n"
        "  return w;\n}\n"
    ).run()
    assert trained == 1 / 64
