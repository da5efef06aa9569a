"""`Program.parameters` (issue 14, point 1): after a run, every learnt
parameter of main by name, as a NumPy array holding its final value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import noma

TRAINING = """
fn main(X, Y) {
    learn W = [[0.5], [0.25]];
    learn b = 0.1;
    optimize(W, b) with adam(0.1) until loss < 0.001 {
        let pred = matmul(X, W) + b;
        let loss = mean((pred - Y) * (pred - Y));
        minimize loss;
    }
    save_safetensors { W: W, b: b }, "saved.safetensors";
    return W;
}
"""


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_parameters_are_the_final_values_bit_for_bit(in_tmp: Path) -> None:
    from safetensors.numpy import load_file

    program = noma.compile(TRAINING)
    assert program.parameters == {}  # no run yet
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
    Y = np.array([[1.0], [2.0], [3.5]])
    result = program.run(args={"X": X, "Y": Y})
    params = program.parameters
    assert sorted(params) == ["W", "b"]
    saved = load_file("saved.safetensors")
    assert params["W"].tobytes() == saved["W"].tobytes() == result.tobytes()
    assert params["b"].shape == () and params["b"].tobytes() == saved["b"].tobytes()
    for array in params.values():
        assert array.dtype == np.float64 and array.flags.owndata and array.flags.writeable


def test_each_run_has_its_own_parameters_and_a_failed_run_has_none(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = noma.compile(TRAINING)
    Y = np.array([[1.0], [2.0]])
    program.run(args={"X": np.array([[1.0, 0.0], [0.0, 1.0]]), "Y": Y})
    first = program.parameters["W"]
    program.run(args={"X": np.array([[2.0, 0.0], [0.0, 2.0]]), "Y": Y})
    assert not np.array_equal(first, program.parameters["W"])
    first[...] = 42.0  # the caller's copy: changing it changes nothing
    assert 42.0 not in program.parameters["W"]
    with pytest.raises(noma.ProgramError):
        program.run(args={"X": np.ones((2, 3)), "Y": Y})  # matmul shapes do not fit
    assert program.parameters == {}


def test_a_grown_parameter_has_its_new_shape_and_nested_ones_are_not_main_s(
    capsys: pytest.CaptureFixture[str],
) -> None:
    program = noma.compile(
        """
        fn f(x) { learn inner = 3.0; return x * inner; }
        fn main() {
            learn W = [1.0, 2.0];
            realloc W = [4] init zeros;
            if 1 { learn nested = 2.0; print(nested); }
            return f(sum(W));
        }
        """
    )
    assert program.run() == 9.0
    assert {name: a.tolist() for name, a in program.parameters.items()} == {
        "W": [1.0, 2.0, 0.0, 0.0]
    }


def test_a_program_without_parameters_compiles_to_the_same_code() -> None:
    program = noma.compile("fn main() { let x = 2.0; return x * x; }")
    assert program.run() == 4.0
    assert program.parameters == {}
    assert program._jit_llvm_ir is program.llvm_ir


SINK_BYTES = "[16 x i8] [i8 0, i8 110, i8 111, i8 109, i8 97, i8 58"
"""The sink's path (a NUL, then "noma:...") as LLVM IR spells it."""


def test_only_run_s_code_exports_parameters_not_emit_nor_executables() -> None:
    program = noma.compile("fn main() { learn w = 1.0; return w; }")
    assert program.run() == 1.0
    assert program.parameters["w"].tolist() == 1.0
    assert SINK_BYTES in program._jit_llvm_ir
    assert SINK_BYTES not in program.llvm_ir  # noma emit, build-exe
    assert "noma.save_safetensors" not in str(program.ir("noma"))


def test_parameters_come_back_from_the_compile_cache_too(tmp_path: Path) -> None:
    source = "fn main() { learn w = 3.0; optimize(w) with sgd(0.25) until w < 1.5 { minimize w * w; } return w; }"
    compiled = noma.compile(source)
    compiled.run()
    from_cache = noma.compile(source)
    from_cache.run()
    assert from_cache._cached is not None  # a hit: nothing compiled
    assert from_cache.parameters["w"].tolist() == compiled.parameters["w"].tolist()


@pytest.mark.slow  # processes
def test_a_cached_run_imports_numpy_only_when_asked_for_arrays(tmp_path: Path) -> None:
    """The lean start-up of issue 10: a run from the cache with file
    arguments does not import NumPy, nor does running a program with
    parameters; reading `parameters` does."""
    (tmp_path / "x.csv").write_text("1,2\n")
    code = (
        "import json, sys, noma\n"
        "p = noma.compile('fn main(X) { learn w = 2.0; return sum(X) * w; }')\n"
        "r = p.run(args={'X': 'x.csv'})\n"
        "before = 'numpy' in sys.modules\n"
        "w = p.parameters['w'].tolist()\n"
        "print(json.dumps([r, before, w, 'numpy' in sys.modules]))\n"
    )
    env = {**os.environ, "NOMA_CACHE_DIR": str(tmp_path / "cache"), "NOMA_VERIFY_EACH": "0"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(noma.__file__).parents[1]), env.get("PYTHONPATH", "")]
    )
    for _ in range(2):  # a miss (compiles: xDSL imports NumPy), then a hit
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
            timeout=300, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [6.0, False, 2.0, True]
