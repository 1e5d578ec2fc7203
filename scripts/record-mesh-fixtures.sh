#!/usr/bin/env bash
# Records the request bytes of Mixer-shaped traffic for the bench's mesh
# scenarios (test/fixtures/mesh/*.dump) with ../shared/realmixer: Mixer
# 1.6.14's own config store, expression evaluator and encoders, run on the
# sample operator config (operatorconfig/sample_operator_config.yaml).
#
# Only change to the sample: file_path is the relative `out.txt`, so the bench
# can point the adapter's --data-dir at a temp folder. Nothing listens at the
# address: --dump keeps the bytes of calls that then fail.
#
#   bash scripts/record-mesh-fixtures.sh    (REALMIXER=/path/to/realmixer to use a built one)
set -euo pipefail
cd "$(dirname "$0")/.."
RM=${REALMIXER:-$(bash ../shared/realmixer/build.sh)}
out=test/fixtures/mesh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's#file_path: /volume/out.txt#file_path: out.txt#' operatorconfig/sample_operator_config.yaml >"$work/operator.yaml"
cfg=(--config operatorconfig/attributes.yaml --config operatorconfig/metric.yaml
  --config operatorconfig/authorization.yaml --config operatorconfig/mygrpcadapter.yaml
  --config "$work/operator.yaml")
# Attributes of one request from productpage to reviews, as Envoy reports them.
request=(-s destination.service=reviews.default.svc.cluster.local
  -s source.uid=kubernetes://productpage-v1-7f44c4d57c-x9z2k.default
  -i request.size=1235,response.code=200,response.size=4872
  --duration_attributes response.duration=12ms)
headers='user-agent:Mozilla/5.0 (X11 Linux x86_64) Chrome/80.0;x-request-id:9f2c1e0a-5b7d-4c3e-8a21-6d0f4b9e7c55;accept:application/json'

rm -f "$out"/*.dump
# One Report per Envoy flush: N mesh requests -> one HandleMetric call holding N instances.
for n in 1 10 100; do
  "$RM" report "${cfg[@]}" --address 127.0.0.1:1 --seed 1 -q "${request[@]}" \
    --report_batch_size "$n" --dump "$out/report-$n.dump" >/dev/null 2>&1 || true
done
# One Check per request (what Envoy's check cache does not absorb).
"$RM" check "${cfg[@]}" --address 127.0.0.1:1 --seed 1 -q "${request[@]}" \
  --stringmap_attributes "request.headers=x-custom-token:abc;$headers" --dump "$out/check-allow.dump" >/dev/null 2>&1 || true
"$RM" check "${cfg[@]}" --address 127.0.0.1:1 --seed 1 -q "${request[@]}" \
  --stringmap_attributes "request.headers=x-custom-token:wrong;$headers" --dump "$out/check-deny.dump" >/dev/null 2>&1 || true
wc -c "$out"/*.dump
