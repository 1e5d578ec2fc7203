// Field numbers Mixer's generated templates share, read by the fast decoders
// and the cost walk alike.

/** The number of the `name` field of every template's InstanceMsg. */
export const INSTANCE_NAME_FIELD = 72295727;
