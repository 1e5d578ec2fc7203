// Original file: proto/mixer/template/authorization/template_handler_service.proto

import type {
  Value as _istio_policy_v1beta1_Value,
  Value__Output as _istio_policy_v1beta1_Value__Output,
} from '../istio/policy/v1beta1/Value.js';

export interface SubjectMsg {
  user?: string;
  groups?: string;
  properties?: { [key: string]: _istio_policy_v1beta1_Value };
}

export interface SubjectMsg__Output {
  user: string;
  groups: string;
  properties: { [key: string]: _istio_policy_v1beta1_Value__Output };
}
