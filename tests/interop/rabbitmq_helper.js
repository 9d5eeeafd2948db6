// rabbitmq_helper.js — a real third-party AMQP 0-9-1 client (npm amqplib, with
// the cloudevents SDK) for evload's RabbitMQ tests and benchmark. One
// subcommand per run; prints one JSON line on stdout; exits non-zero on error.
// Every wait is bounded.
//
//   bind    URL EXCHANGE TYPE QUEUE KEY        declare a durable exchange + queue, bind
//   take    URL QUEUE N TIMEOUT_S              basic.get + ack exactly N messages
//   read    URL QUEUE EXPECT RUN_ID TIMEOUT_S  consume, validate each as a CloudEvent
//   delete  URL QUEUE [EXCHANGE]               delete what a test created
//   variants URL SRC DST N TIMEOUT_S           re-encode N binary-mode events from SRC
//                                              into DST in 5 other encodings (below)
//   fill    URL QUEUE N SIZE                   publish N persistent messages (confirms)
//   bench-pub URL QUEUE N SIZE WINDOW          confirm-channel publish rate
//   bench-consume URL QUEUE N PREFETCH         consume + ack rate
'use strict';
const amqp = require('amqplib');
const { CloudEvent } = require('cloudevents');

const [cmd, url, ...args] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e9;

// A structured CloudEvent of about `size` bytes of data, as evload sends.
function payload(i, size) {
  const ev = {
    specversion: '1.0', id: `bench-0-0-${i}`, source: '/evload/bench', type: 'dev.evload.bench',
    time: new Date().toISOString(), datacontenttype: 'application/json',
    data: { seq: i, pad: 'x'.repeat(Math.max(0, size - 20)) },
  };
  return Buffer.from(JSON.stringify(ev));
}

// Builds and validates (strict) a CloudEvent from one AMQP message, in either
// mode. Returns [event, mode].
function toCloudEvent(msg) {
  const ct = msg.properties.contentType || '';
  if (/^application\/cloudevents/i.test(ct)) {
    return [new CloudEvent(JSON.parse(msg.content.toString('utf8'))), 'structured'];
  }
  const attrs = {};
  for (const [k, v] of Object.entries(msg.properties.headers || {})) {
    const m = /^(cloudEvents[_:]|ce[-_])(.+)$/i.exec(k);
    if (m) attrs[m[2].toLowerCase()] = typeof v === 'string' ? v : String(v);
  }
  if (!attrs.specversion) throw new Error(`neither structured nor binary (content type "${ct}")`);
  attrs.datacontenttype = ct || attrs.datacontenttype;
  const body = msg.content.toString('utf8');
  attrs.data = /json/i.test(attrs.datacontenttype || '') ? JSON.parse(body) : body;
  return [new CloudEvent(attrs), 'binary'];
}

async function main() {
  const conn = await amqp.connect(url, { timeout: 5000 });
  conn.on('error', () => {});
  try {
    switch (cmd) {
      case 'bind': {
        const [ex, type, q, key] = args;
        const ch = await conn.createChannel();
        await ch.assertExchange(ex, type, { durable: true });
        await ch.assertQueue(q, { durable: true });
        await ch.bindQueue(q, ex, key);
        out({ bound: q });
        break;
      }
      case 'take': {
        const [q, nstr, tstr] = args;
        const n = Number(nstr), until = now() + Number(tstr);
        const ch = await conn.createChannel();
        let taken = 0;
        const ids = [];
        while (taken < n) {
          if (now() > until) throw new Error(`took only ${taken} of ${n} messages from ${q}`);
          const m = await ch.get(q, { noAck: false });
          if (!m) { await sleep(20); continue; }
          ch.ack(m);
          taken++;
          ids.push(m.properties.messageId || '');
        }
        await ch.close();
        out({ taken, ids });
        break;
      }
      case 'read': {
        // A consumer (basic.get round trips would take ~40 ms each here).
        const [q, estr, run, tstr] = args;
        const expect = Number(estr);
        const ch = await conn.createChannel();
        await ch.prefetch(200);
        const seen = new Set();
        const r = { read: 0, valid: 0, invalid: 0, structured: 0, binary: 0, other_run: 0,
                    duplicates: 0, errors: [] };
        let enough = null;
        const reached = new Promise((res) => { enough = res; });
        const { consumerTag } = await ch.consume(q, (m) => {
          r.read++;
          try {
            const [ev, mode] = toCloudEvent(m);
            r[mode]++;
            if (ev.evloadrun !== run) r.other_run++;
            if (seen.has(ev.id)) r.duplicates++;
            seen.add(ev.id);
            if (!ev.evloadseq || !ev.evloadlane || !ev.evloadcrc) throw new Error('evload attributes missing');
            r.valid++;
          } catch (e) {
            r.invalid++;
            if (r.errors.length < 5) r.errors.push(String(e && e.message || e));
          }
          ch.ack(m);
          if (r.read >= expect) enough();
        }, { noAck: false });
        await Promise.race([reached, sleep(Number(tstr) * 1000)]);
        // Anything beyond what was expected is counted too.
        await sleep(300);
        await ch.cancel(consumerTag);
        await ch.close();
        out(r);
        break;
      }
      case 'variants': {
        // Takes evload's binary-mode events and re-publishes each into DST in
        // one of the encodings other producers use, data bytes untouched:
        //   0 structured, content type with a charset parameter
        //   1 binary, `cloudEvents:` prefix (AMQP binding v1.0.2)
        //   2 binary, `ce-` prefix (Knative's RabbitMQ binding draft)
        //   3 binary, `ce_` prefix, evloadseq as a native AMQP integer
        //   4 sdk-java Spring AMQP: `cloudEvents_` headers including
        //     cloudEvents_datacontenttype, no content_type property
        const [src, dst, nstr, tstr] = args;
        const n = Number(nstr), until = now() + Number(tstr);
        const ch = await conn.createConfirmChannel();
        await ch.assertQueue(dst, { durable: true });
        const counts = [0, 0, 0, 0, 0];
        let i = 0;
        while (i < n) {
          if (now() > until) throw new Error(`only ${i} of ${n} events in ${src}`);
          const m = await ch.get(src, { noAck: false });
          if (!m) { await sleep(20); continue; }
          const attrs = {};
          for (const [k, v] of Object.entries(m.properties.headers || {}))
            if (k.startsWith('cloudEvents_')) attrs[k.slice(12)] = String(v);
          const ct = m.properties.contentType;
          const v = i % 5;
          const opts = { persistent: true, messageId: attrs.id };
          let body = m.content;
          const prefixed = (pre) => Object.fromEntries(Object.entries(attrs).map(([k, x]) => [pre + k, x]));
          if (v === 0) {
            const head = JSON.stringify({ ...attrs, datacontenttype: ct });
            body = Buffer.concat([Buffer.from(head.slice(0, -1) + ',"data":'), m.content, Buffer.from('}')]);
            opts.contentType = 'application/cloudevents+json; charset=UTF-8';
          } else if (v === 1) {
            opts.headers = prefixed('cloudEvents:'); opts.contentType = ct;
          } else if (v === 2) {
            opts.headers = prefixed('ce-'); opts.contentType = ct;
          } else if (v === 3) {
            opts.headers = prefixed('ce_'); opts.contentType = ct;
            opts.headers.ce_evloadseq = { '!': 'long', value: Number(attrs.evloadseq) };
          } else {
            opts.headers = { ...prefixed('cloudEvents_'), cloudEvents_datacontenttype: ct };
          }
          ch.sendToQueue(dst, body, opts);
          ch.ack(m);
          counts[v]++;
          i++;
        }
        await ch.waitForConfirms();
        out({ republished: i, per_variant: counts });
        break;
      }
      case 'delete': {
        const [q, ex] = args;
        const ch = await conn.createChannel();
        await ch.deleteQueue(q);
        if (ex) await ch.deleteExchange(ex);
        await ch.close();
        out({ deleted: q });
        break;
      }
      case 'fill': {
        const [q, nstr, sstr] = args;
        const n = Number(nstr), size = Number(sstr);
        const ch = await conn.createConfirmChannel();
        await ch.assertQueue(q, { durable: true });
        for (let i = 1; i <= n; i++) {
          if (!ch.sendToQueue(q, payload(i, size), { persistent: true, contentType: 'application/cloudevents+json' }))
            await new Promise((r) => ch.once('drain', r));
          if (i % 1000 === 0) await ch.waitForConfirms();
        }
        await ch.waitForConfirms();
        out({ filled: n });
        break;
      }
      case 'bench-pub': {
        // Publisher confirms with a bounded in-flight window, like evload's.
        const [q, nstr, sstr, wstr] = args;
        const n = Number(nstr), size = Number(sstr), window = Number(wstr);
        const ch = await conn.createConfirmChannel();
        await ch.assertQueue(q, { durable: true });
        let inflight = 0, acked = 0, failed = 0, wake = null;
        const t0 = now();
        for (let i = 1; i <= n; i++) {
          while (inflight >= window) await new Promise((r) => { wake = r; });
          inflight++;
          ch.sendToQueue(q, payload(i, size), { persistent: true, contentType: 'application/cloudevents+json' },
            (err) => { inflight--; if (err) failed++; else acked++; if (wake) { const w = wake; wake = null; w(); } });
        }
        await ch.waitForConfirms();
        const s = now() - t0;
        out({ published: n, acked, failed, seconds: s, rate: n / s });
        break;
      }
      case 'bench-consume': {
        const [q, nstr, pstr] = args;
        const n = Number(nstr);
        const ch = await conn.createChannel();
        await ch.prefetch(Number(pstr));
        let got = 0, t0 = 0;
        const done = new Promise((resolve) => {
          ch.consume(q, (m) => {
            if (!t0) t0 = now();
            got++;
            ch.ack(m);
            if (got >= n) resolve();
          }, { noAck: false });
        });
        await Promise.race([done, sleep(120000)]);
        const s = now() - t0;
        out({ consumed: got, seconds: s, rate: got / s });
        break;
      }
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  } finally {
    await conn.close().catch(() => {});
  }
}

main().then(() => process.exit(0)).catch((e) => { console.error(`rabbitmq_helper ${cmd}: ${e && e.stack || e}`); process.exit(1); });
