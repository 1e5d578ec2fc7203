// Original file: proto/policy/v1beta1/type.proto

export interface StringMap {
  value?: { [key: string]: string };
}

export interface StringMap__Output {
  value: { [key: string]: string };
}
