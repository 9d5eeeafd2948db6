// What the test relays (sse_relay.js, ws_relay.js) share: the architecture
// of the seeds, a service that subscribes to a Redis Pub/Sub channel and
// pushes every message to the browsers connected to it. evload publishes
// into the channel (redis://…?channel=C) and verifies what each of the
// relay's subscribers receives.
//
// The relay keeps its own account per subscriber (identified by a request
// header, --sub-header, default x-evload-subscriber), which the tests compare
// with evload's: events sent, dropped on purpose (--drop), and, for every
// reconnection that says where the subscriber left off (SSE Last-Event-ID,
// the WebSocket subscribe message's "since"), how many events the relay
// relayed while that subscriber was away (missed_away: the events after the
// one it had, up to its return) and how many of them it replayed (--resume).
//
// Ids: every message from Redis gets the next relay sequence number (1, 2,
// …); the last --ring messages are kept for replays, with a map from the
// CloudEvent's own id (the "id" member of the JSON) to that number.
'use strict';
const Redis = require('ioredis');

// --name value and --flag arguments into an object over `defaults`.
function parseArgs(argv, defaults) {
  const o = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const k = a.slice(2).replace(/-/g, '_');
    if (!(k in defaults)) throw new Error(`unknown option ${a}`);
    if (typeof defaults[k] === 'boolean') o[k] = true;
    else if (typeof defaults[k] === 'number') o[k] = Number(argv[++i]);
    else if (Array.isArray(defaults[k])) o[k] = [...o[k], argv[++i]];
    else o[k] = argv[++i];
  }
  return o;
}

const COMMON = {
  port: 0, redis_host: '127.0.0.1', redis_port: 6379, channel: 'evload',
  sub_header: 'x-evload-subscriber', token: '', resume: false, replay_extra: 0,
  ring: 200000, drop: [], stats: '',
};

// "SUB:AFTER:N": to subscriber SUB, skip N events after the first AFTER.
function parseDrops(list) {
  return list.map((s) => {
    const [sub, after, n] = s.split(':');
    return { sub, after: Number(after), n: Number(n) };
  });
}

function ceId(msg) {
  const m = /"id":"([^"]*)"/.exec(msg.length > 512 ? msg.slice(0, 512) : msg);
  return m ? m[1] : null;
}

class Relay {
  constructor(opts) {
    this.o = opts;
    this.seq = 0; // the last relayed message's number
    this.ring = []; // {id, ce, msg}, oldest first
    this.byCe = new Map(); // CloudEvent id -> relay number
    this.clients = new Set(); // connected and registered clients
    this.subs = new Map(); // subscriber -> stats
    this.drops = parseDrops(opts.drop);
    this.anon = 0;
  }

  async start() {
    this.redis = new Redis({ host: this.o.redis_host, port: this.o.redis_port, lazyConnect: true,
                             maxRetriesPerRequest: 1 });
    await this.redis.connect();
    this.redis.on('message', (ch, msg) => this.onMessage(msg));
    await this.redis.subscribe(this.o.channel);
  }

  stat(sub) {
    let s = this.subs.get(sub);
    if (!s) {
      s = { connections: 0, sent: 0, dropped: 0, missed_away: 0, replayed: 0, replayed_dups: 0,
            closed: 0, resumes: 0 };
      this.subs.set(sub, s);
    }
    return s;
  }

  subscriberOf(headers) {
    const v = headers[this.o.sub_header];
    return v !== undefined ? String(v) : `anon-${++this.anon}`;
  }

  authorized(headers) {
    return !this.o.token || headers.authorization === `Bearer ${this.o.token}`;
  }

  onMessage(msg) {
    const id = ++this.seq;
    const ce = ceId(msg);
    this.ring.push({ id, ce, msg });
    if (ce) this.byCe.set(ce, id);
    if (this.ring.length > this.o.ring) {
      const old = this.ring.shift();
      if (old.ce && this.byCe.get(old.ce) === old.id) this.byCe.delete(old.ce);
    }
    for (const c of this.clients) this.deliver(c, id, msg);
  }

  // Sends one message to client c, unless a --drop rule skips it.
  deliver(c, id, msg) {
    const st = this.stat(c.sub);
    c.count++;
    for (const d of this.drops)
      if (d.sub === c.sub && c.count > d.after && c.count <= d.after + d.n) {
        st.dropped++;
        return;
      }
    st.sent++;
    c.send(id, msg);
  }

  // A client whose connection is up: where it left off (the relay number of
  // the last event it had, or null), replays if asked, then live events.
  // Synchronous: nothing relayed in between is missed or sent twice.
  register(c, lastSeq) {
    const st = this.stat(c.sub);
    st.connections++;
    if (lastSeq !== null && lastSeq !== undefined && lastSeq < this.seq) {
      st.resumes++;
      st.missed_away += this.seq - lastSeq;
      if (this.o.resume) {
        const from = lastSeq - this.o.replay_extra;
        for (const e of this.ring)
          if (e.id > from) {
            if (e.id <= lastSeq) st.replayed_dups++;
            else st.replayed++;
            st.sent++;
            c.send(e.id, e.msg);
          }
      }
    }
    this.clients.add(c);
  }

  unregister(c) {
    if (this.clients.delete(c)) this.stat(c.sub).closed++;
  }

  statsJson() {
    const subs = {};
    for (const [k, v] of this.subs) subs[k] = v;
    return JSON.stringify({ relayed: this.seq, connected: this.clients.size, subscribers: subs });
  }

  async stop() {
    try { await this.redis.quit(); } catch (e) { /* closing anyway */ }
  }
}

// Serves GET /stats on an http.Server (the relay's own port) and writes the
// stats to --stats FILE on SIGTERM/SIGINT before exiting.
function serveStats(relay, server, onExit) {
  const fs = require('fs');
  const finish = async () => {
    if (relay.o.stats) fs.writeFileSync(relay.o.stats, relay.statsJson());
    if (onExit) onExit();
    await relay.stop();
    process.exit(0);
  };
  process.on('SIGTERM', finish);
  process.on('SIGINT', finish);
  return (req, res) => {
    if (req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(relay.statsJson());
      return true;
    }
    return false;
  };
}

module.exports = { parseArgs, COMMON, Relay, serveStats, ceId };
