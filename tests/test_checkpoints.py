"""`save_checkpoint` / `load_checkpoint` (issue 14, point 4): every
parameter with its optimizer state in one safetensors file that NumPy (and
PyTorch) read by documented names; resuming from it is bit-identical to a
run that never stopped; a grown parameter comes back grown; a file that does
not fit the program is a located run-time error that names what differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import noma
from noma.compiler import ProgramError
from noma.frontend.diagnostics import NomaError

TRAIN = """
fn main() {{
    learn W = tensor [[0.5, -0.25], [0.125, 1.0]];
    learn b = 0.1;
    {before}
    let X = tensor [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
    optimize(W, b) with {optimizer}(lr=0.01, max_iterations={steps}) until loss < 0.0 {{
        let err = matmul(X, W) + b - tensor [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        let loss = mean(err * err);
        minimize loss;
    }}
    {after}
    return W;
}}
"""


def train(steps: int, optimizer: str = "adam", before: str = "", after: str = "") -> noma.Program:
    program = noma.compile(
        TRAIN.format(steps=steps, optimizer=optimizer, before=before, after=after)
    )
    program.run()
    return program


def bits(parameters: dict[str, np.ndarray]) -> dict[str, bytes]:
    return {name: value.tobytes() for name, value in parameters.items()}


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_resuming_is_bit_identical(
    optimizer: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    straight = train(200, optimizer)
    train(100, optimizer, after='save_checkpoint "c.safetensors";')
    resumed = train(100, optimizer, before='load_checkpoint "c.safetensors";')
    capsys.readouterr()
    assert bits(resumed.parameters) == bits(straight.parameters)
    # Without the optimizer state the resumed run would differ.
    if optimizer != "sgd":
        tensors = load_file("c.safetensors")
        save_file(
            {k: v for k, v in tensors.items() if not k.endswith((".m", ".v", ".t"))}
            | {k: np.zeros_like(v) for k, v in tensors.items() if k.endswith((".m", ".v", ".t"))},
            "reset.safetensors",
        )
        fresh = train(100, optimizer, before='load_checkpoint "reset.safetensors";')
        assert bits(fresh.parameters) != bits(straight.parameters)


def test_the_file_names_every_tensor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    program = train(7, after='save_checkpoint "c.safetensors";')
    tensors = load_file("c.safetensors")
    assert sorted(tensors) == sorted(
        ["__noma_checkpoint__", "W", "W.m", "W.v", "W.t", "b", "b.m", "b.v", "b.t"]
    )
    assert tensors["__noma_checkpoint__"].tolist() == [1.0]
    assert tensors["W"].tobytes() == program.parameters["W"].tobytes()
    assert tensors["b"].shape == () and tensors["b"] == program.parameters["b"]
    assert tensors["W.t"] == 7.0 and tensors["b.t"] == 7.0
    assert tensors["W.m"].shape == tensors["W.v"].shape == (2, 2)
    assert (tensors["W.v"] > 0).all()
    assert all(t.dtype == np.float64 for t in tensors.values())


def test_pytorch_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: read with NumPy only")
    from safetensors.torch import load_file as torch_load

    monkeypatch.chdir(tmp_path)
    program = train(3, after='save_checkpoint "c.safetensors";')
    tensors = torch_load("c.safetensors")
    assert torch.equal(tensors["W"], torch.from_numpy(program.parameters["W"]))


def test_a_grown_parameter_comes_back_grown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    grown = noma.compile("""
fn main() {
    learn W = tensor [1.0, 2.0];
    realloc W = [4];
    optimize(W) with adam(lr=0.1, max_iterations=20) until loss < 0.0 {
        let loss = sum((W - tensor [1.0, 2.0, 3.0, 4.0]) ** 2);
        minimize loss;
    }
    save_checkpoint "g.safetensors";
    return W;
}
""")
    saved = grown.run()
    restored = noma.compile("""
fn main() {
    learn W = tensor [1.0, 2.0];
    load_checkpoint "g.safetensors";
    if 0 > 1 { realloc W = [3]; }
    return W;
}
""").run()
    assert restored.shape == (4,)
    assert restored.tobytes() == saved.tobytes()


def test_saved_inside_an_optimize_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint taken in the body holds the state before that
    iteration's step: resuming from it repeats that iteration."""
    monkeypatch.chdir(tmp_path)
    straight = train(10)
    body_save = TRAIN.replace(
        "minimize loss;", 'minimize loss;\n        save_checkpoint "c.safetensors";'
    )
    noma.compile(body_save.format(steps=6, optimizer="adam", before="", after="")).run()
    resumed = train(5, before='load_checkpoint "c.safetensors";')
    assert bits(resumed.parameters) == bits(straight.parameters)


LOAD = """fn main() {{
    learn W = {W};
    {more}
    load_checkpoint "{path}";
    return W;
}}
"""


@pytest.fixture
def checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    train(3, after='save_checkpoint "c.safetensors";')
    return tmp_path / "c.safetensors"


def load_error(
    capsys: pytest.CaptureFixture[str], W: str, more: str = "", path: str = "c.safetensors"
) -> str:
    program = noma.compile(LOAD.format(W=W, more=more, path=path))
    with pytest.raises(ProgramError):
        program.run()
    assert program.parameters == {}
    return capsys.readouterr().err


def test_a_missing_parameter(checkpoint: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = load_error(capsys, "tensor [[1.0, 0.0], [0.0, 1.0]]", "learn c = 2.0;")
    assert err == (
        "<source>:4:5: runtime error: c.safetensors has no tensor 'c' (it has: W, W.m, W.t, "
        "W.v, __noma_checkpoint__, b, b.m, b.t, b.v)\n"
    )


def test_a_different_rank(checkpoint: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = load_error(capsys, "tensor [1.0, 2.0]")
    assert err == (
        "<source>:4:5: runtime error: c.safetensors: tensor 'W' has shape [2, 2], "
        "where the program expects a 1-D tensor\n"
    )


def test_a_different_shape_changes_nothing(
    checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = checkpoint.read_bytes()
    err = load_error(capsys, "tensor [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]", "learn b = 0.0;")
    assert err == (
        "<source>:4:5: runtime error: checkpoint c.safetensors: dimension 1 of 'W' is 2, "
        "where parameter 'W' has 3; nothing was loaded\n"
    )
    assert checkpoint.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("safetensors", "x.bin has no tensor '__noma_checkpoint__' (it has: W)"),
        ("csv", "x.bin: malformed header:"),
        ("version", "x.bin is a NOMA checkpoint of format version 2; this NOMA reads version 1"),
    ],
)
def test_not_a_checkpoint(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    reason: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    if content == "safetensors":
        save_file({"W": np.ones((2, 2))}, "x.bin")
    elif content == "csv":
        Path("x.bin").write_text("1,2\n3,4\n")
    else:
        save_file({"__noma_checkpoint__": np.array([2.0]), "W": np.ones((2, 2))}, "x.bin")
    err = load_error(capsys, "tensor [[1.0, 2.0], [3.0, 4.0]]", path="x.bin")
    prefix = "<source>:4:5: runtime error: "
    if content == "version":
        assert err == prefix + reason + "\n"
    else:
        assert err.startswith(prefix + "x.bin is not a NOMA checkpoint: " + reason)


def test_load_inside_an_optimize_loop_is_a_compile_error() -> None:
    with pytest.raises(NomaError) as error:
        noma.compile(
            TRAIN.format(steps=3, optimizer="adam", before="", after="").replace(
                "minimize loss;", 'minimize loss;\n        load_checkpoint "c.safetensors";'
            )
        ).ir()
    assert str(error.value) == (
        "<source>:11:9: error: `load_checkpoint` cannot be used inside an optimize loop"
    )


def test_names_stay_usable_as_functions() -> None:
    """`save_checkpoint` is a statement only before a string: not reserved."""
    program = noma.compile(
        "fn save_checkpoint(x) { return x + 1; }\nfn main() { return save_checkpoint(2); }"
    )
    assert program.run() == 3.0
