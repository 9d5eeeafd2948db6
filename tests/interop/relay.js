// relay.js — a small service of the kind evload's users run between two
// brokers, so that evload can be tested on PIPELINES (docs/pipelines.md):
// it consumes every message of one broker and republishes it to another,
// with the third-party clients users use (amqplib, kafkajs, ioredis, bullmq,
// cloudevents; pinned by package-lock.json). It knows nothing about evload
// beyond the CloudEvents it carries; faults it is told to inject are chosen
// deterministically and logged, so a test can hold evload's classes to the
// relay's own counts.
//
//   node relay.js --from URL --to URL [options]
//
// URLs (the query names the relay's own objects; credentials as usual):
//   amqp://user:pass@host:port/vhost?queue=Q&exchange=X[&exchange_type=fanout][&routing_key=K]
//        [&dead_letter_exchange=DLX]
//       from: declares exchange X (when missing) and its own durable queue Q
//             (with x-dead-letter-exchange DLX when given), binds Q to X with K
//             (default "") and consumes Q with manual acks (a message is
//             acknowledged once it was republished, or dropped; --reject
//             rejects it without requeueing: RabbitMQ dead-letters it to DLX);
//       to:   declares X (when missing) and publishes to it with K (default "")
//             on a confirm channel, persistent; a batch is done once confirmed.
//   kafka://host:port[,host:port...]/TOPIC[?group=G]
//       from: consumer group G (default relay-TOPIC), from the beginning of
//             the topic; offsets are committed after the batch's republish
//             (without --delay) or as kafkajs resolves them (with --delay: the
//             held messages are not waited for, so a crash may lose them);
//       to:   producer (acks=all); the record key is the input's key, or
//             "<instance>.<lane>" of the evload id it carries, so each of
//             evload's lanes stays in one partition (and in order).
//   redis://host:port[/db]?channel=C
//       from: SUBSCRIBE C;  to: PUBLISH C (pipelined).
//   bullmq://host:port[/db]?queue=Q[&prefix=bull]
//       from: a BullMQ Worker with --concurrency (default 256); a job completes
//             once republished (or dropped);
//       to:   Queue.addBulk (job name = the event's type, data = the event).
//
// Options:
//   --drop N [--drop-every K]   drop exactly N messages: the K-th, 2K-th, ...
//                               received (default K 10); their ids are logged
//   --reject N [--reject-every K]  amqp from only: reject exactly N messages
//                               (basic.nack, no requeue): the K-th, 2K-th, ...
//                               received that are not dropped (default K 13)
//   --dup M [--dup-every K]     publish M of the rest twice: the K-th, 2K-th, ...
//                               message neither dropped nor rejected (default K 7)
//   --delay D | --delay A..B    hold each message D, or a uniformly random time
//                               in [A, B] (e.g. 200ms..800ms), before republishing.
//                               Holds are independent, so order is NOT kept
//                               (counts.reordered says how often a lane went
//                               backwards), unless --keep-order: then a message
//                               is released no earlier than the one before it
//   --transform MODE            pass (default): the message bytes and headers,
//                                 unchanged (content type carried across brokers);
//                               newid-data: a NEW CloudEvent (cloudevents SDK),
//                                 new id, whose data is {"<id-field>": ORIGINAL ID,
//                                 "input_type": ..., "relay": ...};
//                               newid-header: a new CloudEvent; the original id only
//                                 in the protocol header --id-header (as a top-level
//                                 extension attribute on brokers without headers:
//                                 Redis, BullMQ; the name must then be a valid one);
//                               trace: a new CloudEvent that only propagates the
//                                 W3C traceparent (same trace-id, a new span id, as a
//                                 child span would), as attribute and header
//   --id-field NAME             newid-data: the data member (default input_id)
//   --id-header NAME            newid-header: the header (default x-source-id)
//   --type T                    the new events' type (default dev.evload.relayed)
//   --out-mode structured|binary  how new events are written to RabbitMQ and Kafka
//                               (default structured; Redis and BullMQ: structured)
//   --prefetch N                amqp from: prefetch (default 1000)
//   --concurrency N             bullmq from: worker concurrency (default 256)
//   --counts FILE               also write the counts there (on exit, SIGUSR1)
//   --quiet                     do not log each dropped/duplicated id on stderr
//   --start-on-signal           set up, print {"ready":true,"held":true,...}, and
//                               consume only after SIGUSR2 (a backlog for benchmarks;
//                               a Redis input relays nothing published before)
//
// Output: one JSON line {"ready":true,...} on stdout once it consumes and
// can publish; on SIGUSR1 one line of counts; on SIGTERM or SIGINT it stops
// consuming, waits (at most 10 s) for messages it holds, prints the counts
// and exits 0. Counts: received, forwarded (messages republished at least
// once), published (publishes, duplicates included), dropped, duplicated,
// rejected, dropped_ids, duplicated_ids, rejected_ids (the evload ids, in
// the order chosen), reordered (first publishes of an evload id below a
// higher seq of its lane already published: what a consumer reading the
// output in order sees), foreign (messages without an evload-style id,
// relayed all the same), errors, held (messages held right now),
// first_received_ms, last_published_ms (wall clock), forward_rate
// (forwarded per second between the two). A broker error is fatal: exit 1,
// as a service would crash.
'use strict';
const fs = require('fs');
const crypto = require('crypto');

// ---- options ----------------------------------------------------------------

function usage(msg) {
  if (msg) console.error(`relay: ${msg}`);
  console.error('usage: node relay.js --from URL --to URL [--drop N [--drop-every K]] [--dup M [--dup-every K]]\n' +
                '       [--reject N [--reject-every K]]\n' +
                '       [--delay D|A..B [--keep-order]] [--transform pass|newid-data|newid-header|trace]\n' +
                '       [--id-field NAME] [--id-header NAME] [--type T] [--out-mode structured|binary]\n' +
                '       [--prefetch N] [--concurrency N] [--counts FILE] [--quiet] [--start-on-signal]');
  process.exit(2);
}

function duration(s) {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s)$/.exec(s);
  if (!m) usage(`bad duration "${s}" (e.g. 200ms, 1s)`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]];
}

function count(name, v) {
  if (!/^\d+$/.test(v || '')) usage(`${name} needs a whole number, got "${v}"`);
  return Number(v);
}

function parseArgs(argv) {
  const o = { drop: 0, dropEvery: 10, dup: 0, dupEvery: 7, reject: 0, rejectEvery: 13, delay: null, keepOrder: false,
              transform: 'pass', idField: 'input_id', idHeader: 'x-source-id',
              type: 'dev.evload.relayed', outMode: 'structured', prefetch: 1000,
              concurrency: 256, counts: null, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    switch (a) {
      case '--from': o.from = val(); break;
      case '--to': o.to = val(); break;
      case '--drop': o.drop = count(a, val()); break;
      case '--drop-every': o.dropEvery = count(a, val()); break;
      case '--dup': o.dup = count(a, val()); break;
      case '--reject': o.reject = count(a, val()); break;
      case '--reject-every': o.rejectEvery = count(a, val()); break;
      case '--dup-every': o.dupEvery = count(a, val()); break;
      case '--delay': {
        const [lo, hi] = val().split('..');
        o.delay = [duration(lo), duration(hi === undefined ? lo : hi)];
        if (o.delay[1] < o.delay[0]) usage('--delay A..B needs A <= B');
        break;
      }
      case '--keep-order': o.keepOrder = true; break;
      case '--transform': o.transform = val(); break;
      case '--id-field': o.idField = val(); break;
      case '--id-header': o.idHeader = val(); break;
      case '--type': o.type = val(); break;
      case '--out-mode': o.outMode = val(); break;
      case '--prefetch': o.prefetch = count(a, val()); break;
      case '--concurrency': o.concurrency = count(a, val()); break;
      case '--counts': o.counts = val(); break;
      case '--quiet': o.quiet = true; break;
      case '--start-on-signal': o.startOnSignal = true; break;
      case '-h': case '--help': usage();
      default: usage(`unknown option ${a}`);
    }
  }
  if (!o.from || !o.to) usage('--from and --to are required');
  if (!['pass', 'newid-data', 'newid-header', 'trace'].includes(o.transform))
    usage(`--transform must be pass, newid-data, newid-header or trace, not "${o.transform}"`);
  if (!['structured', 'binary'].includes(o.outMode)) usage('--out-mode must be structured or binary');
  if (o.dropEvery < 1 || o.dupEvery < 1 || o.rejectEvery < 1)
    usage('--drop-every, --dup-every and --reject-every must be at least 1');
  if (o.reject && !/^amqp:/i.test(o.from)) usage('--reject needs an amqp:// input (RabbitMQ dead-letters what is rejected)');
  if (o.prefetch < 1 || o.concurrency < 1) usage('--prefetch and --concurrency must be at least 1');
  return o;
}

// scheme://[user[:pass]@]hosts[/path][?query]; several hosts for Kafka.
function parseUrl(text) {
  const m = /^([a-z][a-z0-9+]*):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]*)(\/[^?]*)?(?:\?(.*))?$/i.exec(text);
  if (!m) usage(`bad URL "${text}"`);
  const q = {};
  for (const kv of (m[6] || '').split('&').filter(Boolean)) {
    const [k, v = ''] = kv.split('=');
    q[decodeURIComponent(k)] = decodeURIComponent(v);
  }
  return { scheme: m[1].toLowerCase(), user: m[2] && decodeURIComponent(m[2]),
           pass: m[3] && decodeURIComponent(m[3]), hosts: m[4], path: m[5] || '', q, text };
}

function hostPort(u, port) {
  const [h, p] = u.hosts.split(':');
  return { host: h || '127.0.0.1', port: Number(p || port) };
}

function need(u, key) {
  if (!u.q[key]) usage(`${u.scheme}:// URL needs ?${key}=...`);
  return u.q[key];
}

// ---- CloudEvents ---------------------------------------------------------------

// A message, as the relay carries it: {body (bytes), headers (text values),
// contentType, key (Kafka)}.
// What a message says about the CloudEvent it carries: the parsed structured
// event, or the binary attributes; null fields when it is not a CloudEvent.
const CE_PREFIX = /^(ce[_-]|cloudEvents[_:])(.+)$/i;

function inspect(msg) {
  const ct = msg.contentType || '';
  let ev = null;
  let attrs = null;
  if (!/^application\/cloudevents/i.test(ct)) {
    for (const [k, v] of Object.entries(msg.headers || {})) {
      const m = CE_PREFIX.exec(k);
      if (m) (attrs = attrs || {})[m[2].toLowerCase()] = v;
    }
  }
  if (!attrs || !attrs.specversion) {
    attrs = null;
    try {
      const j = JSON.parse(msg.body.toString('utf8'));
      if (j && typeof j === 'object' && !Array.isArray(j) && j.specversion) ev = j;
    } catch (e) { /* not JSON: not a CloudEvent */ }
  }
  const a = ev || attrs || {};
  const id = typeof a.id === 'string' ? a.id : null;
  const m = id && /^([0-9a-z]+)-(\d+)-(\d+)-(\d+)$/.exec(id);
  return { ev, attrs, id, type: typeof a.type === 'string' ? a.type : null,
           traceparent: typeof a.traceparent === 'string' ? a.traceparent
             : (msg.headers && msg.headers.traceparent) || null,
           lane: m ? `${m[2]}.${m[3]}` : null, seq: m ? Number(m[4]) : 0 };
}

// A child span of a W3C traceparent: same trace-id, new span id; a new trace
// when there is none.
function childTraceparent(tp) {
  const m = /^00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$/.exec(tp || '');
  const span = crypto.randomBytes(8).toString('hex');
  return m ? `00-${m[1]}-${span}-${m[2]}` : `00-${crypto.randomBytes(16).toString('hex')}-${span}-01`;
}

let CloudEvent = null;
let newIds = 0;
const RELAY_ID = `relay-${process.pid}-${Date.now().toString(36)}`;

// The new event of a transforming relay, and the protocol headers that go
// with it. Returns {event (SDK object), headers}.
function transformEvent(o, info, outHasHeaders) {
  CloudEvent = CloudEvent || require('cloudevents').CloudEvent;
  const attrs = { id: `${RELAY_ID}-${++newIds}`, source: '/evload/relay', type: o.type,
                  datacontenttype: 'application/json' };
  const headers = {};
  if (o.transform === 'newid-data') {
    attrs.data = { [o.idField]: info.id, input_type: info.type, relay: RELAY_ID };
  } else if (o.transform === 'newid-header') {
    attrs.data = { input_type: info.type, relay: RELAY_ID };
    if (outHasHeaders) headers[o.idHeader] = info.id || '';
    else attrs[o.idHeader] = info.id || '';
  } else { // trace
    attrs.data = { relay: RELAY_ID };
    attrs.traceparent = childTraceparent(info.traceparent);
    if (outHasHeaders) headers.traceparent = attrs.traceparent;
  }
  return { event: new CloudEvent(attrs), headers };
}

// Encodes a new event for an output: structured JSON, or binary with the
// binding's header prefix (Kafka ce_, AMQP cloudEvents_).
function encodeEvent(event, headers, mode, prefix) {
  const j = event.toJSON();
  if (mode === 'structured' || !prefix)
    return { body: Buffer.from(JSON.stringify(j)), headers, contentType: 'application/cloudevents+json' };
  const h = { ...headers };
  for (const [k, v] of Object.entries(j))
    if (k !== 'data' && k !== 'datacontenttype' && v !== undefined && v !== null) h[prefix + k] = String(v);
  return { body: Buffer.from(JSON.stringify(j.data)), headers: h, contentType: j.datacontenttype };
}

// ---- inputs --------------------------------------------------------------------
// Each input is set up (connected; queues, bindings, subscriptions that must
// exist before anything is published are declared) and returns { start(),
// stop(), close() }; start() begins consuming, calling onMessage(msg) ->
// Promise (settled once republished or dropped, or REJECT).
const REJECT = Symbol('reject'); // onMessage's answer for a message to reject

function textHeaders(h) {
  const out = {};
  for (const [k, v] of Object.entries(h || {})) {
    if (v === undefined || v === null) continue;
    out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'object' && 'value' in v ? String(v.value) : String(v);
  }
  return out;
}

function amqpConnUrl(u) {
  const auth = u.user !== undefined ? `${encodeURIComponent(u.user)}:${encodeURIComponent(u.pass || '')}@` : '';
  return `amqp://${auth}${u.hosts}${u.path || '/'}`;
}

async function amqpFrom(u, o, onMessage, fail) {
  const amqp = require('amqplib');
  const q = need(u, 'queue');
  const ex = need(u, 'exchange');
  const conn = await amqp.connect(amqpConnUrl(u), { timeout: 5000 });
  conn.on('error', (e) => fail(`amqp from: ${e.message}`));
  const ch = await conn.createChannel();
  ch.on('error', (e) => fail(`amqp from channel: ${e.message}`));
  await ch.assertExchange(ex, u.q.exchange_type || 'fanout', { durable: true });
  const args = u.q.dead_letter_exchange ? { 'x-dead-letter-exchange': u.q.dead_letter_exchange } : {};
  await ch.assertQueue(q, { durable: true, arguments: args });
  await ch.bindQueue(q, ex, u.q.routing_key || '');
  await ch.prefetch(o.prefetch);
  let consumerTag = null;
  return {
    async start() {
      ({ consumerTag } = await ch.consume(q, (m) => {
        if (!m) return fail('amqp from: the consumer was cancelled by the server');
        const msg = { body: m.content, headers: textHeaders(m.properties.headers),
                      contentType: m.properties.contentType, key: null };
        onMessage(msg).then((r) => (r === REJECT ? ch.nack(m, false, false) : ch.ack(m)),
                            (e) => fail(e.message));
      }, { noAck: false }));
    },
    async stop() { if (consumerTag) await ch.cancel(consumerTag).catch(() => {}); },
    async close() { await conn.close().catch(() => {}); },
  };
}

function kafkaClient(u) {
  const { Kafka, logLevel } = require('kafkajs');
  const sasl = u.user ? { mechanism: 'plain', username: u.user, password: u.pass || '' } : undefined;
  return new Kafka({ clientId: 'evload-relay', brokers: u.hosts.split(','), sasl,
                     logLevel: logLevel.ERROR, retry: { retries: 10 } });
}

function kafkaTopic(u) {
  const t = u.path.replace(/^\//, '');
  if (!t) usage(`kafka:// URL needs a topic: kafka://host:port/TOPIC`);
  return t;
}

async function kafkaFrom(u, o, onMessage, fail) {
  const topic = kafkaTopic(u);
  const consumer = kafkaClient(u).consumer({ groupId: u.q.group || `relay-${topic}`,
                                             sessionTimeout: 10000, heartbeatInterval: 1000,
                                             maxWaitTimeInMs: 20 });
  consumer.on(consumer.events.CRASH, (e) => fail(`kafka from: ${e.payload && e.payload.error && e.payload.error.message}`));
  let joined;
  const assigned = new Promise((r) => { joined = r; });
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  return {
    async start() {
      await consumer.run({
        partitionsConsumedConcurrently: 8,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          const done = batch.messages.map((m) => onMessage({
            body: m.value || Buffer.alloc(0), headers: textHeaders(m.headers), key: m.key,
            contentType: m.headers && m.headers['content-type'] ? String(m.headers['content-type']) : undefined,
          }));
          // Without holds, offsets are committed only once the batch was
          // republished; with --delay the holds are not waited for.
          if (!o.delay) await Promise.all(done);
        },
      });
      await assigned;
    },
    async stop() { await consumer.stop().catch(() => {}); },
    async close() { await consumer.disconnect().catch(() => {}); },
  };
}

function redisOpts(u) {
  const { host, port } = hostPort(u, 6379);
  const db = Number((u.path || '/0').slice(1) || 0);
  return { host, port, db, username: u.user || undefined, password: u.pass || undefined,
           maxRetriesPerRequest: null, lazyConnect: false };
}

async function redisFrom(u, o, onMessage, fail) {
  const Redis = require('ioredis');
  const ch = need(u, 'channel');
  const r = new Redis(redisOpts(u));
  r.on('error', (e) => fail(`redis from: ${e.message}`));
  r.on('messageBuffer', (c, body) => {
    onMessage({ body, headers: {}, contentType: undefined, key: null }).catch((e) => fail(e.message));
  });
  await r.ping();
  // Pub/Sub keeps nothing for a subscriber that is not there yet: what is
  // published before start() is not relayed.
  return { async start() { await r.subscribe(ch); },
           async stop() { await r.unsubscribe(ch).catch(() => {}); },
           async close() { r.disconnect(); } };
}

function bullConn(u) {
  const { host, port, db, username, password } = redisOpts(u);
  return { host, port, db, username, password, maxRetriesPerRequest: null };
}

async function bullmqFrom(u, o, onMessage, fail) {
  const { Worker } = require('bullmq');
  const w = new Worker(need(u, 'queue'), async (job) => {
    const body = Buffer.from(typeof job.data === 'string' ? job.data : JSON.stringify(job.data));
    await onMessage({ body, headers: {}, contentType: undefined, key: null });
  }, { connection: bullConn(u), prefix: u.q.prefix || 'bull', concurrency: o.concurrency,
       removeOnComplete: { count: 100000 }, autorun: false });
  w.on('error', (e) => fail(`bullmq from: ${e.message}`));
  await w.waitUntilReady();
  return { async start() { w.run().catch((e) => fail(`bullmq from: ${e.message}`)); },
           async stop() { await w.close().catch(() => {}); }, async close() {} };
}

// ---- outputs -------------------------------------------------------------------
// Each output has send(records) -> Promise (resolved once the broker took
// the whole batch) and hasHeaders; the sequencer below calls send one batch
// at a time, so records reach the broker in the order they were queued.

async function amqpTo(u, fail) {
  const amqp = require('amqplib');
  const ex = need(u, 'exchange');
  const rk = u.q.routing_key || '';
  const conn = await amqp.connect(amqpConnUrl(u), { timeout: 5000 });
  conn.on('error', (e) => fail(`amqp to: ${e.message}`));
  const ch = await conn.createConfirmChannel();
  ch.on('error', (e) => fail(`amqp to channel: ${e.message}`));
  await ch.assertExchange(ex, u.q.exchange_type || 'fanout', { durable: true });
  return {
    hasHeaders: true, prefix: 'cloudEvents_',
    async send(recs) {
      for (const r of recs)
        ch.publish(ex, rk, r.body, { persistent: true, contentType: r.contentType, headers: r.headers });
      await ch.waitForConfirms();
    },
    async close() { await conn.close().catch(() => {}); },
  };
}

async function kafkaTo(u) {
  const topic = kafkaTopic(u);
  const producer = kafkaClient(u).producer({ allowAutoTopicCreation: true, idempotent: false,
                                             maxInFlightRequests: 1 });
  await producer.connect();
  return {
    hasHeaders: true, prefix: 'ce_',
    async send(recs) {
      await producer.send({ topic, acks: -1, messages: recs.map((r) => {
        const headers = { ...r.headers };
        if (r.contentType) headers['content-type'] = r.contentType;
        return { key: r.key, value: r.body, headers };
      }) });
    },
    async close() { await producer.disconnect().catch(() => {}); },
  };
}

async function redisTo(u, fail) {
  const Redis = require('ioredis');
  const ch = need(u, 'channel');
  const r = new Redis(redisOpts(u));
  r.on('error', (e) => fail(`redis to: ${e.message}`));
  await r.ping();
  return {
    hasHeaders: false,
    async send(recs) {
      const p = r.pipeline();
      for (const x of recs) p.publish(ch, x.body);
      const res = await p.exec();
      for (const [e] of res) if (e) throw e;
    },
    async close() { r.disconnect(); },
  };
}

async function bullmqTo(u) {
  const { Queue } = require('bullmq');
  const q = new Queue(need(u, 'queue'), { connection: bullConn(u), prefix: u.q.prefix || 'bull' });
  await q.waitUntilReady();
  return {
    hasHeaders: false,
    async send(recs) {
      await q.addBulk(recs.map((r) => {
        const data = JSON.parse(r.body.toString('utf8'));
        return { name: (data && data.type) || 'event', data };
      }));
    },
    async close() { await q.close().catch(() => {}); },
  };
}

// ---- the relay -----------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const from = parseUrl(o.from);
  const to = parseUrl(o.to);
  const counts = { received: 0, forwarded: 0, published: 0, dropped: 0, duplicated: 0, rejected: 0,
                   dropped_ids: [], duplicated_ids: [], rejected_ids: [], reordered: 0, foreign: 0, errors: 0,
                   held: 0, first_received_ms: null, last_published_ms: null, forward_rate: null };
  let finishing = false;
  const fail = (msg) => {
    counts.errors++;
    console.error(`relay: ${msg}`);
    if (!finishing) finish(1);
  };
  const outs = { amqp: amqpTo, kafka: kafkaTo, redis: redisTo, bullmq: bullmqTo };
  const ins = { amqp: amqpFrom, kafka: kafkaFrom, redis: redisFrom, bullmq: bullmqFrom };
  if (!outs[to.scheme]) usage(`--to: unknown scheme ${to.scheme}:// (amqp, kafka, redis, bullmq)`);
  if (!ins[from.scheme]) usage(`--from: unknown scheme ${from.scheme}:// (amqp, kafka, redis, bullmq)`);
  const out = await outs[to.scheme](to, fail);

  // The sequencer: one batch in flight; records published in queue order.
  const queue = [];
  let busy = false;
  const pump = async () => {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const batch = queue.splice(0, 500);
      try {
        await out.send(batch.map((b) => b.rec));
        counts.published += batch.length;
        counts.last_published_ms = Date.now();
        for (const b of batch) b.ok();
      } catch (e) {
        for (const b of batch) b.err(e);
      }
    }
    busy = false;
  };
  const publish = (rec) => new Promise((ok, err) => { queue.push({ rec, ok, err }); pump(); });

  // The record(s) one input message becomes on the output.
  const lanesHigh = new Map();
  const outRecord = (msg, info) => {
    const key = msg.key || (info.lane ? Buffer.from(info.lane) : null);
    if (o.transform === 'pass') {
      let contentType = msg.contentType;
      let headers = msg.headers;
      let body = msg.body;
      if (!out.hasHeaders && info.attrs) { // binary in, no headers out: the structured form
        body = Buffer.from(JSON.stringify({ ...info.attrs, datacontenttype: contentType || info.attrs.datacontenttype,
                                            data: JSON.parse(msg.body.toString('utf8')) }));
      }
      if (!contentType && info.ev) contentType = 'application/cloudevents+json';
      if (out.hasHeaders && contentType) headers = Object.fromEntries(
        Object.entries(headers || {}).filter(([k]) => k.toLowerCase() !== 'content-type'));
      return { body, headers, contentType, key };
    }
    const { event, headers } = transformEvent(o, info, out.hasHeaders);
    return { ...encodeEvent(event, headers, o.outMode, out.prefix), key };
  };

  // Releases held messages: in arrival order (--keep-order) or each on its own.
  const held = [];
  let heldTimer = null;
  const releaseHead = () => {
    heldTimer = null;
    const now = Date.now();
    while (held.length && held[0].at <= now) held.shift().go();
    if (held.length) heldTimer = setTimeout(releaseHead, held[0].at - now);
  };
  let lastRelease = 0;
  const hold = (go) => {
    if (!o.delay) return go();
    const ms = o.delay[0] + Math.random() * (o.delay[1] - o.delay[0]);
    counts.held++;
    const done = () => { counts.held--; return go(); };
    return new Promise((ok, err) => {
      const run = () => done().then(ok, err);
      if (!o.keepOrder) return void setTimeout(run, ms);
      lastRelease = Math.max(lastRelease, Date.now() + ms);
      held.push({ at: lastRelease, go: run });
      if (!heldTimer) heldTimer = setTimeout(releaseHead, Math.max(0, held[0].at - Date.now()));
    });
  };

  let kept = 0;
  const log = (what, id) => { if (!o.quiet) console.error(`relay: ${what} ${id}`); };
  const onMessage = (msg) => {
    counts.received++;
    if (counts.first_received_ms === null) counts.first_received_ms = Date.now();
    const info = inspect(msg);
    if (!info.id) counts.foreign++;
    const i = counts.received;
    if (counts.dropped < o.drop && i % o.dropEvery === 0) {
      counts.dropped++;
      counts.dropped_ids.push(info.id);
      log('dropped', info.id);
      return Promise.resolve();
    }
    if (counts.rejected < o.reject && i % o.rejectEvery === 0) {
      counts.rejected++;
      counts.rejected_ids.push(info.id);
      log('rejected', info.id);
      return Promise.resolve(REJECT);
    }
    kept++;
    const twice = counts.duplicated < o.dup && kept % o.dupEvery === 0;
    if (twice) {
      counts.duplicated++;
      counts.duplicated_ids.push(info.id);
      log('duplicated', info.id);
    }
    return hold(() => {
      let rec;
      try {
        rec = outRecord(msg, info);
      } catch (e) {
        return Promise.reject(new Error(`cannot build the output for ${info.id}: ${e.message}`));
      }
      if (info.lane) { // the order the output sees each lane in
        const hi = lanesHigh.get(info.lane) || 0;
        if (info.seq < hi) counts.reordered++;
        else lanesHigh.set(info.lane, info.seq);
      }
      counts.forwarded++;
      const sent = [publish(rec)];
      if (twice) sent.push(publish(rec));
      return Promise.all(sent);
    });
  };

  const snapshot = () => {
    const s = { ...counts };
    const span = (s.last_published_ms - s.first_received_ms) / 1000;
    s.forward_rate = s.first_received_ms && span > 0 ? s.forwarded / span : null;
    return JSON.stringify(s);
  };
  const writeCounts = () => {
    const line = snapshot();
    if (o.counts) fs.writeFileSync(o.counts, line + '\n');
    return line;
  };

  let input = null;
  let starting = null; // input.start() under way
  async function finish(code) {
    if (finishing) return;
    finishing = true;
    // Stop consuming (what arrives meanwhile is relayed as usual), then wait
    // for what is held or queued.
    const bounded = (p) => Promise.race([p, new Promise((r) => setTimeout(r, 5000))]);
    if (starting) await bounded(starting.catch(() => {}));
    if (input) await bounded(input.stop());
    const until = Date.now() + 10000;
    while ((counts.held > 0 || queue.length || busy) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    process.stdout.write(writeCounts() + '\n');
    if (input) await bounded(input.close());
    await bounded(out.close());
    process.exit(code);
  }
  process.on('SIGTERM', () => finish(0));
  process.on('SIGINT', () => finish(0));
  process.on('SIGUSR1', () => process.stdout.write(writeCounts() + '\n'));

  input = await ins[from.scheme](from, o, onMessage, fail);
  if (o.startOnSignal) {
    // Set up (an AMQP input's queue is bound, so what is published now
    // waits there), but consume only on SIGUSR2: a backlog to measure the
    // relay's own rate on (scripts/bench-pipeline).
    const go = new Promise((r) => process.once('SIGUSR2', r));
    process.stdout.write(JSON.stringify({ ready: true, held: true, pid: process.pid }) + '\n');
    await go;
    if (finishing) return;
  }
  starting = input.start();
  await starting;
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, from: from.scheme, to: to.scheme,
                                        transform: o.transform }) + '\n');
}

main().catch((e) => {
  console.error(`relay: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
