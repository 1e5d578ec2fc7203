#!/usr/bin/env bash
# Re-records test/fixtures/realmixer/cases/<case>.{dump,out,stderr} with realmixer
# (Mixer 1.6.14's own code, ../shared/realmixer) against the adapter built from
# this checkout. Each case's config files and realmixer arguments are in
# cases/<case>.json; this script only adds --address, --seed and --dump.
# Loopback only. Usage: scripts/record-realmixer-fixtures.sh [case...]
# (default: every case). Needs `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
realmixer=${REALMIXER:-$(bash ../shared/realmixer/build.sh)}
dir=test/fixtures/realmixer/cases
work=$(mktemp -d)

node dist/src/bin.js 0 --host 127.0.0.1 --data-dir "$work" --log-level warn >"$work/adapter.out" 2>"$work/adapter.err" &
adapter=$!
trap 'kill "$adapter" 2>/dev/null || true; wait "$adapter" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q '"msg":"listening on ' "$work/adapter.err" && break; sleep 0.1; done
# The JSON start line's message is `listening on <address>`.
address=$(sed -n 's/.*"msg":"listening on \([^"]*\)".*/\1/p' "$work/adapter.err")
[ -n "$address" ] || { echo "adapter did not start:" >&2; cat "$work/adapter.err" >&2; exit 1; }

if [ $# -eq 0 ]; then set -- $(cd "$dir" && ls *.json | sed 's/\.json$//'); fi
for name in "$@"; do
  # The case's command line, NUL-separated: verb, --config per file, --seed, then
  # the args (an {"hex": ...} arg holds bytes that are not valid UTF-8).
  mapfile -d '' argv < <(node -e '
    const c = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const out = [c.verb, ...c.config.flatMap((f) => ["--config", f]), "--seed", String(c.seed)];
    for (const a of c.args) out.push(typeof a === "string" ? Buffer.from(a) : Buffer.from(a.hex, "hex"));
    process.stdout.write(Buffer.concat(out.map((a) => Buffer.concat([Buffer.from(a), Buffer.from([0])]))));
  ' "$dir/$name.json")
  rm -f "$dir/$name.dump"
  echo "+ $realmixer ${argv[*]} --address $address --dump $dir/$name.dump" >&2
  status=0
  "$realmixer" "${argv[@]}" --address "$address" --dump "$dir/$name.dump" \
    >"$dir/$name.out" 2>"$work/stderr" || status=$?
  touch "$dir/$name.dump"
  # Mixer's log lines carry a timestamp, and the adapter's port changes: drop
  # both so re-recording diffs only what changed.
  sed -E -e 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\t//' -e "s/$address/127.0.0.1:PORT/g" \
    "$work/stderr" >"$dir/$name.stderr"
  sed -i "s/$address/127.0.0.1:PORT/g" "$dir/$name.out"
  echo "exit status: $status" >>"$dir/$name.out"
done
