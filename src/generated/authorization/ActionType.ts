// Original file: proto/mixer/template/authorization/template_handler_service.proto

import type {
  ValueType as _istio_policy_v1beta1_ValueType,
  ValueType__Output as _istio_policy_v1beta1_ValueType__Output,
} from '../istio/policy/v1beta1/ValueType.js';

export interface ActionType {
  properties?: { [key: string]: _istio_policy_v1beta1_ValueType };
}

export interface ActionType__Output {
  properties: { [key: string]: _istio_policy_v1beta1_ValueType__Output };
}
