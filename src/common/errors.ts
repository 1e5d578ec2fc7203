/** Input that Mixer (or whoever called) sent and the adapter cannot accept; answered with INVALID_ARGUMENT. */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
}
