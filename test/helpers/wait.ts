// Small waits shared by tests that talk to a real server or process.
import type { ServiceError } from '@grpc/grpc-js';

/** The error a call failed with; fails the test when the call succeeds. */
export async function rpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** Polls `predicate` every 20 ms until it holds; throws after `ms`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
