// Original file: proto/policy/v1beta1/type.proto

export interface Uri {
  value?: string;
}

export interface Uri__Output {
  value: string;
}
