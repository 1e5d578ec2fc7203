// The bench's load shapes, each encoded once into the exact request bytes the
// workers send on every call. The synthetic ones are encoded here; the mesh
// ones are requests recorded from Mixer 1.6.14's own encoder
// (test/fixtures/mesh/, scripts/record-mesh-fixtures.sh).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { envoyProtos } from '../../src/wire/envoy.js';
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH, PARAMS_TYPE_URL, protoRoot } from '../../src/wire/load.js';

/** Where the adapter writes the records: its stdout (sent to /dev/null) or a temp file. */
export type Sink = 'stdout' | 'file';

export interface Scenario {
  name: string;
  /** gRPC method path the calls go to. */
  path: string;
  /** Metric instances per call (1 for authorization: one check per call). */
  instancesPerCall: number;
  sink: Sink;
  /** The CheckResult status code every call must get (authorization only). */
  expectCheckCode?: number;
  /**
   * Mesh scenarios: the recorded request (under test/fixtures/mesh/) and how
   * many mesh requests one call stands for (Envoy's flush for reports, 1 for
   * checks). They run open loop, at offered rates of mesh requests.
   */
  mesh?: { fixture: string; requestsPerCall: number };
  /**
   * Envoy scenarios: the same mesh request through an Envoy front-end,
   * decided by the sample operator config (`--operator-config`), which the
   * bench writes into the server's data dir.
   */
  envoy?: 'check' | 'als';
}

const EXT_AUTHZ_PATH = '/envoy.service.auth.v3.Authorization/Check';
const ALS_PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

export const SCENARIOS: readonly Scenario[] = [
  { name: 'metric1_stdout', path: METRIC_METHOD_PATH, instancesPerCall: 1, sink: 'stdout' },
  { name: 'metric100_file', path: METRIC_METHOD_PATH, instancesPerCall: 100, sink: 'file' },
  { name: 'metric1000_file', path: METRIC_METHOD_PATH, instancesPerCall: 1000, sink: 'file' },
  { name: 'auth_allow', path: AUTHORIZATION_METHOD_PATH, instancesPerCall: 1, sink: 'stdout', expectCheckCode: 0 },
  { name: 'auth_deny', path: AUTHORIZATION_METHOD_PATH, instancesPerCall: 1, sink: 'stdout', expectCheckCode: 7 },
  ...[1, 10, 100].map((n): Scenario => ({
    name: `mesh_report${n}`,
    path: METRIC_METHOD_PATH,
    instancesPerCall: n,
    sink: 'file',
    mesh: { fixture: `report-${n}.dump`, requestsPerCall: n },
  })),
  {
    name: 'mesh_check_allow',
    path: AUTHORIZATION_METHOD_PATH,
    instancesPerCall: 1,
    sink: 'file',
    expectCheckCode: 0,
    mesh: { fixture: 'check-allow.dump', requestsPerCall: 1 },
  },
  {
    name: 'mesh_check_deny',
    path: AUTHORIZATION_METHOD_PATH,
    instancesPerCall: 1,
    sink: 'file',
    expectCheckCode: 7,
    mesh: { fixture: 'check-deny.dump', requestsPerCall: 1 },
  },
  ...(['allow', 'deny'] as const).map((d): Scenario => ({
    name: `envoy_check_${d}`,
    path: EXT_AUTHZ_PATH,
    instancesPerCall: 1,
    sink: 'file',
    expectCheckCode: d === 'allow' ? 0 : 7,
    mesh: { fixture: `envoy-check-${d}`, requestsPerCall: 1 },
    envoy: 'check',
  })),
  // One access-log stream per call, holding one message of N HTTP entries
  // (Envoy flushes every second or 16 KiB: tens of entries), then its end.
  ...[10, 100].map((n): Scenario => ({
    name: `envoy_als${n}`,
    path: ALS_PATH,
    instancesPerCall: n,
    sink: 'file',
    mesh: { fixture: `envoy-als-${n}`, requestsPerCall: n },
    envoy: 'als',
  })),
];

/** The scenarios `npm run bench` runs when none are named: the closed-loop ones. */
export const DEFAULT_SCENARIOS = SCENARIOS.filter((s) => s.mesh === undefined);

/**
 * The scenarios named in `--scenarios`: exact names, a family (`mesh` = every
 * `mesh_*`) or a prefix ending in `*` (`mesh_check*`).
 */
export function selectScenarios(names: readonly string[]): Scenario[] {
  return names.flatMap((n) => {
    const exact = SCENARIOS.find((s) => s.name === n);
    if (exact) return [exact];
    const prefix = n.endsWith('*') ? n.slice(0, -1) : `${n}_`;
    const family = SCENARIOS.filter((s) => s.name.startsWith(prefix));
    if (family.length === 0) {
      throw new Error(`--scenarios: unknown ${n}; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
    }
    return family;
  });
}

/**
 * A request recorded by scripts/record-mesh-fixtures.sh: one `<gRPC path> <hex>`
 * line, as realmixer's --dump writes it. Its Params carry file_path `out.txt`,
 * which the adapter resolves against the bench's --data-dir.
 */
export function loadMeshRequest(root: string, scenario: Scenario): Buffer {
  if (!scenario.mesh) throw new Error(`${scenario.name} is not a mesh scenario`);
  if (scenario.envoy === 'check') return envoyCheckRequest(scenario.expectCheckCode === 0 ? 'abc' : 'wrong');
  if (scenario.envoy === 'als') return envoyLogMessage(scenario.mesh.requestsPerCall);
  const file = path.join(root, 'test/fixtures/mesh', scenario.mesh.fixture);
  const [methodPath, hex] = readFileSync(file, 'utf8').trim().split(' ');
  if (methodPath !== scenario.path || hex === undefined) {
    throw new Error(`${file}: expected one "${scenario.path} <hex>" line`);
  }
  return Buffer.from(hex, 'hex');
}

/** The key authorization scenarios configure and the allow scenario presents. */
export const AUTH_KEY = 'secret';

const INSTANCE_NAME = 'i1metric.instance.istio-system';
const DEDUP_ID = '899657512539659575';

function paramsAny(fields: Record<string, string>): { type_url: string; value: Uint8Array } {
  const type = protoRoot().lookupType('adapter.mygrpcadapter.config.Params');
  return { type_url: PARAMS_TYPE_URL, value: type.encode(type.fromObject(fields)).finish() };
}

/** One metric instance shaped like the yardstick's: an int64 value and four dimensions. */
function metricInstance(i: number): Record<string, unknown> {
  return {
    name: INSTANCE_NAME,
    value: { int64_value: 1000 + i },
    dimensions: {
      response_code: { int64_value: 200 },
      request_size: { int64_value: 1235 + i },
      destination_service: { string_value: 'details.default.svc.cluster.local' },
      source_service: { string_value: 'productpage.default.svc.cluster.local' },
    },
  };
}

/**
 * The request body of one call. `filePath` is where file-sink scenarios
 * append (ignored by the others).
 */
export function encodeRequest(scenario: Scenario, filePath: string): Buffer {
  const root = protoRoot();
  if (scenario.path === METRIC_METHOD_PATH) {
    const type = root.lookupType('metric.HandleMetricRequest');
    const instances = Array.from({ length: scenario.instancesPerCall }, (_, i) => metricInstance(i));
    const config = paramsAny(scenario.sink === 'file' ? { file_path: filePath } : {});
    return Buffer.from(
      type.encode(type.fromObject({ instances, adapter_config: config, dedup_id: DEDUP_ID })).finish(),
    );
  }
  const type = root.lookupType('authorization.HandleAuthorizationRequest');
  const token = scenario.expectCheckCode === 0 ? AUTH_KEY : 'wrong';
  const request = {
    instance: {
      name: 'icheck.instance.istio-system',
      subject: { properties: { custom_token_header: { string_value: token } } },
    },
    adapter_config: paramsAny({ auth_key: AUTH_KEY }),
    dedup_id: DEDUP_ID,
  };
  return Buffer.from(type.encode(type.fromObject(request)).finish());
}

/**
 * A CheckRequest as an Istio sidecar's ext_authz filter sends it for the
 * mesh request the Mixer check fixtures stand for: peers, the HTTP request
 * and its headers (the sample's x-custom-token among them).
 */
function envoyCheckRequest(token: string): Buffer {
  const type = envoyProtos().checkRequest;
  const headers = {
    ':authority': 'details.default.svc.cluster.local:9080',
    ':method': 'GET',
    ':path': '/details/0',
    ':scheme': 'http',
    'user-agent': 'curl/7.68.0',
    accept: '*/*',
    'x-request-id': '4f1a9c8e-6a2b-4f0e-9d52-0c7b1f6e2a11',
    'x-forwarded-proto': 'http',
    'x-custom-token': token,
  };
  const request = {
    attributes: {
      source: {
        address: { socket_address: { address: '10.44.0.11', port_value: 51234 } },
        principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
      },
      destination: {
        address: { socket_address: { address: '10.44.0.23', port_value: 9080 } },
        principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-details',
      },
      request: {
        time: { seconds: 1_733_400_000, nanos: 123_000_000 },
        http: {
          id: '10862491873619418021',
          method: 'GET',
          headers,
          path: '/details/0',
          host: 'details.default.svc.cluster.local:9080',
          scheme: 'http',
          protocol: 'HTTP/1.1',
        },
      },
    },
  };
  return Buffer.from(type.encode(type.fromObject(request)).finish());
}

/**
 * Server flags an Envoy scenario needs: the sample operator config, written
 * into `dir` with its file sink pointed at `dir/out.txt`. Empty for the others.
 */
export function scenarioServerArgs(root: string, scenario: Scenario, dir: string): string[] {
  if (scenario.envoy === undefined) return [];
  const folder = path.join(dir, 'operatorconfig');
  mkdirSync(folder, { recursive: true });
  for (const name of readdirSync(path.join(root, 'operatorconfig'))) {
    const from = path.join(root, 'operatorconfig', name);
    if (name === 'sample_operator_config.yaml') {
      writeFileSync(
        path.join(folder, name),
        readFileSync(from, 'utf8').replaceAll('/volume/out.txt', path.join(dir, 'out.txt')),
      );
    } else if (name !== 'prometheus_sample.yaml') copyFileSync(from, path.join(folder, name));
  }
  return ['--operator-config', folder];
}

/**
 * A StreamAccessLogsMessage as a sidecar's HTTP logger flushes it: the
 * identifier (first message of a stream) and `entries` inbound HTTP entries.
 */
function envoyLogMessage(entries: number): Buffer {
  const type = envoyProtos().logsMessage;
  const address = (ip: string, port: number) => ({ socket_address: { address: ip, port_value: port } });
  const entry = (i: number) => ({
    common_properties: {
      downstream_remote_address: address('10.44.0.11', 40000 + i),
      downstream_direct_remote_address: address('10.44.0.11', 40000 + i),
      downstream_local_address: address('10.44.0.23', 9080),
      start_time: { seconds: 1_733_400_000 + i, nanos: 5_000_000 },
      time_to_first_upstream_rx_byte: { nanos: 1_200_000 },
      time_to_last_downstream_tx_byte: { nanos: 1_500_000 },
      upstream_cluster: 'inbound|9080|http|details.default.svc.cluster.local',
      response_flags: {},
    },
    protocol_version: 'HTTP11',
    request: {
      request_method: 'GET',
      scheme: 'http',
      authority: 'details.default.svc.cluster.local:9080',
      path: '/details/0',
      user_agent: 'curl/7.68.0',
      request_id: `4f1a9c8e-6a2b-4f0e-9d52-${String(i).padStart(12, '0')}`,
      request_headers_bytes: 210,
      request_body_bytes: 1235 + i,
    },
    response: { response_code: { value: 200 }, response_headers_bytes: 180, response_body_bytes: 178 },
  });
  const message = {
    identifier: {
      node: { id: 'sidecar~10.44.0.23~details-v1.default~default.svc.cluster.local' },
      log_name: 'http_envoy_accesslog',
    },
    http_logs: { log_entry: Array.from({ length: entries }, (_, i) => entry(i)) },
  };
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}
