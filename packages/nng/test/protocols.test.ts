import { IpcError } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BusSocket,
  NngLink,
  Pair0Socket,
  Pair1Socket,
  PubSocket,
  PullSocket,
  PushSocket,
  RespondentSocket,
  SubSocket,
  SurveyorSocket,
} from '../src/index.js';
import { address, cleanupAddresses, sleep, spawnPeer } from './helpers.js';

afterAll(cleanupAddresses);

/** Collects `n` messages from an async iterable of Buffers, as strings. */
async function take(source: AsyncIterable<Buffer>, n: number): Promise<string[]> {
  const out: string[] = [];
  for await (const m of source) {
    out.push(String(m));
    if (out.length === n) break;
  }
  return out;
}

describe('protocols in one process', () => {
  it('pub/sub: topics, subscribe and unsubscribe', async () => {
    const url = address('ipc');
    const pub = new PubSocket();
    pub.listen(url);
    const sub = new SubSocket();
    sub.subscribe('news');
    await sub.dial(url);
    await sleep(50); // a subscriber connecting late misses what was published before
    await pub.send('sport: ignored');
    await pub.send('news: one');
    expect(String(await sub.recv({ timeout: 2000 }))).toBe('news: one');
    sub.unsubscribe('news');
    sub.subscribe(Buffer.from('sport'));
    await sleep(10);
    await pub.send('news: ignored');
    await pub.send('sport: two');
    expect(String(await sub.recv({ timeout: 2000 }))).toBe('sport: two');
    expect(() => sub.unsubscribe('never')).toThrowError(IpcError);
    pub.close();
    sub.close();
  });

  it('push/pull: work spreads over every puller', async () => {
    const url = address('ipc');
    const push = new PushSocket();
    push.listen(url);
    const pulls = [new PullSocket(), new PullSocket()];
    for (const p of pulls) await p.dial(url);
    while (push.pipes < 2) await sleep(5);
    const counts = [0, 0];
    pulls.forEach(async (p, i) => {
      for await (const _ of p) counts[i]!++; // ends when the socket closes
    });
    for (let i = 0; i < 20; i++) await push.send(`job ${i}`);
    while (counts[0]! + counts[1]! < 20) await sleep(5);
    expect(counts[0]! + counts[1]!).toBe(20);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
    push.close();
    for (const p of pulls) p.close();
  });

  it.each([
    ['pair0', () => new Pair0Socket()],
    ['pair1', () => new Pair1Socket()],
  ] as const)('%s: both directions', async (_name, make) => {
    const url = address('ipc');
    const a = make();
    a.listen(url);
    const b = make();
    await b.dial(url);
    await a.send('a→b');
    expect(String(await b.recv({ timeout: 2000 }))).toBe('a→b');
    await b.send(Buffer.from('b→a'));
    expect(String(await a.recv({ timeout: 2000 }))).toBe('b→a');
    a.close();
    b.close();
  });

  it('bus: every message reaches every directly connected peer', async () => {
    const url = address('ipc');
    const hub = new BusSocket();
    hub.listen(url);
    const peers = [new BusSocket(), new BusSocket()];
    for (const p of peers) await p.dial(url);
    while (hub.pipes < 2) await sleep(5);
    await hub.send('hello all');
    for (const p of peers) expect(String(await p.recv({ timeout: 2000 }))).toBe('hello all');
    await peers[0]!.send('from peer 0');
    expect(String(await hub.recv({ timeout: 2000 }))).toBe('from peer 0');
    hub.close();
    for (const p of peers) p.close();
  });

  it('surveyor/respondent: collects answers until the survey time is over', async () => {
    const url = address('ipc');
    const surveyor = new SurveyorSocket({ surveyTime: 300 });
    surveyor.listen(url);
    const respondents = [1, 2, 3].map((i) => {
      const r = new RespondentSocket();
      r.serve((q, reply) => (i === 3 ? reply.drop() : reply(`${i}:${String(q)}`)));
      return r;
    });
    for (const r of respondents) await r.dial(url);
    while (surveyor.pipes < 3) await sleep(5);
    const answers: string[] = [];
    for await (const a of surveyor.survey('status?')) answers.push(String(a));
    expect(answers.sort()).toEqual(['1:status?', '2:status?']);
    surveyor.close();
    for (const r of respondents) r.close();
  });

  it('receiving as an async iterator ends when the socket closes', async () => {
    const url = address('inproc');
    const pull = new PullSocket();
    pull.listen(url);
    const push = new PushSocket();
    await push.dial(url);
    const seen: string[] = [];
    const loop = (async () => {
      for await (const m of pull) seen.push(String(m));
      return 'ended';
    })();
    await push.send('one');
    await push.send('two');
    while (seen.length < 2) await sleep(5);
    pull.close();
    expect(await loop).toBe('ended');
    expect(seen).toEqual(['one', 'two']);
    push.close();
  });

  it('pair1 as a duplex Link for the RPC engine', async () => {
    const url = address('ipc');
    const a = new Pair1Socket();
    a.listen(url);
    const b = new Pair1Socket();
    await b.dial(url);
    const linkA = new NngLink(a);
    const linkB = new NngLink(b, url);
    const got: string[] = [];
    let closedWith: IpcError | undefined | 'open' = 'open';
    linkA.attach({ onFrame: (f) => got.push(String(f)), onClose: (e) => (closedWith = e) });
    linkB.attach({ onFrame: (f) => void linkB.send(`echo ${String(f)}`), onClose: () => {} });
    await linkA.send('x');
    while (got.length < 1) await sleep(5);
    expect(got).toEqual(['echo x']);
    linkB.close();
    while (closedWith === 'open') await sleep(5);
    expect((closedWith as IpcError | undefined)?.code).toBe('CLOSED');
    expect(() => linkA.send('after')).toThrowError(expect.objectContaining({ code: 'CLOSED' }));
  });
});

describe('protocols across processes', () => {
  it('sub here, pub in a child process', async () => {
    const url = address('ipc');
    const peer = spawnPeer('pub', url);
    try {
      await peer.waitFor(/^ready$/);
      const sub = new SubSocket();
      sub.subscribe('sport');
      await sub.dial(url);
      const got = await take(sub, 3);
      expect(got.every((m) => m.startsWith('sport '))).toBe(true);
      sub.close();
    } finally {
      await peer.kill();
    }
  }, 30_000);

  it('push in a child process, pull here; and pull in a child, push here', async () => {
    const url = address('ipc');
    const pull = new PullSocket();
    pull.listen(url);
    const pusher = spawnPeer('push', url, '5');
    expect(await take(pull, 5)).toEqual(['job 0', 'job 1', 'job 2', 'job 3', 'job 4']);
    await pusher.exited;
    pull.close();

    const url2 = address('ipc');
    const puller = spawnPeer('pull', url2, '3');
    await puller.waitFor(/^ready$/);
    const push = new PushSocket();
    await push.dial(url2);
    for (let i = 0; i < 3; i++) await push.send(`to child ${i}`);
    await puller.waitFor(/^got to child 2$/);
    expect(puller.lines.filter((l) => l.startsWith('got '))).toEqual([
      'got to child 0',
      'got to child 1',
      'got to child 2',
    ]);
    push.close();
    await puller.kill();
  }, 30_000);

  it.each([
    ['pair0', () => new Pair0Socket()],
    ['pair1', () => new Pair1Socket()],
    ['bus', () => new BusSocket()],
  ] as const)(
    '%s with a child process',
    async (role, make) => {
      const url = address('ipc');
      const sock = make();
      sock.listen(url);
      const peer = spawnPeer(role, url);
      try {
        await peer.waitFor(/^ready$/);
        while (sock.pipes < 1) await sleep(5);
        await sock.send('ping');
        expect(String(await sock.recv({ timeout: 5000 }))).toBe(`${role}-echo:ping`);
      } finally {
        sock.close();
        await peer.kill();
      }
    },
    30_000,
  );

  it('surveyor here, respondents in two child processes', async () => {
    const url = address('ipc');
    const surveyor = new SurveyorSocket({ surveyTime: 500 });
    surveyor.listen(url);
    const peers = [spawnPeer('respondent', url), spawnPeer('respondent', url)];
    try {
      for (const p of peers) await p.waitFor(/^ready$/);
      while (surveyor.pipes < 2) await sleep(5);
      const answers: string[] = [];
      for await (const a of surveyor.survey('who?')) answers.push(String(a));
      expect(answers.sort()).toEqual(peers.map((p) => `pid ${p.child.pid}: who?`).sort());
    } finally {
      surveyor.close();
      for (const p of peers) await p.kill();
    }
  }, 30_000);
});
