// A direct wire decoder for HandleAuthorizationRequest (one check per call),
// the same way as metric-request.ts: one pass into proto-loader's objects,
// the reference deserializer as the fallback (see src/wire/fast-decode.ts).
import type { ActionMsg__Output } from '../../generated/authorization/ActionMsg.js';
import type { HandleAuthorizationRequest__Output } from '../../generated/authorization/HandleAuthorizationRequest.js';
import type { InstanceMsg__Output } from '../../generated/authorization/InstanceMsg.js';
import type { SubjectMsg__Output } from '../../generated/authorization/SubjectMsg.js';
import {
  emptyValue,
  expectWire,
  FALL_BACK,
  readAny,
  readMapEntry,
  readValue,
  releaseReader,
  requestReader,
} from '../../wire/fast-decode.js';
import { INSTANCE_NAME_FIELD } from '../../wire/template-fields.js';
import { WIRE_LEN, type WireReader } from '../../wire/wire-reader.js';

function readSubject(r: WireReader): SubjectMsg__Output {
  const end = r.span();
  const subject: SubjectMsg__Output = { user: '', groups: '', properties: {} };
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    expectWire(r.wire, WIRE_LEN);
    if (field === 1) subject.user = r.string();
    else if (field === 2) subject.groups = r.string();
    else if (field === 3) readMapEntry(r, subject.properties, readValue, emptyValue);
    else throw FALL_BACK;
  }
  if (r.pos !== end) throw FALL_BACK;
  return subject;
}

function readAction(r: WireReader): ActionMsg__Output {
  const end = r.span();
  const action: ActionMsg__Output = { namespace: '', service: '', method: '', path: '', properties: {} };
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    expectWire(r.wire, WIRE_LEN);
    if (field === 1) action.namespace = r.string();
    else if (field === 2) action.service = r.string();
    else if (field === 3) action.method = r.string();
    else if (field === 4) action.path = r.string();
    else if (field === 5) readMapEntry(r, action.properties, readValue, emptyValue);
    else throw FALL_BACK;
  }
  if (r.pos !== end) throw FALL_BACK;
  return action;
}

function readInstance(r: WireReader): InstanceMsg__Output {
  const end = r.span();
  const instance: InstanceMsg__Output = { name: '', subject: null, action: null };
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    expectWire(r.wire, WIRE_LEN);
    if (field === INSTANCE_NAME_FIELD) instance.name = r.string();
    else if (field === 1) instance.subject = readSubject(r);
    else if (field === 2) instance.action = readAction(r);
    else throw FALL_BACK;
  }
  if (r.pos !== end) throw FALL_BACK;
  return instance;
}

/**
 * The fast decoder alone: throws FALL_BACK or MALFORMED for shapes it leaves
 * to the reference decoder, INVALID_UTF8 for a bad string.
 */
export function decodeAuthorizationFast(buf: Buffer): HandleAuthorizationRequest__Output {
  const r = requestReader(buf);
  try {
    const req: HandleAuthorizationRequest__Output = { instance: null, adapter_config: null, dedup_id: '' };
    while (r.pos < r.limit) {
      r.tag();
      const field = r.field;
      expectWire(r.wire, WIRE_LEN);
      if (field === 1) req.instance = readInstance(r);
      else if (field === 2) req.adapter_config = readAny(r);
      else if (field === 3) req.dedup_id = r.string();
      else throw FALL_BACK;
    }
    return req;
  } finally {
    releaseReader(r);
  }
}
