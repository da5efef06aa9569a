"""Issue 9, frontend cases: no hang, every error located, long programs are
not deep ones, shadowed built-ins, safe compile-time probes of input files.
Each test runs the CLI as a user would (`run_cli`), or `noma.compile`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import noma
from noma.frontend.diagnostics import NomaError
from noma.frontend.source import MAX_SOURCE_BYTES
from in_process import noma_in_process
from programs import run_cli

pytestmark = pytest.mark.slow  # see README.md, "Testing"


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=tmp_path, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=300, check=False,
    )  # fmt: skip


# -- case 1: the result type of a function settles, or is a located error ---------


def test_scalar_and_tensor_returns_are_a_located_error(tmp_path: Path) -> None:
    source = (
        "fn f(x) { if x > 0 { return tensor [1.0]; } return 1.0; }\n"
        "fn main() { return f(1); }\n"
    )
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "p.noma:1:45: error: function 'f' returns a scalar here and a [1] tensor on another path"
    )


def test_returns_of_two_shapes_join_to_a_dynamic_shape(tmp_path: Path) -> None:
    source = (
        "fn f(x) { if x > 0 { return tensor [1.0, 2.0]; } return tensor [3.0]; }\n"
        "fn main() { print(f(1)); return f(0); }\n"
    )
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["[1.0, 2.0]", "[3.0]"]


@pytest.mark.parametrize(
    ("source", "where", "cycle"),
    [
        ("fn f(x) { return f(x); }\nfn main() { return f(1); }\n", "1:18", "f -> f"),
        (
            "fn f(x) { if x > 0 { return g(x - 1); } return x; }\n"
            "fn g(x) { return f(x); }\nfn main() { return f(3); }\n",
            "2:18",
            "f -> g -> f",
        ),
    ],
)
def test_recursion_is_a_located_error(tmp_path: Path, source: str, where: str, cycle: str) -> None:
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"p.noma:{where}: error: recursive call to 'f' ({cycle})")


# -- case 2: sources that are not programs -----------------------------------------

COMMANDS = [["noma", "run"], ["noma", "check"], ["noma", "emit"], ["noma-opt"]]


def _bad_sources(tmp_path: Path) -> dict[str, str]:
    """File name -> the located error it must give."""
    (tmp_path / "empty.noma").write_text("")
    (tmp_path / "comments.noma").write_text("// nothing here\n/* or here */\n")
    (tmp_path / "latin1.noma").write_bytes(b"fn main() {\n  // caf\xe9\n  return 1;\n}\n")
    os.symlink("/dev/zero", tmp_path / "zero.noma")
    os.mkfifo(tmp_path / "fifo.noma")
    no_main = "error: the program has no `fn main() { ... }` (it defines no function at all)"
    return {
        "empty.noma": f"empty.noma:1:1: {no_main}",
        "comments.noma": f"comments.noma:1:1: {no_main}",
        # Line 2 is "  // caf" and then the bad byte: column 9.
        "latin1.noma": "latin1.noma:2:9: error: invalid UTF-8 in the source: byte 0xe9",
        "zero.noma": "zero.noma:1:1: error: cannot compile 'zero.noma': it is a character device",
        "fifo.noma": "fifo.noma:1:1: error: cannot compile 'fifo.noma': it is a FIFO",
    }


def test_bad_sources_are_located_errors_in_every_tool(tmp_path: Path) -> None:
    """`noma` commands run in this process (the real entry point), noma-opt
    as a process."""
    for name, expected in _bad_sources(tmp_path).items():
        for command in [*COMMANDS, ["noma", "build-exe", "-o", "exe"]]:
            if command[0] == "noma":
                proc = noma_in_process(*command[1:], name, cwd=tmp_path)
            else:
                proc = cli(tmp_path, *command, name)
            assert proc.returncode == 1, (command, name, proc.stderr)
            assert proc.stderr.startswith(expected), (command, name, proc.stderr)
            assert "Traceback" not in proc.stderr
        with pytest.raises(NomaError) as error:
            noma.compile(tmp_path / name).ir()
        assert str(error.value).startswith(expected.replace(name, str(tmp_path / name)))


def test_too_large_source_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.noma"
    with big.open("wb") as f:
        f.truncate(MAX_SOURCE_BYTES + 1)  # sparse: nothing to read
    proc = cli(tmp_path, "noma", "check", "big.noma")
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "big.noma:1:1: error: cannot compile 'big.noma': the file is larger"
    )


def test_source_text_without_function_is_located() -> None:
    with pytest.raises(NomaError, match=r"^<source>:1:1: error: the program has no `fn main"):
        noma.compile("").ir()


# -- case 3: long programs are not deep ones ---------------------------------------


def test_flat_sum_of_5000_terms(tmp_path: Path) -> None:
    terms = " + ".join(f"{i % 7}.0" for i in range(5000))
    proc = run_cli(tmp_path, f"fn main() {{ return {terms}; }}\n")
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.split()[-1]) == sum(i % 7 for i in range(5000))


def test_chain_of_2000_calls(tmp_path: Path) -> None:
    lines = ["fn f0(x) { return x + 1; }"]
    lines += [f"fn f{i}(x) {{ return f{i - 1}(x) + 1; }}" for i in range(1, 2000)]
    lines.append("fn main() { return f1999(0.5); }")
    proc = run_cli(tmp_path, "\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.split()[-1]) == 2000.5


def test_gradient_through_a_chain_of_300_calls(tmp_path: Path) -> None:
    """Autodiff generates the chain's derivatives from a work list: w is
    trained on loss = (2 w)^2, so each SGD step multiplies it by 1 - 0.1 * 8."""
    lines = ["fn f0(x) { return 2 * x; }"]
    lines += [f"fn f{i}(x) {{ return f{i - 1}(x) + 0; }}" for i in range(1, 300)]
    lines.append(
        "fn main() { learn w = 3.0; let max_iterations = 4;\n"
        "  optimize(w) with sgd(0.1) until loss < 0 { let loss = f299(w) ** 2; minimize loss; }\n"
        "  return w; }"
    )
    proc = run_cli(tmp_path, "\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.split()[-1]) == pytest.approx(3.0 * 0.2**4)


def test_wide_and_long_logical_chains_compile_once_each() -> None:
    """main calling 1,000 functions, and a chain of 3,000 `&&`: both are
    generated without recursion per call or per term."""
    functions = "".join(f"fn f{i}(x) {{ return x + {i}; }}\n" for i in range(1000))
    calls = " + ".join(f"f{i}(1)" for i in range(1000))
    module = noma.compile(functions + f"fn main() {{ return {calls}; }}\n").ir("noma")
    assert sum(1 for _ in module.ops) == 1001
    conjunction = " && ".join(["x"] * 3000)
    noma.compile(f"fn main() {{ let x = 1; return {conjunction}; }}\n").ir("noma")


def test_many_early_returns_are_limited_with_a_located_error(tmp_path: Path) -> None:
    """Each statement that may return nests the rest of the function: 150
    in a row compile and run, 300 are a located error, not a traceback."""
    def program(n: int) -> str:
        guards = "".join(f"  if x < {i} {{ return {i}; }}\n" for i in range(n))
        return f"fn f(x) {{\n{guards}  return -1;\n}}\nfn main() {{ return f(100.5); }}\n"

    proc = run_cli(tmp_path, program(150))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["101.0"]
    proc = run_cli(tmp_path, program(300))
    assert proc.returncode == 1
    assert proc.stderr.startswith("p.noma:203:3: error: more than 200 statements in a row may")


def test_deep_nesting_stays_a_located_error(tmp_path: Path) -> None:
    source = "fn main() { return " + "(" * 10000 + "1" + ")" * 10000 + "; }\n"
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 1
    assert proc.stderr.startswith("p.noma:1:")
    assert "nested too deeply" in proc.stderr.split("\n")[0]


# -- case 4: a user function hides the built-in of its name ------------------------


def test_user_function_hides_builtin_with_a_warning(tmp_path: Path) -> None:
    """`sigmoid` here is x^2: the call runs it (2.0 ** 2), and training goes
    through it (loss = w^2, so SGD multiplies w by 1 - 0.1 * 2 per step)."""
    source = (
        "fn sigmoid(x) { return x * x; }\n"
        "fn main() {\n"
        "  print(sigmoid(2.0));\n"
        "  learn w = 3.0; let max_iterations = 3;\n"
        "  optimize(w) with sgd(0.1) until loss < 0 { let loss = sigmoid(w); minimize loss; }\n"
        "  return w;\n"
        "}\n"
    )
    proc = run_cli(tmp_path, source)
    assert proc.returncode == 0, proc.stderr
    printed, result = proc.stdout.split()
    assert (float(printed), float(result)) == (4.0, pytest.approx(3.0 * 0.8**3))
    assert proc.stderr.startswith(
        "p.noma:1:4: warning: function `sigmoid` hides the built-in of the same name\n"
    )


# -- cases 5 and 6: compile-time probes of safetensors files -----------------------


def test_check_does_not_open_a_fifo(tmp_path: Path) -> None:
    """The rank probe skips what is not a regular file (the default rank is
    used), so `noma check` returns instead of waiting for a writer."""
    os.mkfifo(tmp_path / "w.safetensors")
    (tmp_path / "p.noma").write_text(
        'fn main() { load_safetensors w = "w.safetensors"; return w; }\n'
    )
    proc = cli(tmp_path, "noma", "check", "p.noma")
    assert proc.returncode == 0, proc.stderr


def test_rank0_safetensors_is_a_scalar(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    save_file({"s": np.array(3.5)}, str(tmp_path / "s.safetensors"))
    proc = run_cli(
        tmp_path, 'fn main() { load_safetensors s = "s.safetensors"; print(s * 2); return s; }\n'
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["7.0", "3.5"]
    proc = run_cli(tmp_path, "fn main(s) { return s + 1; }\n", "--arg", "s=s.safetensors")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["4.5"]


# -- case 7: saving scalars ---------------------------------------------------------


def test_save_scalars_in_a_function_without_tensors(tmp_path: Path) -> None:
    """A scalar is saved as one number on one line (load_csv reads it back
    as a [1, 1] tensor), and as a rank-0 tensor in safetensors, as numpy's."""
    from safetensors.numpy import load_file

    proc = run_cli(
        tmp_path,
        'fn main() { learn w = 2.5; save_csv 1.0, "one.csv"; save_csv w, "w.csv";\n'
        '  save_safetensors { w: w }, "w.safetensors"; }\n',
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "one.csv").read_text() == "1.0\n"
    assert np.loadtxt(tmp_path / "w.csv", delimiter=",", ndmin=2).tolist() == [[2.5]]
    saved = load_file(str(tmp_path / "w.safetensors"))
    assert saved["w"].shape == () and float(saved["w"]) == 2.5
    proc = run_cli(tmp_path, 'fn main() { load_csv back = "w.csv"; return back; }\n')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[[2.5]]"]


# -- case 8: the gradient of a [1, n] file broadcast onto [m, n] data --------------


def test_gradient_of_a_broadcast_row_from_a_file(tmp_path: Path) -> None:
    """Both X and b are `tensor<?x?xf64>` when compiling; the gradient of
    sum((X + B)^2) for B is reduced to [1, n] at run time. Checked against
    central finite differences of the same loss in numpy."""
    rng = np.random.default_rng(9)
    x, b = rng.normal(size=(4, 3)), rng.normal(size=(1, 3))
    np.savetxt(tmp_path / "x.csv", x, delimiter=",")
    np.savetxt(tmp_path / "b.csv", b, delimiter=",")
    source = (
        "fn main(X, b) {\n  learn B = b;\n  let max_iterations = 1;\n"
        "  optimize(B) with sgd(0.01) until loss < 0 {\n"
        "    let loss = sum((X + B) ** 2);\n    minimize loss;\n  }\n  return B;\n}\n"
    )
    proc = run_cli(tmp_path, source, "--arg", "X=x.csv", "--arg", "b=b.csv")
    assert proc.returncode == 0, proc.stderr

    def loss(row: np.ndarray) -> float:
        return float(np.sum((x + row) ** 2))

    h = 1e-6
    grad = np.zeros_like(b)
    for j in range(b.shape[1]):
        step = np.zeros_like(b)
        step[0, j] = h
        grad[0, j] = (loss(b + step) - loss(b - step)) / (2 * h)
    trained = np.array(json.loads(proc.stdout.strip().split("\n")[-1]))  # main's result
    assert trained.shape == (1, 3)
    np.testing.assert_allclose(trained, b - 0.01 * grad, rtol=1e-6, atol=1e-8)
