"""The compile cache: the machine code of compiled programs, kept between runs.

`noma run` of a program compiled before loads its object code from here
instead of compiling it again: no frontend, no passes, no LLVM pipeline.
An entry holds the object file (made by `noma.runtime.jit.compile_to_object`)
and what a run needs besides the code: the packed entry's symbol, the kind
of main's result, main's parameters and location, and the compile-time
warnings, which a hit prints again in the same words.

Key. An entry is found under the sha256 of everything that changes the
code or the messages baked into it: the source text, the file name (run-time
errors name it), the ranks of main's parameters, the text of NOMA's own
Python files (so that an edit to the compiler is a new key), the installed
xdsl, llvmlite and LLVM, the target triple, CPU and features, the
optimisation level, the runtime library's own key (compiled code calls its
ABI) and `FORMAT_VERSION`. The seed and the `--arg` files are not in it:
they are read when the program runs.

Storage. One file per key in `programs/` of the trusted cache directory
(`noma.runtime.build.trusted_cache_subdir`: created 0700, owner and modes
checked with lstat, else a private directory). A file is a header (magic,
format version, payload length, sha256 of the payload) and the payload.
It is written to a temporary file and renamed into place (`noma.atomic`),
so concurrent runs never see half an entry. An entry that is not a regular
file of ours with safe modes, or whose header or hash does not match, is a
miss: the program is compiled again and the entry replaced. Beyond
`MAX_CACHE_BYTES` the least recently used entries are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from noma import atomic
from noma.runtime import build

__all__ = [
    "FORMAT_VERSION",
    "CacheEntryError",
    "CacheInfo",
    "CachedProgram",
    "cache_disabled_by_environment",
    "cache_info",
    "clear_cache",
    "decode_entry",
    "encode_entry",
    "entry_path",
    "load",
    "program_key",
    "programs_dir",
    "store",
]

FORMAT_VERSION = 1
"""Changes whenever the entry layout or the meaning of its fields does."""

MAGIC = b"NOMAPRG\n"
_HEADER = struct.Struct("<8sIQ32s")  # magic, format version, payload length, sha256
_META_LENGTH = struct.Struct("<I")

PROGRAMS_DIR = "programs"
ENTRY_SUFFIX = ".nomaprog"

MAX_ENTRY_BYTES = 1 << 30
"""A file claiming a larger payload is corrupt (real ones are kilobytes)."""

MAX_CACHE_BYTES = 256 << 20
"""Above this total the least recently used entries are removed."""

NO_CACHE_VARIABLE = "NOMA_NO_CACHE"


class CacheEntryError(ValueError):
    """An entry's bytes are not a valid entry (truncated, altered, foreign)."""


@dataclass(frozen=True)
class CachedProgram:
    """A compiled program as the cache keeps it."""

    object_code: bytes
    """The object file to link with `JitModule.from_object`."""
    packed_entry: str
    """The symbol of main's packed entry point."""
    result: str
    """"none", "scalar" (a double slot) or "tensor" (a memref descriptor)."""
    result_rank: int
    """The rank of a tensor result (0 otherwise)."""
    parameters: tuple[str, ...]
    """main's parameters, in order."""
    main_line: int
    main_col: int
    """main's location in the source (0 when it has none)."""
    main_where: str
    main_excerpt: str
    """As `noma.compiler.MainEntry`: `prog.noma:1:1: ` and the quoted line."""
    warnings: tuple[str, ...]
    """The compile-time warnings as the frontend printed them."""


def cache_disabled_by_environment() -> bool:
    """`NOMA_NO_CACHE` set to anything but empty or 0."""
    return os.environ.get(NO_CACHE_VARIABLE, "") not in ("", "0")


# --------------------------------------------------------------------------
# The key
# --------------------------------------------------------------------------


def program_key(
    source: str, filename: str, arg_ranks: Mapping[str, int], target: str, purpose: str = "jit"
) -> str:
    """The key of a program's entry; `target` is
    `noma.runtime.jit.target_identity()`, `purpose` what the code is for."""
    h = hashlib.sha256()
    ranks = ",".join(f"{name}={rank}" for name, rank in sorted(arg_ranks.items()))
    fields = (
        f"format {FORMAT_VERSION}",
        purpose,
        f"noma {_noma_sources_digest()}",
        f"xdsl {_package_identity('xdsl')}",
        target,
        filename,
        ranks,
        source,
    )
    for text in fields:
        data = text.encode("utf-8", "surrogateescape")
        h.update(b"%d:" % len(data))
        h.update(data)
    return h.hexdigest()


@cache
def _noma_sources_digest() -> str:
    """sha256 of the names and bytes of the `noma` package's Python files
    (about 1.5 ms): any change to the compiler is a new key. The C runtime
    is covered by the runtime library's key."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for directory, subdirectories, files in os.walk(root):
        subdirectories.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = Path(directory, name)
                h.update(str(path.relative_to(root)).encode("utf-8", "surrogateescape") + b"\0")
                h.update(path.read_bytes())
    return h.hexdigest()


@cache
def _package_identity(name: str) -> str:
    """Where package `name` is installed with the size and mtime of its
    `__init__.py`, which an upgrade rewrites; found without importing it
    (importing xdsl costs more than a whole cached run)."""
    from importlib.util import find_spec

    spec = find_spec(name)
    origin = spec.origin if spec is not None else None
    if origin is None:
        return "missing"
    try:
        info = os.stat(origin)
    except OSError:
        return f"{origin}:?"
    return f"{origin}:{info.st_size}:{info.st_mtime_ns}"


# --------------------------------------------------------------------------
# Entries as bytes
# --------------------------------------------------------------------------


def encode_entry(entry: CachedProgram) -> bytes:
    """The file's bytes: header, then metadata (JSON) and object code."""
    fields = asdict(entry)
    del fields["object_code"]
    meta = json.dumps(fields, sort_keys=True).encode()
    payload = _META_LENGTH.pack(len(meta)) + meta + entry.object_code
    digest = hashlib.sha256(payload).digest()
    return _HEADER.pack(MAGIC, FORMAT_VERSION, len(payload), digest) + payload


def decode_entry(data: bytes) -> CachedProgram:
    """The entry in `data`; CacheEntryError unless every check passes."""
    if len(data) < _HEADER.size:
        raise CacheEntryError("shorter than the header")
    magic, version, length, digest = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CacheEntryError("not a NOMA cache entry")
    if version != FORMAT_VERSION:
        raise CacheEntryError(f"format version {version}, not {FORMAT_VERSION}")
    payload = data[_HEADER.size :]
    if len(payload) != length:
        raise CacheEntryError(f"{len(payload)} payload bytes, the header says {length}")
    if hashlib.sha256(payload).digest() != digest:
        raise CacheEntryError("the payload does not match its hash")
    try:
        (meta_length,) = _META_LENGTH.unpack_from(payload)
        meta_end = _META_LENGTH.size + meta_length
        fields = json.loads(payload[_META_LENGTH.size : meta_end])
        fields["parameters"] = tuple(fields["parameters"])
        fields["warnings"] = tuple(fields["warnings"])
        return CachedProgram(object_code=payload[meta_end:], **fields)
    except (struct.error, ValueError, KeyError, TypeError) as exc:
        # A valid hash over bad metadata: written by another version of
        # this module under the same format number.
        raise CacheEntryError(f"bad metadata ({exc})") from None


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------


def programs_dir() -> Path:
    """The directory of the entries (created 0700; checked, see module)."""
    return build.trusted_cache_subdir(PROGRAMS_DIR)


def entry_path(key: str) -> Path:
    return programs_dir() / f"{key}{ENTRY_SUFFIX}"


def load(key: str) -> CachedProgram | None:
    """The entry under `key`, or None (a miss) when there is none or it
    fails a check: not a regular file of ours that only we can write, or
    bytes that are not a valid entry. Nothing unverified is returned."""
    path = entry_path(key)
    if build.untrusted_reason(path, directory=False) is not None:
        return None
    try:
        data = _read_entry_file(path)
        entry = decode_entry(data)
    except (OSError, CacheEntryError):
        return None
    try:
        os.utime(path)  # recently used: the last to be evicted
    except OSError:
        pass
    return entry


def _read_entry_file(path: Path) -> bytes:
    # O_NOFOLLOW: a link put there after the check is refused, not followed.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_ENTRY_BYTES + _HEADER.size + 1)
    if len(data) > MAX_ENTRY_BYTES + _HEADER.size:
        raise CacheEntryError("larger than any entry")
    return data


def store(key: str, entry: CachedProgram) -> None:
    """Write the entry under `key` atomically (replacing whatever was
    there), then keep the directory within `MAX_CACHE_BYTES`. A failure to
    write (a full disk, a read-only cache) only costs the next run a compile."""
    try:
        atomic.write_bytes(entry_path(key), encode_entry(entry), mode=0o600)
        _evict(programs_dir(), MAX_CACHE_BYTES)
    except OSError:
        pass


def _entries(directory: Path) -> Iterator[tuple[Path, os.stat_result]]:
    for path in directory.glob(f"*{ENTRY_SUFFIX}"):
        try:
            yield path, os.lstat(path)
        except OSError:
            continue


def _evict(directory: Path, limit: int) -> None:
    """Remove the least recently used entries while the total is above `limit`."""
    entries = sorted(_entries(directory), key=lambda e: e[1].st_mtime_ns)
    total = sum(info.st_size for _, info in entries)
    for path, info in entries:
        if total <= limit:
            break
        path.unlink(missing_ok=True)
        total -= info.st_size


# --------------------------------------------------------------------------
# `noma cache`
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheInfo:
    directory: Path
    programs: int
    program_bytes: int
    runtime_files: int
    runtime_bytes: int


def _our_files(directory: Path) -> tuple[list[Path], list[Path]]:
    """The program entries (and their leftover temporaries) and the
    runtime builds in the cache `directory`, by the names NOMA gives them."""
    programs: list[Path] = []
    sub = directory / PROGRAMS_DIR
    if build.untrusted_reason(sub, directory=True) is None:
        programs = sorted([*sub.glob(f"*{ENTRY_SUFFIX}"), *sub.glob(f".*{ENTRY_SUFFIX}.*.tmp")])
    return programs, build.runtime_build_files(directory)


def _size(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        try:
            total += os.lstat(path).st_size
        except OSError:
            pass
    return total


def cache_info() -> CacheInfo:
    """What NOMA keeps in its cache directory (`noma cache --info`)."""
    directory = build.trusted_cache_dir()
    programs, runtime = _our_files(directory)
    return CacheInfo(directory, len(programs), _size(programs), len(runtime), _size(runtime))


def clear_cache() -> CacheInfo:
    """Remove the program entries and runtime builds NOMA made in its
    (trusted) cache directory, nothing else; what was removed."""
    directory = build.trusted_cache_dir()
    programs, runtime = _our_files(directory)
    removed = CacheInfo(directory, len(programs), _size(programs), len(runtime), _size(runtime))
    for path in [*programs, *runtime]:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    return removed
