"""NOMA as an xDSL plugin: plain `xdsl-opt` parses the `noma` dialect and
runs NOMA's passes once NOMA is installed.

pyproject.toml declares `NOMA_UNIVERSE` under the `xdsl.universe` entry
points, which xDSL's `Universe.get_multiverse` loads. A name may be defined
by one universe only, so this one holds what NOMA adds to xDSL: the `noma`
dialect and NOMA's own passes and pipeline aliases, not the xDSL passes and
dialects NOMA also uses (`canonicalize`, `arith`, ...), nor NOMA's `llvm`
output target (xDSL's `llvm` target stands in `xdsl-opt`). Factories only:
nothing of NOMA is imported until used.
"""

from __future__ import annotations

from xdsl.universe import Universe

from noma import pipeline

NOMA_UNIVERSE = Universe(
    all_dialects={
        name: factory
        for name, factory in pipeline.dialects().items()
        if name in ("noma", "noma_linalg")
    },
    all_passes=pipeline.noma_passes(),
)
