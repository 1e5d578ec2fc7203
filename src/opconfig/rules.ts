// Which rules an attribute bag selects, and the instances they build, as
// Mixer's dispatcher does: shared by the stand-in (which sends them to an
// adapter) and the Envoy front-ends (which hand them to the core in-process).
import { randomBytes } from 'node:crypto';
import type { Bag } from './attributes.js';
import type { Action, HandlerConfig, MixerConfig } from './config.js';
import { evaluate, EvalError } from './expr/index.js';
import type { InstanceBuilder } from './instances.js';
import { WireWriter } from './wire-writer.js';

/** The actions whose rule matches `bag`; match errors go to `errors`. */
export function matchingActions(config: MixerConfig, bag: Bag, errors: string[]): Action[] {
  const out: Action[] = [];
  for (const rule of config.rules) {
    if (rule.match) {
      try {
        if (evaluate(rule.match, bag, config.typeOf).value !== true) continue;
      } catch (err) {
        if (!(err instanceof EvalError)) throw err;
        errors.push(`rule ${rule.fullName}: match ${JSON.stringify(rule.match.text)}: ${err.message}`);
        continue;
      }
    }
    out.push(...rule.actions);
  }
  return out;
}

/** A built instance: its name and InstanceMsg bytes. */
export interface BuiltInstance {
  name: string;
  bytes: Buffer;
}

/**
 * Handle<Template>Request bytes in Mixer's order: the instance(s) (field 1),
 * adapter_config (2, absent when the adapter has none), dedup_id (3).
 */
export function encodeHandleRequest(
  instances: readonly Buffer[],
  adapterConfig: HandlerConfig['adapterConfig'],
  dedupId: string,
): Buffer {
  const w = new WireWriter();
  for (const i of instances) w.bytesField(1, i);
  if (adapterConfig) {
    const any = new WireWriter();
    if (adapterConfig.type_url !== '') any.stringField(1, adapterConfig.type_url);
    if (adapterConfig.value.length > 0) any.bytesField(2, adapterConfig.value);
    w.bytesField(2, any.finish());
  }
  return w.stringField(3, dedupId).finish();
}

export function tryBuild(inst: InstanceBuilder, bag: Bag, errors: string[]): BuiltInstance | undefined {
  try {
    return { name: inst.fullName, bytes: inst.build(bag) };
  } catch (err) {
    if (!(err instanceof EvalError)) throw err;
    errors.push(err.message);
    return undefined;
  }
}

/**
 * Mixer's dedup ids: one unsigned 64-bit counter per handler, starting at a
 * random value, as decimal text (contract §5.2).
 */
export function dedupCounters(): (handler: string) => string {
  const next = new Map<string, bigint>();
  return (handler) => {
    const n = next.get(handler) ?? randomBytes(8).readBigUInt64BE();
    next.set(handler, BigInt.asUintN(64, n + 1n));
    return n.toString();
  };
}
