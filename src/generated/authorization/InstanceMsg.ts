// Original file: proto/mixer/template/authorization/template_handler_service.proto

import type {
  SubjectMsg as _authorization_SubjectMsg,
  SubjectMsg__Output as _authorization_SubjectMsg__Output,
} from '../authorization/SubjectMsg.js';
import type {
  ActionMsg as _authorization_ActionMsg,
  ActionMsg__Output as _authorization_ActionMsg__Output,
} from '../authorization/ActionMsg.js';

export interface InstanceMsg {
  subject?: _authorization_SubjectMsg | null;
  action?: _authorization_ActionMsg | null;
  name?: string;
}

export interface InstanceMsg__Output {
  subject: _authorization_SubjectMsg__Output | null;
  action: _authorization_ActionMsg__Output | null;
  name: string;
}
