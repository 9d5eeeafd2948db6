// http_helper.js — third-party CloudEvents HTTP parties for evload's HTTP
// tests, built on node:http and the npm cloudevents 10.0.0 SDK. Each runs
// until SIGTERM (or its time limit), then writes its counts as one JSON
// object to OUT and exits 0.
//
//   receiver PORT FORWARD_URL N429 M400 OUT LIMIT_S
//       A CloudEvents receiver: every request is parsed and validated by
//       HTTP.toEvent; it answers 429 (Retry-After: 1) to exactly N429
//       requests and 400 to exactly M400 others (chosen by arrival order:
//       arrivals 3, 10, 17… and 6, 28, 39… while each quota lasts), 202 to
//       the rest, which it first forwards unchanged to FORWARD_URL (evload's
//       sink, so evload verifies what it accepted).
//   relay PORT SINK_URL honour|ignore OUT LIMIT_S
//       A relay like a broker's ingress: answers 202 at once, then emits the
//       event to SINK_URL with the SDK's emitter (binary mode) over its own
//       transport function, retrying non-2xx answers and errors up to 10
//       times with exponential backoff (50 ms doubling); `honour` waits at
//       least the Retry-After of a 429/503, `ignore` does not.
//   reject PORT STATUS OUT LIMIT_S
//       Answers every request with STATUS (e.g. 401).
//   h2sink PORT OUT LIMIT_S
//       A cleartext HTTP/2 server (prior knowledge, node:http2): reads each
//       request's body, then answers 202 (for the HTTP/2 benchmark).
//   auth PORT TOKEN OUT LIMIT_S
//       Answers 202 to requests with `Authorization: Bearer TOKEN`, else 401.
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const { HTTP, emitterFor, Mode } = require('cloudevents');

const [cmd, port, ...args] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let stats = {};
let outFile = null;
function finish() {
  if (outFile) fs.writeFileSync(outFile, JSON.stringify(stats) + '\n');
  process.exit(0);
}
process.on('SIGTERM', finish);
process.on('SIGINT', finish);

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// A POST of body with headers to url; resolves with {status, headers}.
function post(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent: keepAlive }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 512 });

function listen(server, limitS) {
  server.keepAliveTimeout = 30000;
  server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
  setTimeout(finish, Number(limitS) * 1000).unref();
}

function receiver(forward, n429, m400, out, limitS) {
  outFile = out;
  stats = { requests: 0, given429: 0, given400: 0, accepted: 0, duplicates: 0, invalid: 0,
            forward_failed: 0 };
  const seen = new Set();
  let arrivals = 0;
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const k = ++arrivals;
    stats.requests++;
    let ev;
    try {
      ev = HTTP.toEvent({ headers: req.headers, body });
      ev.validate();
    } catch (e) {
      stats.invalid++;
      res.writeHead(400).end();
      return;
    }
    if (k % 7 === 3 && stats.given429 < n429) {
      stats.given429++;
      res.writeHead(429, { 'Retry-After': '1' }).end();
      return;
    }
    if (k % 11 === 6 && stats.given400 < m400) {
      stats.given400++;
      res.writeHead(400).end();
      return;
    }
    if (seen.has(ev.id)) stats.duplicates++;
    else stats.accepted++;
    seen.add(ev.id);
    const fwd = {};
    for (const [h, v] of Object.entries(req.headers))
      if (h === 'content-type' || h.startsWith('ce-') || h === 'traceparent') fwd[h] = v;
    try {
      const r = await post(forward, fwd, body);
      if (r.status < 200 || r.status > 299) throw new Error(`sink answered ${r.status}`);
    } catch (e) {
      stats.forward_failed++;
      res.writeHead(502).end();
      return;
    }
    res.writeHead(202).end();
  });
  listen(server, limitS);
}

function relay(sink, policy, out, limitS) {
  outFile = out;
  stats = { received: 0, invalid: 0, delivered: 0, non2xx: 0, errors: 0, gave_up: 0,
            early_waits: 0 };
  // The SDK's emitter, over a transport function that reports the status.
  let last = null;
  const transport = async (message) => {
    last = await post(sink, message.headers, message.body);
    return last;
  };
  const emit = emitterFor(transport, { binding: HTTP, mode: Mode.BINARY });
  async function deliver(ev) {
    let backoff = 50;
    for (let attempt = 1; attempt <= 10; attempt++) {
      let wait = backoff;
      try {
        const r = await emit(ev);
        if (r.status >= 200 && r.status <= 299) {
          stats.delivered++;
          return;
        }
        stats.non2xx++;
        const ra = Number(r.headers['retry-after']);
        if (policy === 'honour' && (r.status === 429 || r.status === 503) && ra > 0)
          wait = Math.max(wait, ra * 1000);
        else if (ra > 0 && wait < ra * 1000) stats.early_waits++;
      } catch (e) {
        stats.errors++;
      }
      await sleep(wait);
      backoff = Math.min(backoff * 2, 2000);
    }
    stats.gave_up++;
  }
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    stats.received++;
    let ev;
    try {
      ev = HTTP.toEvent({ headers: req.headers, body });
      ev.validate();
    } catch (e) {
      stats.invalid++;
      res.writeHead(400).end();
      return;
    }
    res.writeHead(202).end();
    deliver(ev);
  });
  listen(server, limitS);
}

function reject(status, out, limitS) {
  outFile = out;
  stats = { requests: 0 };
  const server = http.createServer(async (req, res) => {
    await readBody(req);
    stats.requests++;
    res.writeHead(Number(status)).end();
  });
  listen(server, limitS);
}

function auth(token, out, limitS) {
  outFile = out;
  stats = { ok: 0, refused: 0 };
  const server = http.createServer(async (req, res) => {
    await readBody(req);
    const good = req.headers.authorization === `Bearer ${token}`;
    stats[good ? 'ok' : 'refused']++;
    res.writeHead(good ? 202 : 401).end();
  });
  listen(server, limitS);
}

function h2sink(out, limitS) {
  outFile = out;
  stats = { requests: 0 };
  const server = require('node:http2').createServer({
    settings: { maxConcurrentStreams: 1000 }, maxSessionInvalidFrames: 1e9,
    maxSessionRejectedStreams: 1e9 });
  server.on('sessionError', () => {});
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    stream.on('data', () => {});
    stream.on('end', () => {
      stats.requests++;
      stream.respond({ ':status': 202 });
      stream.end();
    });
  });
  listen(server, limitS);
}

if (cmd === 'auth') auth(...args);
else if (cmd === 'h2sink') h2sink(...args);
else if (cmd === 'receiver') receiver(args[0], Number(args[1]), Number(args[2]), args[3], args[4]);
else if (cmd === 'relay') relay(...args);
else if (cmd === 'reject') reject(...args);
else {
  process.stderr.write('usage: http_helper.js receiver|relay|reject PORT ...\n');
  process.exit(2);
}
