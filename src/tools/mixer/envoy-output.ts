// Console lines for the Envoy modes: a check's first line as mixc prints a
// Check (so scripts read both modes alike), then the HTTP answer Envoy would
// give the client; a report as what was streamed and the stream's status.
import { envoyProtos } from '../../wire/envoy.js';
import { goCodeName } from './dispatch.js';
import type { CheckResponseView, EnvoyCheckOutcome, EnvoyReportOutcome, RpcStatus } from './envoy-dispatch.js';
import { LOG_NAMES } from './envoy-log-entries.js';

// gRPC's UNIMPLEMENTED: the server has no such method.
const UNIMPLEMENTED = 12;

type HeaderOptions = NonNullable<NonNullable<CheckResponseView['ok_response']>['headers']>;

/** "HTTP 403 (Forbidden)" from the decoded enum name (or number, for a code the enum lacks). */
function httpStatusText(code: string | number | undefined): string {
  if (code === undefined) return 'no HTTP status (Envoy 1.20+ answers 403, earlier ones status 0)';
  if (typeof code === 'number') return `HTTP ${code}`;
  const n = envoyProtos().root.lookupEnum('envoy.type.v3.StatusCode').values[code];
  return `HTTP ${n ?? '?'} (${code})`;
}

function headerLines(label: string, headers: HeaderOptions | undefined): string {
  return (headers ?? [])
    .map((h) => {
      const append = h.append?.value ? ' (append)' : '';
      return `  ${label}: ${h.header?.key ?? ''}: ${h.header?.value ?? ''}${append}\n`;
    })
    .join('');
}

const rpcFailure = (what: string, s: RpcStatus): string =>
  `${what} failed with: ${goCodeName(s.code)} (${s.details})\n`;

export function formatEnvoyCheck(o: EnvoyCheckOutcome): string {
  if (o.rpcError) return rpcFailure('Check RPC', o.rpcError);
  const message = o.status.message === '' ? '' : ` (${o.status.message})`;
  let out = `Check RPC completed successfully. Check status was ${o.status.name}${message}\n`;
  const r = o.response ?? {};
  if (r.denied_response) {
    const d = r.denied_response;
    out += `  Denied response: ${httpStatusText(d.status?.code)}\n`;
    out += headerLines('Header', d.headers);
    if (d.body !== undefined) out += `  Body: ${JSON.stringify(d.body)}\n`;
  } else if (r.ok_response) {
    out += '  OK response\n';
    out += headerLines('Upstream header', r.ok_response.headers);
    for (const name of r.ok_response.headers_to_remove ?? []) out += `  Upstream header removed: ${name}\n`;
  } else out += '  No HTTP response\n';
  return out;
}

export function formatEnvoyReport(o: EnvoyReportOutcome): string {
  return o.streams
    .map((s) => {
      const kind = s.logKind === 'http' ? 'HTTP' : 'TCP';
      const sent =
        `Sent 1 StreamAccessLogsMessage on ${s.path}: identifier (log_name ${LOG_NAMES[s.logKind]}), ` +
        `${s.entries} ${kind} ${s.entries === 1 ? 'entry' : 'entries'}\n`;
      const end =
        s.status.code === 0
          ? 'StreamAccessLogs returned OK\n'
          : rpcFailure('StreamAccessLogs', s.status).replace(' failed with: ', ' returned ');
      return sent + end;
    })
    .join('');
}

/** The line that says which attributes did not reach the adapter as given, or undefined. */
export function notSentNote(outcomes: readonly (EnvoyCheckOutcome | EnvoyReportOutcome)[]): string | undefined {
  const names = [...new Set(outcomes.flatMap((o) => o.notSent))].sort();
  if (names.length === 0) return undefined;
  const what = outcomes[0]?.kind === 'envoy-check' ? 'a CheckRequest' : 'an access-log entry';
  return `note: not sent as given (${what} has no field for them, or none of their type): ${names.join(', ')}`;
}

/** UNIMPLEMENTED from an adapter: most likely started without --operator-config. */
export function unservedHint(outcomes: readonly (EnvoyCheckOutcome | EnvoyReportOutcome)[]): string | undefined {
  for (const o of outcomes) {
    const failed =
      o.kind === 'envoy-check'
        ? o.rpcError?.code === UNIMPLEMENTED && { path: o.path }
        : o.streams.find((s) => s.status.code === UNIMPLEMENTED);
    if (failed)
      return `mygrpcadapter mixer: the adapter at ${o.address} does not serve ${failed.path}: is it started with --operator-config PATH (which turns its Envoy front-ends on)?`;
  }
  return undefined;
}
