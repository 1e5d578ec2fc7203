// Original file: proto/policy/v1beta1/type.proto

export interface DNSName {
  value?: string;
}

export interface DNSName__Output {
  value: string;
}
