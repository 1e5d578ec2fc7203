// Which front-end a call came through: a label on the decision and instance metrics.
export const FRONT_ENDS = ['mixer', 'envoy'] as const;
export type FrontEnd = (typeof FRONT_ENDS)[number];
