// Original file: proto/policy/v1beta1/type.proto

import type {
  Timestamp as _google_protobuf_Timestamp,
  Timestamp__Output as _google_protobuf_Timestamp__Output,
} from '../../../google/protobuf/Timestamp.js';

export interface TimeStamp {
  value?: _google_protobuf_Timestamp | null;
}

export interface TimeStamp__Output {
  value: _google_protobuf_Timestamp__Output | null;
}
