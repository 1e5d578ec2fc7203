// Original file: proto/mixer/template/authorization/template_handler_service.proto

import type {
  SubjectType as _authorization_SubjectType,
  SubjectType__Output as _authorization_SubjectType__Output,
} from '../authorization/SubjectType.js';
import type {
  ActionType as _authorization_ActionType,
  ActionType__Output as _authorization_ActionType__Output,
} from '../authorization/ActionType.js';

export interface Type {
  subject?: _authorization_SubjectType | null;
  action?: _authorization_ActionType | null;
}

export interface Type__Output {
  subject: _authorization_SubjectType__Output | null;
  action: _authorization_ActionType__Output | null;
}
