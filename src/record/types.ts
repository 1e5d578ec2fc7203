// The records that sinks receive: plain, JSON-safe objects with no gRPC or
// generated message types in them, so sinks and formats can be read on their
// own. (Only the ValueType names come from proto/.)
import type { ValueType } from '../generated/istio/policy/v1beta1/ValueType.js';

/** The istio.policy.v1beta1.ValueType names; VALUE_TYPE_UNSPECIFIED marks a Value with no member set. */
export type ValueKind = keyof typeof ValueType;

/**
 * An attribute value as plain JSON. INT64 is a number when it is a safe
 * integer, else its exact decimal string; DOUBLE NaN/Infinity are strings;
 * IP addresses, timestamps (RFC 3339) and durations ("1.5s") are strings;
 * null is a Value with no member set.
 */
export type PlainValue = string | number | boolean | null | { [key: string]: string };

export interface ValueMap {
  values: Record<string, PlainValue>;
  /** The kind of each entry of `values`, so formats can print a DOUBLE 1e6 as Go does. */
  kinds: Record<string, ValueKind>;
}

/** The handler's Params as records show them: secrets masked. */
export interface ConfigView {
  filePath: string;
  /** "***" when an auth_key is set, else "". */
  authKey: string;
  format: string;
  validDuration: string;
  validUseCount: number;
  denyValidDuration: string;
  denyValidUseCount: number;
  sink: string;
  /** The key set's name (present only when Params name one). */
  keySet?: string;
  /** "audit" (present only then). */
  mode?: string;
}

/** An HTTP answer for the end user (a DirectHttpResponse in Mixer's terms). */
export interface HttpAnswer {
  code: number;
  body: string;
  headers: Readonly<Record<string, string>>;
}

interface RecordBase {
  /** Full instance name, `<instance>.instance.<namespace>`. */
  instance: string;
  dedupId: string;
  /** When the adapter received the call, RFC 3339 UTC with milliseconds. */
  receivedAt: string;
  config: ConfigView;
}

export interface MetricRecord extends RecordBase {
  template: 'metric';
  value: PlainValue;
  valueKind: ValueKind;
  dimensions: ValueMap;
  monitoredResourceType: string;
  monitoredResourceDimensions: ValueMap;
}

export interface SubjectView {
  user: string;
  groups: string;
  properties: ValueMap;
}

export interface ActionView {
  namespace: string;
  service: string;
  method: string;
  path: string;
  properties: ValueMap;
}

export interface Decision {
  /** google.rpc.Code name of the answer. */
  code: 'OK' | 'PERMISSION_DENIED' | 'UNAUTHENTICATED';
  /** The status message on the wire: "" or the walkthrough's "Unauthorized...". */
  message: string;
  /** Why a call was denied, for records and logs only ("" when allowed or the token differs). */
  reason: string;
  /** The id of the key that let the request in (a key set's file name); "" otherwise. Never the key. */
  keyId?: string;
  /** Audit mode: what enforcing would have answered, when it is not what was answered. */
  wouldBe?: 'PERMISSION_DENIED' | 'UNAUTHENTICATED';
  /** The HTTP answer for the end user, sent in the status details (Mixer) or denied_response (Envoy). */
  http?: HttpAnswer;
  /** As sent in CheckResult.valid_duration, e.g. "30s" ("0s" with count 0: Mixer's default on allow, not cached on deny). */
  validDuration: string;
  validUseCount: number;
}

export interface AuthorizationRecord extends RecordBase {
  template: 'authorization';
  /** null when the instance has no subject. Token-bearing properties are masked. */
  subject: SubjectView | null;
  action: ActionView | null;
  decision: Decision;
}

export type AdapterRecord = MetricRecord | AuthorizationRecord;
