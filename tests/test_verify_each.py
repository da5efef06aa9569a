"""Verification between passes: off by default, on with `verify_each`
(`NOMA_VERIFY_EACH=1`, `noma.compile(..., verify_each=True)`,
`--verify-each`), where IR a pass leaves invalid is a located internal
error naming the pass; and the stages a caller asks for stay as they were
when later stages are computed (the pipeline advances its own module in
place)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from xdsl.context import Context
from xdsl.dialects import arith, builtin
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, ModuleOp, i64
from xdsl.passes import ModulePass
from xdsl.printer import Printer
from xdsl.utils.arg_spec import parse_pipeline

import noma
from noma import pipeline
from noma.frontend import compile_to_ir
from noma.frontend.diagnostics import SourceLoc, op_loc
from noma.frontend.verify import PassVerificationError
from noma.tools import noma_opt

SOURCE = """\
fn main() {
    learn x = 5.0;
    let learning_rate = 0.1;
    optimize(x) until loss < 0.000001 {
        let loss = x * x;
        minimize loss;
    }
    return x;
}
"""
"""A program that goes through every stage (a gradient, an optimizer loop)."""

BROKEN_PASS = "test-break-constant"


@dataclass(frozen=True)
class BreakFirstFloatConstant(ModulePass):
    """Gives the first located f64 `arith.constant` an i64 value: invalid IR
    (the value's type must be the result's), located where the constant is."""

    name = BROKEN_PASS

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for inner in op.walk():
            if (
                isinstance(inner, arith.ConstantOp)
                and isinstance(inner.value, FloatAttr)
                and op_loc(inner) is not None
            ):
                inner.properties["value"] = IntegerAttr(1, i64)
                return
        raise AssertionError("no located float constant to break")


def broken_constant_loc() -> SourceLoc:
    """Where the pass breaks the IR, found independently of the pipeline."""
    module = compile_to_ir(SOURCE, "<source>")
    constant = next(
        op
        for op in module.walk()
        if isinstance(op, arith.ConstantOp) and isinstance(op.value, FloatAttr) and op_loc(op)
    )
    loc = op_loc(constant)
    assert loc is not None
    return loc


@pytest.fixture
def broken_autodiff_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `autodiff` stage runs the breaking pass right after `autodiff`."""
    registered = pipeline.all_passes()
    registered[BROKEN_PASS] = lambda: BreakFirstFloatConstant
    monkeypatch.setattr(pipeline, "all_passes", lambda: registered)
    stages = tuple(
        pipeline.Stage(s.name, s.passes.replace("autodiff,", f"autodiff,{BROKEN_PASS},"))
        for s in pipeline.STAGES
    )
    assert stages != pipeline.STAGES
    monkeypatch.setattr(pipeline, "STAGES", stages)


@pytest.fixture
def module_verifications(monkeypatch: pytest.MonkeyPatch) -> list[ModuleOp]:
    """Every `ModuleOp.verify()` call from now on, in order."""
    calls: list[ModuleOp] = []
    original = ModuleOp.verify

    def counting(self: ModuleOp, verify_nested_ops: bool = True) -> None:
        calls.append(self)
        original(self, verify_nested_ops)

    monkeypatch.setattr(ModuleOp, "verify", counting)
    return calls


def text(module: ModuleOp) -> str:
    from io import StringIO

    out = StringIO()
    Printer(stream=out).print_op(module)
    return out.getvalue()


def pass_count() -> int:
    return len(list(parse_pipeline(pipeline.pipeline_up_to("llvm"))))


def test_verify_each_reports_the_pass_that_broke_the_ir(broken_autodiff_stage: None) -> None:
    program = noma.compile(SOURCE, verify_each=True)
    with pytest.raises(PassVerificationError) as caught:
        program.ir("loops")
    error = caught.value
    assert error.pass_name == BROKEN_PASS
    assert error.loc == broken_constant_loc()
    assert error.severity == "internal compiler error"
    rendered = str(error)
    assert rendered.startswith(f"{broken_constant_loc()}: internal compiler error: ")
    assert f"after pass '{BROKEN_PASS}' does not verify ('arith.constant')" in rendered


def test_verify_each_from_the_environment(
    broken_autodiff_stage: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOMA_VERIFY_EACH", "1")
    with pytest.raises(PassVerificationError, match=BROKEN_PASS):
        noma.compile(SOURCE).ir("autodiff")
    monkeypatch.setenv("NOMA_VERIFY_EACH", "0")
    assert not noma.compile(SOURCE).verify_each


def test_without_verify_each_the_broken_ir_goes_through(broken_autodiff_stage: None) -> None:
    # Not verified, so the invalid constant is still there after the stage.
    module = noma.compile(SOURCE, verify_each=False).ir("autodiff")
    assert any(
        isinstance(op, arith.ConstantOp) and isinstance(op.value, IntegerAttr)
        and isinstance(op.result.type, builtin.Float64Type)
        for op in module.walk()
    )  # fmt: skip


def test_default_path_does_not_verify(module_verifications: list[ModuleOp]) -> None:
    compile_to_ir(SOURCE, "<source>")
    by_frontend = len(module_verifications)
    module_verifications.clear()
    assert noma.compile(SOURCE, verify_each=False).llvm_ir
    assert len(module_verifications) == by_frontend


def test_verify_each_verifies_after_every_pass(module_verifications: list[ModuleOp]) -> None:
    compile_to_ir(SOURCE, "<source>")
    by_frontend = len(module_verifications)
    module_verifications.clear()
    assert noma.compile(SOURCE, verify_each=True).llvm_ir
    # Every pass, then the translation's legalization.
    assert len(module_verifications) == by_frontend + pass_count() + 1


def test_stages_asked_for_stay_as_they_were() -> None:
    fresh = {stage.name: text(noma.compile(SOURCE).ir(stage.name)) for stage in pipeline.STAGES}
    program = noma.compile(SOURCE)
    loops = program.ir("loops")
    loops_text = text(loops)
    llvm = program.ir("llvm")
    assert text(loops) == loops_text == fresh["loops"]  # not advanced in place
    assert text(llvm) == fresh["llvm"]
    assert program.ir("loops") is loops
    # An earlier stage asked for afterwards is computed afresh.
    assert text(program.ir("growth")) == fresh["growth"]
    assert {op.dialect_name() for op in llvm.walk()} <= {"builtin", "llvm"}


def test_llvm_ir_then_stages() -> None:
    expected = noma.compile(SOURCE).llvm_ir
    program = noma.compile(SOURCE)
    assert program.llvm_ir == expected
    # The llvm stage after the translation (which legalized it in place) is
    # still a module that translates to the same LLVM IR.
    from noma.lowering.translate import translate_to_llvmir

    assert translate_to_llvmir(program.ir("llvm")) == expected
    assert text(program.ir("noma")) == text(compile_to_ir(SOURCE, "<source>"))


def test_llvm_ir_of_a_stage_the_caller_holds_leaves_it_alone() -> None:
    program = noma.compile(SOURCE)
    llvm = program.ir("llvm")
    before = text(llvm)
    assert program.llvm_ir == noma.compile(SOURCE).llvm_ir
    assert text(llvm) == before


def test_noma_opt_verify_each_names_the_pass(
    broken_autodiff_stage: None, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "p.noma"
    source.write_text(SOURCE)
    with pytest.raises(SystemExit) as exit_status:
        noma_opt.main([str(source), "-p", f"autodiff,{BROKEN_PASS},canonicalize", "--verify-each"])
    assert exit_status.value.code == 1
    err = capsys.readouterr().err
    loc = broken_constant_loc()
    where = f"{source}:{loc.line}:{loc.col}"
    assert err.startswith(f"{where}: internal compiler error: the IR after pass '{BROKEN_PASS}'")


def test_noma_opt_verifies_the_output_by_default(
    broken_autodiff_stage: None, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "p.noma"
    source.write_text(SOURCE)
    with pytest.raises(SystemExit) as exit_status:
        noma_opt.main([str(source), "-p", f"autodiff,{BROKEN_PASS}"])
    assert exit_status.value.code == 1
    assert f"the IR after pass '{BROKEN_PASS}' does not verify" in capsys.readouterr().err


def test_noma_translate_verify_each(tmp_path) -> None:
    from noma.tools import noma_translate

    mlir = text(noma.compile(SOURCE).ir("llvm"))
    (tmp_path / "p.mlir").write_text(mlir)
    out = tmp_path / "p.ll"
    noma_translate.main(
        [str(tmp_path / "p.mlir"), "--mlir-to-llvmir", "--verify-each", "-o", str(out)]
    )
    # The same LLVM IR as without verification.
    assert out.read_text() == noma_translate.translate_text(mlir, str(tmp_path / "p.mlir"))
    assert "define" in out.read_text()


def test_noma_cli_verify_each(tmp_path) -> None:
    import subprocess

    (tmp_path / "p.noma").write_text(SOURCE)
    for command in (["check"], ["emit", "--stage", "loops"]):
        result = subprocess.run(
            ["noma", *command, "--verify-each", "p.noma"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert "memref.alloca" in result.stdout  # the loops stage was printed
