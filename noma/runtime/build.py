"""Build the C runtime into a cached shared library.

The runtime (printing, diagnostics, tape, RNG and file I/O) has exactly
one implementation, in C, so that the JIT and standalone executables behave
identically. The JIT needs it as a shared library that LLVM can resolve
symbols from; executables link the C source directly (see
:func:`runtime_source_path`).

Compiling takes a noticeable fraction of a second, so the library is cached in
a per-user directory under a name derived from a hash of everything that
affects the result (C source, header, compiler identity, flags). A stale
library can therefore never be picked up: editing the C file or switching
compilers simply produces a new name. Builds go to a temporary file in the
cache directory and are atomically renamed into place, so concurrent
processes never observe a half-written library and never need a lock (the
worst case is two processes compiling the same thing once each).

The cache is trusted only when nobody else can write to it: the directory
(created 0700) and the library must belong to the user, must not be
writable by group or others, and must not be symbolic links (checked with
lstat). A library is loaded into the process, so a cache that fails the
check is not used at all: the runtime is then built in a private temporary
directory (0700, removed at exit), with one warning per process.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from noma.atomic import cleanup_on_signals

__all__ = [
    "RUNTIME_CFLAGS",
    "CCompilerNotFoundError",
    "RuntimeBuildError",
    "build_runtime_library",
    "build_runtime_objects",
    "cache_dir",
    "find_c_compiler",
    "runtime_build_files",
    "runtime_header_path",
    "runtime_include_dir",
    "runtime_source_path",
    "runtime_source_paths",
    "runtime_sources_key",
    "trusted_cache_dir",
    "trusted_cache_subdir",
    "untrusted_reason",
]

# Flags for the shared library. -std=c11 because the runtime uses
# _Thread_local; warnings are on so that compiler complaints show up in the
# test suite (which also builds with -Werror), but they are not errors here:
# a user's newer compiler inventing a new warning must not break `noma run`.
RUNTIME_CFLAGS: tuple[str, ...] = (
    "-std=c11",
    "-O2",
    "-fPIC",
    "-Wall",
    "-Wextra",
)
_SHARED_FLAGS: tuple[str, ...] = ("-shared",)
# Libraries, after the source file (linkers that default to --as-needed drop a
# library named before the objects that use it): libm for the RNG's normal
# sampler (log, cos, sqrt). Executables link the source with -lm too.
_LINK_LIBS: tuple[str, ...] = ("-lm",)

_C_DIR = Path(__file__).resolve().parent / "c"
_LIB_STEM = "libnoma_runtime"


class RuntimeBuildError(RuntimeError):
    """The C runtime could not be compiled (the message says why)."""


class CCompilerNotFoundError(RuntimeBuildError):
    """No usable C compiler: $CC (or `cc`) is not installed or not on PATH."""


def runtime_source_path() -> Path:
    """Path of ``noma_runtime.c``; executables compile and link this file."""
    return _C_DIR / "noma_runtime.c"


def runtime_source_paths() -> list[Path]:
    """Every C file of the runtime (``noma_runtime.c`` first, then the other
    ``noma_*.c`` files in name order); the shared library and executables
    compile all of them. ``noma_exe_*.c`` files are the executable's driver,
    not part of the runtime."""
    others = sorted(
        p
        for p in _C_DIR.glob("noma_*.c")
        if p != runtime_source_path() and not p.name.startswith("noma_exe_")
    )
    return [runtime_source_path(), *others]


def runtime_header_path() -> Path:
    """Path of ``noma_runtime.h`` (the C ABI compiled code relies on)."""
    return _C_DIR / "noma_runtime.h"


def runtime_include_dir() -> Path:
    """Directory to pass as ``-I`` when compiling against the runtime."""
    return _C_DIR


def cache_dir() -> Path:
    """The per-user cache directory for built artefacts.

    ``$NOMA_CACHE_DIR`` wins (tests and sandboxes point it elsewhere), then
    ``$XDG_CACHE_HOME/noma``, then ``~/.cache/noma``. Not created here.
    """
    explicit = os.environ.get("NOMA_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "noma"
    return Path.home() / ".cache" / "noma"


def untrusted_reason(path: Path, *, directory: bool) -> str | None:
    """Why the cached artefact (or cache directory) at `path` must not be
    used, or None when it can: it must be a real directory (or regular
    file), not a symbolic link, owned by this user and not writable by
    group or others. Checked with lstat, so a link is never followed."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"it cannot be examined ({exc.strerror})"
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link"
    if directory and not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    if not directory and not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    getuid = getattr(os, "getuid", None)
    if getuid is not None and st.st_uid != getuid():
        return "it belongs to another user"
    if st.st_mode & 0o022:
        return "it is writable by others"
    return None


_private_cache: Path | None = None


def _private_cache_dir(rejected: Path, reason: str) -> Path:
    """A fresh 0700 directory for this process's builds (removed at exit),
    used instead of a cache directory that cannot be trusted; says why
    once."""
    global _private_cache
    if _private_cache is None:
        _private_cache = Path(tempfile.mkdtemp(prefix="noma-cache-"))
        atexit.register(shutil.rmtree, _private_cache, ignore_errors=True)
        print(
            f"noma: warning: not using the cache directory {rejected}: {reason}; "
            "building the runtime in a private directory instead",
            file=sys.stderr,
        )
    return _private_cache


def trusted_cache_dir() -> Path:
    """`cache_dir()`, created 0700 if missing, when it can be trusted (see
    `untrusted_reason`); otherwise a private temporary directory."""
    directory = cache_dir()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        return _private_cache_dir(directory, f"it cannot be created ({exc.strerror})")
    reason = untrusted_reason(directory, directory=True)
    if reason is not None:
        return _private_cache_dir(directory, reason)
    return directory


def trusted_cache_subdir(name: str) -> Path:
    """The directory `name` in `trusted_cache_dir()`, created 0700 if
    missing, when it can be trusted too; otherwise the same directory in
    the private one (see `trusted_cache_dir`)."""
    parent = trusted_cache_dir()
    directory = parent / name
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        return _private_subdir(directory, name, f"it cannot be created ({exc.strerror})")
    reason = untrusted_reason(directory, directory=True)
    if reason is not None:
        return _private_subdir(directory, name, reason)
    return directory


def _private_subdir(rejected: Path, name: str, reason: str) -> Path:
    directory = _private_cache_dir(rejected, reason) / name
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory


def find_c_compiler() -> list[str]:
    """The C compiler command as an argv prefix: ``$CC`` (split like a shell
    would, so ``CC="ccache gcc"`` works) or ``cc``, with the program resolved
    to an absolute path.

    Raises :class:`CCompilerNotFoundError` with a readable message when the
    program cannot be found, rather than letting a bare FileNotFoundError from
    subprocess surface later.
    """
    env_cc = os.environ.get("CC", "").strip()
    argv = shlex.split(env_cc) if env_cc else ["cc"]
    resolved = shutil.which(argv[0])
    if resolved is None:
        origin = f"$CC={env_cc!r}" if env_cc else "`cc`"
        raise CCompilerNotFoundError(
            f"no C compiler found: {origin} is not an executable on PATH. "
            "NOMA compiles its C runtime with the system C compiler; install "
            "one (e.g. `apt install gcc` or Xcode command line tools) or set "
            "$CC to its path."
        )
    return [resolved, *argv[1:]]


def _shared_library_suffix() -> str:
    """Platform suffix for shared libraries (LLVM loads it by path)."""
    if sys.platform == "darwin":
        return ".dylib"
    if sys.platform == "win32":
        return ".dll"
    return ".so"


def _compiler_identity(compiler: list[str]) -> str:
    """A string that changes when the compiler changes.

    Uses the real path, size and mtime of the compiler binary instead of
    running ``cc --version``: it is free (a stat) and still changes on an
    upgrade, which is all the cache key needs.
    """
    real = os.path.realpath(compiler[0])
    try:
        st = os.stat(real)
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "?"
    return "\0".join([real, stamp, *compiler[1:]])


def runtime_sources_key() -> str:
    """Hash of the runtime's C sources and headers (its ABI among them)."""
    h = hashlib.sha256()
    for path in (*runtime_source_paths(), *sorted(_C_DIR.glob("*.h"))):
        h.update(path.name.encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _cache_key(compiler: list[str], flags: tuple[str, ...]) -> str:
    """Hash of the C sources, compiler identity and flags."""
    h = hashlib.sha256()
    h.update(runtime_sources_key().encode())
    h.update(b"\0")
    h.update(_compiler_identity(compiler).encode())
    h.update(b"\0")
    h.update("\0".join(flags).encode())
    return h.hexdigest()[:20]


def build_runtime_library(*, force: bool = False) -> Path:
    """Return the path of the runtime shared library, compiling it if needed.

    A library already in the cache under the current key is reused as is;
    ``force=True`` recompiles it anyway (and atomically replaces it).
    Raises :class:`CCompilerNotFoundError` if there is no compiler and
    :class:`RuntimeBuildError` if compilation fails.
    """
    compiler = find_c_compiler()
    flags = RUNTIME_CFLAGS + _SHARED_FLAGS
    key = _cache_key(compiler, flags + _LINK_LIBS)
    directory = trusted_cache_dir()
    target = directory / f"{_LIB_STEM}-{key}{_shared_library_suffix()}"
    # In a trusted directory only we can have put a file, but its mode may
    # have been loosened since: such a file is rebuilt (and replaced).
    if not force and untrusted_reason(target, directory=False) is None:
        return target
    command = [
        *compiler,
        *flags,
        "-I",
        str(runtime_include_dir()),
        *(str(path) for path in runtime_source_paths()),
        *_LINK_LIBS,
        "-o",
    ]
    # A signal during the build removes the temporary file, then ends us.
    with cleanup_on_signals():
        _compile_into(target, command, compiler, mode=0o755)
    return target


def build_runtime_objects(extra_sources: tuple[Path, ...] = ()) -> list[Path]:
    """Object files of every runtime C file, then of `extra_sources` (the
    executable's driver), each compiled once with the runtime's flags and
    kept in the cache like the shared library: its name carries a hash of
    everything that makes it (the runtime's sources and headers, the file's
    own text, the compiler and flags), so a stale object is never used."""
    compiler = find_c_compiler()
    flags = (*RUNTIME_CFLAGS, "-c")
    common = _cache_key(compiler, flags)
    directory = trusted_cache_dir()
    objects = []
    for source in (*runtime_source_paths(), *extra_sources):
        h = hashlib.sha256(f"{common}\0{source.name}\0".encode())
        h.update(source.read_bytes())
        target = directory / f"{source.stem}-{h.hexdigest()[:20]}.o"
        if untrusted_reason(target, directory=False) is not None:
            command = [*compiler, *flags, "-I", str(runtime_include_dir()), str(source), "-o"]
            with cleanup_on_signals():
                _compile_into(target, command, compiler, mode=0o644)
        objects.append(target)
    return objects


def runtime_build_files(directory: Path) -> list[Path]:
    """What the runtime builds put in the cache `directory`: shared
    libraries, object files and leftover temporaries (by their names)."""
    return sorted(
        p
        for pattern in (f"{_LIB_STEM}-*", f".{_LIB_STEM}-*", "noma_*-*.o", ".noma_*-*.o-*")
        for p in directory.glob(pattern)
    )


def _compile_into(target: Path, command: list[str], compiler: list[str], *, mode: int) -> None:
    """Run `command` with the name of a temporary file in `target`'s
    directory appended (after its `-o`), then rename that file to `target`;
    the temporary is removed on any failure."""
    # Same directory as the target so that os.replace is an atomic rename.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    cmd = [*command, str(tmp)]
    replaced = False
    try:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except OSError as exc:  # e.g. the binary vanished or is not executable
            raise CCompilerNotFoundError(
                f"could not run the C compiler {compiler[0]}: {exc}"
            ) from exc
        if proc.returncode != 0:
            raise RuntimeBuildError(
                "compiling the NOMA C runtime failed "
                f"(exit status {proc.returncode}).\n"
                f"command: {shlex.join(cmd)}\n{proc.stderr.strip()}"
            )
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        replaced = True
    finally:
        if not replaced:
            tmp.unlink(missing_ok=True)
