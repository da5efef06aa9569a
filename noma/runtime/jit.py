"""In-process JIT for NOMA: LLVM IR text in, callable machine code out.

The last pipeline stage hands us LLVM IR as text. We parse and verify it with
llvmlite, run LLVM's own O2 pipeline tuned for the host CPU (the same
optimisations clang would apply; NOMA does not re-implement them), and
compile it with MCJIT.

Compiled code calls the C runtime (``noma_print_f64``, ``noma_runtime_error``,
the tape, the seeded random-number generator, ...) by name. Those symbols live in the runtime shared library built
by :mod:`noma.runtime.build`; loading it with
``llvm.load_library_permanently`` puts them in the process-wide symbol table
that MCJIT's resolver searches. We also keep a :class:`ctypes.CDLL` handle to
the very same library to call the trampoline and the helpers from Python, so
there is exactly one copy of the runtime state (stdout buffer, active error
frames) in the process.

Entry points are called through ``noma_rt_invoke``, a ``setjmp`` trampoline:
a run-time error in compiled code longjmps back to it and the call returns
status 1 instead of killing the Python process.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import llvmlite
import llvmlite.binding as llvm

from noma import atomic
from noma.runtime import abi
from noma.runtime.build import build_runtime_library

if TYPE_CHECKING:
    # numpy is imported where arrays are made: a program with a scalar
    # result runs without it (start-up time).
    import numpy as np

__all__ = [
    "JitError",
    "JitModule",
    "NomaRuntime",
    "compile_to_object",
    "emit_object_file",
    "host_target_machine",
    "load_runtime",
    "optimize_ir",
    "target_identity",
]


class JitError(RuntimeError):
    """LLVM IR that does not parse or verify, or a missing entry point."""


# --------------------------------------------------------------------------
# LLVM initialisation (once per process)
# --------------------------------------------------------------------------

_init_lock = threading.Lock()
_llvm_initialized = False


def _ensure_llvm_initialized() -> None:
    """Initialise the native target and asm printer exactly once.

    ``llvm.initialize()`` is gone in llvmlite 0.50 (it raises); LLVM core
    initialisation is automatic, only the native target pieces are needed.
    """
    global _llvm_initialized
    if _llvm_initialized:
        return
    with _init_lock:
        if not _llvm_initialized:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _llvm_initialized = True


def host_target_machine(*, jit: bool = True, opt_level: int = 2) -> llvm.TargetMachine:
    """A target machine for the host CPU with all its features.

    ``jit=True`` gives the configuration MCJIT wants (JIT code model);
    ``jit=False`` gives position-independent code for object files that are
    linked into (PIE) executables.
    """
    _ensure_llvm_initialized()
    target = llvm.Target.from_default_triple()
    cpu = llvm.get_host_cpu_name()
    features = llvm.get_host_cpu_features().flatten()
    if jit:
        return target.create_target_machine(cpu=cpu, features=features, opt=opt_level, jit=True)
    return target.create_target_machine(
        cpu=cpu, features=features, opt=opt_level, reloc="pic", codemodel="default"
    )


def _parse_and_verify(llvm_ir: str) -> llvm.ModuleRef:
    """Parse LLVM IR text and verify it, turning LLVM's errors into JitError."""
    _ensure_llvm_initialized()
    try:
        mod = llvm.parse_assembly(llvm_ir)
    except RuntimeError as exc:
        raise JitError(f"invalid LLVM IR: {exc}") from exc
    try:
        mod.verify()
    except RuntimeError as exc:
        raise JitError(f"LLVM IR failed verification: {exc}") from exc
    return mod


def _optimize(mod: llvm.ModuleRef, tm: llvm.TargetMachine, speed_level: int) -> None:
    """Run LLVM's standard new-pass-manager pipeline (``default<O{n}>``)."""
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    if speed_level <= 0:
        return
    pto = llvm.create_pipeline_tuning_options(speed_level=speed_level)
    # llvmlite leaves the SLP vectoriser off (clang's O2 runs it): it is what
    # turns the independent lanes of noma-vectorize-reductions into vector
    # adds. It never reorders floating-point operations.
    pto.slp_vectorization = True
    pb = llvm.create_pass_builder(tm, pto)
    try:
        mpm = pb.getModulePassManager()
        mpm.run(mod, pb)
    finally:
        pb.close()


def optimize_ir(llvm_ir: str, *, speed_level: int = 2) -> str:
    """Parse, verify and optimise LLVM IR for the host; return the IR text.

    Used by ``noma emit`` style tooling and tests that want to see what LLVM
    made of our output without compiling it.
    """
    mod = _parse_and_verify(llvm_ir)
    tm = host_target_machine(jit=True, opt_level=speed_level)
    _optimize(mod, tm, speed_level)
    return str(mod)


def compile_to_object(llvm_ir: str, *, speed_level: int = 2, pic: bool = False) -> bytes:
    """The machine code of LLVM IR for this process's JIT: parsed,
    verified, optimised (``default<O{speed_level}>``, host CPU) and emitted
    as an object file by the JIT's target machine; :meth:`JitModule.from_object`
    loads it. ``pic=True`` makes a position-independent object to link into
    an executable instead. Raises :class:`JitError` for IR that does not
    parse or verify."""
    mod = _parse_and_verify(llvm_ir)
    tm = host_target_machine(jit=not pic, opt_level=speed_level)
    _optimize(mod, tm, speed_level)
    return tm.emit_object(mod)


def target_identity(*, speed_level: int = 2, runtime: str | None = None) -> str:
    """Everything besides the program that the machine code of
    :func:`compile_to_object` depends on, as text for a cache key: llvmlite
    and LLVM, the target triple, CPU and features, the optimisation level,
    and the runtime, whose ABI the code calls: `runtime`, else the JIT's
    runtime library (its name carries the hash of its sources, compiler and
    flags)."""
    _ensure_llvm_initialized()
    return "\n".join(
        [
            f"llvmlite {llvmlite.__version__}",
            "llvm {}.{}.{}".format(*llvm.llvm_version_info),
            f"triple {llvm.get_process_triple()}",
            f"cpu {llvm.get_host_cpu_name()}",
            f"features {llvm.get_host_cpu_features().flatten()}",
            f"opt {speed_level}",
            f"runtime {runtime if runtime is not None else load_runtime().path.name}",
        ]
    )


def emit_object_file(llvm_ir: str, path: str | os.PathLike[str], *, speed_level: int = 2) -> Path:
    """Compile LLVM IR to a relocatable object file for the host (PIC).

    The object is written to a temporary file next to ``path`` and renamed
    into place, so a failed build never leaves a truncated object behind.
    """
    mod = _parse_and_verify(llvm_ir)
    tm = host_target_machine(jit=False, opt_level=speed_level)
    _optimize(mod, tm, speed_level)
    data = tm.emit_object(mod)
    return atomic.write_bytes(Path(path), data)


# --------------------------------------------------------------------------
# The runtime library, seen from Python
# --------------------------------------------------------------------------


class NomaRuntime:
    """Typed ctypes view of the C runtime shared library.

    One instance per library path per process (see :func:`load_runtime`):
    the C side has process-wide state (stdio buffers, the per-thread stack of
    active invokes), and the library is also loaded into LLVM's global symbol
    table, so Python and compiled code must talk to the same copy.
    """

    def __init__(self, path: Path) -> None:
        self.path: Path = path
        # RTLD_GLOBAL so the symbols are visible process-wide, exactly as
        # load_library_permanently makes them for MCJIT.
        self.lib: ctypes.CDLL = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        for function in abi.called_by(abi.Caller.PYTHON):
            c_function = getattr(self.lib, function.name)
            c_function.argtypes, c_function.restype = abi.ctypes_signature(function)
        self._fmt_buf = ctypes.create_string_buffer(64)
        self._fmt_lock = threading.Lock()

    def format_f64(self, x: float) -> str:
        """repr(x) as the C runtime prints it (identical to Python's repr)."""
        with self._fmt_lock:
            n = self.lib.noma_format_f64(float(x), self._fmt_buf, len(self._fmt_buf))
            return self._fmt_buf.raw[:n].decode("ascii")

    def print_f64(self, x: float) -> None:
        """Print through C stdio, i.e. in order with compiled code's output."""
        self.lib.noma_print_f64(float(x))

    def flush(self) -> None:
        """Flush C stdout and stderr (Python's own streams are separate)."""
        self.lib.noma_rt_flush()

    def check_stdout(self) -> bool:
        """Flush C stdout; True if a write to it failed since the last check
        (then `runtime error: cannot write to standard output: <reason>` is
        on stderr already)."""
        return bool(self.lib.noma_rt_check_stdout())

    def print_tensor(self, array: np.ndarray) -> None:
        """Print an f64 tensor of any rank through C stdio, exactly as compiled
        code prints it (``[[1.0, 2.0], [3.0, 4.0]]``); call :meth:`flush` to
        see it. A non-contiguous array is copied to row-major order first;
        other dtypes are a TypeError rather than a silent conversion, since
        NOMA tensors are f64.
        """
        import numpy as np

        if array.dtype != np.float64:
            raise TypeError(f"print_tensor needs a float64 array, got {array.dtype}")
        # Not np.ascontiguousarray: it turns a rank-0 array into rank 1.
        data = array if array.flags.c_contiguous else array.copy(order="C")
        self.print_tensor_data(data.ctypes.data, 0, data.size, 1, data.shape)

    def print_tensor_data(
        self, address: int, offset: int, size: int, stride: int, shape: Sequence[int]
    ) -> None:
        """``noma_print_tensor`` on raw row-major f64 data: element k is the
        double at ``address + 8 * (offset + k * stride)``.

        The shape is checked here (ValueError) because outside
        ``noma_rt_invoke`` the C error path would ``exit(1)`` the interpreter.
        """
        dims = [int(d) for d in shape]
        if any(d < 0 for d in dims) or size != math.prod(dims):
            raise ValueError(f"{size} elements do not fill shape {dims}")
        rank = len(dims)
        dims_buf = (ctypes.c_int64 * max(rank, 1))(*dims)
        self.lib.noma_print_tensor(
            address, address, offset, size, stride, dims_buf, dims_buf, 0, rank, 1
        )

    def free_buffer(self, address: int) -> None:
        """``free`` a buffer that compiled code allocated (pass the descriptor's
        *allocated* pointer, not the aligned one); 0 is ignored."""
        self.lib.noma_free_buffer(address)

    # -- the seeded random-number generator (see noma_runtime.h) ------------
    # One process-wide generator shared with compiled code: drawing here
    # advances the stream that JIT-compiled programs draw from.

    def set_progress(self, show: bool | None) -> None:
        """Whether optimize loops that run over a second show a progress
        line on stderr: always, never, or (None) when stderr is a terminal
        the runtime writes to directly."""
        self.lib.noma_rt_set_progress(-1 if show is None else int(show))

    def rng_seed(self, seed: int) -> None:
        """Reseed the generator. The seed is taken modulo 2**64 (so -1 and
        2**64 - 1 are the same seed), as its 64-bit two's-complement bits."""
        bits = int(seed) & 0xFFFF_FFFF_FFFF_FFFF
        self.lib.noma_rng_seed(bits - (1 << 64) if bits >> 63 else bits)

    def rng_next_raw(self) -> int:
        """The next raw xoshiro256** output as an unsigned 64-bit int."""
        return int(self.lib.noma_rng_next_raw()) & 0xFFFF_FFFF_FFFF_FFFF

    def rng_uniform(self) -> float:
        """Uniform in [0, 1) (one draw)."""
        return float(self.lib.noma_rng_uniform())

    def rng_uniform_range(self, lo: float, hi: float) -> float:
        """``lo + (hi - lo) * uniform()`` (one draw)."""
        return float(self.lib.noma_rng_uniform_range(float(lo), float(hi)))

    def rng_normal(self, mean: float, std: float) -> float:
        """``mean + std * z``, z standard normal by Box-Muller (two draws)."""
        return float(self.lib.noma_rng_normal(float(mean), float(std)))

    # -- file I/O (noma_io.h) ------------------------------------------------
    # The loaders and writers report bad files as NOMA runtime errors, which
    # end the run: outside noma_rt_invoke that would be exit(1) of the
    # interpreter. So each call goes through the runtime's packed wrapper
    # (noma_io_packed_*) under the trampoline; a runtime error prints its
    # message on C's stderr (fd 2) and is raised here as RuntimeError.
    # `where` is the location prefix of messages ("prog.noma:3:5: ").

    def set_arg(self, name: str, path: str | os.PathLike[str]) -> None:
        """Record the file for main's parameter ``name`` (``--arg NAME=FILE``);
        replaces an earlier one. ``FILE`` may be ``w.safetensors:TENSOR``."""
        self.lib.noma_set_arg(name.encode(), os.fsencode(path))

    def set_arg_array(self, name: str, array: np.ndarray) -> None:
        """Record an in-memory tensor for main's parameter ``name``: a
        C-contiguous float64 array, which the runtime reads in place when
        the program loads the parameter, so the caller keeps it alive and
        unchanged until :meth:`clear_args`."""
        import numpy as np

        if (
            not isinstance(array, np.ndarray)
            or array.dtype != np.float64
            or not array.flags.c_contiguous
        ):
            raise TypeError("set_arg_array needs a C-contiguous float64 ndarray")
        dims = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
        self.lib.noma_set_arg_array(name.encode(), array.ctypes.data, array.ndim, dims)

    def clear_args(self) -> None:
        """Forget every file and array recorded by :meth:`set_arg` and
        :meth:`set_arg_array`."""
        self.lib.noma_clear_args()

    def take_exported_parameters(self) -> list[tuple[str, tuple[int, ...], bytes]]:
        """The learnt parameters the last run's main saved to the
        parameter sink (``noma_exported_parameter``), as (name, shape,
        float64 bytes in row-major order), in name order, and release them
        in C. Plain bytes, not arrays: reading them needs no NumPy."""
        name = ctypes.c_char_p()
        rank = ctypes.c_int64()
        dims = ctypes.POINTER(ctypes.c_int64)()
        data = ctypes.POINTER(ctypes.c_double)()
        refs = [ctypes.addressof(v) for v in (name, rank, dims, data)]
        taken: list[tuple[str, tuple[int, ...], bytes]] = []
        while self.lib.noma_exported_parameter(len(taken), *refs):
            shape = tuple(int(dims[axis]) for axis in range(rank.value))
            size = 8 * math.prod(shape)
            raw = ctypes.string_at(ctypes.cast(data, ctypes.c_void_p), size) if size else b""
            taken.append(((name.value or b"").decode("utf-8", "replace"), shape, raw))
        self.lib.noma_exported_clear()
        return taken

    def io_invoke(self, function: str, values: Sequence[Any]) -> int:
        """Call ``noma_io_packed_<function>`` under the trampoline with the
        given ctypes values (one per C parameter, a result slot last, in
        noma_io.h's order); 0 on success, 1 after a runtime error."""
        packed = abi.BY_NAME[abi.IO_PACKED_PREFIX + function].name
        fn = ctypes.cast(getattr(self.lib, packed), ctypes.c_void_p)
        return self.invoke(int(fn.value or 0), [ctypes.pointer(v) for v in values])

    def _io_call(self, function: str, values: Sequence[Any]) -> None:
        if self.io_invoke(function, values) != 0:
            self.flush()
            raise RuntimeError(f"noma_{function} failed: runtime error (the message is on stderr)")

    @staticmethod
    def _memref_values(address: int, size: int) -> list[Any]:
        """An expanded 1-D memref (allocated, aligned, offset 0, size,
        stride 1) of contiguous data at ``address``."""
        return [
            ctypes.c_void_p(address),
            ctypes.c_void_p(address),
            ctypes.c_int64(0),
            ctypes.c_int64(size),
            ctypes.c_int64(1),
        ]

    @staticmethod
    def _str_values(text: str | bytes | os.PathLike[str]) -> tuple[list[Any], Any]:
        """A memref<?xi8> of the text (paths as the OS encodes them), and the
        buffer to keep alive during the call."""
        data = text if isinstance(text, bytes) else os.fsencode(text)
        buf = ctypes.create_string_buffer(data, len(data) or 1)
        return NomaRuntime._memref_values(ctypes.addressof(buf), len(data)), buf

    @staticmethod
    def _tensor_values(array: Any) -> tuple[list[Any], list[Any], tuple[np.ndarray, np.ndarray]]:
        """memref<?xf64> data and memref<?xi64> shape of a tensor, and the
        arrays to keep alive. Only float64 is accepted: NOMA tensors are f64,
        and a silent conversion would hide a caller's mistake."""
        import numpy as np

        arr = np.asarray(array)
        if arr.dtype != np.float64:
            raise TypeError(f"NOMA tensors are float64, got {arr.dtype}")
        # Not np.ascontiguousarray: it turns a rank-0 array into rank 1.
        data = arr if arr.flags.c_contiguous else arr.copy(order="C")
        dims = np.array(data.shape, dtype=np.int64)
        return (
            NomaRuntime._memref_values(data.ctypes.data, data.size),
            NomaRuntime._memref_values(dims.ctypes.data, dims.size),
            (data, dims),
        )

    def _take_loaded(self, handle: int, rank: int) -> np.ndarray:
        """Shape via noma_loaded_dim, then noma_loaded_take (releases it)."""
        import numpy as np

        dims = []
        for axis in range(rank):
            out = ctypes.c_int64(-1)
            self._io_call("loaded_dim", [ctypes.c_int64(handle), ctypes.c_int64(axis), out])
            dims.append(out.value)
        result = np.empty(dims, dtype=np.float64)
        dest = self._memref_values(result.ctypes.data, result.size)
        self._io_call("loaded_take", [ctypes.c_int64(handle), *dest])
        return result

    def load_csv(self, path: str | os.PathLike[str], *, where: str = "") -> np.ndarray:
        """``noma_load_csv``: the file as a 2-D float64 array."""
        w, _wbuf = self._str_values(where)
        p, _pbuf = self._str_values(path)
        handle = ctypes.c_int64(0)
        self._io_call("load_csv", [*w, *p, handle])
        return self._take_loaded(handle.value, 2)

    def load_safetensors(
        self, path: str | os.PathLike[str], name: str = "", *, rank: int, where: str = ""
    ) -> np.ndarray:
        """``noma_load_safetensors``: tensor ``name`` (or the only one when
        empty), which must have rank ``rank``, as a float64 array."""
        w, _wbuf = self._str_values(where)
        p, _pbuf = self._str_values(path)
        n, _nbuf = self._str_values(name.encode())
        handle = ctypes.c_int64(0)
        self._io_call("load_safetensors", [*w, *p, *n, ctypes.c_int64(rank), handle])
        return self._take_loaded(handle.value, rank)

    def load_arg(self, name: str, *, rank: int, where: str = "") -> np.ndarray:
        """``noma_load_arg``: the file given for main's parameter ``name``."""
        w, _wbuf = self._str_values(where)
        n, _nbuf = self._str_values(name.encode())
        handle = ctypes.c_int64(0)
        self._io_call("load_arg", [*w, *n, ctypes.c_int64(rank), handle])
        return self._take_loaded(handle.value, rank)

    def save_csv(self, path: str | os.PathLike[str], array: Any, *, where: str = "") -> None:
        """``noma_save_csv`` of a float64 array of rank 0, 1 or 2 (atomic)."""
        w, _wbuf = self._str_values(where)
        p, _pbuf = self._str_values(path)
        data, dims, _keep = self._tensor_values(array)
        self._io_call("save_csv", [*w, *p, *data, *dims])

    def save_safetensors(
        self, path: str | os.PathLike[str], tensors: Mapping[str, Any], *, where: str = ""
    ) -> None:
        """Writer new / add (each tensor) / save: an F64 safetensors file."""
        # Convert everything first, so that a TypeError leaves no writer behind.
        prepared = [
            (self._str_values(name.encode()), self._tensor_values(array))
            for name, array in tensors.items()
        ]
        writer = int(self.lib.noma_safetensors_writer_new())
        for (n, _nbuf), (data, dims, _keep) in prepared:
            self._io_call("writer_add", [ctypes.c_int64(writer), *n, *data, *dims])
        w, _wbuf = self._str_values(where)
        p, _pbuf = self._str_values(path)
        self._io_call("writer_save", [ctypes.c_int64(writer), *w, *p])

    def invoke(self, fn_address: int, args: Sequence[Any]) -> int:
        """Call a packed entry point ``void f(void **args)`` through the
        ``noma_rt_invoke`` trampoline; 0 on success, 1 after a runtime error.

        ``args`` are ctypes pointers (or anything ``ctypes.cast`` accepts as
        a pointer, including int addresses); the caller keeps the pointees
        alive for the duration of the call.
        """
        argv = (ctypes.c_void_p * max(len(args), 1))()
        for i, a in enumerate(args):
            argv[i] = a if isinstance(a, int) else ctypes.cast(a, ctypes.c_void_p).value
        # Python's buffered stdout is a different buffer from C's: flush it so
        # text printed from Python before the call appears before the call's.
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError, OSError):
            pass
        return int(self.lib.noma_rt_invoke(ctypes.c_void_p(fn_address), argv))


_runtimes: dict[str, NomaRuntime] = {}
_runtime_lock = threading.Lock()


def load_runtime() -> NomaRuntime:
    """Build (or reuse from cache) the runtime library and load it once.

    ``llvm.load_library_permanently`` is what lets MCJIT resolve ``noma_*``
    symbols in JIT-compiled code.
    """
    path = build_runtime_library()
    with _runtime_lock:
        # By name, which hashes what the library is built from: the same
        # library in another cache directory (NOMA_CACHE_DIR changed) is the
        # one already loaded. Loading a second copy would split the runtime's
        # state, and compiled code calls whichever copy was loaded first.
        rt = _runtimes.get(path.name)
        if rt is None:
            _ensure_llvm_initialized()
            llvm.load_library_permanently(str(path))
            rt = NomaRuntime(path)
            _runtimes[path.name] = rt
        return rt


# --------------------------------------------------------------------------
# JIT-compiled modules
# --------------------------------------------------------------------------


class JitModule:
    """One LLVM IR module compiled to machine code in this process.

    Keep the object alive while calling its functions: closing it (or
    garbage-collecting it) frees the machine code.
    """

    def __init__(self, llvm_ir: str, *, speed_level: int = 2) -> None:
        """Parse, verify, optimise (``default<O{speed_level}>``, host CPU) and
        compile ``llvm_ir`` with MCJIT. Raises :class:`JitError` for IR that
        does not parse or verify."""
        mod = _parse_and_verify(llvm_ir)
        tm = host_target_machine(jit=True, opt_level=speed_level)
        _optimize(mod, tm, speed_level)
        #: The module after LLVM's optimisation pipeline, as text (None for
        #: a module loaded from an object).
        self.optimized_ir: str | None = str(mod)
        self._load(tm.emit_object(mod), tm, speed_level)

    @classmethod
    def from_object(cls, object_code: bytes, *, speed_level: int = 2) -> JitModule:
        """The machine code of :func:`compile_to_object` (made at
        ``speed_level``), linked into this process: no IR is parsed or
        compiled."""
        module = cls.__new__(cls)
        module.optimized_ir = None
        module._load(object_code, host_target_machine(jit=True, opt_level=speed_level), speed_level)
        return module

    def _load(self, object_code: bytes, tm: llvm.TargetMachine, speed_level: int) -> None:
        """Link `object_code` with MCJIT: an engine over an empty module, to
        which the object is added; its calls to the runtime resolve to the
        library that `load_runtime` loaded into the process."""
        self.runtime: NomaRuntime = load_runtime()
        self.speed_level: int = speed_level
        #: The object file the machine code was linked from.
        self.object_code: bytes = object_code
        self._engine: llvm.ExecutionEngine | None = llvm.create_mcjit_compiler(
            llvm.parse_assembly(""), tm
        )
        self._engine.add_object_file(llvm.ObjectFileRef.from_data(object_code))
        self._engine.finalize_object()

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        """Free the machine code; function addresses become invalid."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> JitModule:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calling -------------------------------------------------------------

    def _live_engine(self) -> llvm.ExecutionEngine:
        if self._engine is None:
            raise JitError("the JIT module has been closed")
        return self._engine

    def function_address(self, name: str) -> int:
        """Address of a compiled function; JitError if there is none."""
        addr = self._live_engine().get_function_address(name)
        if not addr:
            raise JitError(f"no function named {name!r} in the JIT module")
        return int(addr)

    def invoke_packed(self, name: str, args: Sequence[Any]) -> int:
        """Call ``void name(void **args)`` via the runtime trampoline.

        Returns 0 on success, 1 if the code raised a runtime error (the
        message is already on stderr). C stdout is flushed on return.
        """
        return self.runtime.invoke(self.function_address(name), args)

    # -- runtime helpers -----------------------------------------------------

    def format_f64(self, x: float) -> str:
        """repr(x) via the C runtime (see :meth:`NomaRuntime.format_f64`)."""
        return self.runtime.format_f64(x)

    def print_f64(self, x: float) -> None:
        """Print x through C stdio, in order with compiled code's output."""
        self.runtime.print_f64(x)

    def flush(self) -> None:
        """Flush C stdout/stderr."""
        self.runtime.flush()

    # -- executables ---------------------------------------------------------

    def emit_object(self, path: str | os.PathLike[str]) -> Path:
        """Write the optimised module as a PIC object file (atomically).

        Re-parses :attr:`optimized_ir` rather than reusing the JIT's object,
        which was compiled with the JIT code model.
        """
        if self.optimized_ir is None:
            raise JitError("a JIT module loaded from an object has no IR to emit")
        mod = _parse_and_verify(self.optimized_ir)
        tm = host_target_machine(jit=False, opt_level=self.speed_level)
        mod.triple = tm.triple
        mod.data_layout = str(tm.target_data)
        return atomic.write_bytes(Path(path), tm.emit_object(mod))
