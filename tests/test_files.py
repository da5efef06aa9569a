"""Run-time file I/O end to end (LANGUAGE.md section 8): programs that read
and write CSV and safetensors files while they run, main's parameters given
as files, the errors, and atomic writes. The C side is tested on its own in
tests/runtime/test_io_runtime.py."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from programs import run_cli
from safetensors.numpy import load_file, save_file

import noma


def in_dir(tmp_path: Path, source: str, **args: str) -> float | np.ndarray | None:
    """Run `source` with `tmp_path` as the working directory (paths in
    programs are relative to it)."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        return noma.compile(source, arg_files=args).run(args=args)
    finally:
        os.chdir(cwd)


# -- CSV ---------------------------------------------------------------------------


def test_load_csv_gives_the_table_with_its_run_time_shape(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("# x1, x2\n1, 2\n\n3,4.5  # a comment\n-1e-3,7\n")
    result = in_dir(tmp_path, 'fn main() { load_csv X = "x.csv"; return X * 2; }')
    assert np.array_equal(result, np.array([[2.0, 4.0], [6.0, 9.0], [-2e-3, 14.0]]))


def test_one_column_is_a_column(tmp_path: Path) -> None:
    (tmp_path / "y.csv").write_text("1\n2\n3\n")
    result = in_dir(tmp_path, 'fn main() { load_csv Y = "y.csv"; return Y; }')
    assert isinstance(result, np.ndarray) and result.shape == (3, 1)


def test_save_csv_round_trips_exactly(tmp_path: Path) -> None:
    values = np.random.default_rng(1).standard_normal((4, 3)) * 10.0 ** np.arange(-6, 6, 1)[:3]
    rows = ", ".join("[" + ", ".join(repr(float(v)) for v in row) + "]" for row in values)
    source = f"""
    fn main() {{
        let A = tensor [{rows}];
        save_csv A, "a.csv";
        save_csv A[0], "row.csv";
        save_csv sum(A), "total.csv";
        load_csv B = "a.csv";
        return B;
    }}
    """
    result = in_dir(tmp_path, source)
    assert np.array_equal(result, values)
    lines = (tmp_path / "a.csv").read_text().splitlines()
    assert lines == [",".join(repr(float(v)) for v in row) for row in values]
    assert (tmp_path / "row.csv").read_text() == "".join(f"{float(v)!r}\n" for v in values[0])
    assert float((tmp_path / "total.csv").read_text()) == pytest.approx(values.sum(), rel=1e-12)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,2\n3,x\n", "p.noma:1:13: runtime error: x.csv:2: 'x' is not a number"),
        ("1,2\n3\n", "p.noma:1:13: runtime error: x.csv:2: 1 value, where the rows before have 2"),
        ("# nothing\n", "p.noma:1:13: runtime error: x.csv: no data"),
    ],
)
def test_bad_csv_is_a_located_run_time_error(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "x.csv").write_text(content)
    proc = run_cli(tmp_path, 'fn main() { load_csv X = "x.csv"; return X; }')
    assert proc.returncode == 1
    assert proc.stderr.strip() == message


def test_missing_file(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, 'fn main() {\n    load_csv X = "nope.csv";\n    return X;\n}')
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "p.noma:2:5: runtime error: cannot read 'nope.csv': No such file or directory"
    )


def test_path_must_be_a_string_literal(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "fn main() { let p = 1; load_csv X = p; return X; }")
    assert proc.returncode == 1
    assert "p.noma:1:37: error: a file path must be a string literal" in proc.stderr


def test_rank_3_save_is_a_compile_error(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, 'fn main() { save_csv tensor [[[1.0]]], "a.csv"; }')
    assert proc.returncode == 1
    assert "save_csv writes scalars, 1-D and 2-D tensors, not a rank-3 one" in proc.stderr


# -- safetensors ------------------------------------------------------------------------


def test_saved_safetensors_load_in_the_safetensors_package(tmp_path: Path) -> None:
    in_dir(
        tmp_path,
        """
        fn main() {
            let W1 = tensor [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
            let b = tensor [0.5, -0.25];
            save_safetensors { W1: W1, b: b, loss: 0.125 }, "model.safetensors";
        }
        """,
    )
    tensors = load_file(str(tmp_path / "model.safetensors"))
    assert sorted(tensors) == ["W1", "b", "loss"]
    assert tensors["W1"].dtype == np.float64
    assert np.array_equal(tensors["W1"], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert np.array_equal(tensors["b"], [0.5, -0.25])
    assert tensors["loss"].shape == () and tensors["loss"] == 0.125


def test_torch_reads_what_noma_writes(tmp_path: Path) -> None:
    torch = pytest.importorskip(
        "torch", reason="PyTorch is not installed: interop checked with numpy only"
    )
    in_dir(tmp_path, 'fn main() { save_safetensors { W: tensor [1.0, 2.0] }, "w.safetensors"; }')
    from safetensors.torch import load_file as torch_load

    assert torch_load(str(tmp_path / "w.safetensors"))["W"].tolist() == [1.0, 2.0]
    assert torch.float64 == torch_load(str(tmp_path / "w.safetensors"))["W"].dtype


def test_load_safetensors_written_by_the_package(tmp_path: Path) -> None:
    save_file(
        {
            "W1": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
            "b": np.array([1.5, 2.5], dtype=np.float64),
        },
        str(tmp_path / "w.safetensors"),
    )
    result = in_dir(
        tmp_path,
        """
        fn main() {
            load_safetensors W1 = "w.safetensors";
            load_safetensors b = "w.safetensors";
            return W1 + sum(b);
        }
        """,
    )
    w1 = np.arange(6, dtype=np.float64).reshape(2, 3) / 4
    assert np.array_equal(result, w1 + 4.0)


def test_only_tensor_and_missing_name(tmp_path: Path) -> None:
    save_file({"weights": np.array([1.0, 2.0])}, str(tmp_path / "one.safetensors"))
    save_file({"a": np.zeros(2), "c": np.zeros(2)}, str(tmp_path / "two.safetensors"))
    result = in_dir(tmp_path, 'fn main() { load_safetensors W = "one.safetensors"; return W; }')
    assert np.array_equal(result, [1.0, 2.0])
    proc = run_cli(tmp_path, 'fn main() { load_safetensors W = "two.safetensors"; return W; }')
    assert proc.returncode == 1
    assert "runtime error: two.safetensors has no tensor 'W' (it has: a, c)" in proc.stderr


def test_load_into_a_parameter_then_train(tmp_path: Path) -> None:
    """Pretrained weights: a load into a learnable parameter replaces its
    value, and training goes on from it."""
    save_file({"w": np.array([3.0, -1.0])}, str(tmp_path / "w.safetensors"))
    result = in_dir(
        tmp_path,
        """
        fn main() {
            learn w = tensor [0.0, 0.0];
            load_safetensors w = "w.safetensors";
            optimize(w) with sgd(lr=0.25, max_iterations=1) until 0 {
                minimize sum(w * w);
            }
            return w;
        }
        """,
    )
    assert np.array_equal(result, [1.5, -0.5])  # w - 0.25 * 2w


def test_loading_the_wrong_shape_into_a_parameter_fails_at_run_time(tmp_path: Path) -> None:
    save_file({"w": np.array([3.0, -1.0, 2.0])}, str(tmp_path / "w.safetensors"))
    proc = run_cli(
        tmp_path,
        'fn main() {\n  learn w = tensor [0.0, 0.0];\n  load_safetensors w = "w.safetensors";\n}',
    )
    assert proc.returncode == 1
    assert "p.noma:3:3: runtime error:" in proc.stderr
    assert "[3]" in proc.stderr and "[2]" in proc.stderr


# -- main's parameters ----------------------------------------------------------------------


def test_main_parameters_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,2\n3,4\n")
    save_file({"W1": np.array([10.0, 20.0]), "other": np.zeros(1)}, str(tmp_path / "w.safetensors"))
    source = "fn main(X, W) { return X + W; }"
    proc = run_cli(tmp_path, source, "--arg", "X=x.csv", "--arg", "W=w.safetensors:W1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[[11.0, 22.0], [13.0, 24.0]]\n"


def test_main_parameters_from_python(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,2\n3,4\n")
    result = in_dir(tmp_path, "fn main(X) { return sum(X); }", X="x.csv")
    assert result == 10.0


def test_missing_main_argument(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "fn main(X) { return sum(X); }")
    assert proc.returncode == 1
    assert (
        "p.noma:1:9: runtime error: no file for main's parameter 'X' (pass --arg X=FILE)"
        in proc.stderr
    )


# -- atomic writes ------------------------------------------------------------------------


def _limit_file_size() -> None:
    # Files larger than 4 KiB cannot be written: write() fails with EFBIG
    # instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.parametrize(
    "statement", ['save_csv A, "out.dat";', 'save_safetensors { A: A }, "out.dat";']
)
def test_a_failing_write_leaves_the_previous_file(tmp_path: Path, statement: str) -> None:
    (tmp_path / "out.dat").write_text("previous content\n")
    (tmp_path / "p.noma").write_text(f"fn main() {{ let A = rand_tensor(100, 100); {statement} }}")
    proc = subprocess.run(
        ["noma", "run", "p.noma"], cwd=tmp_path, capture_output=True, text=True,
        preexec_fn=_limit_file_size, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "p.noma:1:" in proc.stderr and "runtime error: cannot write 'out.dat'" in proc.stderr
    assert (tmp_path / "out.dat").read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.dat", "p.noma"]
