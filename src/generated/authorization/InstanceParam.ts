// Original file: proto/mixer/template/authorization/template_handler_service.proto

import type {
  SubjectInstanceParam as _authorization_SubjectInstanceParam,
  SubjectInstanceParam__Output as _authorization_SubjectInstanceParam__Output,
} from '../authorization/SubjectInstanceParam.js';
import type {
  ActionInstanceParam as _authorization_ActionInstanceParam,
  ActionInstanceParam__Output as _authorization_ActionInstanceParam__Output,
} from '../authorization/ActionInstanceParam.js';

export interface InstanceParam {
  subject?: _authorization_SubjectInstanceParam | null;
  action?: _authorization_ActionInstanceParam | null;
}

export interface InstanceParam__Output {
  subject: _authorization_SubjectInstanceParam__Output | null;
  action: _authorization_ActionInstanceParam__Output | null;
}
