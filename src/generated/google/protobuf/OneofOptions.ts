// Original file: null

import type {
  FeatureSet as _google_protobuf_FeatureSet,
  FeatureSet__Output as _google_protobuf_FeatureSet__Output,
} from '../../google/protobuf/FeatureSet.js';
import type {
  UninterpretedOption as _google_protobuf_UninterpretedOption,
  UninterpretedOption__Output as _google_protobuf_UninterpretedOption__Output,
} from '../../google/protobuf/UninterpretedOption.js';

export interface OneofOptions {
  features?: _google_protobuf_FeatureSet | null;
  uninterpretedOption?: _google_protobuf_UninterpretedOption[];
}

export interface OneofOptions__Output {
  features: _google_protobuf_FeatureSet__Output | null;
  uninterpretedOption: _google_protobuf_UninterpretedOption__Output[];
}
