// Original file: proto/mixer/adapter/model/v1beta1/report.proto

export interface ReportResult {}

export interface ReportResult__Output {}
