"""The compiler driver: source -> staged IR -> LLVM IR -> machine code.

`compile` is the Python API; the command-line tools are thin wrappers around
it. Each stage of `noma.pipeline.STAGES` can be asked for, and is computed
once.

    >>> program = noma.compile("fn main() { return 2 ** 10; }")
    >>> program.run()
    1024.0
"""

from __future__ import annotations

import ctypes
import gc
import operator
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from noma.runtime import program_cache
from noma.runtime.program_cache import CachedProgram
from noma.runtime.python_streams import printing_through_python
from noma.symbols import PACKED_PREFIX

if TYPE_CHECKING:
    import numpy as np
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.dialects.func import FuncOp
    from xdsl.ir import Attribute

    from noma.runtime.jit import JitModule

# xdsl, numpy, the frontend and the passes are imported where they are
# used: a program whose machine code is in the compile cache runs without
# any of them (`noma run` start-up time).


JIT_OPT_LEVEL = 2
"""The LLVM optimisation level of JIT-compiled programs (`noma run`)."""

DEFAULT_SEED = 0x4E4F4D41
"""The seed of the random generator when none is given ("NOMA"; the C
runtime's NOMA_DEFAULT_SEED)."""


@dataclass(frozen=True)
class MainEntry:
    """What an executable needs to report an `--arg` that main does not take
    as `noma run` does: main's location prefix (`prog.noma:1:1: `), its
    parameters in order, and the source excerpt under the message."""

    where: str
    parameters: tuple[str, ...]
    excerpt: str


class ProgramError(Exception):
    """The compiled program stopped with a run-time error; its message was
    already printed on stderr by the runtime (and is repeated in this
    exception's message when the run printed through Python's streams)."""


@dataclass(frozen=True)
class ExportedParameter:
    """A learnt parameter as a run left it: no NumPy array yet (a run
    from the compile cache imports no NumPy unless asked for them)."""

    shape: tuple[int, ...]
    data: bytes
    """The float64 elements in row-major order, native byte order."""


@dataclass
class Program:
    """A NOMA program, compiled on demand stage by stage."""

    source: str
    filename: str
    arg_ranks: Mapping[str, int] = field(default_factory=dict)
    """The ranks of main's parameters whose files are known when compiling
    (see `compile`); the others are 2-D."""
    verify_each: bool | None = None
    """Verify the IR after every pass; None: when `NOMA_VERIFY_EACH=1` is
    set. A pass that leaves invalid IR is a located internal error naming
    it."""
    _stages: dict[str, ModuleOp] = field(default_factory=dict, repr=False)
    """The stages the caller asked for: handed out, so never changed again."""
    _head: tuple[int, ModuleOp] | None = field(default=None, repr=False)
    """The most advanced module no caller holds (stage index, module): the
    next stages advance it in place."""
    cache: bool = True
    """Whether `run` takes the machine code from the compile cache (and puts
    it there), unless NOMA_NO_CACHE is set; see noma.runtime.program_cache."""
    _variants: dict[tuple[tuple[str, int], ...], Program] = field(default_factory=dict, repr=False)
    """The program specialised to other ranks of main's parameters (arrays
    or files given to `run`), one per rank signature, kept."""
    script: tuple[str, ...] | None = None
    """For a script (a notebook cell), whose statements outside functions
    are main's body, the names of main's parameters; None for a program
    (see `noma.frontend.parser.parse_program`)."""
    _exported: dict[str, ExportedParameter] | None = field(default=None, repr=False)
    _parameter_arrays: dict[str, np.ndarray] | None = field(default=None, repr=False)

    def ir(self, stage: str = "noma") -> ModuleOp:
        """The module at the end of `stage` (see `noma.pipeline.STAGES`).
        Each stage is computed once; a module handed out here is never
        changed afterwards (a later stage starts from a copy of it)."""
        if stage in self._stages:
            return self._stages[stage]
        module = self._module_at(_stage_index(stage))
        self._stages[stage] = module
        return module

    def _module_at(self, index: int) -> ModuleOp:
        """A module at the end of stage `index` that no caller holds, from the
        most advanced module computed so far that is not past it: the head
        itself (taken over), else a copy of a stage the caller holds, else
        the frontend's output. No verification or copy between the stages
        (unless `verify_each`)."""
        from noma import pipeline

        start: int
        module: ModuleOp
        head = self._head
        kept = max(
            ((i, m) for n, m in self._stages.items() if (i := _stage_index(n)) <= index),
            default=None,
            key=lambda pair: pair[0],
        )
        if head is not None and head[0] <= index and (kept is None or head[0] >= kept[0]):
            start, module = head
            self._head = None
        elif kept is not None:
            start, module = kept[0], kept[1].clone()
        else:
            start, module = 0, self._frontend()
            if index > 0:
                # Kept as the noma stage: `entry` (run, main_entry) reads it
                # after the JIT is built, and a copy costs a tenth of
                # running the frontend again.
                self._stages[pipeline.STAGES[0].name] = module
                module = module.clone()
        spec = ",".join(s.passes for s in pipeline.STAGES[start + 1 : index + 1] if s.passes)
        if spec:
            stage = pipeline.STAGES[index].name
            with _no_cyclic_gc(), self._nesting_guard(stage):
                callback = pipeline.verify_after_each_pass if self._verify_each() else None
                pipeline.build_pipeline(spec, callback).apply(pipeline.make_context(), module)
        return module

    def _verify_each(self) -> bool:
        from noma.pipeline import verify_each_requested

        return verify_each_requested() if self.verify_each is None else self.verify_each

    def _frontend(self) -> ModuleOp:
        from noma.frontend import compile_to_ir

        with self._nesting_guard("noma"):
            return compile_to_ir(self.source, self.filename, self.arg_ranks, script=self.script)

    @contextmanager
    def _nesting_guard(self, stage: str) -> Iterator[None]:
        try:
            yield
        except RecursionError:
            from noma.diagnostics import NomaError, SourceLoc

            # The frontend limits nesting with located errors; this is the
            # last resort (e.g. a low recursion limit in the caller).
            raise NomaError(
                SourceLoc(self.filename, 1, 1),
                f"the program is nested too deeply to compile (stage '{stage}')",
            ) from None

    @cached_property
    def llvm_ir(self) -> str:
        from noma import pipeline
        from noma.lowering.translate import translate_to_llvmir

        llvm_index = len(pipeline.STAGES) - 1
        kept = self._stages.get(pipeline.STAGES[llvm_index].name)
        if kept is not None:  # the caller's module: legalized on a copy if need be
            return translate_to_llvmir(kept, verify_each=self._verify_each())
        module = self._module_at(llvm_index)
        with _no_cyclic_gc(), self._nesting_guard("llvm-ir"):
            text = translate_to_llvmir(
                module, legalize_in_place=True, verify_each=self._verify_each()
            )
        # Still the llvm stage (legalizing keeps the meaning), for `ir("llvm")`.
        self._head = (llvm_index, module)
        return text

    @cached_property
    def _jit_llvm_ir(self) -> str:
        """The LLVM IR of `run`'s machine code: `llvm_ir`, except that a
        main with learnt parameters saves them for `parameters` before it
        returns (noma.runtime.export_parameters; `llvm_ir`, what `noma
        emit` shows and executables are built from, never does)."""
        from noma.runtime.export_parameters import exported_parameters

        if not exported_parameters(self.entry):
            return self.llvm_ir
        from noma import pipeline
        from noma.lowering.translate import translate_to_llvmir

        module = self.ir("noma").clone()
        spec = ",".join(["export-parameters", *(s.passes for s in pipeline.STAGES if s.passes)])
        with _no_cyclic_gc(), self._nesting_guard("llvm"):
            callback = pipeline.verify_after_each_pass if self._verify_each() else None
            pipeline.build_pipeline(spec, callback).apply(pipeline.make_context(), module)
            return translate_to_llvmir(
                module, legalize_in_place=True, verify_each=self._verify_each()
            )

    # -- machine code, from the compile cache or compiled here ----------------

    @cached_property
    def _cache_key(self) -> str | None:
        """The program's key in the compile cache; None when not caching."""
        if not self.cache or program_cache.cache_disabled_by_environment():
            return None
        from noma.runtime.jit import target_identity

        return program_cache.program_key(
            self.source,
            self.filename,
            self.arg_ranks,
            target_identity(speed_level=JIT_OPT_LEVEL),
            purpose="jit" if self.script is None else f"jit script({','.join(self.script)})",
        )

    @cached_property
    def _cached(self) -> CachedProgram | None:
        """The program's entry in the compile cache, if there is a valid one.
        Its compile-time warnings are printed, as compiling would have (unless
        the frontend already ran and printed them)."""
        key = self._cache_key
        entry = program_cache.load(key) if key is not None else None
        if entry is not None and "noma" not in self._stages:
            for warning in entry.warnings:
                print(warning, file=sys.stderr)
        return entry

    @cached_property
    def compiled(self) -> CachedProgram:
        """The program's machine code (for this process's JIT) and what a run
        needs to know about main: from the compile cache, else compiled now
        (and stored there)."""
        entry = self._cached
        if entry is None:
            entry = self._compile_machine_code()
            if self._cache_key is not None:
                program_cache.store(self._cache_key, entry)
        return entry

    def _known_machine_code(self) -> CachedProgram | None:
        """`compiled` if it is already known (compiled or found in the
        cache), without compiling or looking it up."""
        return self.__dict__.get("compiled") or self.__dict__.get("_cached")

    def _compile_machine_code(self) -> CachedProgram:
        from xdsl.dialects.builtin import TensorType

        from noma.runtime.jit import compile_to_object

        object_code = compile_to_object(self._jit_llvm_ir, speed_level=JIT_OPT_LEVEL)
        outputs = list(self.entry.function_type.outputs.data)
        if not outputs:
            result, rank = "none", 0
        elif isinstance(outputs[0], TensorType):
            result, rank = "tensor", outputs[0].get_num_dims()
        else:
            result, rank = "scalar", 0
        main = self._main_entry
        line, col = self._main_position
        return CachedProgram(
            object_code=object_code,
            packed_entry=PACKED_PREFIX + self.entry.sym_name.data,
            result=result,
            result_rank=rank,
            parameters=main.parameters,
            main_line=line,
            main_col=col,
            main_where=main.where,
            main_excerpt=main.excerpt,
            warnings=self._compile_time_warnings() if self._cache_key is not None else (),
        )

    def _compile_time_warnings(self) -> tuple[str, ...]:
        """The warnings the frontend printed when it compiled the program
        (noma.frontend.irgen.generate_ir), rendered in the same words."""
        from noma.frontend.checks import check_program
        from noma.frontend.parser import parse_program

        program = parse_program(self.source, self.filename, script=self.script)
        return tuple(warning.render(self.source) for warning in check_program(program))

    @cached_property
    def jit(self) -> JitModule:
        """The program's machine code, linked into this process."""
        from noma.runtime.jit import JitModule

        return JitModule.from_object(self.compiled.object_code, speed_level=JIT_OPT_LEVEL)

    # -- main -----------------------------------------------------------------

    @cached_property
    def entry(self) -> FuncOp:
        return _entry_function(self.ir("noma"))

    def main_entry(self) -> MainEntry:
        """main's location and parameters (each parameter is read by one
        `noma.load_arg` in the entry function, in order)."""
        known = self._known_machine_code()
        if known is not None:
            return MainEntry(known.main_where, known.parameters, known.main_excerpt)
        return self._main_entry

    @cached_property
    def _main_entry(self) -> MainEntry:
        # Cached: `run` checks the names of its arguments on every call, and
        # walking the IR and rendering the excerpt each time cost more than a
        # small program's whole run.
        from noma.dialects.noma.files import LoadArgOp
        from noma.diagnostics import NomaError, SourceLoc

        names = tuple(op.parameter.data for op in self.entry.walk() if isinstance(op, LoadArgOp))
        loc = SourceLoc.from_attr(self.entry.location)
        if loc is None:
            return MainEntry("", names, "")
        # As the CLI renders a NomaError: the excerpt from the file, if any.
        rendered = NomaError(loc, "").render()
        _first, _, excerpt = rendered.partition("\n")
        return MainEntry(f"{loc}: ", names, f"\n{excerpt}" if excerpt else "")

    @cached_property
    def _main_position(self) -> tuple[int, int]:
        """main's line and column (0, 0 when it has no location)."""
        from noma.diagnostics import SourceLoc

        loc = SourceLoc.from_attr(self.entry.location)
        return (0, 0) if loc is None else (loc.line, loc.col)

    def check_arg_names(self, names: Iterable[str]) -> None:
        """A NomaError at main for the first of `names` (`--arg NAME=...`)
        that is not one of main's parameters."""
        entry = self.main_entry()
        for name in names:
            if name not in entry.parameters:
                from noma.diagnostics import NomaError, SourceLoc

                takes = ", ".join(entry.parameters) or "none"
                known = self._known_machine_code()
                line, col = (
                    (known.main_line, known.main_col) if known is not None else self._main_position
                )
                loc = SourceLoc(self.filename, line, col) if line else None
                raise NomaError(loc, f"main has no parameter named '{name}'; it takes {takes}")

    # -- running ----------------------------------------------------------------

    def run(
        self,
        seed: int = DEFAULT_SEED,
        args: Mapping[str, str | os.PathLike[str] | np.ndarray | float] | None = None,
        progress: bool | None = None,
    ) -> float | np.ndarray | None:
        """Run `main` and give its result: a float, a NumPy array (a copy
        that owns its memory), or None if it returns nothing.

        `seed` starts the random generator (a fixed default), so a run is
        reproducible; it must be an int (an array passed first is a
        TypeError: main's arguments go in `args`).

        `args` gives each of main's parameters its value, by name: a file
        path (a `str` or `os.PathLike`; read when the program loads it, as
        `--arg NAME=FILE` is: `*.safetensors` or `*.safetensors:TENSOR` as
        safetensors, anything else as CSV), or an array (a NumPy array or
        anything `numpy.asarray` takes, of a real dtype: bool, integer or
        float, in any memory layout; converted to float64 in row-major
        order). The program is specialised to the ranks of what it is
        given (an array's `ndim`, a file's rank as `noma run` finds it),
        compiled once per rank signature and kept; parameters not given keep
        the ranks `compile` found (2 by default). The runtime's table of
        arguments is cleared before and after the run, so a run never sees
        those of an earlier one.

        What the program prints, its warnings and its run-time errors go
        to `sys.stdout` and `sys.stderr` (as they are at the time of each
        write), so `contextlib.redirect_stdout`, pytest's `capsys` and
        notebook cells capture them. An optimize loop that runs for more
        than a second shows a live progress line on stderr when `progress`
        is true, or, when it is None, when stderr is a terminal the runtime
        writes to itself (not through Python). A run-time error raises `ProgramError`
        after its message was printed. After a run that returns, the
        `parameters` property holds main's learnt parameters. The machine
        code comes from the compile cache when the program was compiled
        before (see `cache`)."""
        return self.run_as(seed, args, progress, command_line=False)

    def run_as(
        self,
        seed: int,
        args: Mapping[str, str | os.PathLike[str] | np.ndarray | float] | None,
        progress: bool | None,
        *,
        command_line: bool,
    ) -> float | np.ndarray | None:
        """`run`, for the Python API or (`command_line`, `noma run`) for a
        tool whose user gives main's arguments as `--arg NAME=FILE`: the
        run-time error for a missing one says how to give it."""
        seed = _checked_seed(seed)
        given = {name: _argument_value(name, value) for name, value in (args or {}).items()}
        program = self._specialised(given)
        self._exported, self._parameter_arrays = None, None
        result, exported = program._run_here(seed, given, progress, command_line)
        self._exported = exported
        return result

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """main's learnt parameters as the last `run` left them: the name
        of every `learn` at the top level of main (and not freed) -> its
        final value as a float64 NumPy array (rank 0 for a scalar). Empty
        before a run has returned, and after a run-time error."""
        if self._exported is None:
            return {}
        if self._parameter_arrays is None:
            import numpy as np

            self._parameter_arrays = {
                name: np.frombuffer(p.data, dtype=np.float64).reshape(p.shape).copy()
                for name, p in self._exported.items()
            }
        return dict(self._parameter_arrays)

    def _specialised(self, given: Mapping[str, str | np.ndarray]) -> Program:
        """This program, or its variant for the ranks of the given values."""
        if not given:
            return self
        from noma.frontend.file_ranks import DEFAULT_RANK, file_rank

        ranks = dict(self.arg_ranks)
        for name, value in given.items():
            rank = file_rank(value) if isinstance(value, str) else value.ndim
            # A parameter of unknown rank is compiled 2-D: 2 is no change.
            if rank != ranks.get(name, DEFAULT_RANK):
                ranks[name] = rank
        if ranks == dict(self.arg_ranks):
            return self
        signature = tuple(sorted(ranks.items()))
        variant = self._variants.get(signature)
        if variant is None:
            self._check_names_from_source(given)
            variant = Program(
                self.source,
                self.filename,
                ranks,
                verify_each=self.verify_each,
                cache=self.cache,
                script=self.script,
            )
            self._variants[signature] = variant
        return variant

    def _check_names_from_source(self, names: Iterable[str]) -> None:
        """`check_arg_names` before a variant is compiled for them: from
        the parsed source (this program may not compile at its own ranks,
        and a misspelt name must not cost a compile)."""
        from noma.diagnostics import NomaError
        from noma.frontend.parser import parse_program

        program = parse_program(self.source, self.filename, script=self.script)
        main = next((f for f in program.functions if f.name == "main"), None)
        if main is None:
            return  # the variant's frontend reports it
        takes = [p.name for p in main.params]
        for name in names:
            if name not in takes:
                raise NomaError(
                    main.loc,
                    f"main has no parameter named '{name}'; it takes "
                    + (", ".join(takes) or "none"),
                )

    def _run_here(
        self,
        seed: int,
        given: Mapping[str, str | np.ndarray],
        progress: bool | None = None,
        command_line: bool = False,
    ) -> tuple[float | np.ndarray | None, dict[str, ExportedParameter] | None]:
        """Run this program's machine code: its result and the parameters
        its main exported (None after a run-time error)."""
        self._cached  # noqa: B018 - a hit knows main's parameters without compiling
        if given:
            self.check_arg_names(given)
        compiled = self.compiled
        jit = self.jit
        runtime = jit.runtime
        address = jit.function_address(compiled.packed_entry)
        runtime.rng_seed(seed)
        runtime.set_progress(progress)
        runtime.lib.noma_set_arg_syntax(0 if command_line else 1)
        runtime.clear_args()
        runtime.lib.noma_exported_clear()
        if compiled.result == "tensor":
            slot: ctypes.c_double | ctypes.Structure = descriptor_slot(compiled.result_rank)
        else:
            slot = ctypes.c_double(0.0)
        try:
            for name, value in given.items():
                if isinstance(value, str):
                    runtime.set_arg(name, value)
                else:
                    runtime.set_arg_array(name, value)
            with printing_through_python(runtime) as streams:
                status = runtime.invoke(address, [ctypes.pointer(slot)])
        finally:
            # The runtime reads arrays in place: forget them before they go.
            runtime.clear_args()
        exported = {
            name: ExportedParameter(shape, data)
            for name, shape, data in runtime.take_exported_parameters()
        }
        if status != 0:
            message = "the program stopped with a run-time error"
            if streams is not None and streams.last_error_line:
                message = streams.last_error_line
            raise ProgramError(message)
        if compiled.result == "none":
            return None, exported
        if isinstance(slot, ctypes.c_double):
            return slot.value, exported
        array = descriptor_to_array(slot)
        runtime.free_buffer(slot.allocated or 0)
        return array, exported


def _checked_seed(seed: object) -> int:
    """`seed` as an int; a TypeError that says where arrays go otherwise."""
    message = (
        f"run() takes the random seed (an int) as its first argument, not {type(seed).__name__}; "
        "give main's parameters by name: run(args={'X': array_or_path})"
    )
    if type(seed).__name__ == "ndarray" or isinstance(seed, (float, str, bytes, Mapping)):
        raise TypeError(message)
    try:
        return operator.index(seed)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(message) from None


def _argument_value(name: str, value: object) -> str | np.ndarray:
    """A value for main's parameter `name`: a path as a `str`, or a
    C-contiguous float64 array (see `Program.run`)."""
    if isinstance(value, str | os.PathLike):
        return os.fsdecode(os.fspath(value))
    if isinstance(value, bytes):
        return os.fsdecode(value)
    import numpy as np

    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"main's parameter '{name}' takes a file path or an array of real numbers, "
            f"not an array of dtype {array.dtype}"
        )
    # np.asarray keeps rank 0 (np.ascontiguousarray would make it rank 1).
    return np.asarray(array, dtype=np.float64, order="C")


def result_slot(t: Attribute) -> ctypes.c_double | ctypes.Structure:
    """Where the packed entry point stores a result of type `t`: a double,
    or MLIR's memref descriptor for a tensor."""
    from xdsl.dialects.builtin import TensorType

    if not isinstance(t, TensorType):
        return ctypes.c_double(0.0)
    return descriptor_slot(t.get_num_dims())


def descriptor_slot(rank: int) -> ctypes.Structure:
    """MLIR's memref descriptor of a tensor of rank `rank`."""

    class Descriptor(ctypes.Structure):
        _fields_ = [
            ("allocated", ctypes.c_void_p),
            ("aligned", ctypes.c_void_p),
            ("offset", ctypes.c_int64),
            ("sizes", ctypes.c_int64 * rank),
            ("strides", ctypes.c_int64 * rank),
        ]

    return Descriptor()


def descriptor_to_array(d: ctypes.Structure) -> np.ndarray:
    """A copy of the elements a memref descriptor describes."""
    import numpy as np

    shape = tuple(d.sizes)
    count = int(np.prod(shape))
    if count == 0:
        return np.zeros(shape)
    strides = tuple(8 * s for s in d.strides)
    base = (ctypes.c_double * 1).from_address(d.aligned + 8 * d.offset)
    view = np.lib.stride_tricks.as_strided(
        np.ctypeslib.as_array(base, shape=(1,)), shape=shape, strides=strides
    )
    return np.array(view, dtype=np.float64)


def _stage_index(stage: str) -> int:
    from noma import pipeline

    for index, s in enumerate(pipeline.STAGES):
        if s.name == stage:
            return index
    names = ", ".join(s.name for s in pipeline.STAGES)
    raise KeyError(f"unknown stage '{stage}' (expected one of {names})")


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Python's cyclic garbage collector off while compiling: the passes
    create and drop IR objects by the ten thousand, which triggered
    collections that found next to nothing to free and cost ~10% of the
    compile time. Reference counting still frees what is dropped."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _entry_function(module: ModuleOp) -> FuncOp:
    from xdsl.dialects.func import FuncOp

    from noma.symbols import ENTRY_ATTR

    for op in module.ops:
        if isinstance(op, FuncOp) and ENTRY_ATTR in op.attributes:
            return op
    raise LookupError("the module has no entry function")


def compile(
    source_or_path: str | os.PathLike[str],
    arg_files: Mapping[str, str] | None = None,
    *,
    cache: bool = True,
    verify_each: bool | None = None,
    script: tuple[str, ...] | None = None,
) -> Program:
    """A `Program` from NOMA source text or from the path of a file: a
    `Path` (any `os.PathLike`), or a one-line string that names an existing
    file, whatever its extension, or that ends in `.noma` (a missing `.noma`
    file is an error, not a program); any other string is source text.
    `arg_files` names the files that main's parameters will be read from
    (as `Program.run(args=...)` does), when they are known: the ranks of
    their tensors are taken from them. `cache=False` compiles the program
    even if the compile cache has it, and leaves the cache alone (as does
    NOMA_NO_CACHE=1). `verify_each` verifies the IR after every pass
    (default: `NOMA_VERIFY_EACH=1` in the environment). A `script` (a
    tuple of names) may have statements outside functions: the body of a
    `main` taking those parameters, as in a `%%noma` cell."""
    ranks: dict[str, int] = {}
    if arg_files:
        from noma.frontend.file_ranks import arg_ranks

        ranks = arg_ranks(arg_files)
    if isinstance(source_or_path, os.PathLike) or _names_a_file(source_or_path):
        from noma.frontend.source import read_source_file

        text = read_source_file(Path(source_or_path))
        return Program(text, str(source_or_path), ranks, verify_each, cache=cache, script=script)
    return Program(str(source_or_path), "<source>", ranks, verify_each, cache=cache, script=script)


def _names_a_file(text: object) -> bool:
    """Whether `compile` reads the string `text` as a path."""
    if not isinstance(text, str) or "\n" in text or not text:
        return False
    return text.endswith(".noma") or os.path.isfile(text)
