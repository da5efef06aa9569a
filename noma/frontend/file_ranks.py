"""The rank of a tensor read from a file, as far as it is known when compiling
(LANGUAGE.md section 8).

- a CSV file is always 2-D, `[rows, columns]`;
- a safetensors tensor has the rank its file's header gives when the file
  can be read while compiling (paths are relative to the working
  directory), else 2; the run checks that the file agrees.

Apart from the IR generation (noma.frontend.irgen.files) and free of xDSL
and NumPy: the compile cache needs main's parameters' ranks for its key
before it knows whether anything is to be compiled.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

DEFAULT_RANK = 2
"""The rank of a loaded tensor whose file cannot be read when compiling."""

SAFETENSORS_SUFFIX = ".safetensors"

MAX_HEADER_BYTES = 100_000_000
"""The largest safetensors header read (the limit of the safetensors
library itself)."""

METADATA_KEY = "__metadata__"
"""The header entry that holds free-form metadata, not a tensor."""


def _header(path: str) -> dict[str, object] | None:
    """The JSON header of the safetensors file `path` (an 8-byte
    little-endian length, then that many bytes of JSON), or None when it is
    not one. Read here rather than with `safetensors.safe_open`, which
    imports NumPy (for every framework) only to read the header."""
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) != 8:
            return None
        size = int.from_bytes(prefix, "little")
        if size > MAX_HEADER_BYTES:
            return None
        text = f.read(size)
        data_bytes = os.fstat(f.fileno()).st_size - 8 - size
    if len(text) != size or data_bytes < 0:
        return None
    header = json.loads(text, parse_constant=_not_json)
    if not isinstance(header, dict):
        return None
    tensors = {name: entry for name, entry in header.items() if name != METADATA_KEY}
    for entry in tensors.values():
        # The checks of the library that matter to a rank: a shape, and
        # data inside the file (a truncated file is not read).
        if not isinstance(entry, dict):
            return None
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            return None
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(n, int) for n in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data_bytes
        ):
            return None
    return tensors


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def safetensors_rank(path: str, tensor: str) -> int | None:
    """The rank of tensor `tensor` (or of the only tensor) of a safetensors
    file, if the file can be read now; None otherwise (the run reports it).
    Only a regular file is probed: a FIFO or a device (`/dev/stdin`) is read
    by the program when it runs, and opening it now could block forever or
    consume what the program is meant to read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        tensors = _header(path)
    except Exception:  # noqa: BLE001 - missing or malformed: the run gives the precise error
        return None
    if tensors is None:
        return None
    if tensor not in tensors:
        if len(tensors) != 1:
            return None
        (tensor,) = tensors
    shape = tensors[tensor]["shape"]  # type: ignore[index]
    return len(shape)


def file_rank(path: str) -> int:
    """The rank of main's parameter given the file `path` (`x.csv`,
    `w.safetensors` or `w.safetensors:name`)."""
    file, _, tensor = path.rpartition(":")
    if not file.endswith(SAFETENSORS_SUFFIX):
        file, tensor = path, ""
    if not file.endswith(SAFETENSORS_SUFFIX):
        return 2  # CSV
    rank = safetensors_rank(file, tensor)
    return DEFAULT_RANK if rank is None else rank  # rank 0 (a scalar) is a rank


def arg_ranks(arg_files: Mapping[str, str | Path]) -> dict[str, int]:
    """The ranks of main's parameters given their files."""
    return {name: file_rank(str(path)) for name, path in arg_files.items()}
