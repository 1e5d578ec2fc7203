// Attributes both Envoy services share: addresses and SPIFFE principals,
// taken the way Istio 1.7's bridge into Mixer took them.
import { isIP } from 'node:net';
import { ipBytes, type TypedValue } from '../../opconfig/values.js';

export type MutableBag = Map<string, TypedValue>;

/** envoy.config.core.v3.Address as decoded (toObject, keepCase). */
export interface AddressObject {
  socket_address?: { address?: string; port_value?: number };
}

const SPIFFE = 'spiffe://';

/** A principal without its spiffe:// scheme, as Mixer's attributes hold it. */
export function principal(text: string): string {
  return text.startsWith(SPIFFE) ? text.slice(SPIFFE.length) : text;
}

/** `<prefix>.ip` and `<prefix>.port` from a socket address (a pipe or an address that is not an IP: none). */
export function addAddress(
  bag: MutableBag,
  prefix: 'source' | 'destination',
  address: AddressObject | undefined,
): void {
  const socket = address?.socket_address;
  if (!socket) return;
  if (socket.address && isIP(socket.address))
    bag.set(`${prefix}.ip`, { type: 'IP_ADDRESS', value: ipBytes(socket.address) });
  if (socket.port_value !== undefined) bag.set(`${prefix}.port`, { type: 'INT64', value: BigInt(socket.port_value) });
}

/**
 * `<prefix>.principal`, and `<prefix>.namespace` from an Istio identity
 * (`<trust domain>/ns/<namespace>/sa/<account>`): without Mixer's
 * kubernetesenv the principal is where a workload's namespace still shows.
 */
export function addPrincipal(bag: MutableBag, prefix: 'source' | 'destination', text: string): void {
  const p = principal(text);
  bag.set(`${prefix}.principal`, { type: 'STRING', value: p });
  const parts = p.split('/');
  if (parts.length === 5 && parts[1] === 'ns' && parts[3] === 'sa' && parts[2] !== '') {
    bag.set(`${prefix}.namespace`, { type: 'STRING', value: parts[2]! });
  }
}

/** google.protobuf.Timestamp as decoded (seconds as a decimal string) -> a TIMESTAMP value. */
export function timestamp(
  t: { seconds?: string | number; nanos?: number } | undefined,
): Extract<TypedValue, { type: 'TIMESTAMP' }> | undefined {
  if (!t) return undefined;
  return { type: 'TIMESTAMP', value: { seconds: BigInt(t.seconds ?? 0), nanos: t.nanos ?? 0 } };
}

/** google.protobuf.Duration as decoded -> nanoseconds. */
export function durationNanos(d: { seconds?: string | number; nanos?: number } | undefined): bigint | undefined {
  if (!d) return undefined;
  return BigInt(d.seconds ?? 0) * 1_000_000_000n + BigInt(d.nanos ?? 0);
}

export const GRPC_CONTENT_TYPE = 'application/grpc';
