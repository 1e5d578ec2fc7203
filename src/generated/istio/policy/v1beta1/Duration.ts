// Original file: proto/policy/v1beta1/type.proto

import type {
  Duration as _google_protobuf_Duration,
  Duration__Output as _google_protobuf_Duration__Output,
} from '../../../google/protobuf/Duration.js';

export interface Duration {
  value?: _google_protobuf_Duration | null;
}

export interface Duration__Output {
  value: _google_protobuf_Duration__Output | null;
}
