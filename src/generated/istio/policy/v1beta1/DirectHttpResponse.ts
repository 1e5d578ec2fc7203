// Original file: proto/policy/v1beta1/http_response.proto

import type {
  HttpStatusCode as _istio_policy_v1beta1_HttpStatusCode,
  HttpStatusCode__Output as _istio_policy_v1beta1_HttpStatusCode__Output,
} from '../../../istio/policy/v1beta1/HttpStatusCode.js';

export interface DirectHttpResponse {
  code?: _istio_policy_v1beta1_HttpStatusCode;
  body?: string;
  headers?: { [key: string]: string };
}

export interface DirectHttpResponse__Output {
  code: _istio_policy_v1beta1_HttpStatusCode__Output;
  body: string;
  headers: { [key: string]: string };
}
