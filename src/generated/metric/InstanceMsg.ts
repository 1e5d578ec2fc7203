// Original file: proto/mixer/template/metric/template_handler_service.proto

import type {
  Value as _istio_policy_v1beta1_Value,
  Value__Output as _istio_policy_v1beta1_Value__Output,
} from '../istio/policy/v1beta1/Value.js';

export interface InstanceMsg {
  value?: _istio_policy_v1beta1_Value | null;
  dimensions?: { [key: string]: _istio_policy_v1beta1_Value };
  monitored_resource_type?: string;
  monitored_resource_dimensions?: { [key: string]: _istio_policy_v1beta1_Value };
  name?: string;
}

export interface InstanceMsg__Output {
  value: _istio_policy_v1beta1_Value__Output | null;
  dimensions: { [key: string]: _istio_policy_v1beta1_Value__Output };
  monitored_resource_type: string;
  monitored_resource_dimensions: { [key: string]: _istio_policy_v1beta1_Value__Output };
  name: string;
}
