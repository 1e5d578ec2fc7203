// Which front-end a call came through: a label on the decision and instance
// metrics. A leaf, so the metric events can name it without importing the
// core's context (which imports them).
export const FRONT_ENDS = ['mixer', 'envoy'] as const;
export type FrontEnd = (typeof FRONT_ENDS)[number];
