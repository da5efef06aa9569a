# Lit configuration of NOMA's FileCheck tests: one folder per layer.
import os
import shutil

import lit.formats

config.name = "NOMA"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".noma", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["lit.cfg.py", "Inputs"]

config.environment["PATH"] = os.environ.get("PATH", "")
for var in ("HOME", "PYTHONPATH", "XDG_CACHE_HOME", "NOMA_CACHE_DIR"):
    if var in os.environ:
        config.environment[var] = os.environ[var]


def _find_upstream(tool):
    """Upstream MLIR tools (Debian's mlir-22-tools) are test oracles only."""
    for candidate in (f"{tool}-22", tool, f"/usr/lib/llvm-22/bin/{tool}"):
        path = shutil.which(candidate)
        if path:
            return path
    return None


mlir_opt = _find_upstream("mlir-opt")
if mlir_opt:
    config.available_features.add("mlir-opt")
    config.substitutions.append(("%mlir-opt", mlir_opt))
else:
    lit_config.note("upstream mlir-opt not found: oracle tests (REQUIRES: mlir-opt) are unsupported")
config.substitutions.append(("%examples", os.path.join(os.path.dirname(config.test_source_root), "examples")))
