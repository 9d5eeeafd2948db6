// A Server-Sent Events relay written with plain node:http, as services
// that push to browsers are: it subscribes to a Redis channel and streams
// every message to every connected client. Used by tests/interop/sse_*.sh
// and scripts/bench-edge (relay_lib.js has the shared accounting).
//
//   node sse_relay.js [--port 0] [--channel evload] [--redis-port 6379]
//        [--path /events] [--token T] [--sub-header x-evload-subscriber]
//        [--resume] [--replay-extra K] [--drop SUB:AFTER:N]... [--retry MS]
//        [--comment-every MS] [--multiline] [--event NAME] [--stats FILE]
//
// Prints "ready PORT" once listening and subscribed. The wire format, which
// docs/sse.md describes for users' own services:
//     id: <relay number>\n
//     [event: NAME\n]
//     data: <the CloudEvent, structured JSON, as published>\n
//     \n
// --multiline splits the JSON over several data: lines (before its "data"
// member, at every ,"), which a client joins with \n: still the same event.
// --token T answers 401 to a request without "Authorization: Bearer T".
// --resume honours Last-Event-ID: replays what was relayed after it (and,
// with --replay-extra K, K events before it as well: duplicates).
// --retry MS sends "retry: MS" first; --comment-every sends ": keep-alive".
// GET /stats, and --stats FILE on SIGTERM, give the relay's own account.
'use strict';
const http = require('http');
const { parseArgs, COMMON, Relay, serveStats } = require('./relay_lib');

const o = parseArgs(process.argv.slice(2), {
  ...COMMON, path: '/events', retry: -1, comment_every: 0, multiline: false, event: '',
});
const relay = new Relay(o);

function frame(id, msg) {
  let text = msg;
  if (o.multiline) {
    const d = msg.indexOf('"data":');
    const head = d > 0 ? msg.slice(0, d) : msg;
    text = head.replace(/,"/g, ',\n"') + (d > 0 ? msg.slice(d) : '');
  }
  const data = text.split('\n').map((l) => `data: ${l}\n`).join('');
  return `id: ${id}\n${o.event ? `event: ${o.event}\n` : ''}${data}\n`;
}

const stats = serveStats(relay, null);
const server = http.createServer((req, res) => {
  if (stats(req, res)) return;
  const path = req.url.split('?')[0];
  if (req.method !== 'GET' || path !== o.path) {
    res.writeHead(404).end();
    return;
  }
  if (!relay.authorized(req.headers)) {
    res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    return;
  }
  const sub = relay.subscriberOf(req.headers);
  const h = req.headers['last-event-id'];
  const last = h !== undefined && /^\d+$/.test(h) ? Number(h) : null;
  res.socket.setNoDelay(true);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache',
                       connection: 'keep-alive' });
  if (o.retry >= 0) res.write(`retry: ${o.retry}\n\n`);
  const c = { sub, count: 0, send: (id, msg) => res.write(frame(id, msg)),
              comment: () => res.write(': keep-alive\n\n') };
  relay.register(c, last); // before the headers go out: from then on it gets everything
  res.flushHeaders();
  res.on('close', () => relay.unregister(c));
});
server.keepAliveTimeout = 0;
server.requestTimeout = 0;

if (o.comment_every > 0)
  setInterval(() => { for (const c of relay.clients) c.comment(); }, o.comment_every).unref();

relay.start().then(() => {
  server.listen(o.port, '127.0.0.1', 4096, () => {
    console.log(`ready ${server.address().port}`);
  });
}).catch((e) => {
  console.error(`sse_relay: ${e.message}`);
  process.exit(1);
});
