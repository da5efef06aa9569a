"""The C runtime's interface, declared once on the Python side.

Every function of `noma/runtime/c/*.h` is listed here with its parameters
and result as *kinds*; the loops-level lowering declares the functions
compiled code calls from this table (`noma.lowering.noma_to_loops.runtime`),
the JIT's ctypes view of the library takes its signatures from it
(`noma.runtime.jit`), and `tests/runtime/test_abi.py` checks it against the
C headers, so the three cannot drift apart.

A kind is one source-level parameter. The 1-D memref kinds (`STRING`,
`FLAT`, `SHAPE`) are what compiled code passes as a `memref<?xT>`; MLIR's
calling convention expands each into five C parameters (allocated pointer,
aligned pointer, offset, size, stride), and so do the headers.

No xDSL and no ctypes at import: a cache hit of `noma run` loads this module.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    """One parameter or result of a runtime function, by what it carries."""

    F64 = "double"
    I64 = "int64_t"
    INT = "int"
    POINTER = "void*"
    C_STRING = "const char*"
    CHAR_BUFFER = "char*"
    PACKED_ARGS = "void**"
    PACKED_FUNCTION = "void(*)(void**)"
    ARGV = "char**"
    EXE_ENTRY = "const noma_exe_entry*"
    FILE = "FILE*"
    OUTPUT_FN = "noma_output_fn"
    F64_ARRAY = "const double*"
    I64_ARRAY = "const int64_t*"
    I64_OUT = "int64_t*"
    C_STRING_OUT = "const char**"
    I64_ARRAY_OUT = "const int64_t**"
    F64_ARRAY_OUT = "const double**"
    STRING = "memref<?xi8>"
    FLAT = "memref<?xf64>"
    SHAPE = "memref<?xi64>"

    @property
    def c_types(self) -> tuple[str, ...]:
        """The C parameter types this kind is passed as."""
        element = _MEMREF_ELEMENTS.get(self)
        if element is None:
            return (self.value,)
        return (f"{element}*", f"{element}*", "int64_t", "int64_t", "int64_t")


_MEMREF_ELEMENTS: dict[Kind, str] = {
    Kind.STRING: "char",
    Kind.FLAT: "double",
    Kind.SHAPE: "int64_t",
}


class Caller(enum.Enum):
    """Who calls a runtime function."""

    COMPILED = "compiled"
    """Compiled code, through a `func.call` the loops lowering emits."""
    LLVM = "llvm"
    """Compiled code, through a call the LLVM-level lowering emits."""
    PYTHON = "python"
    """NOMA's Python side, through ctypes."""
    C = "c"
    """Only the C runtime itself or an executable's C driver."""


@dataclass(frozen=True)
class RuntimeFunction:
    name: str
    params: tuple[Kind, ...]
    result: Kind | None
    callers: frozenset[Caller]

    @property
    def c_params(self) -> tuple[str, ...]:
        return tuple(c for kind in self.params for c in kind.c_types)


def _fn(
    name: str, params: tuple[Kind, ...], result: Kind | None, *callers: Caller
) -> RuntimeFunction:
    return RuntimeFunction(name, params, result, frozenset(callers))


IO_PACKED_PREFIX = "noma_io_packed_"
"""`noma_io_packed_<f>(void **args)`: file function `f` called through the
packed convention, by the executable's driver and the JIT's `io_invoke`."""

_COMPILED, _LLVM, _PYTHON, _C = Caller.COMPILED, Caller.LLVM, Caller.PYTHON, Caller.C
F64, I64, INT = Kind.F64, Kind.I64, Kind.INT
STRING, FLAT, SHAPE = Kind.STRING, Kind.FLAT, Kind.SHAPE

FUNCTIONS: tuple[RuntimeFunction, ...] = (
    # printing and diagnostics (noma_runtime.h)
    _fn("noma_print_f64", (F64,), None, _COMPILED, _PYTHON),
    _fn("noma_print_str", (STRING,), None, _COMPILED),
    _fn("noma_format_f64", (F64, Kind.CHAR_BUFFER, I64), INT, _PYTHON),
    _fn("noma_rt_shortest_digits", (F64, Kind.CHAR_BUFFER, Kind.I64_OUT), INT, _C),
    _fn("noma_rt_flush", (), None, _PYTHON),
    _fn("noma_rt_check_stdout", (), INT, _PYTHON),
    _fn("noma_print_tensor", (FLAT, SHAPE), None, _COMPILED, _PYTHON),
    _fn("noma_warning", (STRING, F64), None, _COMPILED),
    _fn("noma_runtime_error", (STRING, F64, F64), None, _COMPILED),
    _fn("noma_shape_error", (STRING, SHAPE, SHAPE), None, _COMPILED),
    _fn("noma_free_buffer", (Kind.POINTER,), None, _PYTHON),
    _fn("noma_rt_invoke", (Kind.PACKED_FUNCTION, Kind.PACKED_ARGS), INT, _PYTHON),
    # where the runtime prints (noma_output.c)
    _fn("noma_rt_stdout", (), Kind.FILE, _C),
    _fn("noma_rt_stderr", (), Kind.FILE, _C),
    _fn("noma_rt_set_output", (Kind.OUTPUT_FN,), INT, _PYTHON),
    # progress of optimize loops (noma_progress.c)
    _fn("noma_progress_begin", (), None, _COMPILED),
    _fn("noma_progress_step", (F64,), None, _COMPILED),
    _fn("noma_progress_end", (), None, _COMPILED),
    _fn("noma_rt_set_progress", (INT,), None, _PYTHON, _C),
    _fn("noma_rt_progress_interrupt", (), None, _C),
    _fn("noma_check_dims", (STRING, FLAT), None, _COMPILED),
    _fn("noma_alloc_failed", (I64, Kind.C_STRING, I64), None, _LLVM),
    # the random generator
    _fn("noma_rng_seed", (I64,), None, _COMPILED, _PYTHON),
    _fn("noma_rng_next_raw", (), I64, _PYTHON),
    _fn("noma_rng_uniform", (), F64, _PYTHON),
    _fn("noma_rng_uniform_range", (F64, F64), F64, _COMPILED, _PYTHON),
    _fn("noma_rng_normal", (F64, F64), F64, _COMPILED, _PYTHON),
    # the autodiff tape
    _fn("noma_tape_new", (), I64, _COMPILED, _PYTHON),
    _fn("noma_tape_push", (I64, F64), None, _COMPILED, _PYTHON),
    _fn("noma_tape_pop", (I64,), F64, _COMPILED, _PYTHON),
    _fn("noma_tape_push_array", (I64, FLAT), None, _COMPILED, _PYTHON),
    _fn("noma_tape_pop_array", (I64, FLAT), None, _COMPILED, _PYTHON),
    _fn("noma_tape_free", (I64,), None, _COMPILED, _PYTHON),
    # files (noma_io.h)
    _fn("noma_load_csv", (STRING, STRING), I64, _COMPILED),
    _fn("noma_load_safetensors", (STRING, STRING, STRING, I64), I64, _COMPILED),
    _fn("noma_check_checkpoint", (STRING, STRING), None, _COMPILED),
    _fn("noma_load_checkpoint_entry", (STRING, STRING, STRING, I64), I64, _COMPILED),
    _fn("noma_load_arg", (STRING, STRING, I64), I64, _COMPILED),
    _fn("noma_loaded_dim", (I64, I64), I64, _COMPILED),
    _fn("noma_loaded_take", (I64, FLAT), None, _COMPILED),
    _fn("noma_save_csv", (STRING, STRING, FLAT, SHAPE), None, _COMPILED),
    _fn("noma_safetensors_writer_new", (), I64, _COMPILED, _PYTHON),
    _fn("noma_safetensors_writer_add", (I64, STRING, FLAT, SHAPE), None, _COMPILED),
    _fn("noma_safetensors_writer_save", (I64, STRING, STRING), None, _COMPILED),
    _fn("noma_set_arg", (Kind.C_STRING, Kind.C_STRING), None, _PYTHON),
    _fn("noma_set_arg_array", (Kind.C_STRING, Kind.F64_ARRAY, I64, Kind.I64_ARRAY), None, _PYTHON),
    _fn("noma_clear_args", (), None, _PYTHON),
    _fn("noma_set_arg_syntax", (INT,), None, _PYTHON),
    # the learnt parameters the JIT's main saves to the sink
    _fn(
        "noma_exported_parameter",
        (I64, Kind.C_STRING_OUT, Kind.I64_OUT, Kind.I64_ARRAY_OUT, Kind.F64_ARRAY_OUT),
        INT,
        _PYTHON,
    ),
    _fn("noma_exported_clear", (), None, _PYTHON),
    _fn("noma_rt_fail", (Kind.C_STRING,), None, _C),
    # The packed wrappers the executable's driver calls file functions
    # through, and the driver itself (noma_exe_main.h).
    *(
        _fn(IO_PACKED_PREFIX + name, (Kind.PACKED_ARGS,), None, _C)
        for name in (
            "load_csv",
            "load_safetensors",
            "load_arg",
            "loaded_dim",
            "loaded_take",
            "save_csv",
            "writer_add",
            "writer_save",
        )
    ),
    _fn(
        "noma_exe_main",
        (INT, Kind.ARGV, Kind.PACKED_FUNCTION, I64, Kind.EXE_ENTRY),
        INT,
        _C,
    ),
)
"""Every function the runtime's headers declare."""

BY_NAME: dict[str, RuntimeFunction] = {f.name: f for f in FUNCTIONS}


def called_by(caller: Caller) -> tuple[RuntimeFunction, ...]:
    return tuple(f for f in FUNCTIONS if caller in f.callers)


def ctypes_signature(function: RuntimeFunction) -> tuple[list[type], type | None]:
    """`(argtypes, restype)` of `function` for a `ctypes.CDLL`."""
    import ctypes

    pointer = ctypes.c_void_p
    scalars: dict[Kind, type] = {
        Kind.F64: ctypes.c_double,
        Kind.I64: ctypes.c_int64,
        Kind.INT: ctypes.c_int,
        Kind.C_STRING: ctypes.c_char_p,
        Kind.CHAR_BUFFER: ctypes.c_char_p,
        Kind.PACKED_ARGS: ctypes.POINTER(ctypes.c_void_p),
    }

    def expanded(kind: Kind) -> list[type]:
        if kind in _MEMREF_ELEMENTS:
            return [pointer, pointer, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64]
        return [scalars.get(kind, pointer)]

    argtypes = [t for kind in function.params for t in expanded(kind)]
    restype = expanded(function.result)[0] if function.result is not None else None
    return argtypes, restype
