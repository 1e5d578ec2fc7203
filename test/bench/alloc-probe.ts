// Loaded into the server under test with `node --import` by alloc.ts: counts
// the JavaScript heap the main thread allocates between a `start` and a
// `stop` message on the IPC channel, and optionally samples where it is
// allocated (the inspector's sampling heap profiler, collected objects
// included). Nothing here runs unless the process has an IPC channel.
//
// Allocated bytes = used heap at stop - used heap at start + what every GC in
// between freed (v8.GCProfiler's before/after heap statistics): exact for the
// main isolate, whatever the GCs did, and with no flag that changes V8's
// behaviour (--trace-gc, --expose-gc). Worker threads' heaps are not counted.
import type { HeapProfiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';

export type ProbeRequest = { type: 'start'; samplingInterval?: number } | { type: 'stop' };

export interface ProbeResult {
  allocatedBytes: number;
  scavenges: number;
  markCompacts: number;
  /** The sampling heap profile (HeapProfiler.SamplingHeapProfile) when sampling was asked for. */
  profile?: SamplingHeapProfile;
}

export type SamplingHeapProfile = HeapProfiler.SamplingHeapProfile;
export type SamplingHeapProfileNode = HeapProfiler.SamplingHeapProfileNode;

export type ProbeReply =
  { type: 'started' } | { type: 'stopped'; result: ProbeResult } | { type: 'error'; error: string };

// v8.GCProfiler's GC types (v8::GCType bits).
const SCAVENGE = 1;
const MARK_SWEEP_COMPACT = 4;

interface GcStatistics {
  gcType: string | number;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

let running: { profiler: v8.GCProfiler; usedAtStart: number; session: Session | undefined } | undefined;

const isType = (t: string | number, bit: number, name: string): boolean =>
  typeof t === 'number' ? (t & bit) !== 0 : t === name;

async function start(samplingInterval: number | undefined): Promise<void> {
  if (running) throw new Error('already measuring');
  let session: Session | undefined;
  if (samplingInterval !== undefined) {
    session = new Session();
    session.connect();
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval,
      // Without these only objects still alive at the stop are reported.
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  const profiler = new v8.GCProfiler();
  profiler.start();
  running = { profiler, usedAtStart: v8.getHeapStatistics().used_heap_size, session };
}

async function stop(): Promise<ProbeResult> {
  if (!running) throw new Error('not measuring');
  const usedAtStop = v8.getHeapStatistics().used_heap_size;
  const { profiler, usedAtStart, session } = running;
  running = undefined;
  const stats = (profiler.stop() as unknown as { statistics: GcStatistics[] }).statistics;
  let freed = 0;
  let scavenges = 0;
  let markCompacts = 0;
  for (const gc of stats) {
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    if (isType(gc.gcType, SCAVENGE, 'Scavenge')) scavenges++;
    if (isType(gc.gcType, MARK_SWEEP_COMPACT, 'MarkSweepCompact')) markCompacts++;
  }
  const result: ProbeResult = { allocatedBytes: usedAtStop - usedAtStart + freed, scavenges, markCompacts };
  if (session) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    await session.post('HeapProfiler.disable');
    session.disconnect();
    result.profile = profile;
  }
  return result;
}

if (process.send !== undefined) {
  const send = process.send.bind(process);
  process.on('message', (msg: ProbeRequest) => {
    const work =
      msg.type === 'start'
        ? start(msg.samplingInterval).then(() => ({ type: 'started' as const }))
        : stop().then((result) => ({ type: 'stopped' as const, result }));
    work.then(
      (reply: ProbeReply) => send(reply),
      (err: unknown) => send({ type: 'error', error: String(err) } satisfies ProbeReply),
    );
  });
  // The channel must not keep the server alive after its SIGTERM.
  process.channel?.unref();
}
