#!/usr/bin/env bash
# verify_examples.sh EXAMPLES_DIR MLIR_OPT OUT_PREFIX
# For every example: the `loops` (noma-to-loops) and `llvm` (noma-to-llvm)
# stages must parse and verify in upstream mlir-opt, and the `llvm` stage
# must contain only llvm and builtin ops.
set -euo pipefail
examples=$1 mlir_opt=$2 out=$3
for f in "$examples"/*.noma; do
  echo "== $f"
  noma-opt "$f" -p noma-to-loops > "$out.loops.mlir"
  "$mlir_opt" "$out.loops.mlir" > /dev/null
  noma-opt "$f" -p noma-to-llvm > "$out.llvm.mlir"
  "$mlir_opt" "$out.llvm.mlir" > /dev/null
  # Every op name in the llvm stage, generic or custom form.
  others=$(grep -oE '(^|= |^ *)"?[a-z_]+\.[a-z_.]+' "$out.llvm.mlir" \
           | grep -oE '[a-z_]+\.[a-z_.]+' | grep -vE '^(llvm|builtin)\.' | sort -u || true)
  if [ -n "$others" ]; then
    echo "$f: non-llvm ops after noma-to-llvm: $others" >&2
    exit 1
  fi
done
echo "all examples verified"
