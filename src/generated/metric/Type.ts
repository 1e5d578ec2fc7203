// Original file: proto/mixer/template/metric/template_handler_service.proto

import type {
  ValueType as _istio_policy_v1beta1_ValueType,
  ValueType__Output as _istio_policy_v1beta1_ValueType__Output,
} from '../istio/policy/v1beta1/ValueType.js';

export interface Type {
  value?: _istio_policy_v1beta1_ValueType;
  dimensions?: { [key: string]: _istio_policy_v1beta1_ValueType };
  monitored_resource_dimensions?: { [key: string]: _istio_policy_v1beta1_ValueType };
}

export interface Type__Output {
  value: _istio_policy_v1beta1_ValueType__Output;
  dimensions: { [key: string]: _istio_policy_v1beta1_ValueType__Output };
  monitored_resource_dimensions: { [key: string]: _istio_policy_v1beta1_ValueType__Output };
}
