// A direct wire decoder for HandleAuthorizationRequest (one check per call),
// the same way as metric-request.ts: one pass into proto-loader's objects,
// proto-loader's deserializer as the fallback (see wire-reader.ts).
import type { ActionMsg__Output } from '../../generated/authorization/ActionMsg.js';
import type { HandleAuthorizationRequest__Output } from '../../generated/authorization/HandleAuthorizationRequest.js';
import type { InstanceMsg__Output } from '../../generated/authorization/InstanceMsg.js';
import type { SubjectMsg__Output } from '../../generated/authorization/SubjectMsg.js';
import {
  expectWire,
  FALL_BACK,
  INSTANCE_NAME_FIELD,
  LEN,
  Reader,
  readAny,
  emptyValue,
  readMapEntry,
  readValue,
  withFallback,
} from '../../wire/wire-reader.js';

function readSubject(r: Reader): SubjectMsg__Output {
  const end = r.sub();
  const subject: SubjectMsg__Output = { user: '', groups: '', properties: {} };
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    expectWire(r.wire, LEN);
    if (field === 1) subject.user = r.string();
    else if (field === 2) subject.groups = r.string();
    else if (field === 3) readMapEntry(r, subject.properties, readValue, emptyValue);
    else throw FALL_BACK;
  }
  if (r.pos !== end) throw FALL_BACK;
  return subject;
}

function readAction(r: Reader): ActionMsg__Output {
  const end = r.sub();
  const action: ActionMsg__Output = { namespace: '', service: '', method: '', path: '', properties: {} };
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    expectWire(r.wire, LEN);
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

function readInstance(r: Reader): InstanceMsg__Output {
  const end = r.sub();
  const instance: InstanceMsg__Output = { name: '', subject: null, action: null };
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    expectWire(r.wire, LEN);
    if (field === INSTANCE_NAME_FIELD) instance.name = r.string();
    else if (field === 1) instance.subject = readSubject(r);
    else if (field === 2) instance.action = readAction(r);
    else throw FALL_BACK;
  }
  if (r.pos !== end) throw FALL_BACK;
  return instance;
}

function decode(buf: Buffer): HandleAuthorizationRequest__Output {
  const r = new Reader(buf, 0, buf.length);
  const req: HandleAuthorizationRequest__Output = { instance: null, adapter_config: null, dedup_id: '' };
  while (r.pos < r.end) {
    r.tag();
    const field = r.field;
    expectWire(r.wire, LEN);
    if (field === 1) req.instance = readInstance(r);
    else if (field === 2) req.adapter_config = readAny(r);
    else if (field === 3) req.dedup_id = r.string();
    else throw FALL_BACK;
  }
  return req;
}

/** The fast decoder, falling back to `slow` (proto-loader's) for anything it does not take. */
export function authorizationRequestDeserializer(
  slow: (buf: Buffer) => HandleAuthorizationRequest__Output,
): (buf: Buffer) => HandleAuthorizationRequest__Output {
  return withFallback(decode, slow);
}
