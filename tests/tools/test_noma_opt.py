"""`noma-opt` in process: located diagnostics, `--verify-diagnostics` the
MLIR way, every xDSL dialect and pass, pipeline and option errors, atomic
`-o`, the output targets it lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from tool_runs import run_opt

ROOT = Path(__file__).resolve().parents[2]
TWO_AUTODIFF_ERRORS = ROOT / "lit_tests" / "noma_opt" / "verify_diagnostics.mlir"


def test_expected_autodiff_errors_pass_and_a_changed_annotation_fails(tmp_path: Path) -> None:
    """The acceptance test of issue 11: two expected autodiff errors, one
    per chunk; one annotation changed makes the run fail, saying where."""
    args = ("--split-input-file", "--verify-diagnostics", "-p", "autodiff")
    assert run_opt(TWO_AUTODIFF_ERRORS, *args) == (0, "", "")

    changed = tmp_path / "changed.mlir"
    text = TWO_AUTODIFF_ERRORS.read_text()
    changed.write_text(text.replace("{{the objective does not", "{{the objective is not"))
    status, _, err = run_opt(changed, *args)
    line = 1 + text.split("\n").index("    noma.minimize %loss : f64")
    assert status == 1
    assert err.splitlines() == [
        (
            f"{changed}:{line}:5: error: unexpected error: the objective does not depend on "
            "any learnable parameter"
        ),
        (
            f'{changed}:{line - 1}:8: error: expected error "the objective is not depend on '
            'any learnable parameter" was not produced'
        ),
    ]


def test_a_missing_diagnostic_fails(tmp_path: Path) -> None:
    source = tmp_path / "ok.mlir"
    source.write_text("// expected-error@+1 {{never}}\nfunc.func @f() {\n  func.return\n}\n")
    status, _, err = run_opt(source, "--verify-diagnostics")
    assert status == 1
    assert err.strip() == f'{source}:1:4: error: expected error "never" was not produced'


BAD_PREDICATE = (
    'func.func @f(%x: f64) {\n  %0 = noma.cmp "less", %x, %x : f64, f64 -> f64\n  func.return\n}\n'
)


def test_verifier_errors_of_mlir_input_name_the_op_where_it_is(tmp_path: Path) -> None:
    source = tmp_path / "bad.mlir"
    source.write_text(BAD_PREDICATE)
    status, out, err = run_opt(source)
    assert (status, out) == (1, "")
    assert err.splitlines()[0] == (
        f"{source}:2:3: error: 'noma.cmp' op unknown comparison predicate 'less', "
        "expected one of lt, le, gt, ge, eq, ne"
    )


def test_every_chunk_is_reported(tmp_path: Path) -> None:
    source = tmp_path / "two.mlir"
    source.write_text(BAD_PREDICATE + "// -----\n" + BAD_PREDICATE)
    status, _, err = run_opt(source, "--split-input-file")
    located = [line.split(": error:")[0] for line in err.splitlines() if ": error:" in line]
    assert status == 1 and located == [f"{source}:2:3", f"{source}:7:3"]


def test_an_error_at_an_op_without_position_prints_the_op(tmp_path: Path) -> None:
    """An op a pass created has no place in the input: it is printed."""
    from xdsl.dialects import test

    from noma.diagnostics import NomaError
    from noma.tools.noma_opt import NomaOptMain

    driver = NomaOptMain("d", [str(tmp_path / "x.mlir")])
    op = test.TestOp()
    text = driver._render(NomaError.at_op(op, "boom"), "x.mlir")
    assert text.splitlines()[:3] == [
        "x.mlir: error: boom",
        "x.mlir: note: see current operation:",
        '"test.op"() : () -> ()',
    ]


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ("autodiff{", "noma-opt: error: malformed pass pipeline 'autodiff{' at column 10: "),
        (
            "noma-to-llvm{bogus=true}",
            "noma-opt: error: pass 'noma-to-llvm' takes no options, got 'bogus'",
        ),
        ("canonicalize{bogus=true}", "noma-opt: error: "),
        ("no-such-pass", "noma-opt: error: Unrecognized passes: ['no-such-pass']"),
    ],
)
def test_bad_pipelines_are_one_line_errors(pipeline: str, message: str, tmp_path: Path) -> None:
    source = tmp_path / "f.mlir"
    source.write_text("func.func @f() {\n  func.return\n}\n")
    status, out, err = run_opt(source, "-p", pipeline)
    assert (status, out) == (1, "")
    assert len(err.splitlines()) == 1 and err.startswith(message), err


def test_usage_errors_are_one_line_with_status_1() -> None:
    status, _, err = run_opt("--no-such-option")
    assert status == 1
    assert err == "noma-opt: error: unrecognized arguments: --no-such-option (see --help)\n"


def test_xdsl_passes_and_dialects_are_available(tmp_path: Path) -> None:
    """xDSL's own convert-scf-to-cf (NOMA's is noma-convert-scf-to-cf) and
    a dialect NOMA never uses (affine)."""
    source = tmp_path / "f.mlir"
    source.write_text(
        "func.func @f(%c: i1) {\n  scf.if %c {\n    func.call @f(%c) : (i1) -> ()\n  }\n  affine.for %i = 0 to 4 {\n  }\n"
        "  func.return\n}\n"
    )
    status, out, err = run_opt(source, "-p", "convert-scf-to-cf")
    assert status == 0, err
    assert "cf.cond_br" in out and "affine.for" in out


def test_scf_while_needs_nomas_scf_to_cf(tmp_path: Path) -> None:
    source = tmp_path / "w.mlir"
    source.write_text(
        "func.func @f(%n: i64) -> i64 {\n"
        "  %r = scf.while (%i = %n) : (i64) -> i64 {\n"
        "    %c = arith.constant true\n    scf.condition(%c) %i : i64\n"
        "  } do {\n  ^bb0(%j: i64):\n    scf.yield %j : i64\n  }\n"
        "  func.return %r : i64\n}\n"
    )
    status, out, err = run_opt(source, "-p", "noma-convert-scf-to-cf")
    assert status == 0, err
    assert "scf." not in out and "cf.cond_br" in out


def test_failed_run_keeps_the_output_file(tmp_path: Path) -> None:
    good, bad, out = tmp_path / "good.mlir", tmp_path / "bad.mlir", tmp_path / "out.mlir"
    good.write_text("func.func @f() {\n  func.return\n}\n")
    bad.write_text(BAD_PREDICATE)
    assert run_opt(good, "-o", out)[0] == 0
    written = out.read_text()
    assert "func.func @f" in written
    assert run_opt(bad, "-o", out)[0] == 1
    assert out.read_text() == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mlir", "good.mlir", "out.mlir"]


def test_only_the_targets_that_work_are_offered(tmp_path: Path) -> None:
    source = tmp_path / "f.mlir"
    source.write_text("func.func @f() {\n  func.return\n}\n")
    status, _, err = run_opt(source, "-t", "x86-asm")
    assert status == 1 and "invalid choice: 'x86-asm' (choose from llvm, mlir)" in err
    _, help_text, _ = run_opt("--help")
    assert "Output format: mlir, llvm" in " ".join(help_text.split())


def test_the_llvm_target_translates_llvm_dialect_input(tmp_path: Path) -> None:
    program = tmp_path / "p.noma"
    program.write_text("fn main() {\n    let x = 3;\n    return x * x;\n}\n")
    status, out, err = run_opt(program, "-p", "noma-to-llvm", "-t", "llvm")
    assert status == 0, err
    assert "define " in out
    status, _, err = run_opt(program, "-t", "llvm")
    assert status == 1
    assert err.startswith(f"{program}:1:1: error: cannot translate 'func.func'")
