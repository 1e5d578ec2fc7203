#!/usr/bin/env bash
# kubectl 1.20 with its built-in kustomize v2.0.3 (what kubectl 1.14-1.20
# embed), from Debian bookworm's kubernetes-client package, unpacked into a
# private folder: the package conflicts with a kubectl installed elsewhere.
# Prints the binary's path; does nothing when it is already there.
#   KUBECTL_1_20=$(bash scripts/kubectl-1.20.sh)
# test/helpers/kustomize.ts runs it when $KUBECTL_1_20 is unset; .ci/run sets that.
set -euo pipefail
DIR=${KUBECTL_1_20_DIR:-${TMPDIR:-/tmp}/mygrpcadapter-kubectl-1.20}
BIN=$DIR/usr/bin/kubectl
if [ ! -x "$BIN" ]; then
  work=$(mktemp -d)
  chmod 755 "$work" # apt-get download runs as _apt
  trap 'rm -rf "$work"' EXIT
  # apt-get download needs the package lists; others may run apt at the same time.
  if ! apt-cache show kubernetes-client >/dev/null 2>&1; then
    flock /tmp/apt.lock apt-get update >&2
  fi
  (cd "$work" && flock /tmp/apt.lock apt-get download kubernetes-client >&2)
  mkdir -p "$DIR"
  dpkg-deb -x "$work"/kubernetes-client_*.deb "$DIR"
fi
"$BIN" version --client >/dev/null
echo "$BIN"
