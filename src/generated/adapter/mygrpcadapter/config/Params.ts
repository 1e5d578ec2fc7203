// Original file: proto/mixer/adapter/mygrpcadapter/config/config.proto

export interface Params {
  file_path?: string;
  auth_key?: string;
  format?: string;
  valid_duration?: string;
  valid_use_count?: number;
  sink?: string;
  deny_valid_duration?: string;
  deny_valid_use_count?: number;
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
}
