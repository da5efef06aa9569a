"""`Program.run(args=...)` with NumPy arrays and file paths (issue 14,
point 1): arrays of any real dtype and layout, the program specialised to
their ranks once per rank signature, results that own their memory, and
paths whatever their extension."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import noma
from noma.compiler import Program
from noma.frontend.diagnostics import NomaError

AFFINE = """
fn main(X, w) {
    print(sum(X));
    return X * 2 + w;
}
"""
"""Works at any rank of X (w broadcasts): specialised per signature."""


@pytest.fixture(scope="module")
def affine() -> Program:
    return noma.compile(AFFINE)


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, int]]:
    """The rank signatures compiled to machine code from now on."""
    seen: list[dict[str, int]] = []
    original = Program._compile_machine_code

    def counting(self: Program):  # type: ignore[no-untyped-def]
        seen.append(dict(self.arg_ranks))
        return original(self)

    monkeypatch.setattr(Program, "_compile_machine_code", counting)
    return seen


def test_an_array_gives_main_its_value_and_the_result_owns_its_memory(
    affine: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    result = affine.run(args={"X": X, "w": np.array([[0.5, -0.5]])})
    assert isinstance(result, np.ndarray)
    assert result.tolist() == [[2.5, 3.5], [6.5, 7.5]]
    assert result.flags.owndata and result.flags.writeable and result.dtype == np.float64
    assert capsys.readouterr().out == "10.0\n"


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1, 2], [3, 4]], dtype=np.int32),
        np.array([[1, 2], [3, 4]], dtype=np.uint8),
        np.array([[1, 2], [3, 4]], dtype=np.float32),
        np.asfortranarray(np.array([[1.0, 2.0], [3.0, 4.0]])),
        np.array([[1.0, 0, 2.0], [0, 0, 0], [3.0, 0, 4.0]])[::2, ::2],  # strided view
        np.array([[4.0, 3.0], [2.0, 1.0]])[::-1, ::-1],  # negative strides
        [[1, 2], [3, 4]],  # anything numpy.asarray takes
    ],
    ids=["int32", "uint8", "float32", "fortran", "strided", "reversed", "list"],
)
def test_any_real_dtype_and_layout_is_read_as_float64_row_major(
    affine: Program, X: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert affine.run(args={"X": X, "w": np.zeros((1, 1))}).tolist() == [[2.0, 4.0], [6.0, 8.0]]


def test_booleans_are_zero_and_one(affine: Program) -> None:
    result = affine.run(args={"X": np.array([[True, False]]), "w": np.zeros((1, 1))})
    assert result.tolist() == [[2.0, 0.0]]


@pytest.mark.parametrize(
    "value", [np.array([[1 + 2j]]), np.array([["a"]]), np.array([[None]], dtype=object)]
)
def test_an_array_that_is_not_real_numbers_is_a_type_error(affine: Program, value: object) -> None:
    with pytest.raises(
        TypeError, match="main's parameter 'X' takes a file path or an array of real"
    ):
        affine.run(args={"X": value, "w": np.zeros((1, 1))})


def test_the_program_is_specialised_once_per_rank_signature(
    compiles: list[dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    program = noma.compile(AFFINE, cache=False)
    w = np.array(1.0)
    assert program.run(args={"X": np.array([1.0, 2.0]), "w": w}).tolist() == [3.0, 5.0]
    assert program.run(args={"X": np.array([5.0]), "w": w}).tolist() == [11.0]
    assert program.run(args={"X": np.ones((1, 1, 2)), "w": w}).tolist() == [[[3.0, 3.0]]]
    assert program.run(args={"X": np.zeros(3), "w": np.array(-1.0)}).tolist() == [-1.0] * 3
    assert program.run(args={"X": np.array(4.0), "w": w}) == 9.0  # rank 0: a scalar
    program.run(args={"X": np.ones((2, 2)), "w": np.ones((1, 1))})  # 2-D: the program itself
    assert compiles == [
        {"X": 1, "w": 0},
        {"X": 3, "w": 0},
        {"X": 0, "w": 0},
        {},
    ]
    assert "compiled" in program.__dict__  # run by the program compiled without ranks


def test_a_scalar_result_is_a_float(capsys: pytest.CaptureFixture[str]) -> None:
    program = noma.compile("fn main(v) { return dot(v, v); }")
    assert program.run(args={"v": np.array([3, 4])}) == 25.0
    assert type(program.run(args={"v": [1.5]})) is float


def test_an_array_positional_argument_is_not_a_seed(affine: Program) -> None:
    with pytest.raises(TypeError, match=r"not ndarray; give main's parameters by name"):
        affine.run(np.array([[1.0]]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="random seed"):
        affine.run(1.5)  # type: ignore[arg-type]


def test_the_seed_is_still_an_int_positional_or_by_name() -> None:
    program = noma.compile("fn main() { return rand(); }")
    assert program.run(7) == program.run(seed=7) == program.run(np.int64(7))
    assert program.run(7) != program.run(8)


def test_an_unknown_name_is_a_located_error_and_compiles_nothing(
    compiles: list[dict[str, int]],
) -> None:
    program = noma.compile(AFFINE, cache=False)
    message = "^<source>:2:1: error: main has no parameter named 'Y'; it takes X, w$"
    with pytest.raises(NomaError) as before_any_compile:
        program.run(args={"Y": np.zeros(2)})
    assert compiles == []
    program.run(args={"X": np.zeros((1, 1)), "w": np.zeros((1, 1))})  # compiled now
    with pytest.raises(NomaError) as after_a_compile:
        program.run(args={"Y": np.zeros((1, 1))})
    for info in (before_any_compile, after_a_compile):
        assert re.match(message, info.value.render().splitlines()[0])


def test_paths_are_read_whatever_their_extension(
    affine: Program, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "matrix.data"  # CSV in a file not named .csv
    data.write_text("1,2\n3,4\n")
    weights = tmp_path / "w.csv"
    weights.write_text("1\n")
    by_path = affine.run(args={"X": data, "w": weights})
    by_str = affine.run(args={"X": str(data), "w": str(weights)})
    assert by_path.tolist() == by_str.tolist() == [[3.0, 5.0], [7.0, 9.0]]


def test_files_and_arrays_mix_and_a_safetensors_file_gives_its_rank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from safetensors.numpy import save_file

    path = tmp_path / "v.safetensors"
    save_file({"v": np.array([1.0, 2.0, 3.0])}, str(path))
    program = noma.compile(AFFINE)
    assert program.run(args={"X": path, "w": np.array(0.0)}).tolist() == [2.0, 4.0, 6.0]


def test_a_missing_file_is_a_run_time_error(
    affine: Program, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(noma.ProgramError, match="cannot read"):
        affine.run(args={"X": tmp_path / "missing.csv", "w": np.zeros((1, 1))})
    assert "runtime error: cannot read" in capsys.readouterr().err


def test_the_arrays_of_a_run_are_forgotten_after_it(
    affine: Program, capsys: pytest.CaptureFixture[str]
) -> None:
    affine.run(args={"X": np.ones((1, 1)), "w": np.ones((1, 1))})
    with pytest.raises(noma.ProgramError) as error:
        affine.run()
    # Said the Python API's way, not the command line's.
    assert str(error.value).endswith(
        "no file for main's parameter 'X' (pass run(args={'X': array_or_path}))"
    )
