// Shorthands for istio.policy.v1beta1.Value messages in requests.
import type { Value } from '../../src/generated/istio/policy/v1beta1/Value.js';

export const str = (s: string): Value => ({ string_value: s });
export const int = (n: number | string): Value => ({ int64_value: n });
export const dbl = (n: number): Value => ({ double_value: n });
export const bool = (b: boolean): Value => ({ bool_value: b });
export const ip = (bytes: number[]): Value => ({ ip_address_value: { value: Buffer.from(bytes) } });
export const ts = (seconds: number | string, nanos = 0): Value => ({ timestamp_value: { value: { seconds, nanos } } });
export const dur = (seconds: number | string, nanos = 0): Value => ({ duration_value: { value: { seconds, nanos } } });
export const email = (s: string): Value => ({ email_address_value: { value: s } });
export const dns = (s: string): Value => ({ dns_name_value: { value: s } });
export const uri = (s: string): Value => ({ uri_value: { value: s } });
export const smap = (m: Record<string, string>): Value => ({ string_map_value: { value: m } });
