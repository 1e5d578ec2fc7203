// Original file: proto/policy/v1beta1/type.proto

import type {
  IPAddress as _istio_policy_v1beta1_IPAddress,
  IPAddress__Output as _istio_policy_v1beta1_IPAddress__Output,
} from '../../../istio/policy/v1beta1/IPAddress.js';
import type {
  TimeStamp as _istio_policy_v1beta1_TimeStamp,
  TimeStamp__Output as _istio_policy_v1beta1_TimeStamp__Output,
} from '../../../istio/policy/v1beta1/TimeStamp.js';
import type {
  Duration as _istio_policy_v1beta1_Duration,
  Duration__Output as _istio_policy_v1beta1_Duration__Output,
} from '../../../istio/policy/v1beta1/Duration.js';
import type {
  EmailAddress as _istio_policy_v1beta1_EmailAddress,
  EmailAddress__Output as _istio_policy_v1beta1_EmailAddress__Output,
} from '../../../istio/policy/v1beta1/EmailAddress.js';
import type {
  DNSName as _istio_policy_v1beta1_DNSName,
  DNSName__Output as _istio_policy_v1beta1_DNSName__Output,
} from '../../../istio/policy/v1beta1/DNSName.js';
import type {
  Uri as _istio_policy_v1beta1_Uri,
  Uri__Output as _istio_policy_v1beta1_Uri__Output,
} from '../../../istio/policy/v1beta1/Uri.js';
import type {
  StringMap as _istio_policy_v1beta1_StringMap,
  StringMap__Output as _istio_policy_v1beta1_StringMap__Output,
} from '../../../istio/policy/v1beta1/StringMap.js';
import type { Long } from '@grpc/proto-loader';

export interface Value {
  string_value?: string;
  int64_value?: number | string | Long;
  double_value?: number | string;
  bool_value?: boolean;
  ip_address_value?: _istio_policy_v1beta1_IPAddress | null;
  timestamp_value?: _istio_policy_v1beta1_TimeStamp | null;
  duration_value?: _istio_policy_v1beta1_Duration | null;
  email_address_value?: _istio_policy_v1beta1_EmailAddress | null;
  dns_name_value?: _istio_policy_v1beta1_DNSName | null;
  uri_value?: _istio_policy_v1beta1_Uri | null;
  string_map_value?: _istio_policy_v1beta1_StringMap | null;
  value?:
    | 'string_value'
    | 'int64_value'
    | 'double_value'
    | 'bool_value'
    | 'ip_address_value'
    | 'timestamp_value'
    | 'duration_value'
    | 'email_address_value'
    | 'dns_name_value'
    | 'uri_value'
    | 'string_map_value';
}

export interface Value__Output {
  string_value?: string;
  int64_value?: string;
  double_value?: number;
  bool_value?: boolean;
  ip_address_value?: _istio_policy_v1beta1_IPAddress__Output | null;
  timestamp_value?: _istio_policy_v1beta1_TimeStamp__Output | null;
  duration_value?: _istio_policy_v1beta1_Duration__Output | null;
  email_address_value?: _istio_policy_v1beta1_EmailAddress__Output | null;
  dns_name_value?: _istio_policy_v1beta1_DNSName__Output | null;
  uri_value?: _istio_policy_v1beta1_Uri__Output | null;
  string_map_value?: _istio_policy_v1beta1_StringMap__Output | null;
  value?:
    | 'string_value'
    | 'int64_value'
    | 'double_value'
    | 'bool_value'
    | 'ip_address_value'
    | 'timestamp_value'
    | 'duration_value'
    | 'email_address_value'
    | 'dns_name_value'
    | 'uri_value'
    | 'string_map_value';
}
