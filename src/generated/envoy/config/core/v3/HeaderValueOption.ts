// Original file: proto/envoy/config/core/v3/base.proto

import type {
  HeaderValue as _envoy_config_core_v3_HeaderValue,
  HeaderValue__Output as _envoy_config_core_v3_HeaderValue__Output,
} from '../../../../envoy/config/core/v3/HeaderValue.js';
import type {
  BoolValue as _google_protobuf_BoolValue,
  BoolValue__Output as _google_protobuf_BoolValue__Output,
} from '../../../../google/protobuf/BoolValue.js';

export interface HeaderValueOption {
  header?: _envoy_config_core_v3_HeaderValue | null;
  append?: _google_protobuf_BoolValue | null;
}

export interface HeaderValueOption__Output {
  header: _envoy_config_core_v3_HeaderValue__Output | null;
  append: _google_protobuf_BoolValue__Output | null;
}
