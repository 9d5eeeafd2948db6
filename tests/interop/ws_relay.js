// A WebSocket relay written with the npm `ws` server, as market-data and
// notification services are: it subscribes to a Redis channel and sends
// every message to every subscribed client. Used by tests/interop/ws_*.sh
// and scripts/bench-edge (relay_lib.js has the shared accounting).
//
//   node ws_relay.js [--port 0] [--channel evload] [--redis-port 6379]
//        [--path /stream] [--token T] [--sub-header x-evload-subscriber]
//        [--protocol cloudevents.json] [--subscribe] [--ack] [--binary]
//        [--resume] [--replay-extra K] [--drop SUB:AFTER:N]...
//        [--close SUB:AFTER:CODE]... [--stats FILE]
//
// Prints "ready PORT" once listening and subscribed. Wire format: every
// CloudEvent, structured JSON as published, is one message: a text frame,
// or a binary frame with --binary. The subprotocol: the server picks
// --protocol (default cloudevents.json, "" none) when the client offers it.
// --subscribe: a client gets nothing until it sends a text message
//   {"type":"subscribe"[,"since":"<CloudEvent id>"]}; with --ack the relay
//   answers {"type":"subscribed"}. "since" says where a client left off:
//   the relay counts what it relayed after that event (missed_away) and,
//   with --resume, sends it again first (with --replay-extra K, K events
//   before it as well: duplicates).
// --close SUB:AFTER:CODE closes subscriber SUB's connection with CODE once
//   it has sent it AFTER events on that connection (once per rule).
// --token T refuses (401) a handshake without "Authorization: Bearer T".
// GET /stats, and --stats FILE on SIGTERM, give the relay's own account.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');
const { parseArgs, COMMON, Relay, serveStats } = require('./relay_lib');

const o = parseArgs(process.argv.slice(2), {
  ...COMMON, path: '/stream', protocol: 'cloudevents.json', subscribe: false, ack: false,
  binary: false, close: [],
});
const relay = new Relay(o);
const closes = o.close.map((s) => {
  const [sub, after, code] = s.split(':');
  return { sub, after: Number(after), code: Number(code), done: false };
});

const stats = serveStats(relay, null);
const server = http.createServer((req, res) => {
  if (!stats(req, res)) res.writeHead(404).end();
});
const wss = new WebSocketServer({
  noServer: true,
  handleProtocols: (protocols) => (o.protocol && protocols.has(o.protocol) ? o.protocol : false),
});

server.on('upgrade', (req, socket, head) => {
  const path = req.url.split('?')[0];
  if (path !== o.path) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  if (!relay.authorized(req.headers)) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

wss.on('connection', (ws, req) => {
  ws._socket.setNoDelay(true);
  const sub = relay.subscriberOf(req.headers);
  let sentHere = 0;
  const c = {
    sub, count: 0,
    send: (id, msg) => {
      ws.send(msg, { binary: o.binary });
      sentHere++;
      for (const r of closes)
        if (!r.done && r.sub === sub && sentHere === r.after) {
          r.done = true;
          relay.unregister(c); // nothing more goes to this connection
          ws.close(r.code, 'relay test close');
        }
    },
  };
  ws.on('close', () => relay.unregister(c));
  ws.on('error', () => relay.unregister(c));
  if (!o.subscribe) {
    relay.register(c, null);
    return;
  }
  let subscribed = false;
  ws.on('message', (data, isBinary) => {
    if (subscribed || isBinary) return;
    let m;
    try { m = JSON.parse(data.toString()); } catch (e) { return; }
    if (!m || m.type !== 'subscribe') return;
    subscribed = true;
    const since = m.since ? relay.byCe.get(m.since) : undefined;
    if (o.ack) ws.send(JSON.stringify({ type: 'subscribed' }));
    relay.register(c, since === undefined ? null : since);
  });
});

relay.start().then(() => {
  server.listen(o.port, '127.0.0.1', 4096, () => console.log(`ready ${server.address().port}`));
}).catch((e) => {
  console.error(`ws_relay: ${e.message}`);
  process.exit(1);
});
