"""The JIT engine: hand-written LLVM IR calling the C runtime by name.

These pin down the contract later stages rely on: `noma_*` symbols resolve
inside JIT code, output goes through C stdio (fd 1 / fd 2), packed entry
points receive `void **args`, and a runtime error returns status 1 from
`invoke_packed` without killing the Python process.
"""

from __future__ import annotations

import ctypes
import math
import subprocess
from pathlib import Path

import pytest

from noma.runtime.build import find_c_compiler, runtime_include_dir, runtime_source_paths
from noma.runtime.jit import JitError, JitModule, emit_object_file, optimize_ir

# A memref<?xi8> string constant is passed to the runtime as its expanded
# descriptor (allocated, aligned, offset, size, stride).
COMPUTE_IR = r"""
declare void @noma_print_f64(double)
declare double @llvm.tanh.f64(double)

define double @compute(double %x) {
entry:
  call void @noma_print_f64(double %x)
  %t = call double @llvm.tanh.f64(double %x)
  %y = fmul double %t, 2.0
  call void @noma_print_f64(double %y)
  ret double %y
}

define void @_noma_packed_main(ptr %args) {
entry:
  %a0p = getelementptr inbounds ptr, ptr %args, i64 0
  %a0 = load ptr, ptr %a0p
  %x = load double, ptr %a0
  %r = call double @compute(double %x)
  %a1p = getelementptr inbounds ptr, ptr %args, i64 1
  %a1 = load ptr, ptr %a1p
  store double %r, ptr %a1
  ret void
}
"""

ERROR_MSG = "prog.noma:4:9: runtime error: index {0} out of bounds for dimension of size {1}"
WARN_MSG = "prog.noma:2:1: warning: loss is {0}; {0} again, {1} stays"
HELLO = "hello from NOMA"


def _global_string(name: str, text: str) -> str:
    data = text.encode()
    return f'@{name} = private constant [{len(data)} x i8] c"{data.decode()}"\n'


DIAG_IR = (
    _global_string("err", ERROR_MSG)
    + _global_string("warn", WARN_MSG)
    + _global_string("hello", HELLO)
    + rf"""
declare void @noma_print_f64(double)
declare void @noma_print_str(ptr, ptr, i64, i64, i64)
declare void @noma_warning(ptr, ptr, i64, i64, i64, double)
declare void @noma_runtime_error(ptr, ptr, i64, i64, i64, double, double)

; Prints, warns, then fails the bounds check when the index is >= 3.
define void @_noma_packed_check(ptr %args) {{
entry:
  %a0 = load ptr, ptr %args
  %i = load double, ptr %a0
  call void @noma_print_str(ptr @hello, ptr @hello, i64 0, i64 {len(HELLO)}, i64 1)
  call void @noma_warning(ptr @warn, ptr @warn, i64 0, i64 {len(WARN_MSG)}, i64 1, double %i)
  %bad = fcmp oge double %i, 3.0
  br i1 %bad, label %fail, label %ok
fail:
  call void @noma_runtime_error(ptr @err, ptr @err, i64 0, i64 {len(ERROR_MSG)}, i64 1, double %i, double 3.0)
  unreachable
ok:
  call void @noma_print_f64(double %i)
  ret void
}}
"""
)

TAPE_IR = r"""
declare i64 @noma_tape_new()
declare void @noma_tape_push(i64, double)
declare double @noma_tape_pop(i64)
declare void @noma_tape_free(i64)
declare void @noma_print_f64(double)

; Pushes 1, 2, 3, then pops n times (printing each); n = 4 underflows.
define void @_noma_packed_tape(ptr %args) {
entry:
  %a0 = load ptr, ptr %args
  %n = load i64, ptr %a0
  %t = call i64 @noma_tape_new()
  call void @noma_tape_push(i64 %t, double 1.0)
  call void @noma_tape_push(i64 %t, double 2.0)
  call void @noma_tape_push(i64 %t, double 3.0)
  br label %loop
loop:
  %k = phi i64 [ 0, %entry ], [ %k1, %body ]
  %more = icmp slt i64 %k, %n
  br i1 %more, label %body, label %done
body:
  %v = call double @noma_tape_pop(i64 %t)
  call void @noma_print_f64(double %v)
  %k1 = add i64 %k, 1
  br label %loop
done:
  call void @noma_tape_free(i64 %t)
  ret void
}
"""


@pytest.fixture(scope="module")
def compute_module() -> JitModule:
    return JitModule(COMPUTE_IR)


@pytest.fixture(scope="module")
def diag_module() -> JitModule:
    return JitModule(DIAG_IR)


def _call_compute(m: JitModule, x: float) -> tuple[int, float]:
    xin = ctypes.c_double(x)
    out = ctypes.c_double(float("nan"))
    status = m.invoke_packed("_noma_packed_main", [ctypes.pointer(xin), ctypes.pointer(out)])
    return status, out.value


def test_packed_call_prints_and_returns(
    compute_module: JitModule, capfd: pytest.CaptureFixture[str]
) -> None:
    status, y = _call_compute(compute_module, 0.5)
    compute_module.flush()
    out, err = capfd.readouterr()
    assert status == 0
    assert y == pytest.approx(2 * math.tanh(0.5), rel=1e-15)
    assert out == f"0.5\n{y!r}\n"
    assert err == ""


def test_direct_call_by_address(
    compute_module: JitModule, capfd: pytest.CaptureFixture[str]
) -> None:
    """function_address gives a plain C function pointer."""
    addr = compute_module.function_address("compute")
    fn = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(addr)
    assert fn(1.0) == pytest.approx(2 * math.tanh(1.0))
    compute_module.flush()
    assert capfd.readouterr().out == f"1.0\n{2 * math.tanh(1.0)!r}\n"


def test_missing_function(compute_module: JitModule) -> None:
    with pytest.raises(JitError, match="no function named 'nope'"):
        compute_module.function_address("nope")


def test_optimized_ir(compute_module: JitModule) -> None:
    ir = compute_module.optimized_ir
    assert isinstance(ir, str)
    assert "define double @compute" in ir
    assert "target triple" in ir
    # O2 inlined compute into the packed wrapper.
    packed = ir[ir.index("@_noma_packed_main") :]
    assert "call double @compute" not in packed
    assert "define" in optimize_ir(COMPUTE_IR)


def test_runtime_helpers(compute_module: JitModule, capfd: pytest.CaptureFixture[str]) -> None:
    assert compute_module.format_f64(0.1) == "0.1"
    assert compute_module.format_f64(1e16) == "1e+16"
    compute_module.print_f64(25.0)
    compute_module.print_f64(-0.0)
    compute_module.flush()
    assert capfd.readouterr().out == "25.0\n-0.0\n"


def test_print_str_and_warning(diag_module: JitModule, capfd: pytest.CaptureFixture[str]) -> None:
    i = ctypes.c_double(1.0)
    status = diag_module.invoke_packed("_noma_packed_check", [ctypes.pointer(i)])
    diag_module.flush()
    out, err = capfd.readouterr()
    assert status == 0
    assert out == f"{HELLO}\n1.0\n"
    # Every {0} is substituted; {1} is not a warning placeholder. Integral
    # values print without ".0" in messages (they are mostly counts).
    assert err == "prog.noma:2:1: warning: loss is 1; 1 again, {1} stays\n"


def test_message_values_keep_their_fraction(
    diag_module: JitModule, capfd: pytest.CaptureFixture[str]
) -> None:
    i = ctypes.c_double(2.5)
    assert diag_module.invoke_packed("_noma_packed_check", [ctypes.pointer(i)]) == 0
    diag_module.flush()
    _, err = capfd.readouterr()
    assert err == "prog.noma:2:1: warning: loss is 2.5; 2.5 again, {1} stays\n"


def test_runtime_error_returns_1(diag_module: JitModule, capfd: pytest.CaptureFixture[str]) -> None:
    i = ctypes.c_double(7.0)
    status = diag_module.invoke_packed("_noma_packed_check", [ctypes.pointer(i)])
    diag_module.flush()
    out, err = capfd.readouterr()
    assert status == 1
    assert out == f"{HELLO}\n"  # printed before the error, flushed; 7.0 never printed
    assert err.splitlines() == [
        "prog.noma:2:1: warning: loss is 7; 7 again, {1} stays",
        "prog.noma:4:9: runtime error: index 7 out of bounds for dimension of size 3",
    ]
    # The process (and the JIT module) is still usable afterwards.
    i.value = 2.0
    assert diag_module.invoke_packed("_noma_packed_check", [ctypes.pointer(i)]) == 0
    diag_module.flush()
    assert capfd.readouterr().out == f"{HELLO}\n2.0\n"


def test_repeated_errors_do_not_leak_frames(
    diag_module: JitModule, capfd: pytest.CaptureFixture[str]
) -> None:
    """Each failed invoke unwinds its own frame: many in a row all return 1,
    and a subsequent success still returns 0."""
    i = ctypes.c_double(5.0)
    for _ in range(100):
        assert diag_module.invoke_packed("_noma_packed_check", [ctypes.pointer(i)]) == 1
    i.value = 0.0
    assert diag_module.invoke_packed("_noma_packed_check", [ctypes.pointer(i)]) == 0
    capfd.readouterr()


def test_tape_in_jit_code(capfd: pytest.CaptureFixture[str]) -> None:
    m = JitModule(TAPE_IR)
    n = ctypes.c_int64(3)
    assert m.invoke_packed("_noma_packed_tape", [ctypes.pointer(n)]) == 0
    m.flush()
    out, err = capfd.readouterr()
    assert out == "3.0\n2.0\n1.0\n"
    assert err == ""

    n.value = 4
    assert m.invoke_packed("_noma_packed_tape", [ctypes.pointer(n)]) == 1
    m.flush()
    out, err = capfd.readouterr()
    assert out == "3.0\n2.0\n1.0\n"
    assert err == "runtime error: internal: tape underflow\n"
    m.close()
    with pytest.raises(JitError, match="closed"):
        m.function_address("_noma_packed_tape")


# Parses, but %x does not dominate its use: only the verifier catches it.
NOT_DOMINATING_IR = r"""
define i32 @f(i1 %c) {
entry:
  br i1 %c, label %a, label %b
a:
  %x = add i32 1, 2
  br label %b
b:
  ret i32 %x
}
"""


def test_invalid_ir_is_a_jit_error() -> None:
    with pytest.raises(JitError, match="invalid LLVM IR"):
        JitModule("define void @f( {")
    with pytest.raises(JitError, match="verification"):
        JitModule(NOT_DOMINATING_IR)


def test_emit_object_links_into_executable(tmp_path: Path) -> None:
    """The object from emit_object links with noma_runtime.c into a program
    that prints the same thing the JIT prints (the executable path)."""
    ir = (
        COMPUTE_IR
        + r"""
define i32 @main() {
entry:
  %r = call double @compute(double 0.5)
  ret i32 0
}
"""
    )
    m = JitModule(ir)
    obj = m.emit_object(tmp_path / "prog.o")
    assert obj.is_file() and obj.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prog.o"]
    obj2 = emit_object_file(ir, tmp_path / "prog2.o")
    assert obj2.is_file()
    exe = tmp_path / "prog"
    link = subprocess.run(
        [
            *find_c_compiler(),
            "-I",
            str(runtime_include_dir()),
            "-o",
            str(exe),
            str(obj),
            *(str(p) for p in runtime_source_paths()),
            "-lm",
        ],
        capture_output=True,
        text=True,
    )
    assert link.returncode == 0, link.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert run.stdout == f"0.5\n{2 * math.tanh(0.5)!r}\n"


NESTED_IR = (
    _global_string("boom", "inner failed with {0}")
    + r"""
declare i32 @noma_rt_invoke(ptr, ptr)
declare void @noma_print_f64(double)
declare void @noma_runtime_error(ptr, ptr, i64, i64, i64, double, double)

define void @_noma_packed_inner(ptr %args) {
entry:
  call void @noma_runtime_error(ptr @boom, ptr @boom, i64 0, i64 21, i64 1, double 42.0, double 0.0)
  unreachable
}

; Runs inner under its own trampoline, prints its status, then carries on.
define void @_noma_packed_outer(ptr %args) {
entry:
  %s = call i32 @noma_rt_invoke(ptr @_noma_packed_inner, ptr %args)
  %d = sitofp i32 %s to double
  call void @noma_print_f64(double %d)
  ret void
}
"""
)


def test_nested_invoke_catches_innermost(capfd: pytest.CaptureFixture[str]) -> None:
    """An error returns to the innermost active noma_rt_invoke only."""
    m = JitModule(NESTED_IR)
    assert m.invoke_packed("_noma_packed_outer", []) == 0
    m.flush()
    out, err = capfd.readouterr()
    assert out == "1.0\n"
    assert err == "inner failed with 42\n"
    assert m.invoke_packed("_noma_packed_inner", []) == 1
    m.flush()
    assert capfd.readouterr().err == "inner failed with 42\n"
