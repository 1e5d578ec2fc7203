// The checks Mixer and the adapter make when config is used, run with the
// same code: instance expressions through the stand-in's compiler and type
// checker (src/mixer/), handler params through the stand-in's Mixer encoder
// and then the adapter's own Params validation (src/decode/params.ts).
import type protobuf from 'protobufjs';
import { decodeParams, type HandlerConfig } from '../../core/params/params.js';
import { InvalidInputError } from '../../common/errors.js';
import type { TypeOf } from '../expr/index.js';
import { instanceProblems, isTemplate } from '../instances.js';
import { encodeParams, ParamsError } from '../params-encoding.js';
import { paramsTypeUrl } from '../descriptor.js';
import { PARAMS_TYPE_URL } from '../../wire/load.js';
import type { Severity } from './findings.js';

export type Report = (severity: Severity, field: string, message: string) => void;

/**
 * Type-checks every field of an instance of `template` (the template's wire
 * package) against the attribute manifest. Mixer rejects the instance for
 * each error; expressions Mixer accepts but the stand-in cannot evaluate are
 * warnings.
 */
export function checkInstanceExpressions(template: string, params: unknown, typeOf: TypeOf, report: Report): void {
  if (!isTemplate(template)) return; // only the templates the stand-in knows the fields of
  for (const p of instanceProblems(template, params, typeOf)) {
    // Messages start with the field path: `params.dimensions.x: ...`.
    const colon = p.message.indexOf(': ');
    const field = `spec.${p.message.slice(0, colon)}`;
    const detail = p.message.slice(colon + 2);
    if (p.unsupported) report('warning', field, `${detail}; Mixer accepts this, the stand-in cannot evaluate it`);
    else report('error', field, `${detail}; Mixer rejects the instance and its rules lose it`);
  }
}

/**
 * Encodes a handler's params as Mixer does (§3.2: a refused value drops the
 * whole handler) and, for this adapter's Params, validates the result with
 * the adapter's own decoder (a refused config fails every call). Returns the
 * config the adapter would act on, when it accepts it.
 */
export function checkHandlerParams(
  paramsType: protobuf.Type,
  params: unknown,
  sinkTypes: readonly string[],
  report: Report,
): HandlerConfig | undefined {
  let value: Buffer;
  try {
    value = encodeParams(paramsType, params, 'spec.params');
  } catch (err) {
    if (!(err instanceof ParamsError)) throw err;
    const colon = err.message.indexOf(': ');
    report(
      'error',
      err.message.slice(0, colon),
      `${err.message.slice(colon + 2)}; Mixer drops the whole handler, so rules using it lose their actions`,
    );
    return undefined;
  }
  const typeUrl = paramsTypeUrl(paramsType);
  if (typeUrl !== PARAMS_TYPE_URL) return undefined; // another adapter's Params: not ours to validate
  try {
    // Without the adapter's serve-flag hint for unknown sinks: lint adds its own (lint --sink NAME).
    return decodeParams({ type_url: typeUrl, value }, sinkTypes, { sinkFlags: false });
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    // "adapter_config: invalid Params: format: ...; valid_duration: ..." -> one finding per field.
    const prefix = 'adapter_config: invalid Params: ';
    const parts = err.message.startsWith(prefix) ? err.message.slice(prefix.length).split('; ') : [err.message];
    for (const part of parts) {
      const m = /^([a-z_]+): (.*)$/.exec(part);
      const field = m ? `spec.params.${m[1]}` : 'spec.params';
      // Plug-in sink names exist only on the adapter's command line: say how to tell the linter.
      const hint = m?.[1] === 'sink' ? ' (a --sink-module plug-in? name it with lint --sink NAME)' : '';
      report('error', field, `${m ? m[2] : part}; the adapter answers INVALID_ARGUMENT to every call${hint}`);
    }
    return undefined;
  }
}
