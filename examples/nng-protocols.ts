// The other SP protocols of nng, from the same package: pub/sub with topics, push/pull work
// distribution, and a survey that collects answers for a fixed time. Receiving is an async
// iterator; closing a socket ends it.
// Run: node --conditions=@openclaw-ipc/source --import tsx examples/nng-protocols.ts
import {
  PubSocket,
  PullSocket,
  PushSocket,
  RespondentSocket,
  SubSocket,
  SurveyorSocket,
} from '@openclaw-ipc/nng';

const settle = () => new Promise((r) => setTimeout(r, 50));

// pub/sub: a subscriber receives only the topics it subscribed to (prefix match).
const pub = new PubSocket();
pub.listen('inproc://news');
const sub = new SubSocket().subscribe('weather.');
await sub.dial('inproc://news');
await settle();
await pub.send('sport.football 2-1');
await pub.send('weather.paris sunny');
console.log('sub got', String(await sub.recv())); // weather.paris sunny

// push/pull: each job goes to one worker.
const push = new PushSocket();
push.listen('inproc://jobs');
const workers = [new PullSocket(), new PullSocket()];
for (const w of workers) await w.dial('inproc://jobs');
await settle();
for (let i = 0; i < 4; i++) await push.send(`job ${i}`);
for (const [n, w] of workers.entries()) {
  for await (const job of w) {
    console.log(`worker ${n} got ${job}`);
    break;
  }
}

// surveyor/respondent: ask everyone, collect what comes back within 200 ms.
const surveyor = new SurveyorSocket({ surveyTime: 200 });
surveyor.listen('inproc://census');
const respondents = ['alpha', 'beta'].map((name) => {
  const r = new RespondentSocket();
  r.serve((question, reply) => reply(`${name}: here (${question})`));
  return r;
});
for (const r of respondents) await r.dial('inproc://census');
await settle();
for await (const answer of surveyor.survey('who is there?')) console.log(String(answer));

for (const s of [pub, sub, push, ...workers, surveyor, ...respondents]) s.close();
