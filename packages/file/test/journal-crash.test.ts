/**
 * Journal mode under kill -9: four writer processes x 10 000 messages, writers killed at random
 * moments and restarted; afterwards every acknowledged message has been delivered exactly once,
 * and nothing was delivered twice or damaged.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { IpcError } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { JournalLink } from '../src/index.js';
import { spawnTs, tempDir, until } from './helpers.js';

const WRITERS = 4;
const PER_WRITER = 10_000;
const KILLS_PER_WRITER = 2;

const { dir, cleanup } = tempDir('oc-journal-');
afterAll(cleanup);

interface Run {
  proc: ChildProcess;
  acked: number; // messages of this run acknowledged
  done: boolean;
  exited: Promise<void>;
}

function startWriter(name: string, count: number, run: number): Run {
  const proc = spawnTs('child.ts', ['write', dir, name, String(count), String(run), '25']);
  const r: Run = { proc, acked: 0, done: false, exited: new Promise((res) => proc.on('exit', () => res())) };
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    if (line.startsWith('ack ')) r.acked = Number(line.slice(4)) + 1;
    else if (line === 'done') r.done = true;
  });
  proc.stderr!.resume();
  return r;
}

describe('journal mode under kill -9 of writers', () => {
  it(`${WRITERS} writers x ${PER_WRITER} messages: every acknowledged one delivered exactly once`, async () => {
    const counts = new Map<string, number>();
    const errors: IpcError[] = [];
    const open = async () => {
      const link = await JournalLink.open(dir, 'backend', { onError: (e) => errors.push(e) });
      link.attach({
        onFrame: (frame) => {
          const m = JSON.parse(frame as string) as { w: string; run: number; seq: number };
          const key = `${m.w}/${m.run}/${m.seq}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        },
        onClose: () => {},
      });
      return link;
    };
    let reader = await open();

    const acked = new Map<string, Array<{ run: number; acked: number }>>();
    const writers = Array.from({ length: WRITERS }, (_, i) => `w${i}`);
    await Promise.all(
      writers.map(async (name) => {
        const runs: Array<{ run: number; acked: number }> = [];
        acked.set(name, runs);
        let total = 0;
        for (let run = 0; total < PER_WRITER; run++) {
          const r = startWriter(name, PER_WRITER - total, run);
          if (run < KILLS_PER_WRITER) {
            // Kill at a random point once it writes: somewhere in the middle of its messages.
            await until(() => r.acked > 0 || r.done || r.proc.exitCode !== null, 30_000, `${name} writing`);
            await new Promise((res) => setTimeout(res, Math.random() * 150));
            r.proc.kill('SIGKILL');
          }
          await r.exited;
          runs.push({ run, acked: r.acked });
          total += r.acked;
        }
      }),
    );

    // The kills really interrupted writers: more runs than writers.
    const runCount = [...acked.values()].reduce((s, runs) => s + runs.length, 0);
    expect(runCount).toBeGreaterThan(WRITERS);

    // Restart the reader once too: its cursor carries over.
    reader.close();
    await reader.idle();
    reader = await open();

    const expected: string[] = [];
    for (const [name, runs] of acked) {
      expect(runs.reduce((s, r) => s + r.acked, 0)).toBe(PER_WRITER);
      for (const r of runs) for (let seq = 0; seq < r.acked; seq++) expected.push(`${name}/${r.run}/${seq}`);
    }
    await until(() => expected.every((k) => counts.has(k)), 60_000, 'every acknowledged message');
    reader.close();
    await reader.idle();

    const missing = expected.filter((k) => counts.get(k) !== 1);
    expect(missing).toEqual([]);
    // Nothing twice, also among messages written but not acknowledged before the kill.
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    // Anything delivered beyond the acknowledged ones comes from a killed run, right after its last ack.
    const ackedSet = new Set(expected);
    for (const key of counts.keys()) {
      if (ackedSet.has(key)) continue;
      const [name, run, seq] = key.split('/');
      const r = acked.get(name!)!.find((x) => x.run === Number(run))!;
      expect(Number(seq)).toBeGreaterThanOrEqual(r.acked);
    }
    expect(errors.filter((e) => e.code !== 'PROTOCOL')).toEqual([]);
  }, 240_000);
});
