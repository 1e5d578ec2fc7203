// Original file: proto/policy/v1beta1/type.proto

export interface IPAddress {
  value?: Buffer | Uint8Array | string;
}

export interface IPAddress__Output {
  value: Buffer;
}
