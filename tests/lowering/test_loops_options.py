"""The options of the loops passes change how a program is lowered, never
what it computes: examples run with elementwise fusion, in-place updates
and stack temporaries switched off print exactly their expected output."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from in_process import noma_in_process

from noma import pipeline

ROOT = Path(__file__).resolve().parents[2]

ALL_OFF = (
    "convert-noma-to-loops{fuse-elementwise=false update-in-place=false "
    "stack-buffer-bytes=0 stack-function-bytes=0}"
)


def _expected(name: str) -> tuple[int, str, str]:
    example = ROOT / "examples" / f"{name}.noma"
    err = example.with_suffix(".err")
    return 0, example.with_suffix(".out").read_text(), err.read_text() if err.exists() else ""


@pytest.mark.parametrize(
    "name",
    [
        "tensor_basics",
        "xor_2_16_1",
        pytest.param("self_growing_xor", marks=pytest.mark.slow),
        pytest.param("minibatch_linear_regression", marks=pytest.mark.slow),
    ],
)
def test_examples_print_the_same_with_every_option_off(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stages = tuple(
        replace(s, passes=s.passes.replace("convert-noma-to-loops", ALL_OFF)) if s.name == "loops" else s
        for s in pipeline.STAGES
    )
    assert stages != pipeline.STAGES
    monkeypatch.setattr(pipeline, "STAGES", stages)
    proc = noma_in_process("run", "--no-cache", f"examples/{name}.noma", cwd=ROOT)
    assert (proc.returncode, proc.stdout, proc.stderr) == _expected(name)


def test_the_options_do_change_the_loops(tmp_path: Path) -> None:
    """Not a no-op: without fusion an elementwise chain is stored between
    its loops; without stack temporaries nothing is hoisted onto the stack."""
    from noma.compiler import compile as noma_compile

    def loops(spec: str) -> str:
        program = noma_compile(ROOT / "examples" / "xor_2_16_1.noma")
        module = program.ir("growth")
        pipeline.build_pipeline(spec).apply(pipeline.make_context(), module)
        return str(module)

    default, off = loops("convert-noma-to-loops"), loops(ALL_OFF)
    assert default.count("memref.alloca() : memref<4x16xf64>") > 0
    assert off.count("memref.alloca() : memref<4x16xf64>") == 0
    assert off.count("memref.alloc()") > default.count("memref.alloc()")
