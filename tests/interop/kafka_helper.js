// Interop helper for tests/interop/kafka*.sh and scripts/bench-kafka: a real
// third-party Kafka client (kafkajs, pinned in package.json) with the
// CloudEvents SDK's Kafka binding.
//   node kafka_helper.js consume SERVERS TOPIC COUNT MODE [TIMEOUT_S]
//     reads COUNT messages from the start of TOPIC with a fresh group, turns
//     each into a CloudEvent with Kafka.toEvent (which validates it), checks
//     the binding mode (structured|binary), evload's extensions, that data's
//     seq equals evloadseq and that every id is distinct; prints a JSON
//     summary; exit 0 only when all COUNT parse as valid events.
//   node kafka_helper.js produce SERVERS TOPIC COUNT SIZE
//     produces COUNT structured CloudEvents of ~SIZE bytes of data (acks=all,
//     batches of 500) and prints {"count":N,"seconds":S,"rate":R} (the
//     kafkajs reference figure of scripts/bench-kafka).
'use strict';
const { Kafka, logLevel, CompressionTypes } = require('kafkajs');
const ce = require('cloudevents');

const [cmd, servers, topic, countArg, arg5, arg6] = process.argv.slice(2);
const count = Number(countArg);
if (!cmd || !servers || !topic || !(count > 0)) {
  console.error('usage: kafka_helper.js consume SERVERS TOPIC COUNT MODE [TIMEOUT_S] | produce SERVERS TOPIC COUNT SIZE');
  process.exit(2);
}
const kafka = new Kafka({ clientId: 'evload-interop', brokers: servers.split(','), logLevel: logLevel.ERROR,
                          retry: { retries: 10 } });

function headersToStrings(h) {
  const out = {};
  for (const [k, v] of Object.entries(h || {})) out[k] = v === undefined || v === null ? v : v.toString('utf8');
  return out;
}

async function consume(mode, timeoutS) {
  const consumer = kafka.consumer({ groupId: `evload-interop-${process.pid}-${Date.now()}`,
                                    sessionTimeout: 10000, heartbeatInterval: 1000 });
  const ids = new Set();
  const bad = [];
  let seen = 0;
  let done;
  const finished = new Promise((r) => { done = r; });
  const timer = setTimeout(() => done('timeout'), timeoutS * 1000);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen++;
      const headers = headersToStrings(message.headers);
      const msg = { key: message.key, value: message.value ? message.value.toString('utf8') : message.value,
                    headers, body: undefined };
      msg.body = msg.value;
      try {
        const ct = headers['content-type'] || '';
        if (mode === 'structured' && !ct.startsWith('application/cloudevents+json'))
          throw new Error(`structured mode needs content-type application/cloudevents+json, got "${ct}"`);
        if (mode === 'binary' && (!headers.ce_id || ct !== 'application/json' || headers.ce_datacontenttype))
          throw new Error(`binary mode needs ce_ headers and content-type application/json, got ${JSON.stringify(headers)}`);
        const ev = ce.Kafka.toEvent(msg);   // throws ValidationError on invalid events
        ev.validate();
        if (ev.specversion !== '1.0') throw new Error(`specversion ${ev.specversion}`);
        for (const x of ['evloadrun', 'evloadlane', 'evloadseq', 'evloadsched', 'evloadsent', 'evloadcrc'])
          if (typeof ev[x] !== 'string' || !ev[x]) throw new Error(`extension ${x} missing`);
        const data = typeof ev.data === 'string' ? JSON.parse(ev.data) : ev.data;
        if (!data || String(data.seq) !== ev.evloadseq) throw new Error(`data.seq ${data && data.seq} != evloadseq ${ev.evloadseq}`);
        if (!/^[0-9a-z]+-\d+-\d+-\d+$/.test(ev.id)) throw new Error(`id ${ev.id}`);
        if (ids.has(ev.id)) throw new Error(`duplicate id ${ev.id}`);
        ids.add(ev.id);
      } catch (e) {
        if (bad.length < 5) bad.push(String(e && e.message ? e.message : e));
      }
      if (seen >= count) done('count');
    },
  });
  const why = await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  const ok = why === 'count' && bad.length === 0 && ids.size === count;
  console.log(JSON.stringify({ ok, mode, expected: count, seen, valid: ids.size, errors: bad, ended: why }));
  process.exit(ok ? 0 : 1);
}

async function produce(size) {
  const producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false });
  await producer.connect();
  const pad = 'x'.repeat(Math.max(0, size - 40));
  const t0 = process.hrtime.bigint();
  const batch = 500;
  for (let i = 0; i < count; i += batch) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + batch); j++) {
      const ev = new ce.CloudEvent({ id: `kjs-${j}`, source: '/bench/kafkajs', type: 'dev.evload.bench',
                                     data: { seq: j, pad } });
      const m = ce.Kafka.structured(ev);
      messages.push({ key: String(j % 4), value: m.value, headers: m.headers });
    }
    await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await producer.disconnect();
  console.log(JSON.stringify({ count, seconds: s, rate: count / s }));
}

const main = cmd === 'consume' ? consume(arg5 || 'structured', Number(arg6 || 60))
           : cmd === 'produce' ? produce(Number(arg5 || 256)) : Promise.reject(new Error(`unknown command ${cmd}`));
main.catch((e) => { console.error(`kafka_helper: ${e && e.stack ? e.stack : e}`); process.exit(1); });
