"""The command-line tools as a user meets them: help, results, located errors
with exit status 1 and no traceback, atomic output files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # see README.md, "Testing"

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "minimize_square.noma"


def run(*args: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "command",
    [
        ["noma", "--help"],
        ["noma", "run", "--help"],
        ["noma", "check", "--help"],
        ["noma", "emit", "--help"],
        ["noma-opt", "--help"],
        ["noma-translate", "--help"],
    ],
)
def test_help(command: list[str]) -> None:
    proc = run(*command)
    assert proc.returncode == 0
    assert "usage" in proc.stdout.lower()
    assert len(proc.stdout.splitlines()) > 3


def test_run_prints_output_then_result(tmp_path: Path) -> None:
    source = tmp_path / "p.noma"
    source.write_text('fn main() { print("hi"); print(1.5); return 2 ** 10; }\n')
    proc = run("noma", "run", str(source))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hi\n1.5\n1024.0\n", "")


def test_main_without_result_prints_only_output(tmp_path: Path) -> None:
    source = tmp_path / "p.noma"
    source.write_text("fn main() { print(3); }\n")
    proc = run("noma", "run", str(source))
    assert (proc.returncode, proc.stdout) == (0, "3.0\n")


BAD_PROGRAMS = {
    "unknown variable": (
        "fn main() {\n    return y;\n}\n",
        "p.noma:2:12: error: unknown variable 'y'",
    ),
    "outside function": ("let x = 1;\n", "p.noma:1:1: error: statements must be inside a function"),
    "no main": ("fn f() { return 1; }\n", "error: the program has no `fn main() { ... }`"),
    "missing semicolon": (
        "fn main() {\n  let x = 1\n  return x;\n}\n",
        "p.noma:2:12: error: expected ';'",
    ),
    "recursion": (
        "fn f(x) { return f(x); }\nfn main() { return f(1); }\n",
        "p.noma:1:18: error: recursive call to 'f' (f -> f): recursion is not supported",
    ),
    "arity": (
        "fn main() { return exp(1, 2); }\n",
        "p.noma:1:20: error: 'exp' takes 1 argument, got 2",
    ),
    "assign undeclared": (
        "fn main() { x = 1; }\n",
        "p.noma:1:13: error: assignment to undeclared variable 'x'",
    ),
    "not a parameter": (
        "fn main() { let x = 1; optimize(x) until 1 { minimize x; } }\n",
        "p.noma:1:33: error: 'x' is not a learnable parameter",
    ),
    "unterminated string": (
        'fn main() { print("abc); }\n',
        "p.noma:1:19: error: unterminated string",
    ),
    "shape mismatch": (
        "fn main() { let t = [1, 2] + [1, 2, 3]; }\n",
        "p.noma:1:28: error: '+' of a [2] tensor and a [3] tensor: they do not broadcast",
    ),
    "ragged": (
        "fn main() { let t = [[1, 2], [3]]; }\n",
        "p.noma:1:30: error: ragged tensor literal",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_PROGRAMS))
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_programs_give_located_errors(tmp_path: Path, name: str, command: str) -> None:
    source, message = BAD_PROGRAMS[name]
    (tmp_path / "p.noma").write_text(source)
    proc = run("noma", command, "p.noma", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    # The source line and a caret follow the message when there is a location.
    if message.startswith("p.noma:"):
        lines = proc.stderr.splitlines()
        assert lines[2].strip() == "^"


def test_missing_file() -> None:
    proc = run("noma", "run", "does_not_exist.noma")
    assert proc.returncode == 1
    assert "does_not_exist.noma" in proc.stderr and "Traceback" not in proc.stderr


def test_check_accepts_a_good_program() -> None:
    proc = run("noma", "check", str(EXAMPLE))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


@pytest.mark.parametrize("stage", ["noma", "autodiff", "optimizers", "loops", "llvm", "llvm-ir"])
def test_emit_every_stage(stage: str) -> None:
    proc = run("noma", "emit", "--stage", stage, str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    markers = {
        "noma": "noma.optimize",
        "autodiff": "grads(",
        "optimizers": "scf.while",
        "loops": "memref.alloca",
        "llvm": "llvm.func @fn.main",
        "llvm-ir": 'define double @"fn.main"',
    }
    assert markers[stage] in proc.stdout


def test_emit_unknown_stage() -> None:
    proc = run("noma", "emit", "--stage", "bogus", str(EXAMPLE))
    assert proc.returncode == 1 and "unknown stage 'bogus'" in proc.stderr


def test_emit_writes_output_atomically(tmp_path: Path) -> None:
    out = tmp_path / "out.mlir"
    out.write_text("previous content")
    proc = run("noma", "emit", "--stage", "loops", str(EXAMPLE), "-o", str(out))
    assert proc.returncode == 0
    assert "func.func @fn.main" in out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["out.mlir"]


def test_failed_emit_keeps_previous_file(tmp_path: Path) -> None:
    out = tmp_path / "out.mlir"
    out.write_text("previous content")
    (tmp_path / "bad.noma").write_text("fn main() { return y; }\n")
    proc = run("noma", "emit", "bad.noma", "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 1
    assert out.read_text() == "previous content"


def test_noma_opt_pipeline_and_print_between_passes() -> None:
    proc = run("noma-opt", str(EXAMPLE), "-p", "noma-to-loops", "--print-between-passes")
    assert proc.returncode == 0, proc.stderr
    for stage_pass in ("IR after autodiff", "IR after expand-optimizers", "IR after canonicalize"):
        assert stage_pass in proc.stdout
    final = proc.stdout.rsplit("IR after", 1)[-1].split("\n", 1)[1]
    assert not re.search(r"^\s*(%\S+ = )?noma\.\w+", final, re.M), (
        "noma ops left after noma-to-loops"
    )


def test_noma_opt_reads_mlir_from_stdin() -> None:
    proc = run("noma-opt", "-p", "canonicalize", stdin="func.func @f() { func.return }\n")
    assert proc.returncode == 0 and "func.func @f()" in proc.stdout


def test_noma_opt_unknown_pass() -> None:
    proc = run("noma-opt", str(EXAMPLE), "-p", "no-such-pass")
    assert proc.returncode == 1 and "no-such-pass" in proc.stderr and "Traceback" not in proc.stderr


def test_noma_opt_bad_mlir_is_located(tmp_path: Path) -> None:
    (tmp_path / "bad.mlir").write_text("func.func @f() {\n  %0 = arith.addf\n}\n")
    proc = run("noma-opt", "bad.mlir", cwd=tmp_path)
    assert proc.returncode == 1 and "bad.mlir:" in proc.stderr and "Traceback" not in proc.stderr


def test_noma_translate_output_parses_in_llvmlite(tmp_path: Path) -> None:
    import llvmlite.binding as llvm

    llvm_mlir = tmp_path / "p.mlir"
    assert run("noma-opt", str(EXAMPLE), "-p", "noma-to-llvm", "-o", str(llvm_mlir)).returncode == 0
    proc = run("noma-translate", str(llvm_mlir), "--mlir-to-llvmir")
    assert proc.returncode == 0, proc.stderr
    module = llvm.parse_assembly(proc.stdout)
    module.verify()
    assert module.get_function("_noma_packed_fn.main") is not None


def test_noma_translate_rejects_non_llvm(tmp_path: Path) -> None:
    loops = tmp_path / "p.mlir"
    assert run("noma-opt", str(EXAMPLE), "-p", "noma-to-loops", "-o", str(loops)).returncode == 0
    proc = run("noma-translate", str(loops), "--mlir-to-llvmir")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
