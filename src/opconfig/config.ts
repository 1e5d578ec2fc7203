// Operator config (handlers, instances, rules, adapters, attribute manifests)
// -> what the stand-in dispatches. Every problem is collected with the
// resource's position; nothing is dropped silently.
import type protobuf from 'protobufjs';
import { loadResources, position, type Resource } from './load.js';
import { findParamsType, paramsTypeUrl, rootFromDescriptorSet } from './descriptor.js';
import { compile, CompileError, type Compiled, type TypeOf } from './expr/index.js';
import { instanceBuilder, InstanceConfigError, isTemplate, TEMPLATES, type InstanceBuilder } from './instances.js';
import { PLAINTEXT, type DialSettings } from '../transport/dial.js';
import { encodeParams, jsonName, ParamsError } from './params-encoding.js';
import { isValueType, type ValueType } from './values.js';

export interface HandlerConfig {
  fullName: string;
  address: string;
  /** connection.timeout in milliseconds; undefined = no deadline, as Mixer. */
  timeoutMs: number | undefined;
  /** connection.authentication; plaintext when absent. */
  dial: DialSettings;
  /** adapter_config, absent when the adapter has no config or is session based. */
  adapterConfig: { type_url: string; value: Buffer } | undefined;
  templates: readonly string[];
}

export interface Action {
  handler: HandlerConfig;
  instances: InstanceBuilder[];
}

export interface RuleConfig {
  fullName: string;
  match: Compiled | undefined;
  actions: Action[];
}

export interface MixerConfig {
  rules: RuleConfig[];
  typeOf: TypeOf;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`operator config has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  }
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** `x`, `x.ns` or `x.<kind>.ns` -> the full name `x.<kind>.ns`. */
export function fullName(ref: string, kind: string, defaultNamespace: string): string | undefined {
  const parts = ref.split('.');
  if (parts.length === 1) return `${ref}.${kind}.${defaultNamespace}`;
  if (parts.length === 2) return `${parts[0]}.${kind}.${parts[1]}`;
  if (parts.length === 3 && parts[1] === kind) return ref;
  return undefined;
}

const key = (r: Resource, kind: string): string => `${r.name}.${kind}.${r.namespace}`;

// protobuf JSON durations ("5s", "0.25s"), which is how Mixer reads connection.timeout.
function jsonDurationMs(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^\d+(\.\d{1,9})?s$/.test(v)) return undefined;
  return Number(v.slice(0, -1)) * 1000;
}

/** The attribute manifest(s) as name -> type; bad declarations go to `problems`. */
export function manifest(resources: Resource[], problems: string[]): Map<string, ValueType> {
  const types = new Map<string, ValueType>();
  for (const r of resources) {
    const attributes = record(r.spec.attributes) ?? {};
    for (const [name, info] of Object.entries(attributes)) {
      const t = record(info)?.valueType ?? record(info)?.value_type;
      if (typeof t !== 'string' || !isValueType(t)) {
        problems.push(`${position(r)}: attribute ${name}: valueType ${JSON.stringify(t)} is not a known type`);
        continue;
      }
      const before = types.get(name);
      if (before && before !== t)
        problems.push(`${position(r)}: attribute ${name}: declared ${before} elsewhere, ${t} here`);
      types.set(name, t);
    }
  }
  return types;
}

interface AdapterInfo {
  templates: string[];
  params: protobuf.Type | undefined;
  sessionBased: boolean;
}

function adapterInfo(r: Resource, problems: string[]): AdapterInfo | undefined {
  const templates = Array.isArray(r.spec.templates) ? r.spec.templates.map(String) : [];
  const sessionBased = r.spec.session_based === true || r.spec.sessionBased === true;
  const config = r.spec.config;
  if (config === undefined || config === null || config === '') return { templates, params: undefined, sessionBased };
  if (typeof config !== 'string') {
    problems.push(`${position(r)}: adapter ${r.name}: spec.config must be base64 text`);
    return undefined;
  }
  try {
    const params = findParamsType(rootFromDescriptorSet(config));
    if (!params) {
      problems.push(`${position(r)}: adapter ${r.name}: spec.config has no top-level message named Params`);
      return undefined;
    }
    return { templates, params, sessionBased };
  } catch (err) {
    problems.push(
      `${position(r)}: adapter ${r.name}: spec.config is not a FileDescriptorSet: ${(err as Error).message}`,
    );
    return undefined;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** connection.authentication (tls or mutual, proto or JSON names) -> how to dial, or what is wrong. */
function authentication(v: unknown): DialSettings | string {
  const auth = record(v);
  const tls = record(auth?.tls);
  const mutual = record(auth?.mutual);
  if (!auth || (tls && mutual) || (!tls && !mutual)) return 'expected exactly one of tls or mutual';
  const pick = (o: Record<string, unknown>, name: string): unknown => o[name] ?? o[jsonName(name)];
  if (tls) {
    if (tls.oauth !== undefined) return 'oauth is not supported by the stand-in (use token_path)';
    const header = pick(tls, 'auth_header');
    if (header !== undefined && header !== 'PLAIN' && header !== 'BEARER')
      return `tls.auth_header: expected PLAIN or BEARER, got ${JSON.stringify(header)}`;
    return {
      ...PLAINTEXT,
      tls: true,
      caCertificates: str(pick(tls, 'ca_certificates')),
      serverName: str(pick(tls, 'server_name')),
      tokenPath: str(pick(tls, 'token_path')),
      authHeader: header,
      customHeader: str(pick(tls, 'custom_header')),
    };
  }
  const m = mutual as Record<string, unknown>;
  return {
    ...PLAINTEXT,
    tls: true,
    caCertificates: str(pick(m, 'ca_certificates')),
    serverName: str(pick(m, 'server_name')),
    clientCertificate: str(pick(m, 'client_certificate')),
    privateKey: str(pick(m, 'private_key')),
  };
}

function handlerConfig(r: Resource, adapters: Map<string, AdapterInfo>, problems: string[]): HandlerConfig | undefined {
  const where = `${position(r)}: handler ${r.name}`;
  const spec = r.spec;
  if (typeof spec.adapter !== 'string') {
    problems.push(`${where}: spec.adapter is required (compiled-in adapters are not available in the stand-in)`);
    return undefined;
  }
  const adapterName = fullName(spec.adapter, 'adapter', r.namespace);
  const adapter = adapterName && adapters.get(adapterName);
  if (!adapter) {
    problems.push(
      `${where}: adapter ${spec.adapter} not found (looked for kind: adapter ${adapterName ?? spec.adapter})`,
    );
    return undefined;
  }
  const connection = record(spec.connection) ?? {};
  if (typeof connection.address !== 'string' || connection.address === '') {
    problems.push(`${where}: spec.connection.address is required`);
    return undefined;
  }
  let dial: DialSettings = PLAINTEXT;
  if (connection.authentication !== undefined) {
    const auth = authentication(connection.authentication);
    if (typeof auth === 'string') {
      problems.push(`${where}: spec.connection.authentication: ${auth}`);
      return undefined;
    }
    dial = auth;
  }
  const timeoutMs = connection.timeout === undefined ? undefined : jsonDurationMs(connection.timeout);
  if (connection.timeout !== undefined && timeoutMs === undefined) {
    problems.push(
      `${where}: spec.connection.timeout: expected a duration such as "5s", got ${JSON.stringify(connection.timeout)}`,
    );
    return undefined;
  }
  let adapterConfig: HandlerConfig['adapterConfig'];
  if (adapter.params && !adapter.sessionBased) {
    try {
      adapterConfig = {
        type_url: paramsTypeUrl(adapter.params),
        value: encodeParams(adapter.params, spec.params, 'params'),
      };
    } catch (err) {
      if (!(err instanceof ParamsError)) throw err;
      problems.push(`${where}: ${err.message}`);
      return undefined;
    }
  }
  return {
    fullName: key(r, 'handler'),
    address: connection.address,
    timeoutMs,
    dial,
    adapterConfig,
    templates: adapter.templates,
  };
}

function templateOf(r: Resource): string | undefined {
  const t = r.spec.template;
  return typeof t === 'string' ? t.split('.')[0] : undefined;
}

export function buildConfig(resources: Resource[]): MixerConfig {
  const problems: string[] = [];
  const of = (kind: string): Resource[] => resources.filter((r) => r.kind === kind);

  const types = manifest(of('attributemanifest'), problems);
  if (types.size === 0)
    problems.push('no attributes declared: add a kind: attributemanifest resource (e.g. attributes.yaml) to --config');
  const typeOf: TypeOf = (name) => types.get(name);

  const adapters = new Map<string, AdapterInfo>();
  for (const r of of('adapter')) {
    const info = adapterInfo(r, problems);
    if (info) adapters.set(key(r, 'adapter'), info);
  }
  const handlers = new Map<string, HandlerConfig>();
  for (const r of of('handler')) {
    const h = handlerConfig(r, adapters, problems);
    if (h) handlers.set(h.fullName, h);
  }
  const instances = new Map<string, InstanceBuilder>();
  for (const r of of('instance')) {
    const t = templateOf(r);
    if (!t || !isTemplate(t)) {
      const supported = Object.keys(TEMPLATES).join(', ');
      problems.push(
        `${position(r)}: instance ${r.name}: template ${JSON.stringify(r.spec.template)} is not supported (supported: ${supported})`,
      );
      continue;
    }
    try {
      instances.set(key(r, 'instance'), instanceBuilder(key(r, 'instance'), t, r.spec.params, typeOf));
    } catch (err) {
      if (!(err instanceof InstanceConfigError)) throw err;
      problems.push(`${position(r)}: instance ${r.name}: ${err.message}`);
    }
  }

  const rules: RuleConfig[] = [];
  for (const r of of('rule')) {
    const where = `${position(r)}: rule ${r.name}`;
    let match: Compiled | undefined;
    if (typeof r.spec.match === 'string' && r.spec.match.trim() !== '') {
      try {
        match = compile(r.spec.match, typeOf);
        if (match.type !== 'BOOL') problems.push(`${where}: match is ${match.type}, it must be BOOL`);
      } catch (err) {
        if (!(err instanceof CompileError)) throw err;
        problems.push(`${where}: match: ${err.message}`);
      }
    }
    const actions: Action[] = [];
    for (const [i, a] of (Array.isArray(r.spec.actions) ? r.spec.actions : []).entries()) {
      const action = record(a) ?? {};
      const at = `${where}: actions[${i}]`;
      const handlerName =
        typeof action.handler === 'string' ? fullName(action.handler, 'handler', r.namespace) : undefined;
      const handler = handlerName ? handlers.get(handlerName) : undefined;
      if (!handler) {
        problems.push(`${at}: handler ${JSON.stringify(action.handler)} not found or not usable`);
        continue;
      }
      const list: InstanceBuilder[] = [];
      for (const ref of Array.isArray(action.instances) ? action.instances : []) {
        const name = typeof ref === 'string' ? fullName(ref, 'instance', r.namespace) : undefined;
        const inst = name ? instances.get(name) : undefined;
        if (!inst) problems.push(`${at}: instance ${JSON.stringify(ref)} not found or not usable`);
        else if (handler.templates.length > 0 && !handler.templates.includes(inst.template)) {
          problems.push(
            `${at}: instance ${ref as string} has template ${inst.template}, which the handler's adapter does not list in spec.templates`,
          );
        } else list.push(inst);
      }
      actions.push({ handler, instances: list });
    }
    rules.push({ fullName: key(r, 'rule'), match, actions });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { rules, typeOf };
}

/** Loads `paths` (folders or files) and builds the config; throws ConfigError listing every problem. */
export async function loadMixerConfig(paths: readonly string[]): Promise<MixerConfig> {
  let loaded: Awaited<ReturnType<typeof loadResources>>;
  try {
    loaded = await loadResources(paths);
  } catch (err) {
    // Typically a --config path that does not exist.
    throw new Error(`--config ${paths.join(' ')}: ${(err as Error).message}`);
  }
  const problems = loaded.problems.map((p) => `${position(p)}: ${p.message}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return buildConfig(loaded.resources);
}
