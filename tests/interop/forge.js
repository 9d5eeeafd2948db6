// forge.js — injects forged messages into a Redis Pub/Sub channel while an
// evload run publishes into it (tests/integration/redis_pubsub_forged.sh).
// It subscribes with ioredis, waits until it has seen AFTER events of run
// RUN, takes the last one as a model and publishes four messages built from
// it, each on its own:
//   corrupt   RUN's id with seq 1000000 (id, evloadseq and data.seq agree),
//             the model's checksum kept: the data no longer matches it
//   otherrun  the model with another run's id (and a valid checksum)
//   beyond    RUN's id, seq 1000001, a valid checksum: a seq never sent
//   nolane    RUN's id on lane 99 (the run has fewer), a valid checksum
// then prints {"injected": 4, "ids": {...}} and exits 0 (1 on timeout).
//
//   node forge.js REDIS_URL CHANNEL RUN AFTER TIMEOUT_S
'use strict';
const Redis = require('ioredis');

const [url, channel, run, afterArg, timeoutArg] = process.argv.slice(2);
const after = Number(afterArg);
if (!url || !channel || !run || !(after > 0)) {
  console.error('usage: node forge.js REDIS_URL CHANNEL RUN AFTER TIMEOUT_S');
  process.exit(2);
}

// CRC-32C (Castagnoli, reflected 0x82F63B78), as evloadcrc (docs/design.md §2.3).
const TABLE = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  TABLE[i] = c >>> 0;
}
function crc32c(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

// A copy of model ev with identity (r, lane, seq): id, evloadrun, evloadlane,
// evloadseq and data.seq agree; the pad shrinks or grows so data keeps its
// size; evloadcrc recomputed unless keepCrc.
function forge(ev, r, lane, seq, keepCrc) {
  const e = JSON.parse(JSON.stringify(ev));
  const [inst] = String(ev.evloadlane).split('.');
  e.id = `${r}-${inst}-${lane}-${seq}`;
  e.evloadrun = r;
  e.evloadlane = `${inst}.${lane}`;
  e.evloadseq = String(seq);
  const grow = String(seq).length - String(ev.data.seq).length;
  e.data.seq = seq;
  e.data.pad = e.data.pad.slice(0, Math.max(0, e.data.pad.length - grow));
  if (!keepCrc) e.evloadcrc = crc32c(Buffer.from(JSON.stringify(e.data)));
  return e;
}

async function main() {
  const sub = new Redis(url);
  const pub = new Redis(url);
  let seen = 0;
  let done;
  const got = new Promise((r) => { done = r; });
  const timer = setTimeout(() => done(null), Number(timeoutArg || 60) * 1000);
  let model = null;
  sub.on('message', (ch, text) => {
    if (model) return; // our own forgeries come back too
    let ev;
    try { ev = JSON.parse(text); } catch (e) { return; }
    if (ev.evloadrun !== run) return;
    // The model's own checksum must be what we compute: else our forgeries
    // would not be what they claim to be.
    if (crc32c(Buffer.from(JSON.stringify(ev.data))) !== ev.evloadcrc) {
      console.error(`forge: cannot reproduce the checksum of ${ev.id}`);
      process.exit(1);
    }
    if (++seen === after) done((model = ev));
  });
  await sub.subscribe(channel);
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  await got;
  clearTimeout(timer);
  if (!model) {
    console.error(`forge: saw ${seen} of run ${run}'s events, waited for ${after}`);
    process.exit(1);
  }
  const lane = Number(String(model.evloadlane).split('.')[1]);
  const other = run === 'zzzzzzzzzzzz' ? 'yyyyyyyyyyyy' : 'zzzzzzzzzzzz';
  const msgs = {
    corrupt: forge(model, run, lane, 1000000, true),
    otherrun: forge(model, other, lane, Number(model.evloadseq), false),
    beyond: forge(model, run, lane, 1000001, false),
    nolane: forge(model, run, 99, Number(model.evloadseq), false),
  };
  const ids = {};
  for (const [k, e] of Object.entries(msgs)) {
    const n = await pub.publish(channel, JSON.stringify(e));
    if (n < 1) throw new Error(`nobody received the ${k} message`);
    ids[k] = e.id;
  }
  process.stdout.write(JSON.stringify({ injected: Object.keys(msgs).length, model: model.id, ids }) + '\n');
  sub.disconnect();
  pub.disconnect();
}
main().catch((e) => { console.error(`forge: ${e && e.stack ? e.stack : e}`); process.exit(1); });
