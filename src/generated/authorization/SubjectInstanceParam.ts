// Original file: proto/mixer/template/authorization/template_handler_service.proto

export interface SubjectInstanceParam {
  user?: string;
  groups?: string;
  properties?: { [key: string]: string };
}

export interface SubjectInstanceParam__Output {
  user: string;
  groups: string;
  properties: { [key: string]: string };
}
