// A sink plug-in for mygrpcadapter: POSTs each batch of records as JSON lines
// (one record object per line) to an HTTP endpoint. Load it with
//   mygrpcadapter --sink-module http=examples/http-sink/index.mjs
// and select it in a handler with `sink: http`. Its URL comes from the
// environment (HTTP_SINK_URL), not from handler Params: whoever can write a
// handler config must not be able to point the adapter at any URL.

const DEFAULT_TIMEOUT_MS = 5000;

/**
 * The plug-in contract: createSink(spec, env) returns (a promise of) a sink
 * with write(records), close() and optionally flush().
 */
export function createSink(spec, env) {
  const url = process.env.HTTP_SINK_URL;
  if (!url) throw new Error('set HTTP_SINK_URL to the endpoint records are POSTed to');
  const target = new URL(url); // throws on a malformed URL: the adapter then refuses to start
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new Error(`HTTP_SINK_URL must be http or https, got ${target.protocol}`);
  }
  const timeoutMs = Number(process.env.HTTP_SINK_TIMEOUT_MS ?? DEFAULT_TIMEOUT_MS);
  let closed = false;
  env.log?.info({ url: target.origin, format: spec.format }, 'http sink ready');

  return {
    // Resolves only once the endpoint answered 2xx: then the records are handed on.
    async write(records) {
      if (closed) throw Object.assign(new Error('http sink is closed'), { code: 'ECLOSED' });
      const body = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
      let res;
      try {
        res = await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        // fetch hides the errno in err.cause; pass it on so the adapter can tell a transient failure.
        throw Object.assign(
          new Error(`POST ${target.origin}${target.pathname} failed: ${err.cause?.message ?? err.message}`),
          {
            code: err.cause?.code ?? 'EIO',
          },
        );
      }
      await res.arrayBuffer(); // let the connection be reused
      if (!res.ok) {
        throw Object.assign(new Error(`POST ${target.origin}${target.pathname} answered ${res.status}`), {
          code: res.status >= 500 ? 'EAGAIN' : 'EREJECTED',
        });
      }
    },
    // Every write waits for its answer: nothing is ever queued here.
    async flush() {},
    async close() {
      closed = true;
    },
  };
}
