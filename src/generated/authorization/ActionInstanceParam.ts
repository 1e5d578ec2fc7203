// Original file: proto/mixer/template/authorization/template_handler_service.proto

export interface ActionInstanceParam {
  namespace?: string;
  service?: string;
  method?: string;
  path?: string;
  properties?: { [key: string]: string };
}

export interface ActionInstanceParam__Output {
  namespace: string;
  service: string;
  method: string;
  path: string;
  properties: { [key: string]: string };
}
