// Original file: proto/mixer/template/metric/template_handler_service.proto

import type {
  InstanceMsg as _metric_InstanceMsg,
  InstanceMsg__Output as _metric_InstanceMsg__Output,
} from '../metric/InstanceMsg.js';
import type {
  Any as _google_protobuf_Any,
  Any__Output as _google_protobuf_Any__Output,
} from '../google/protobuf/Any.js';

export interface HandleMetricRequest {
  instances?: _metric_InstanceMsg[];
  adapter_config?: _google_protobuf_Any | null;
  dedup_id?: string;
}

export interface HandleMetricRequest__Output {
  instances: _metric_InstanceMsg__Output[];
  adapter_config: _google_protobuf_Any__Output | null;
  dedup_id: string;
}
