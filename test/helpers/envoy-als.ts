// Whether an adapter serves Envoy's access-log service: a stream of no
// messages answers UNIMPLEMENTED when it does not. Tests of the access-log
// path ask here and skip (with one line, or fail under REQUIRE_ALL_PEERS=1)
// against a build without that front-end.
import { status } from '@grpc/grpc-js';
import { ClientPool } from '../../src/tools/mixer/client.js';
import { logsPath } from '../../src/tools/mixer/envoy-dispatch.js';

/** One line naming what is missing, or undefined when the adapter at `address` serves StreamAccessLogs. */
export async function alsLacking(address: string): Promise<string | undefined> {
  const pool = new ClientPool();
  try {
    const r = await pool.stream(address, logsPath('v3'), [], 5000);
    if (r.code !== (status.UNIMPLEMENTED as number)) return undefined;
    return `needs the adapter's access-log front-end (this build answers ${logsPath('v3')} with UNIMPLEMENTED)`;
  } finally {
    pool.close();
  }
}
