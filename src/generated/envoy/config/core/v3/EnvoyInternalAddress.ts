// Original file: proto/envoy/config/core/v3/address.proto

export interface EnvoyInternalAddress {
  server_listener_name?: string;
}

export interface EnvoyInternalAddress__Output {
  server_listener_name: string;
}
