// Original file: proto/mixer/adapter/model/v1beta1/check.proto

import type {
  Status as _google_rpc_Status,
  Status__Output as _google_rpc_Status__Output,
} from '../../../../../google/rpc/Status.js';
import type {
  Duration as _google_protobuf_Duration,
  Duration__Output as _google_protobuf_Duration__Output,
} from '../../../../../google/protobuf/Duration.js';

export interface CheckResult {
  status?: _google_rpc_Status | null;
  valid_duration?: _google_protobuf_Duration | null;
  valid_use_count?: number;
}

export interface CheckResult__Output {
  status: _google_rpc_Status__Output | null;
  valid_duration: _google_protobuf_Duration__Output | null;
  valid_use_count: number;
}
