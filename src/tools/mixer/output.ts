// mixc's console lines for one result, and a JSON form for scripts.
import type { CheckOutcome, ReportOutcome } from './dispatch.js';
import type { EnvoyCheckOutcome, EnvoyReportOutcome } from './envoy-dispatch.js';
import { formatEnvoyCheck, formatEnvoyReport } from './envoy-output.js';
import { formatGoDuration } from '../../opconfig/time.js';

export type Outcome = ReportOutcome | CheckOutcome | EnvoyCheckOutcome | EnvoyReportOutcome;

export function formatOutcome(o: Outcome): string {
  if (o.kind === 'envoy-check') return formatEnvoyCheck(o);
  if (o.kind === 'envoy-report') return formatEnvoyReport(o);
  if (o.kind === 'report') {
    return o.code === 'OK' ? 'Report RPC returned OK\n' : `Report RPC returned Unknown (${o.message})\n`;
  }
  // grpc-go's code names (Unknown, Internal), as mixc prints them.
  if (o.rpcError) return `Check RPC failed with: Internal (${o.rpcError.message})\n`;
  const message = o.status.message === '' ? '' : ` (${o.status.message})`;
  return (
    `Check RPC completed successfully. Check status was ${o.status.name}${message}\n` +
    `  Valid use count: ${o.validUseCount}, valid duration: ${formatGoDuration(o.validDuration)}\n`
  );
}

/** True when the outcome is an error (not a completed RPC). */
export function isError(o: Outcome): boolean {
  if (o.kind === 'report') return o.code !== 'OK';
  if (o.kind === 'envoy-report') return o.streams.some((s) => s.status.code !== 0);
  return o.rpcError !== undefined;
}

export function isDenied(o: Outcome): boolean {
  return (o.kind === 'check' || o.kind === 'envoy-check') && !o.rpcError && o.status.code !== 0;
}

/** A short label to count outcomes by in load runs. */
export function outcomeLabel(o: Outcome): string {
  if (o.kind === 'report') return o.code;
  if (o.kind === 'envoy-report') return o.streams.find((s) => s.status.code !== 0)?.status.name ?? 'OK';
  if (o.kind === 'envoy-check') return o.rpcError ? `RPC ${o.rpcError.name}` : o.status.name;
  return o.rpcError ? `RPC ${o.rpcError.code}` : o.status.name;
}

const ms = (n: number): number => Math.round(n * 1000) / 1000;

export function outcomeJson(o: Outcome): Record<string, unknown> {
  if (o.kind === 'envoy-check') return { ...o, rpcError: o.rpcError ?? null, ms: ms(o.ms) };
  if (o.kind === 'envoy-report') return { ...o, streams: o.streams.map((s) => ({ ...s, ms: ms(s.ms) })) };
  const calls = o.calls.map((c) => ({ ...c, ms: ms(c.ms) }));
  if (o.kind === 'report') return { kind: o.kind, code: o.code, message: o.message, errors: o.errors, calls };
  return {
    kind: o.kind,
    rpcError: o.rpcError ?? null,
    status: o.status,
    validUseCount: o.validUseCount,
    validDuration: formatGoDuration(o.validDuration),
    errors: o.errors,
    calls,
  };
}
