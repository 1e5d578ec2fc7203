// adapter_config (google.protobuf.Any) -> validated HandlerConfig.
import type { Params__Output as RawParams } from '../../generated/adapter/mygrpcadapter/config/Params.js';
import type { Any__Output } from '../../generated/google/protobuf/Any.js';
import type { ConfigView, HttpAnswer } from '../../record/types.js';
import { PARAMS_MESSAGE, PARAMS_TYPE_URL, protoRoot } from '../../wire/load.js';
import { digestSecret, type SecretDigest } from '../../security/secret-digest.js';
import { quoted } from '../../common/echo.js';
import { InvalidInputError } from '../../common/errors.js';
import { formatDuration } from '../value.js';
import { parseGoDuration } from '../../common/go-duration.js';
import { checkWire } from '../../wire/wire-check.js';
import { prometheusSettings, type PrometheusSettings } from './prometheus-params.js';
import { enablingFlag, PROMETHEUS_SINK } from '../../sinks/enabling-flag.js';

export const FORMATS = ['text', 'json'] as const;
export const AUTHORIZATION_MODES = ['enforce', 'audit'] as const;
export type AuthorizationMode = (typeof AUTHORIZATION_MODES)[number];

/**
 * Most bytes of Params (adapter_config.value) one handler configuration may
 * hold. The samples in operatorconfig/ and examples/ encode to 6-301 bytes (a
 * Prometheus sink with three metrics is the largest); 64 KiB leaves room for
 * dozens of metrics with 200 explicit buckets each, and keeps what one
 * configuration costs to decode, hash and cache small.
 */
export const DEFAULT_MAX_PARAMS_BYTES = 64 * 1024;
export type FormatName = (typeof FORMATS)[number];

/** The decoded Params the adapter acts on. Field names mirror config.proto. */
export interface HandlerConfig {
  filePath: string;
  /** "" means: the server's --format default. */
  format: FormatName | '';
  /** How long and how often Mixer's clients may reuse an allow. */
  validDuration: { seconds: number; nanos: number };
  validUseCount: number;
  /** The same for a denial; zero (the default) means not cached. */
  denyValidDuration: { seconds: number; nanos: number };
  denyValidUseCount: number;
  /** The sink type key; always set ("file" or "stdout" when Params leave it empty). */
  sink: string;
  /** The series of sink "prometheus"; undefined under other sinks. */
  prometheus: PrometheusSettings | undefined;
  /** sha256 of auth_key, for comparisons that do not leak its length or content through timing. */
  authKeyDigest: SecretDigest | null;
  /** The key set's folder name under --keys-dir; "" when none. */
  keySet: string;
  /** audit: every request allowed, what enforcing would decide recorded and counted. */
  mode: AuthorizationMode;
  /** The HTTP answer to a missing or malformed token (401); undefined: the walkthrough's PERMISSION_DENIED. */
  unauthenticated: HttpAnswer | undefined;
  /** The HTTP answer to a wrong key (403); undefined: none. */
  forbidden: HttpAnswer | undefined;
  /** Envoy front-end: the request header that carries the matched key's id upstream; "" for none. */
  keyIdHeader: string;
  /** What records show of this config: auth_key masked. */
  view: ConfigView;
}

export interface DecodeOptions {
  /**
   * Whether a sink type missing from `sinkTypes` is refused with the serve
   * flag that enables it (the adapter's answer: default true). The linter
   * turns it off: it knows every built-in sink and says how to tell it about
   * plug-ins with its own flag.
   */
  sinkFlags?: boolean;
  /** Most Params bytes accepted (default DEFAULT_MAX_PARAMS_BYTES); more is refused before decoding. */
  maxBytes?: number;
}

/**
 * Throws InvalidInputError, naming the bound, when `any` holds more Params
 * bytes than `maxBytes`: checked before anything is decoded, hashed or kept.
 */
export function checkParamsSize(
  any: Any__Output | null | undefined,
  maxBytes: number = DEFAULT_MAX_PARAMS_BYTES,
): void {
  if (any && any.value.length > maxBytes) {
    throw new InvalidInputError(
      `adapter_config: ${any.value.length} bytes is more than the ${maxBytes} a handler configuration may hold`,
    );
  }
}

/**
 * Decodes and validates the Params in `any`. Absent → defaults. Throws
 * InvalidInputError naming what was expected and what arrived, listing every
 * problem at once. `sinkTypes` are the registered sink keys.
 */
export function decodeParams(
  any: Any__Output | null | undefined,
  sinkTypes: readonly string[],
  options: DecodeOptions = {},
): HandlerConfig {
  const explain = options.sinkFlags ?? true;
  if (!any) return validate(emptyParams(), sinkTypes, explain);
  checkParamsSize(any, options.maxBytes);
  if (any.type_url !== PARAMS_TYPE_URL) {
    throw new InvalidInputError(
      `adapter_config: expected type_url "${PARAMS_TYPE_URL}", got ${any.type_url === '' ? 'an empty type_url' : quoted(any.type_url)}`,
    );
  }
  const type = protoRoot().lookupType(PARAMS_MESSAGE);
  let raw: RawParams;
  try {
    const problem = checkWire(type, any.value);
    if (problem !== undefined) throw new Error(problem);
    raw = type.toObject(type.decode(any.value), { defaults: true, longs: String, enums: String }) as RawParams;
  } catch (err) {
    throw new InvalidInputError(
      `adapter_config: ${any.value.length} bytes do not decode as ${PARAMS_MESSAGE}: ${(err as Error).message}`,
    );
  }
  return validate(raw, sinkTypes, explain);
}

function emptyParams(): RawParams {
  return {
    file_path: '',
    auth_key: '',
    format: '',
    valid_duration: '',
    valid_use_count: 0,
    sink: '',
    deny_valid_duration: '',
    deny_valid_use_count: 0,
    metrics: [],
    metrics_expiration_policy: null,
    max_series_per_metric: 0,
    key_set: '',
    mode: '',
    auth_realm: '',
    auth_scheme: '',
    deny_body: '',
    deny_headers: {},
    key_id_header: '',
  };
}

// Linux's limits: a path the kernel refuses (ENAMETOOLONG) or cannot even
// pass (a NUL ends it) is the caller's mistake, not the adapter's.
const PATH_MAX_BYTES = 4095;
const NAME_MAX_BYTES = 255;

function filePathProblem(filePath: string): string | undefined {
  if (filePath.includes('\u0000')) return 'must not contain NUL bytes';
  if (Buffer.byteLength(filePath) > PATH_MAX_BYTES) return `longer than ${PATH_MAX_BYTES} bytes`;
  if (filePath.split('/').some((name) => Buffer.byteLength(name) > NAME_MAX_BYTES))
    return `a name in it is longer than ${NAME_MAX_BYTES} bytes`;
  return undefined;
}

function validate(raw: RawParams, sinkTypes: readonly string[], explainSinks: boolean): HandlerConfig {
  const problems: string[] = [];
  if (raw.format !== '' && !(FORMATS as readonly string[]).includes(raw.format)) {
    problems.push(`format: expected one of ${FORMATS.join(', ')} (or empty), got ${quoted(raw.format)}`);
  }
  const validDuration = durationParam('valid_duration', raw.valid_duration, problems);
  const denyValidDuration = durationParam('deny_valid_duration', raw.deny_valid_duration, problems);
  if (raw.valid_use_count < 0) problems.push(`valid_use_count: must not be negative, got ${raw.valid_use_count}`);
  if (raw.deny_valid_use_count < 0) {
    problems.push(`deny_valid_use_count: must not be negative, got ${raw.deny_valid_use_count}`);
  }
  const sink = raw.sink !== '' ? raw.sink : raw.file_path !== '' ? 'file' : 'stdout';
  if (!sinkTypes.includes(sink)) problems.push(unknownSink(sink, sinkTypes, explainSinks));
  if (sink === 'file' && raw.file_path === '') problems.push('file_path: required when sink is "file"');
  const pathProblem = filePathProblem(raw.file_path);
  if (pathProblem !== undefined) problems.push(`file_path: ${pathProblem}, got ${quoted(raw.file_path)}`);
  const prometheus = prometheusSettings(raw, sink, problems);
  const answers = httpAnswers(raw, problems);
  if (raw.mode !== '' && !(AUTHORIZATION_MODES as readonly string[]).includes(raw.mode)) {
    problems.push(`mode: expected one of ${AUTHORIZATION_MODES.join(', ')} (or empty), got ${quoted(raw.mode)}`);
  }
  if (raw.key_id_header !== '' && !TOKEN.test(raw.key_id_header)) {
    problems.push(`key_id_header: expected a header name, got ${quoted(raw.key_id_header)}`);
  }
  if (raw.key_set !== '' && !KEY_SET_NAME.test(raw.key_set)) {
    problems.push(
      `key_set: expected a folder name under --keys-dir (letters, digits, . _ -), got ${quoted(raw.key_set)}`,
    );
  }
  if (problems.length > 0) throw new InvalidInputError(`adapter_config: invalid Params: ${problems.join('; ')}`);
  const mode = (raw.mode === '' ? 'enforce' : raw.mode) as AuthorizationMode;

  const format = raw.format as FormatName | '';
  return {
    filePath: raw.file_path,
    format,
    validDuration: secondsNanos(validDuration),
    validUseCount: raw.valid_use_count,
    denyValidDuration: secondsNanos(denyValidDuration),
    denyValidUseCount: raw.deny_valid_use_count,
    sink,
    prometheus,
    authKeyDigest: raw.auth_key === '' ? null : digestSecret(raw.auth_key),
    keySet: raw.key_set,
    keyIdHeader: raw.key_id_header.toLowerCase(),
    mode,
    ...answers,
    view: {
      // Only when set: the view of a config without them (and its handler id) stays as it was.
      ...(raw.key_set !== '' ? { keySet: raw.key_set } : {}),
      ...(mode !== 'enforce' ? { mode } : {}),
      filePath: raw.file_path,
      authKey: raw.auth_key === '' ? '' : '***',
      format,
      validDuration: durationText(validDuration),
      validUseCount: raw.valid_use_count,
      denyValidDuration: durationText(denyValidDuration),
      denyValidUseCount: raw.deny_valid_use_count,
      sink,
    },
  };
}

/**
 * The problem with a sink type this adapter does not have. No "; " inside:
 * that separates problems, and the linter splits on it.
 */
function unknownSink(sink: string, sinkTypes: readonly string[], explain: boolean): string {
  const flag = explain ? enablingFlag(sink) : undefined;
  if (flag !== undefined && sink === PROMETHEUS_SINK) {
    return `sink: "${sink}" is not enabled in this adapter: start it with ${flag} (enabled here: ${sinkTypes.join(', ')})`;
  }
  const expected = `sink: expected one of ${sinkTypes.join(', ')} (or empty), got ${quoted(sink)}`;
  return flag === undefined
    ? expected
    : `${expected} (for a plug-in sink of that name, start the adapter with ${flag})`;
}

/** A Go duration Params field in nanoseconds; "" is 0. Problems are added to `problems`. */
function durationParam(name: string, text: string, problems: string[]): bigint {
  if (text === '') return 0n;
  const parsed = parseGoDuration(text);
  if (parsed === undefined) problems.push(`${name}: expected a duration such as "30s", got ${quoted(text)}`);
  else if (parsed < 0n) problems.push(`${name}: must not be negative, got ${quoted(text)}`);
  else return parsed;
  return 0n;
}

function secondsNanos(nanos: bigint): { seconds: number; nanos: number } {
  return { seconds: Number(nanos / 1_000_000_000n), nanos: Number(nanos % 1_000_000_000n) };
}

function durationText(nanos: bigint): string {
  return formatDuration(nanos / 1_000_000_000n, Number(nanos % 1_000_000_000n));
}

/** A Kubernetes Secret's name is a DNS subdomain; a folder name, never a path. */
const KEY_SET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/;
/** An HTTP token (header names, auth schemes). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What a header value may hold: visible characters and inner spaces, no CR, LF or NUL. */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const HEADER_VALUE = /^[^\x00-\x1f\x7f]*$/;

/** The 401 and 403 answers Params describe; problems go to `problems`. */
function httpAnswers(
  raw: RawParams,
  problems: string[],
): { unauthenticated: HttpAnswer | undefined; forbidden: HttpAnswer | undefined } {
  const scheme = raw.auth_scheme === '' ? 'Bearer' : raw.auth_scheme;
  if (!TOKEN.test(scheme))
    problems.push(`auth_scheme: expected an HTTP auth scheme such as Bearer, got ${quoted(scheme)}`);
  if (!HEADER_VALUE.test(raw.auth_realm) || raw.auth_realm.includes('"') || raw.auth_realm.includes('\\')) {
    problems.push(`auth_realm: must not hold quotes, backslashes or control characters, got ${quoted(raw.auth_realm)}`);
  }
  if (raw.auth_scheme !== '' && raw.auth_realm === '')
    problems.push('auth_scheme: set auth_realm too (the 401 needs both)');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.deny_headers)) {
    if (!TOKEN.test(name)) problems.push(`deny_headers: ${quoted(name)} is not a header name`);
    else if (!HEADER_VALUE.test(value)) problems.push(`deny_headers.${name}: must not hold control characters`);
    else headers[name.toLowerCase()] = value;
  }
  return {
    unauthenticated:
      raw.auth_realm === ''
        ? undefined
        : Object.freeze({
            code: 401,
            body: '',
            headers: Object.freeze({ 'www-authenticate': `${scheme} realm="${raw.auth_realm}"` }),
          }),
    forbidden:
      raw.deny_body === '' && Object.keys(headers).length === 0
        ? undefined
        : Object.freeze({ code: 403, body: raw.deny_body, headers: Object.freeze(headers) }),
  };
}
