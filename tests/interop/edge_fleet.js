// A fleet of Node subscribers doing what evload's sse/ws sources do, for
// scripts/bench-edge's comparison: N clients in one process, each parsing
// every event (JSON.parse) and checking its lane's seq for gaps and repeats.
//
//   node edge_fleet.js sse URL N       EventSource clients (npm eventsource)
//   node edge_fleet.js ws  URL N       WebSocket clients (npm ws)
//
// Prints "ready" once all N are connected (subscriber i sends
// x-evload-subscriber: i), then counts; on SIGTERM prints one JSON line:
// {"clients":N,"received":…,"gaps":…,"repeats":…,"min":…,"max":…,
//  "cpu_s":…,"cpu_s_ready":…} (cpu_s_ready: CPU spent connecting, already
// included in cpu_s) and exits.
'use strict';
const WebSocket = require('ws');

const [kind, url, nArg] = process.argv.slice(2);
const n = Number(nArg);
if (!['sse', 'ws'].includes(kind) || !url || !(n > 0)) {
  console.error('usage: edge_fleet.js sse|ws URL N');
  process.exit(2);
}

const counts = new Array(n).fill(0);
const last = Array.from({ length: n }, () => new Map()); // lane -> highest seq
let received = 0, gaps = 0, repeats = 0, connected = 0, readyCpu = null;

function onEvent(i, text) {
  const ev = JSON.parse(text);
  received++;
  counts[i]++;
  const lane = ev.evloadlane, seq = Number(ev.evloadseq);
  const prev = last[i].get(lane) || 0;
  if (seq <= prev) repeats++;
  else {
    if (seq > prev + 1) gaps += seq - prev - 1;
    last[i].set(lane, seq);
  }
}

function up() {
  if (++connected === n) {
    const u = process.cpuUsage();
    readyCpu = (u.user + u.system) / 1e6;
    console.log('ready');
  }
}

async function main() {
  if (kind === 'sse') {
    const { EventSource } = await import('eventsource');
    for (let i = 0; i < n; i++) {
      const es = new EventSource(url, {
        fetch: (u, init) => fetch(u, { ...init,
          headers: { ...init.headers, 'x-evload-subscriber': String(i) } }),
      });
      es.onopen = up;
      es.onmessage = (m) => onEvent(i, m.data);
      es.onerror = () => {};
    }
  } else {
    for (let i = 0; i < n; i++) {
      const ws = new WebSocket(url, ['cloudevents.json'],
                               { headers: { 'x-evload-subscriber': String(i) } });
      ws.on('open', up);
      ws.on('message', (data) => onEvent(i, data.toString()));
      ws.on('error', () => {});
    }
  }
}

process.on('SIGTERM', () => {
  const u = process.cpuUsage();
  console.log(JSON.stringify({
    clients: n, connected, received, gaps, repeats,
    min: Math.min(...counts), max: Math.max(...counts),
    cpu_s: (u.user + u.system) / 1e6, cpu_s_ready: readyCpu,
  }));
  process.exit(0);
});

main().catch((e) => {
  console.error(`edge_fleet: ${e.message}`);
  process.exit(1);
});
