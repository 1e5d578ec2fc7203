// Original file: proto/mixer/template/metric/template_handler_service.proto

export interface InstanceParam {
  value?: string;
  dimensions?: { [key: string]: string };
  monitored_resource_type?: string;
  monitored_resource_dimensions?: { [key: string]: string };
}

export interface InstanceParam__Output {
  value: string;
  dimensions: { [key: string]: string };
  monitored_resource_type: string;
  monitored_resource_dimensions: { [key: string]: string };
}
