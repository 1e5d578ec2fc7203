// Original file: proto/mixer/adapter/mygrpcadapter/config/config.proto

export interface _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition {
  linear_buckets?: _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Linear | null;
  exponential_buckets?: _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Exponential | null;
  explicit_buckets?: _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Explicit | null;
  definition?: 'linear_buckets' | 'exponential_buckets' | 'explicit_buckets';
}

export interface _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition__Output {
  linear_buckets?: _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Linear__Output | null;
  exponential_buckets?: _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Exponential__Output | null;
  explicit_buckets?: _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Explicit__Output | null;
  definition?: 'linear_buckets' | 'exponential_buckets' | 'explicit_buckets';
}

export interface _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Explicit {
  bounds?: (number | string)[];
}

export interface _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Explicit__Output {
  bounds: number[];
}

export interface _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Exponential {
  num_finite_buckets?: number;
  growth_factor?: number | string;
  scale?: number | string;
}

export interface _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Exponential__Output {
  num_finite_buckets: number;
  growth_factor: number;
  scale: number;
}

// Original file: proto/mixer/adapter/mygrpcadapter/config/config.proto

export const _adapter_mygrpcadapter_config_Params_MetricInfo_Kind = {
  UNSPECIFIED: 'UNSPECIFIED',
  GAUGE: 'GAUGE',
  COUNTER: 'COUNTER',
  DISTRIBUTION: 'DISTRIBUTION',
} as const;

export type _adapter_mygrpcadapter_config_Params_MetricInfo_Kind =
  'UNSPECIFIED' | 0 | 'GAUGE' | 1 | 'COUNTER' | 2 | 'DISTRIBUTION' | 3;

export type _adapter_mygrpcadapter_config_Params_MetricInfo_Kind__Output =
  (typeof _adapter_mygrpcadapter_config_Params_MetricInfo_Kind)[keyof typeof _adapter_mygrpcadapter_config_Params_MetricInfo_Kind];

export interface _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Linear {
  num_finite_buckets?: number;
  width?: number | string;
  offset?: number | string;
}

export interface _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition_Linear__Output {
  num_finite_buckets: number;
  width: number;
  offset: number;
}

export interface _adapter_mygrpcadapter_config_Params_MetricInfo {
  namespace?: string;
  name?: string;
  instance_name?: string;
  description?: string;
  kind?: _adapter_mygrpcadapter_config_Params_MetricInfo_Kind;
  buckets?: _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition | null;
  label_names?: string[];
}

export interface _adapter_mygrpcadapter_config_Params_MetricInfo__Output {
  namespace: string;
  name: string;
  instance_name: string;
  description: string;
  kind: _adapter_mygrpcadapter_config_Params_MetricInfo_Kind__Output;
  buckets: _adapter_mygrpcadapter_config_Params_MetricInfo_BucketsDefinition__Output | null;
  label_names: string[];
}

export interface _adapter_mygrpcadapter_config_Params_MetricsExpirationPolicy {
  metrics_expiry_duration?: string;
  expiry_check_interval_duration?: string;
}

export interface _adapter_mygrpcadapter_config_Params_MetricsExpirationPolicy__Output {
  metrics_expiry_duration: string;
  expiry_check_interval_duration: string;
}

export interface Params {
  file_path?: string;
  auth_key?: string;
  format?: string;
  valid_duration?: string;
  valid_use_count?: number;
  sink?: string;
  deny_valid_duration?: string;
  deny_valid_use_count?: number;
  metrics?: _adapter_mygrpcadapter_config_Params_MetricInfo[];
  metrics_expiration_policy?: _adapter_mygrpcadapter_config_Params_MetricsExpirationPolicy | null;
  max_series_per_metric?: number;
  key_set?: string;
  mode?: string;
  auth_realm?: string;
  auth_scheme?: string;
  deny_body?: string;
  deny_headers?: { [key: string]: string };
  key_id_header?: string;
}

export interface Params__Output {
  file_path: string;
  auth_key: string;
  format: string;
  valid_duration: string;
  valid_use_count: number;
  sink: string;
  deny_valid_duration: string;
  deny_valid_use_count: number;
  metrics: _adapter_mygrpcadapter_config_Params_MetricInfo__Output[];
  metrics_expiration_policy: _adapter_mygrpcadapter_config_Params_MetricsExpirationPolicy__Output | null;
  max_series_per_metric: number;
  key_set: string;
  mode: string;
  auth_realm: string;
  auth_scheme: string;
  deny_body: string;
  deny_headers: { [key: string]: string };
  key_id_header: string;
}
