// Original file: proto/mixer/template/authorization/template_handler_service.proto

import type * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import type {
  CheckResult as _istio_mixer_adapter_model_v1beta1_CheckResult,
  CheckResult__Output as _istio_mixer_adapter_model_v1beta1_CheckResult__Output,
} from '../istio/mixer/adapter/model/v1beta1/CheckResult.js';
import type {
  HandleAuthorizationRequest as _authorization_HandleAuthorizationRequest,
  HandleAuthorizationRequest__Output as _authorization_HandleAuthorizationRequest__Output,
} from '../authorization/HandleAuthorizationRequest.js';

export interface HandleAuthorizationServiceClient extends grpc.Client {
  HandleAuthorization(
    argument: _authorization_HandleAuthorizationRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_CheckResult__Output>,
  ): grpc.ClientUnaryCall;
  HandleAuthorization(
    argument: _authorization_HandleAuthorizationRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_CheckResult__Output>,
  ): grpc.ClientUnaryCall;
  HandleAuthorization(
    argument: _authorization_HandleAuthorizationRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_CheckResult__Output>,
  ): grpc.ClientUnaryCall;
  HandleAuthorization(
    argument: _authorization_HandleAuthorizationRequest,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_CheckResult__Output>,
  ): grpc.ClientUnaryCall;
  handleAuthorization(
    argument: _authorization_HandleAuthorizationRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_CheckResult__Output>,
  ): grpc.ClientUnaryCall;
  handleAuthorization(
    argument: _authorization_HandleAuthorizationRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_CheckResult__Output>,
  ): grpc.ClientUnaryCall;
  handleAuthorization(
    argument: _authorization_HandleAuthorizationRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_CheckResult__Output>,
  ): grpc.ClientUnaryCall;
  handleAuthorization(
    argument: _authorization_HandleAuthorizationRequest,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_CheckResult__Output>,
  ): grpc.ClientUnaryCall;
}

export interface HandleAuthorizationServiceHandlers extends grpc.UntypedServiceImplementation {
  HandleAuthorization: grpc.handleUnaryCall<
    _authorization_HandleAuthorizationRequest__Output,
    _istio_mixer_adapter_model_v1beta1_CheckResult
  >;
}

export interface HandleAuthorizationServiceDefinition extends grpc.ServiceDefinition {
  HandleAuthorization: MethodDefinition<
    _authorization_HandleAuthorizationRequest,
    _istio_mixer_adapter_model_v1beta1_CheckResult,
    _authorization_HandleAuthorizationRequest__Output,
    _istio_mixer_adapter_model_v1beta1_CheckResult__Output
  >;
}
