// The real npm bullmq (pinned in package.json) on the other side of evload's
// BullMQ module: Node Workers, Queue.addBulk, QueueEvents, and the Node side
// of scripts/bench-bullmq. Run from tests/interop (so node_modules resolve).
//
//   node bullmq_helper.js worker QUEUE CONCURRENCY WORK_MS IDLE_MS MAX_MS OUT
//       A Worker that records every job id it processes; exits on SIGTERM,
//       after IDLE_MS without a job (once it has had one), or at MAX_MS.
//       OUT gets {"processed":N,"distinct":N,"twice":N}.
//   node bullmq_helper.js addbulk QUEUE N READY OUT MAX_MS [STOP]
//       QueueEvents first, then addBulk of N CloudEvents (made with the
//       cloudevents package); touches READY once added, waits until every one
//       of them is reported `completed` and the file STOP exists (or MAX_MS);
//       OUT gets
//       {"added":N,"completed_own":N,"completed_events":N,"returnvalues_ok":bool}.
//   node bullmq_helper.js bench-add QUEUE N DATA_SIZE      prints {"rate":…}
//   node bullmq_helper.js bench-worker QUEUE N CONCURRENCY prints {"rate":…}
'use strict';
const fs = require('fs');
const { Queue, Worker, QueueEvents } = require('bullmq');
const { CloudEvent } = require('cloudevents');

const connection = { host: process.env.EVLOAD_REDIS_HOST || '127.0.0.1',
                     port: Number(process.env.EVLOAD_REDIS_PORT || 6379) };
const [cmd, ...args] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function die(msg) {
  console.error(`bullmq_helper: ${msg}`);
  process.exit(1);
}

async function worker(queue, conc, workMs, idleMs, maxMs, out) {
  const seen = new Map();
  let last = 0;
  const w = new Worker(queue, async (job) => {
    seen.set(job.id, (seen.get(job.id) || 0) + 1);
    last = Date.now();
    if (workMs > 0) await sleep(workMs);
    return { ok: true };
  }, { connection, concurrency: conc });
  w.on('error', (e) => console.error('worker error:', e.message));
  await w.waitUntilReady();
  let stop = false;
  process.on('SIGTERM', () => { stop = true; });
  const t0 = Date.now();
  while (!stop && Date.now() - t0 < maxMs && !(last && Date.now() - last > idleMs)) await sleep(50);
  await w.close();
  let twice = 0;
  for (const n of seen.values()) if (n > 1) twice += n - 1;
  const processed = [...seen.values()].reduce((a, b) => a + b, 0);
  fs.writeFileSync(out, JSON.stringify({ processed, distinct: seen.size, twice }));
}

function cloudEvent(i, size) {
  return new CloudEvent({
    id: `node-${process.pid}-${i}`, source: '/interop/node', type: 'dev.evload.node',
    datacontenttype: 'application/json', data: { i, pad: 'x'.repeat(size) },
  }).toJSON();
}

async function addbulk(queue, n, ready, out, maxMs, stopFile) {
  const qe = new QueueEvents(queue, { connection });
  await qe.waitUntilReady();
  const own = new Set();
  const done = new Set();
  let events = 0, rvOk = true;
  qe.on('completed', ({ jobId, returnvalue }) => {
    events++;
    // evload writes returnvalue "null" (JSON); QueueEvents parses it.
    if (returnvalue !== null && typeof returnvalue !== 'object') rvOk = false;
    if (own.has(jobId)) done.add(jobId);
  });
  const q = new Queue(queue, { connection });
  const jobs = [];
  for (let i = 0; i < n; i++) jobs.push({ name: 'dev.evload.node', data: cloudEvent(i, 64) });
  const added = await q.addBulk(jobs);
  for (const j of added) own.add(j.id);
  fs.writeFileSync(ready, 'added\n');
  const t0 = Date.now();
  while ((done.size < n || (stopFile && !fs.existsSync(stopFile))) && Date.now() - t0 < maxMs)
    await sleep(50);
  await sleep(300); // the last events on their way
  fs.writeFileSync(out, JSON.stringify({ added: added.length, completed_own: done.size,
                                         completed_events: events, returnvalues_ok: rvOk }));
  await q.close();
  await qe.close();
}

async function benchAdd(queue, n, size) {
  const q = new Queue(queue, { connection });
  await q.waitUntilReady();
  const batch = 1000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) {
    const jobs = [];
    for (let j = i; j < Math.min(n, i + batch); j++)
      jobs.push({ name: 'dev.evload.node', data: cloudEvent(j, size) });
    await q.addBulk(jobs);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ added: n, seconds: s, rate: n / s }));
  await q.close();
}

async function benchWorker(queue, n, conc) {
  let done = 0, t0 = 0, t1 = 0;
  const w = new Worker(queue, async () => {
    if (!t0) t0 = Date.now();
    return null;
  }, { connection, concurrency: conc, autorun: false });
  w.on('completed', () => { if (++done === n) t1 = Date.now(); });
  w.run();
  const start = Date.now();
  while (done < n && Date.now() - start < 300000) await sleep(20);
  await w.close();
  if (done < n) die(`bench-worker: only ${done} of ${n} jobs completed`);
  const s = (t1 - t0) / 1000;
  console.log(JSON.stringify({ completed: done, seconds: s, rate: done / s }));
}

(async () => {
  try {
    require.resolve('ioredis');
  } catch (e) {
    die("the 'ioredis' package is missing: bullmq 6.7.0 needs it as a peer to talk to Redis; " +
        'add ioredis to tests/interop/package.json (npm ci), or set EVLOAD_INTEROP_NODE_PATH');
  }
  const num = (s) => { const x = Number(s); if (!Number.isFinite(x)) die(`not a number: ${s}`); return x; };
  switch (cmd) {
    case 'worker': await worker(args[0], num(args[1]), num(args[2]), num(args[3]), num(args[4]), args[5]); break;
    case 'addbulk': await addbulk(args[0], num(args[1]), args[2], args[3], num(args[4]), args[5]); break;
    case 'bench-add': await benchAdd(args[0], num(args[1]), num(args[2])); break;
    case 'bench-worker': await benchWorker(args[0], num(args[1]), num(args[2])); break;
    default: die(`unknown command ${cmd}`);
  }
  process.exit(0);
})().catch((e) => die(e.stack || String(e)));
