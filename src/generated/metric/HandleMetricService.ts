// Original file: proto/mixer/template/metric/template_handler_service.proto

import type * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import type {
  HandleMetricRequest as _metric_HandleMetricRequest,
  HandleMetricRequest__Output as _metric_HandleMetricRequest__Output,
} from '../metric/HandleMetricRequest.js';
import type {
  ReportResult as _istio_mixer_adapter_model_v1beta1_ReportResult,
  ReportResult__Output as _istio_mixer_adapter_model_v1beta1_ReportResult__Output,
} from '../istio/mixer/adapter/model/v1beta1/ReportResult.js';

export interface HandleMetricServiceClient extends grpc.Client {
  HandleMetric(
    argument: _metric_HandleMetricRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_ReportResult__Output>,
  ): grpc.ClientUnaryCall;
  HandleMetric(
    argument: _metric_HandleMetricRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_ReportResult__Output>,
  ): grpc.ClientUnaryCall;
  HandleMetric(
    argument: _metric_HandleMetricRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_ReportResult__Output>,
  ): grpc.ClientUnaryCall;
  HandleMetric(
    argument: _metric_HandleMetricRequest,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_ReportResult__Output>,
  ): grpc.ClientUnaryCall;
  handleMetric(
    argument: _metric_HandleMetricRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_ReportResult__Output>,
  ): grpc.ClientUnaryCall;
  handleMetric(
    argument: _metric_HandleMetricRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_ReportResult__Output>,
  ): grpc.ClientUnaryCall;
  handleMetric(
    argument: _metric_HandleMetricRequest,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_ReportResult__Output>,
  ): grpc.ClientUnaryCall;
  handleMetric(
    argument: _metric_HandleMetricRequest,
    callback: grpc.requestCallback<_istio_mixer_adapter_model_v1beta1_ReportResult__Output>,
  ): grpc.ClientUnaryCall;
}

export interface HandleMetricServiceHandlers extends grpc.UntypedServiceImplementation {
  HandleMetric: grpc.handleUnaryCall<
    _metric_HandleMetricRequest__Output,
    _istio_mixer_adapter_model_v1beta1_ReportResult
  >;
}

export interface HandleMetricServiceDefinition extends grpc.ServiceDefinition {
  HandleMetric: MethodDefinition<
    _metric_HandleMetricRequest,
    _istio_mixer_adapter_model_v1beta1_ReportResult,
    _metric_HandleMetricRequest__Output,
    _istio_mixer_adapter_model_v1beta1_ReportResult__Output
  >;
}
