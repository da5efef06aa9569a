"""Standalone executables: a compiled program linked with the C runtime.

`noma build-exe` writes a native program that needs no Python. It is made of

- the program's object file, from the same LLVM IR and the same LLVM
  pipeline (host CPU, ``default<O{n}>``) as the JIT, plus a `main` appended
  to that IR which calls the driver;
- the C runtime (`runtime_source_paths()`), the one implementation of
  printing, the RNG, the tape and file I/O that the JIT loads as a shared
  library, so both modes print the same bytes and draw the same numbers;
- the driver `noma_exe_main.c`, which does what `noma run` does around the
  call (seed, `--arg` files, the trampoline, printing the result).

The runtime and the driver are compiled to objects once, with the runtime's
flags, and kept in NOMA's cache directory (`build.build_runtime_objects`);
the system C compiler then only links. Every intermediate lives in a
temporary directory, and the executable is linked to a temporary name next
to the output and renamed into place, so a failed build never leaves a half-written file nor clobbers
the executable that was there; a SIGTERM, SIGINT or SIGHUP removes them
before it ends the process.

    >>> build_executable(noma.compile("prog.noma"), Path("prog"))
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from pathlib import Path

from xdsl.dialects.builtin import TensorType

from noma import atomic
from noma.atomic import cleanup_on_signals, replacing
from noma.compiler import MainEntry, Program
from noma.runtime import build
from noma.runtime.build import RUNTIME_CFLAGS, RuntimeBuildError, find_c_compiler
from noma.symbols import PACKED_PREFIX

__all__ = ["DRIVER_SOURCE", "ExecutableBuildError", "build_executable", "entry_stub"]

DRIVER_SOURCE = build.runtime_include_dir() / "noma_exe_main.c"
"""The generic driver every executable links (not part of the runtime library)."""

NO_RESULT = -1
"""`result_rank` of a main that returns nothing (NOMA_EXE_NO_RESULT)."""

OPT_LEVELS = range(4)

# The names the appended stub defines or declares; the program's module must
# not define them already (NOMA functions are `fn.<name>`, so it never does).
_STUB_SYMBOLS = ("main", "noma_exe_main")


class ExecutableBuildError(RuntimeBuildError):
    """The executable could not be built (the message says why). A
    RuntimeBuildError, so every NOMA tool reports it as `noma: error: ...`."""


def result_rank(program: Program) -> int:
    """How the driver reads main's result slot: -1 (nothing), 0 (a double, as
    `Program.run` reads every non-tensor result) or the rank of a tensor."""
    outputs = list(program.entry.function_type.outputs.data)
    if not outputs:
        return NO_RESULT
    first = outputs[0]
    if not isinstance(first, TensorType):
        return 0
    rank = first.get_num_dims()
    if rank == 0:
        # The language has no rank-0 tensors; the driver's rank 0 means a
        # double slot, so refuse rather than read a descriptor as a double.
        raise ExecutableBuildError("main returns a rank-0 tensor, which executables do not support")
    return rank


def _c_string(name: str, text: str) -> str:
    """A private LLVM constant holding `text` (UTF-8) and a NUL."""
    data = text.encode("utf-8") + b"\0"
    body = "".join(
        chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\{b:02X}" for b in data
    )
    return f'@{name} = private unnamed_addr constant [{len(data)} x i8] c"{body}"\n'


def entry_stub(packed_name: str, rank: int, entry: MainEntry | None = None) -> str:
    """LLVM IR for `int main(int argc, char **argv)` calling
    `noma_exe_main(argc, argv, packed, rank, &entry)`, where the entry
    (noma_exe_entry) says where main is and which parameters it takes.

    Appended to the program's module rather than written as a C stub because
    the packed entry point is `_noma_packed_fn.main`, which is not a C
    identifier; in LLVM IR any symbol can be named, portably.
    """
    entry = entry or MainEntry("", (), "")
    return (
        "\n; The executable's entry point (noma/executable.py).\n"
        + _c_string("noma_exe.where", entry.where)
        + _c_string("noma_exe.parameters", ",".join(entry.parameters))
        + _c_string("noma_exe.excerpt", entry.excerpt)
        + "@noma_exe.entry = private unnamed_addr constant { ptr, ptr, ptr } "
        "{ ptr @noma_exe.where, ptr @noma_exe.parameters, ptr @noma_exe.excerpt }\n"
        "declare i32 @noma_exe_main(i32, ptr, ptr, i64, ptr)\n\n"
        "define i32 @main(i32 %argc, ptr %argv) {\n"
        "entry:\n"
        f'  %status = call i32 @noma_exe_main(i32 %argc, ptr %argv, ptr @"{packed_name}", '
        f"i64 {rank}, ptr @noma_exe.entry)\n"
        "  ret i32 %status\n"
        "}\n"
    )


def executable_ir(program: Program) -> str:
    """The program's LLVM IR with the `main` of an executable appended."""
    ir = program.llvm_ir
    for symbol in _STUB_SYMBOLS:
        if re.search(rf'^(define|declare)\b[^@\n]*@"?{symbol}"?\(', ir, re.MULTILINE):
            raise ExecutableBuildError(f"the program's LLVM module already has a '{symbol}'")
    packed = PACKED_PREFIX + program.entry.sym_name.data
    return ir + entry_stub(packed, result_rank(program), program.main_entry())


def _check_output(output: Path) -> None:
    """The directory the executable goes to, checked before any work so the
    error names the real problem (not a temporary file's name)."""
    if output.is_dir():
        raise ExecutableBuildError(f"cannot write the executable to {output}: it is a directory")
    directory = output.parent if str(output.parent) else Path(".")
    if not directory.is_dir():
        raise ExecutableBuildError(
            f"cannot write the executable to {output}: {directory} is not a directory"
        )


def link_command(compiler: list[str], objects: list[Path], output: Path) -> list[str]:
    """`cc <runtime flags> -o output objects... -lm`: the program's object,
    then the runtime's and the driver's (compiled once and kept in the
    cache, see `build.build_runtime_objects`), its libraries after the
    objects for --as-needed linkers."""
    return [
        *compiler,
        *RUNTIME_CFLAGS,
        "-o",
        str(output),
        *(str(p) for p in objects),
        *build._LINK_LIBS,  # the runtime's own libraries (-lm), as for its shared library
    ]


def _link(compiler: list[str], objects: list[Path], output: Path) -> None:
    """Link into `output` (a temporary name), or raise with the compiler's words."""
    cmd = link_command(compiler, objects, output)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ExecutableBuildError(f"could not run the C compiler {compiler[0]}: {exc}") from exc
    if proc.returncode != 0:
        details = proc.stderr.strip() or proc.stdout.strip() or "(no output)"
        raise ExecutableBuildError(
            f"linking the executable failed (exit status {proc.returncode}).\n"
            f"command: {shlex.join(cmd)}\n{details}"
        )


def build_executable(program: Program, output: str | os.PathLike[str], opt_level: int = 2) -> Path:
    """Compile `program` at LLVM `opt_level` (0-3; the C runtime is always
    -O2) and link it into the executable `output`, atomically. Compile errors
    of the program raise as for `Program.run`; a missing C compiler or a
    failed link raise ExecutableBuildError, leaving `output` as it was. The
    program's object comes from the compile cache when the same program was
    built before at this level (unless `program.cache` is off)."""
    if opt_level not in OPT_LEVELS:
        raise ValueError(f"opt_level must be 0, 1, 2 or 3, not {opt_level!r}")
    target = Path(output)
    _check_output(target)
    program_object = _program_object(program, opt_level)  # the program's own errors come first
    compiler = find_c_compiler()
    runtime = build.build_runtime_objects((DRIVER_SOURCE,))
    # SIGTERM or SIGINT while the object and the temporary output exist:
    # both are removed, then the signal ends the process.
    with cleanup_on_signals(), tempfile.TemporaryDirectory(prefix="noma-build-exe-") as scratch:
        obj = atomic.write_bytes(Path(scratch) / "program.o", program_object)
        with replacing(target, mode=0o777) as temp:
            _link(compiler, [obj, *runtime], temp)
    return target


def _program_object(program: Program, opt_level: int) -> bytes:
    """The program's object file with the executable's `main` (PIC), from
    the compile cache or compiled now and stored there. Its key is the
    program's, with the runtime's sources (the ABI it calls) instead of the
    JIT's runtime library. The frontend has run (for `check_arg_names`) and
    printed the warnings, so the entry keeps none."""
    from noma.runtime import program_cache
    from noma.runtime.jit import compile_to_object, target_identity

    key = None
    if program.cache and not program_cache.cache_disabled_by_environment():
        identity = target_identity(speed_level=opt_level, runtime=build.runtime_sources_key())
        key = program_cache.program_key(
            program.source, program.filename, program.arg_ranks, identity, "executable"
        )
        cached = program_cache.load(key)
        if cached is not None:
            return cached.object_code
    ir = executable_ir(program)
    object_code = compile_to_object(ir, speed_level=opt_level, pic=True)
    if key is not None:
        main = program.main_entry()
        rank = result_rank(program)
        program_cache.store(
            key,
            program_cache.CachedProgram(
                object_code=object_code,
                packed_entry="main",
                result="none" if rank == NO_RESULT else "tensor" if rank else "scalar",
                result_rank=max(rank, 0),
                parameters=main.parameters,
                main_line=0,
                main_col=0,
                main_where=main.where,
                main_excerpt=main.excerpt,
                warnings=(),
            ),
        )
    return object_code
