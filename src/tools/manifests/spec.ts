// What `manifests` generates: this adapter's `kind: adapter` resource and
// one `kind: template` resource per template it serves. The proto paths are
// relative to proto/ (they are also the file names inside the descriptor sets).

export const API_VERSION = 'config.istio.io/v1alpha2';
export const NAMESPACE = 'istio-system';

export const ADAPTER = {
  name: 'mygrpcadapter',
  description: 'Appends metric instances to a file or stdout and checks authorization instances against a shared key',
  configProto: 'mixer/adapter/mygrpcadapter/config/config.proto',
  /** In this order in spec.templates; each name is also a template resource. */
  templates: ['metric', 'authorization'],
} as const;

export function templateProto(template: string): string {
  return `mixer/template/${template}/template_handler_service.proto`;
}

/** Mixer's TemplateVariety numbers, for messages. */
export const VARIETY_NAMES: Readonly<Record<number, string>> = {
  0: 'TEMPLATE_VARIETY_CHECK',
  1: 'TEMPLATE_VARIETY_REPORT',
  2: 'TEMPLATE_VARIETY_QUOTA',
  3: 'TEMPLATE_VARIETY_ATTRIBUTE_GENERATOR',
  4: 'TEMPLATE_VARIETY_CHECK_WITH_OUTPUT',
};
