// The rate-limited log: first line at once, repeats summed per interval, close() flushes.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createRepeatLog, OTHER_CAUSES } from '../src/observe/repeat-log.js';
import { waitFor } from './helpers/wait.js';

interface Line {
  level: number;
  msg: string;
  count?: number;
  [field: string]: unknown;
}

function capture() {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

const WARN = 30 + 10;
const INFO = 30;

describe('createRepeatLog', () => {
  it('logs the first occurrence at once and sums the repeats into one line on close', async () => {
    const { lines, logger } = capture();
    const log = createRepeatLog(logger, { intervalMs: 60_000 });
    for (let i = 0; i < 120; i++) log.note('warn', 'HandleMetric failed', { code: 14, call: i });
    log.note('info', 'denied', { reason: 'wrong_token' });
    await waitFor(() => lines.length === 2);
    expect(lines.map((l) => [l.level, l.msg, l.call ?? l.reason])).toEqual([
      [WARN, 'HandleMetric failed', 0],
      [INFO, 'denied', 'wrong_token'],
    ]);
    log.close();
    await waitFor(() => lines.length === 3);
    expect(lines[2]).toMatchObject({ level: WARN, msg: 'HandleMetric failed (repeated)', count: 119, call: 119 });
    // The deny had no repeats: no summary line for it.
    await new Promise((r) => setTimeout(r, 20));
    expect(lines).toHaveLength(3);
  });

  it('writes one summary per cause when its interval ends, then starts afresh', async () => {
    const { lines, logger } = capture();
    const log = createRepeatLog(logger, { intervalMs: 40 });
    for (let i = 0; i < 5; i++) log.note('warn', 'a');
    for (let i = 0; i < 3; i++) log.note('info', 'b');
    await waitFor(() => lines.length === 4, 5000);
    const byMsg = Object.fromEntries(lines.map((l) => [l.msg, l]));
    expect(byMsg['a (repeated)']).toMatchObject({ count: 4, intervalMs: 40, level: WARN });
    expect(byMsg['b (repeated)']).toMatchObject({ count: 2, level: INFO });
    // A new interval: the next occurrence is logged at once again.
    log.note('warn', 'a');
    await waitFor(() => lines.length === 5);
    expect(lines[4]!.msg).toBe('a');
    log.close();
    await new Promise((r) => setTimeout(r, 60));
    expect(lines).toHaveLength(5);
  });

  it('bounds the causes it tracks and logs notes after close one by one', async () => {
    const { lines, logger } = capture();
    const log = createRepeatLog(logger, { intervalMs: 60_000, maxCauses: 2 });
    for (const cause of ['x', 'y', 'z1', 'z2', 'z3']) log.note('warn', cause);
    await waitFor(() => lines.length === 3);
    expect(lines.map((l) => l.msg)).toEqual(['x', 'y', OTHER_CAUSES]);
    expect(lines[2]!.cause).toBe('z1');
    log.close();
    await waitFor(() => lines.length === 4);
    expect(lines[3]).toMatchObject({ msg: `${OTHER_CAUSES} (repeated)`, count: 2, cause: 'z3' });
    log.note('warn', 'x');
    log.note('warn', 'x');
    await waitFor(() => lines.length === 6);
  });
});
