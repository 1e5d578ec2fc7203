// Original file: proto/mixer/template/authorization/template_handler_service.proto

import type {
  InstanceMsg as _authorization_InstanceMsg,
  InstanceMsg__Output as _authorization_InstanceMsg__Output,
} from '../authorization/InstanceMsg.js';
import type {
  Any as _google_protobuf_Any,
  Any__Output as _google_protobuf_Any__Output,
} from '../google/protobuf/Any.js';

export interface HandleAuthorizationRequest {
  instance?: _authorization_InstanceMsg | null;
  adapter_config?: _google_protobuf_Any | null;
  dedup_id?: string;
}

export interface HandleAuthorizationRequest__Output {
  instance: _authorization_InstanceMsg__Output | null;
  adapter_config: _google_protobuf_Any__Output | null;
  dedup_id: string;
}
