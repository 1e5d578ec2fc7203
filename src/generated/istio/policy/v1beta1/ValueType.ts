// Original file: proto/policy/v1beta1/value_type.proto

export const ValueType = {
  VALUE_TYPE_UNSPECIFIED: 'VALUE_TYPE_UNSPECIFIED',
  STRING: 'STRING',
  INT64: 'INT64',
  DOUBLE: 'DOUBLE',
  BOOL: 'BOOL',
  TIMESTAMP: 'TIMESTAMP',
  IP_ADDRESS: 'IP_ADDRESS',
  EMAIL_ADDRESS: 'EMAIL_ADDRESS',
  URI: 'URI',
  DNS_NAME: 'DNS_NAME',
  DURATION: 'DURATION',
  STRING_MAP: 'STRING_MAP',
} as const;

export type ValueType =
  | 'VALUE_TYPE_UNSPECIFIED'
  | 0
  | 'STRING'
  | 1
  | 'INT64'
  | 2
  | 'DOUBLE'
  | 3
  | 'BOOL'
  | 4
  | 'TIMESTAMP'
  | 5
  | 'IP_ADDRESS'
  | 6
  | 'EMAIL_ADDRESS'
  | 7
  | 'URI'
  | 8
  | 'DNS_NAME'
  | 9
  | 'DURATION'
  | 10
  | 'STRING_MAP'
  | 11;

export type ValueType__Output = (typeof ValueType)[keyof typeof ValueType];
