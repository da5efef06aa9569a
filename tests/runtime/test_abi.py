"""`noma.runtime.abi` against the C headers: the runtime's interface is
declared once in Python, and this test keeps that declaration and
`noma/runtime/c/*.h` in agreement, function by function and parameter by
parameter."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import pytest

from noma.runtime import abi

HEADERS = sorted((Path(abi.__file__).parent / "c").glob("*.h"))

_PROTOTYPE = re.compile(
    r"^[ \t]*(?P<result>[A-Za-z_][\w \t*]*?)\b(?P<name>noma_\w+)[ \t]*\((?P<params>[^;{]*?)\)[ \t]*;",
    re.MULTILINE,
)


def _without_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", " ", re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL))


def _c_type(declaration: str) -> str:
    """`char *where_alloc` -> `char*`; `void (*packed)(void **)` -> `void(*)(void**)`."""
    text = " ".join(declaration.split())
    text = re.sub(r"\(\s*\*\s*\w+\s*\)", "(*)", text)  # a function pointer's name
    text = re.sub(r"(?<=[\s*])[A-Za-z_]\w*$", "", text)  # a parameter's name
    text = re.sub(r"\s*\*\s*", "*", text)
    text = re.sub(r"\s*([()])\s*", r"\1", text)
    return text.strip()


def header_prototypes() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Name -> (result type, parameter types) of every `noma_*` function
    the headers declare."""
    prototypes: dict[str, tuple[str, tuple[str, ...]]] = {}
    for header in HEADERS:
        for match in _PROTOTYPE.finditer(_without_comments(header.read_text())):
            # Attribute macros (NOMA_IO_NORETURN) are not part of the type.
            words = [w for w in match["result"].split() if not w.startswith("NOMA_")]
            params = match["params"].strip()
            types = () if params in ("", "void") else tuple(_c_type(p) for p in params.split(","))
            prototypes[match["name"]] = (_c_type(" ".join(words)), types)
    return prototypes


def test_the_header_parser_reads_real_prototypes() -> None:
    prototypes = header_prototypes()
    assert prototypes["noma_rt_invoke"] == ("int", ("void(*)(void**)", "void**"))
    assert prototypes["noma_rt_fail"] == ("void", ("const char*",))
    assert prototypes["noma_rng_next_raw"] == ("int64_t", ())
    assert len(prototypes) >= 40


def test_every_header_function_is_declared_once_in_python() -> None:
    assert sorted(header_prototypes()) == sorted(abi.BY_NAME)
    assert len(abi.BY_NAME) == len(abi.FUNCTIONS)


@pytest.mark.parametrize("function", abi.FUNCTIONS, ids=lambda f: f.name)
def test_python_declaration_matches_the_header(function: abi.RuntimeFunction) -> None:
    result, params = header_prototypes()[function.name]
    assert function.c_params == params
    assert (function.result.value if function.result is not None else "void") == result


@pytest.mark.parametrize("function", abi.called_by(abi.Caller.PYTHON), ids=lambda f: f.name)
def test_ctypes_signatures_have_the_c_arity_and_widths(function: abi.RuntimeFunction) -> None:
    argtypes, restype = abi.ctypes_signature(function)
    assert len(argtypes) == len(function.c_params)
    for c_type, ctype in zip(function.c_params, argtypes, strict=True):
        size = {"double": 8, "int64_t": 8, "int": 4}.get(c_type, ctypes.sizeof(ctypes.c_void_p))
        assert ctypes.sizeof(ctype) == size, (c_type, ctype)
    if function.result is None:
        assert restype is None


def test_the_loops_lowering_declares_what_compiled_code_calls() -> None:
    from noma.lowering.noma_to_loops.runtime import RUNTIME_FUNCTIONS

    assert sorted(RUNTIME_FUNCTIONS) == sorted(f.name for f in abi.called_by(abi.Caller.COMPILED))


_LLVM_C_TYPES = {"i64": "int64_t", "i32": "int", "f64": "double", "!llvm.ptr": "pointer"}


@pytest.mark.parametrize("function", abi.called_by(abi.Caller.LLVM), ids=lambda f: f.name)
def test_the_llvm_lowering_types_its_runtime_calls_from_the_table(
    function: abi.RuntimeFunction,
) -> None:
    from noma.lowering.to_llvm.runtime import runtime_function_type

    llvm_type = runtime_function_type(function.name)
    inputs = [_LLVM_C_TYPES[str(t)] for t in llvm_type.inputs]
    expected = ["pointer" if c.endswith("*") else c for c in function.c_params]
    assert inputs == expected
    assert (function.result is None) == (str(llvm_type.output) == "!llvm.void")


def test_a_lowered_program_declares_the_malloc_guard_as_the_table_says() -> None:
    from xdsl.dialects import llvm

    import noma
    from noma.lowering.to_llvm.runtime import runtime_function_type

    program = noma.compile("fn main() { let t = tensor [1.0, 2.0]; print(t * t); }", cache=False)
    declared = {
        op.sym_name.data: op.function_type
        for op in program.ir("llvm").walk()
        if isinstance(op, llvm.FuncOp) and op.sym_name.data.startswith("noma_")
    }
    assert declared["noma_alloc_failed"] == runtime_function_type("noma_alloc_failed")
    assert set(declared) <= set(abi.BY_NAME)
