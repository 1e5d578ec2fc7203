#!/usr/bin/env bash
# The Debian packages whose programs the tests run for real: prometheus
# (prometheus, promtool), logrotate and nghttp2-client (h2load), and, when
# realmixer's build script sits beside this checkout
# (../shared/realmixer/build.sh), the Go packages that script builds from, so
# that it finds them installed. Installs the missing ones with apt-get
# (apt-get update once first) when run as root; otherwise says what to install.
# Prints one "peers: ..." line on stderr (apt-get's own output follows it on
# stderr), and on stdout the packages still missing, one per line.
#   bash scripts/debian-peers.sh   # exit 0: all installed now; 3: missing, not root; 1: apt-get failed
# test/setup/peers.ts runs it before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
{ has prometheus && has promtool; } || missing+=(prometheus)
has logrotate || missing+=(logrotate)
has h2load || missing+=(nghttp2-client)
tools='prometheus, promtool, logrotate, h2load'

# realmixer's build.sh installs its packages itself, but without the lock
# below; its list is the PKGS="..." assignment at its top.
realmixer_build=../shared/realmixer/build.sh
go_missing=()
if [ -f "$realmixer_build" ]; then
  for p in $(sed -n '/^PKGS="/,/"$/p' "$realmixer_build" | sed 's/^PKGS=//' | tr -d '"'); do
    installed "$p" || go_missing+=("$p")
  done
  tools="$tools and realmixer's Go build packages"
fi

all=("${missing[@]}" "${go_missing[@]}")
if [ ${#all[@]} -eq 0 ]; then
  echo "peers: $tools: installed" >&2
  exit 0
fi
what=$(printf '%s, ' "${missing[@]}")
what=${what%, }
[ ${#go_missing[@]} -eq 0 ] || what="${what:+$what, }${#go_missing[@]} Go packages realmixer's build needs"
if [ "$(id -u)" != 0 ]; then
  outcome=skip
  [ "${REQUIRE_ALL_PEERS:-}" != 1 ] || outcome='fail (REQUIRE_ALL_PEERS=1)'
  echo "peers: not root, so not installing ${what}: tests that need them ${outcome} (install with: sudo apt-get install ${all[*]})" >&2
  printf '%s\n' "${all[@]}"
  exit 3
fi
echo "peers: installing ${what} with apt-get (root)" >&2
# Others may run apt at the same time: every apt call here holds /tmp/apt.lock.
export DEBIAN_FRONTEND=noninteractive
if flock /tmp/apt.lock apt-get update -qq >&2 &&
  flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "${all[@]}" >&2; then
  exit 0
fi
printf '%s\n' "${all[@]}"
exit 1
