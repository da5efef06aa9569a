"""The `%%noma` cell magic and `%noma_info` (issue 14, point 3), driven
through IPython's own `InteractiveShell`: options, script cells whose
statements outside functions are main's body, notebook variables as
arguments, results and learnt parameters stored back, IR shown instead of
running, and located errors without a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

InteractiveShell = pytest.importorskip(
    "IPython.core.interactiveshell",
    reason="IPython is not installed (pip install -e '.[notebook]'): the %%noma magic is not tested",
).InteractiveShell


@pytest.fixture(scope="module")
def shell() -> Iterator[Any]:
    ipython = InteractiveShell.instance()
    ipython.run_line_magic("load_ext", "noma")
    yield ipython


def cell(shell: Any, line: str, body: str) -> Any:
    return shell.run_cell_magic("noma", line, body)


def test_statements_outside_functions_are_main(
    shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cell(shell, "", "print(sigmoid(0.0));") is None
    assert capsys.readouterr().out == "0.5\n"


def test_functions_come_first_whatever_their_place(
    shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cell(
        shell,
        "",
        "let y = twice(4.0);\nfn twice(x) { return 2.0 * x; }\nprint(y);\nreturn y + 1.0;",
    )
    assert result == 9.0
    assert capsys.readouterr().out == "8.0\n"


def test_a_cell_may_be_a_whole_program(shell: Any) -> None:
    assert cell(shell, "", "fn main() { return 2 ** 10; }") == 1024.0


def test_seed(shell: Any) -> None:
    draws = [cell(shell, f"--seed {seed}", "return rand();") for seed in (1, 1, 2)]
    assert draws[0] == draws[1] != draws[2]
    assert 0.0 <= draws[0] < 1.0


def test_arrays_from_the_namespace_and_results_back(
    shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 2))
    shell.user_ns["X_train"] = X
    shell.user_ns["Y_train"] = X @ np.array([[2.0], [-1.0]]) + 0.5
    body = """
learn W = [[0.0], [0.0]];
learn b = 0.0;
optimize(W, b) with adam(0.05) until loss < 0.000001 {
    let pred = matmul(X, W) + b;
    let loss = mean((pred - Y) * (pred - Y));
    minimize loss;
}
return matmul(X, W) + b;
"""
    result = cell(shell, "--arg X=X_train --arg Y=Y_train --out fit", body)
    capsys.readouterr()
    assert isinstance(result, np.ndarray) and result.shape == (32, 1)
    assert shell.user_ns["fit"] is result
    parameters = shell.user_ns["fit_parameters"]
    assert set(parameters) == {"W", "b"}
    np.testing.assert_allclose(parameters["W"].ravel(), [2.0, -1.0], atol=1e-2)
    np.testing.assert_allclose(parameters["b"], 0.5, atol=1e-2)
    np.testing.assert_allclose(result, X @ parameters["W"] + parameters["b"], rtol=1e-12)


def test_an_argument_from_a_file(shell: Any, tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("1.0,2.0\n3.0,4.0\n")
    assert cell(shell, f"--arg X={data}", "return sum(X);") == 10.0


def test_stage_shows_ir_instead_of_running(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cell(shell, "--stage loops", "print(1.0);\nreturn 2.0;") is None
    out = capsys.readouterr().out
    assert "func.func @fn.main" in out and "noma." not in out.replace("noma.entry", "")
    assert cell(shell, "--stage llvm-ir", "return 2.0;") is None
    assert "define" in capsys.readouterr().out


def test_time_and_no_cache(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cell(shell, "--time --no-cache", "return 3.0;") == 3.0
    assert capsys.readouterr().out.startswith("noma: ")


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        (
            "",
            "let x = 1;\nlet y = ;",
            "<cell>:2:9: error: expected an expression, found ';'\n    let y = ;\n            ^",
        ),
        ("", "print(z);", "<cell>:1:7: error: unknown variable 'z'"),
        (
            "",
            "fn main() { return 1; }\nprint(2);",
            "<cell>:2:1: error: statements outside functions are the body of `main`",
        ),
        (
            "--arg X=no_such_name",
            "return 1;",
            "%%noma: error: --arg X=no_such_name: no variable or file named 'no_such_name'",
        ),
        ("--arg X", "return 1;", "%%noma: error: --arg 'X': expected NAME=VARIABLE or NAME=FILE"),
        ("--bogus", "return 1;", "%%noma: error: unrecognized arguments: --bogus"),
        ("--out 1x", "return 1;", "%%noma: error: --out '1x' is not a Python name"),
        ("--stage nowhere", "return 1;", "%%noma: error: unknown stage 'nowhere'"),
    ],
)
def test_errors_are_located_messages(
    shell: Any, capsys: pytest.CaptureFixture[str], line: str, body: str, message: str
) -> None:
    assert cell(shell, line, body) is None
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_runtime_error_in_the_cell(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cell(shell, "", "print(1.0);\nlet t = tensor [1.0, 2.0];\nprint(t[5]);") is None
    captured = capsys.readouterr()
    assert captured.out == "1.0\n"
    assert captured.err.startswith("<cell>:3:8: runtime error: index 5 is out of bounds")
    assert "Traceback" not in captured.err


def test_noma_info(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import llvmlite.binding as llvm

    from noma.runtime.build import cache_dir

    shell.run_line_magic("noma_info", "")
    lines = {line[:12].strip(): line[12:].strip() for line in capsys.readouterr().out.splitlines()}
    assert lines["cache"] == str(cache_dir())
    assert lines["target CPU"] == llvm.get_host_cpu_name()
    assert lines["LLVM"] == ".".join(map(str, llvm.llvm_version_info))
    assert lines["noma"] and lines["xdsl"] and lines["numpy"]
