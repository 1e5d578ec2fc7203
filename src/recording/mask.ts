// What --record leaves out of a recording unless --record-secrets: the
// secrets a call carries are replaced by MASK in its request bytes, which
// are otherwise kept byte for byte (see wire-edit.ts).
//
// - Mixer calls: Params' auth_key inside adapter_config, and in a check the
//   presented token (the subject property custom_token_header), the two
//   values records mask too.
// - Envoy ext_authz checks: every HTTP header value but those of
//   KEPT_HEADERS, which carry no credentials by definition (an allow-list:
//   a custom token header, `authorization`, `cookie` and anything an operator
//   maps to the token property are masked without being named here), and
//   the request body.
import { TOKEN_PROPERTY } from '../core/authorize.js';
import { bounded, ECHO_MAX_BYTES } from '../common/echo.js';
import { EXT_AUTHZ_SERVICES } from '../wire/envoy.js';
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH, PARAMS_TYPE_URL } from '../wire/load.js';
import { editFields, inField, lastBytes } from './wire-edit.js';

/** What a masked value reads in a recording (as records show auth_key). */
export const MASK = '***';
const MASK_BYTES = Buffer.from(MASK);

/** The ext_authz Check paths, v3, v2 and v2alpha. */
export const ENVOY_CHECK_PATHS: readonly string[] = EXT_AUTHZ_SERVICES.map((s) => `/${s}/Check`);

/** Header values a recorded Envoy check keeps: routing, content and tracing, no credentials. */
export const KEPT_HEADERS: ReadonlySet<string> = new Set([
  ':authority',
  ':method',
  ':path',
  ':scheme',
  'host',
  'content-type',
  'content-length',
  'user-agent',
  'accept',
  'accept-encoding',
  'x-request-id',
  'x-forwarded-proto',
  'x-envoy-internal',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'traceparent',
  'tracestate',
]);

/** The names in `masked` (see MaskedRequest) besides `header <name>`. */
export const MASKED = {
  authKey: 'auth_key',
  token: TOKEN_PROPERTY,
  /** adapter_config's value could not be read as Params: left out whole. */
  adapterConfig: 'adapter_config',
  body: 'body',
  rawBody: 'raw_body',
  /** The request was not protobuf (or of no method known here): left out whole. */
  request: 'request',
} as const;

export interface MaskedRequest {
  /** The request bytes to record. */
  bytes: Buffer;
  /** What was replaced by MASK or left out, e.g. "auth_key", "header authorization"; empty when nothing. */
  masked: string[];
}

/** What was masked so far (a set: a request may repeat a header thousands of times). */
type Noted = Set<string>;
type Masker = (request: Buffer, masked: Noted) => Buffer;

/** `request` of `method` with its secrets masked. Bytes that cannot be read are left out whole, never kept. */
export function maskSecrets(method: string, request: Buffer): MaskedRequest {
  const masker = maskerOf(method);
  const masked: Noted = new Set();
  if (masker !== undefined) {
    try {
      const bytes = masker(request, masked);
      return { bytes, masked: [...masked] };
    } catch {
      // Not protobuf: the adapter refused it, but the bytes may still hold a key.
    }
  }
  return { bytes: Buffer.alloc(0), masked: [MASKED.request] };
}

/**
 * Why a call recorded with `masked` cannot be replayed to the same answer,
 * or undefined when its answer does not depend on what was masked: a Mixer
 * check compares the token with auth_key; an Envoy check's rules may read
 * any header. A report, or a check of a handler without auth_key, replays.
 */
export function unreproducible(method: string, masked: readonly string[]): string | undefined {
  if (masked.includes(MASKED.request)) return 'its request was not readable protobuf and was left out when recorded';
  if (masked.includes(MASKED.adapterConfig)) {
    return 'its adapter_config could not be read as Params and was left out when recorded';
  }
  if (method === AUTHORIZATION_METHOD_PATH && masked.includes(MASKED.authKey)) {
    return 'the decision compares the token with auth_key, which was masked when recorded';
  }
  if (ENVOY_CHECK_PATHS.includes(method) && masked.length > 0) {
    return `the rules may read what was masked when recorded (${masked.join(', ')})`;
  }
  return undefined;
}

function maskerOf(method: string): Masker | undefined {
  if (method === METRIC_METHOD_PATH) return maskMixerRequest;
  if (method === AUTHORIZATION_METHOD_PATH) return maskAuthorizationRequest;
  if (ENVOY_CHECK_PATHS.includes(method)) return maskEnvoyCheck;
  return undefined;
}

// Field numbers, from proto/: HandleMetricRequest and HandleAuthorizationRequest
// (adapter_config = 2), google.protobuf.Any, Params, the authorization template.
const ADAPTER_CONFIG = 2;
const ANY_TYPE_URL = 1;
const ANY_VALUE = 2;
const PARAMS_AUTH_KEY = 2;
const AUTHZ_INSTANCE = 1;
const INSTANCE_SUBJECT = 1;
const SUBJECT_PROPERTIES = 3;
const MAP_KEY = 1;
const MAP_VALUE = 2;
/** istio.policy.v1beta1.Value{string_value: MASK}. */
const MASKED_VALUE = Buffer.concat([Buffer.from([0x0a, MASK_BYTES.length]), MASK_BYTES]);

function maskMixerRequest(request: Buffer, masked: Noted): Buffer {
  return editFields(
    request,
    inField(ADAPTER_CONFIG, (any) => maskParamsAny(any, masked)),
  );
}

function maskAuthorizationRequest(request: Buffer, masked: Noted): Buffer {
  const token = inField(AUTHZ_INSTANCE, (instance) =>
    editFields(
      instance,
      inField(INSTANCE_SUBJECT, (subject) =>
        editFields(
          subject,
          inField(SUBJECT_PROPERTIES, (entry) => maskTokenEntry(entry, masked)),
        ),
      ),
    ),
  );
  const config = inField(ADAPTER_CONFIG, (any) => maskParamsAny(any, masked));
  return editFields(request, (field, value) => token(field, value) ?? config(field, value));
}

/** adapter_config with auth_key masked in its Params; a value that is not Params is left out. */
function maskParamsAny(any: Buffer, masked: Noted): Buffer {
  const isParams = lastBytes(any, ANY_TYPE_URL)?.toString() === PARAMS_TYPE_URL;
  return editFields(any, (field, value) => {
    if (field !== ANY_VALUE) return undefined;
    if (isParams) {
      try {
        return maskAuthKey(value, masked);
      } catch {
        // Params the adapter refused as not protobuf: falls through, left out.
      }
    }
    if (value.length === 0) return undefined;
    masked.add(MASKED.adapterConfig);
    return Buffer.alloc(0);
  });
}

function maskAuthKey(params: Buffer, masked: Noted): Buffer | undefined {
  const edited = editFields(params, (field, value) => {
    // An empty auth_key means "no key": nothing to hide, and the decision stays the same.
    if (field !== PARAMS_AUTH_KEY || value.length === 0) return undefined;
    masked.add(MASKED.authKey);
    return MASK_BYTES;
  });
  return edited === params ? undefined : edited;
}

/** A subject.properties map entry: its Value masked when its key is the token property. */
function maskTokenEntry(entry: Buffer, masked: Noted): Buffer {
  if (lastBytes(entry, MAP_KEY)?.toString() !== TOKEN_PROPERTY) return entry;
  return editFields(entry, (field) => {
    if (field !== MAP_VALUE) return undefined;
    masked.add(MASKED.token);
    return MASKED_VALUE;
  });
}

// envoy.service.auth.v3.CheckRequest (v2 and v2alpha have the same numbers):
// attributes = 1 -> request = 4 -> http = 2 -> headers = 3, body = 11, raw_body = 12.
const CHECK_ATTRIBUTES = 1;
const ATTRIBUTES_REQUEST = 4;
const REQUEST_HTTP = 2;
const HTTP_HEADERS = 3;
const HTTP_BODY = 11;
const HTTP_RAW_BODY = 12;

function maskEnvoyCheck(request: Buffer, masked: Noted): Buffer {
  return editFields(
    request,
    inField(CHECK_ATTRIBUTES, (attributes) =>
      editFields(
        attributes,
        inField(ATTRIBUTES_REQUEST, (req) =>
          editFields(
            req,
            inField(REQUEST_HTTP, (http) => maskHttp(http, masked)),
          ),
        ),
      ),
    ),
  );
}

function maskHttp(http: Buffer, masked: Noted): Buffer {
  return editFields(http, (field, value) => {
    if (field === HTTP_HEADERS) {
      const edited = maskHeaderEntry(value, masked);
      return edited === value ? undefined : edited;
    }
    if ((field === HTTP_BODY || field === HTTP_RAW_BODY) && value.length > 0) {
      masked.add(field === HTTP_BODY ? MASKED.body : MASKED.rawBody);
      return MASK_BYTES;
    }
    return undefined;
  });
}

function maskHeaderEntry(entry: Buffer, masked: Noted): Buffer {
  const name = (lastBytes(entry, MAP_KEY)?.toString() ?? '').toLowerCase();
  if (KEPT_HEADERS.has(name)) return entry;
  return editFields(entry, (field, value) => {
    if (field !== MAP_VALUE || value.length === 0) return undefined;
    masked.add(`header ${bounded(name, ECHO_MAX_BYTES)}`);
    return MASK_BYTES;
  });
}
