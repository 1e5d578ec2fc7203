// Original file: proto/policy/v1beta1/type.proto

export interface EmailAddress {
  value?: string;
}

export interface EmailAddress__Output {
  value: string;
}
