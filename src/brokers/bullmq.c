/* bullmq — the shared half of the BullMQ module: target parsing, connections,
 * the Lua scripts, depth/sample, the keeper thread (lock renewal and stalled-job
 * check) and results. See bullmq.h for the design and docs/bullmq.md for users.
 *
 * The scripts are evload's own, written from BullMQ's Redis data contract
 * (v5/v6; checked against the npm bullmq 6.7.0 by tests/interop/bullmq*).
 * Lua numbers are doubles and redis.call formats them with %.14g, so scores
 * above 10^14 (ms × 4096) are formatted with string.format('%.0f') first. */
#include "brokers/bullmq.h"

#include "ev_backoff.h"
#include "ev_clock.h"
#include "ev_metrics.h"
#include "ev_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* ---- the scripts -------------------------------------------------------- */

/* add: KEYS wait paused meta id events marker active job
 *      ARGV id name data opts timestamp version maxLenEventsDefault
 * Returns 1 (added) or 2 (a job with this id exists: duplicate, not stored). */
static const char SCRIPT_ADD[] =
    "redis.call('INCR', KEYS[4])\n"
    "local maxEvents = redis.call('HGET', KEYS[3], 'opts.maxLenEvents')\n"
    "if not maxEvents then maxEvents = ARGV[7]\n"
    "  redis.call('HSET', KEYS[3], 'opts.maxLenEvents', maxEvents) end\n"
    "local id = ARGV[1]\n"
    "if redis.call('EXISTS', KEYS[8]) == 1 then\n"
    "  redis.call('XADD', KEYS[5], 'MAXLEN', '~', maxEvents, '*', 'event', 'duplicated', 'jobId', "
    "id)\n"
    "  return 2 end\n"
    "redis.call('HSET', KEYS[8], 'name', ARGV[2], 'data', ARGV[3], 'opts', ARGV[4],\n"
    "  'timestamp', ARGV[5], 'delay', 0, 'priority', 0)\n"
    "redis.call('XADD', KEYS[5], '*', 'event', 'added', 'jobId', id, 'name', ARGV[2])\n"
    "local meta = redis.call('HMGET', KEYS[3], 'paused', 'concurrency')\n"
    "local paused = meta[1] and true or false\n"
    "local maxed = false\n"
    "if meta[2] then maxed = redis.call('LLEN', KEYS[7]) >= tonumber(meta[2]) end\n"
    "if paused and ARGV[6] == '5' then redis.call('LPUSH', KEYS[2], id)\n"
    "else redis.call('LPUSH', KEYS[1], id) end\n"
    "if not paused and not maxed then redis.call('ZADD', KEYS[6], 0, '0') end\n"
    "redis.call('XADD', KEYS[5], 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', id)\n"
    "return 1\n";

/* work: finish one job and/or take the next, in one round trip (as a Node
 * worker's moveToFinished with fetch-next does).
 * KEYS wait active prioritized delayed meta events marker pc target
 * ARGV base now lockMs workerName nextToken finishJid finishToken targetName
 *      field value keepDefault maxLenEvents finishAtm finishOpts flags
 * finishJid "" = take only; nextToken "" = finish only. finishAtm/finishOpts
 * are what the take returned for the job being finished (it is locked, so
 * nobody else changed them): fewer Redis calls per job.
 * flags: 'm' re-arm the marker after a take, 'd' promote due delayed jobs
 * first. The caller sets 'm' on every take that does not chain on a finish
 * (it may follow a BZPOPMIN that consumed the marker, so siblings must be
 * woken as BullMQ's moveToActive does); a chained take consumed no marker, so
 * whoever holds or popped it still wakes the others, and the re-arm is
 * skipped unless meta concurrency is set (then a finish may end "maxed", and
 * its re-arm is what wakes blocked workers, as in BullMQ). 'd' is set on
 * every unchained take and at least every few ms on chained ones.
 * Returns {fin} or {fin, jobId, data, defa, ats, stc, timestamp, opts, atm+1}
 * where fin is 0 (finished, or nothing to finish), -2 lock missing, -6 lock
 * owned by another token, -3 not in active. Take honours meta paused and
 * concurrency.
 * The finish departs from moveToFinished in two ways that leave the same
 * state: it trims the events stream with MAXLEN ~ on its own completed/failed
 * XADD instead of a separate XTRIM first (an approximate trim never removes
 * the newest entry), and it does not SREM the stalled set: that set only
 * holds ids seen in active by the last stall check, and for a finished job
 * (lock deleted, not in active) the check's EXISTS lock / LREM active finds
 * nothing to requeue, exactly as if it had been removed; the check then
 * deletes the set. */
static const char SCRIPT_WORK[] =
    "local B = ARGV[1]\n"
    "local now = tonumber(ARGV[2])\n"
    "local fin = 0\n"
    "local fjid = ARGV[6]\n"
    "if fjid ~= '' then\n"
    "  local jk = B .. fjid\n"
    "  local cur = redis.call('GET', jk .. ':lock')\n"
    "  if not cur then fin = -2\n"
    "  elseif cur ~= ARGV[7] then fin = -6\n"
    "  else\n"
    "    redis.call('DEL', jk .. ':lock')\n"
    "    if redis.call('LREM', KEYS[2], -1, fjid) == 0 then fin = -3 end\n"
    "  end\n"
    "  if fin == 0 then\n"
    "    local atm = tonumber(ARGV[13])\n"
    "    local keep = tonumber(ARGV[11])\n"
    "    local attempts = 0\n"
    "    local ot = ARGV[14]\n"
    "    if ot ~= '' and ot ~= '{\"attempts\":0}' then\n"
    "      local ok, o = pcall(cjson.decode, ot)\n"
    "      if ok and type(o) == 'table' then\n"
    "        attempts = tonumber(o['attempts']) or 0\n"
    "        local r\n"
    "        if ARGV[8] == 'completed' then r = o['removeOnComplete'] else r = o['removeOnFail'] "
    "end\n"
    "        if r == true then keep = 0 elseif r == false then keep = -1\n"
    "        elseif type(r) == 'number' then keep = r\n"
    "        elseif type(r) == 'table' and tonumber(r['count']) then keep = tonumber(r['count']) "
    "end\n"
    "      end\n"
    "    end\n"
    "    if keep == 0 then\n"
    "      redis.call('DEL', jk, jk .. ':logs')\n"
    "    else\n"
    "      redis.call('ZADD', KEYS[9], ARGV[2], fjid)\n"
    "      redis.call('HSET', jk, ARGV[9], ARGV[10], 'finishedOn', ARGV[2], 'atm', atm)\n"
    "      if ARGV[8] == 'failed' then redis.call('HDEL', jk, 'defa') end\n"
    "      if keep > 0 then\n"
    "        local n = math.min(redis.call('ZCARD', KEYS[9]) - keep, 1000)\n"
    "        if n > 0 then\n"
    "          for _, o in ipairs(redis.call('ZRANGE', KEYS[9], 0, n - 1)) do\n"
    "            redis.call('DEL', B .. o, B .. o .. ':logs') end\n"
    "          redis.call('ZREMRANGEBYRANK', KEYS[9], 0, n - 1)\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[12], '*', 'event', ARGV[8],\n"
    "      'jobId', fjid, ARGV[9], ARGV[10], 'prev', 'active')\n"
    "    if ARGV[8] == 'failed' and atm >= attempts then\n"
    "      redis.call('XADD', KEYS[6], '*', 'event', 'retries-exhausted', 'jobId', fjid, "
    "'attemptsMade', atm)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local jid = nil\n"
    "local flags = ARGV[15]\n"
    "if ARGV[5] ~= '' then\n"
    "  if string.find(flags, 'd', 1, true) and redis.call('ZCARD', KEYS[4]) > 0 then\n"
    "    local due = redis.call('ZRANGEBYSCORE', KEYS[4], 0,\n"
    "      string.format('%.0f', (now + 1) * 4096 - 1), 'LIMIT', 0, 1000)\n"
    "    for _, d in ipairs(due) do\n"
    "      redis.call('ZREM', KEYS[4], d)\n"
    "      local prio = tonumber(redis.call('HGET', B .. d, 'priority')) or 0\n"
    "      if prio == 0 then redis.call('LPUSH', KEYS[1], d)\n"
    "      else local pc = redis.call('INCR', KEYS[8])\n"
    "        redis.call('ZADD', KEYS[3], string.format('%.0f', prio * 4294967296 + pc % "
    "4294967296), d) end\n"
    "      redis.call('HSET', B .. d, 'delay', 0)\n"
    "      redis.call('XADD', KEYS[6], '*', 'event', 'waiting', 'jobId', d, 'prev', 'delayed')\n"
    "    end\n"
    "  end\n"
    "  local meta = redis.call('HMGET', KEYS[5], 'paused', 'concurrency')\n"
    "  if not meta[1] and not (meta[2] and redis.call('LLEN', KEYS[2]) >= tonumber(meta[2])) then\n"
    "    jid = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])\n"
    "    while jid and string.sub(jid, 1, 2) == '0:' do\n"
    "      redis.call('LREM', KEYS[2], 1, jid)\n"
    "      jid = redis.call('RPOPLPUSH', KEYS[1], KEYS[2]) end\n"
    "    if not jid then\n"
    "      local p = redis.call('ZPOPMIN', KEYS[3])\n"
    "      if #p > 0 then jid = p[1]; redis.call('LPUSH', KEYS[2], jid)\n"
    "      else redis.call('DEL', KEYS[8]) end\n"
    "    end\n"
    "  end\n"
    "  if jid then\n"
    "    local jk = B .. jid\n"
    "    redis.call('SET', jk .. ':lock', ARGV[5], 'PX', ARGV[3])\n"
    "    redis.call('XADD', KEYS[6], '*', 'event', 'active', 'jobId', jid, 'prev', 'waiting')\n"
    "    local f = redis.call('HMGET', jk, 'data', 'defa', 'stc', 'timestamp', 'opts', 'ats', "
    "'atm')\n"
    "    local ats = (tonumber(f[6] or '0') or 0) + 1\n"
    "    redis.call('HSET', jk, 'processedOn', ARGV[2], 'pb', ARGV[4], 'ats', ats)\n"
    "    if meta[2] or string.find(flags, 'm', 1, true) then redis.call('ZADD', KEYS[7], 0, '0') "
    "end\n"
    "    return {fin, jid, f[1] or '', f[2] or '', ats, tonumber(f[3] or '0') or 0, f[4] or '0',\n"
    "            f[5] or '', (tonumber(f[7] or '0') or 0) + 1}\n"
    "  end\n"
    "end\n"
    "if fjid ~= '' and redis.call('LLEN', KEYS[1]) == 0 and redis.call('LLEN', KEYS[2]) == 0 and\n"
    "   redis.call('ZCARD', KEYS[3]) == 0 then\n"
    "  redis.call('XADD', KEYS[6], '*', 'event', 'drained') end\n"
    "return {fin}\n";

/* release: gives back a job taken but never processed (fetched ahead when the
 * run stopped): KEYS active wait events marker meta; ARGV base jobId token.
 * Returns 1 released, 0 not ours any more. */
static const char SCRIPT_RELEASE[] =
    "local jk = ARGV[1] .. ARGV[2]\n"
    "if redis.call('GET', jk .. ':lock') ~= ARGV[3] then return 0 end\n"
    "redis.call('DEL', jk .. ':lock')\n"
    "if redis.call('LREM', KEYS[1], -1, ARGV[2]) == 0 then return 0 end\n"
    "redis.call('HINCRBY', jk, 'ats', -1)\n"
    "redis.call('RPUSH', KEYS[2], ARGV[2])\n"
    "if not redis.call('HGET', KEYS[5], 'paused') then redis.call('ZADD', KEYS[4], 0, '0') end\n"
    "redis.call('XADD', KEYS[3], '*', 'event', 'waiting', 'jobId', ARGV[2], 'prev', 'active')\n"
    "return 1\n";

/* renew: KEYS stalled; ARGV base lockMs (jobId token)...
 * Returns {renewed, i, j, ...}: the 1-based pair indexes whose lock is not
 * (or no longer) held with that token. */
static const char SCRIPT_RENEW[] = "local out = {0}\n"
                                   "for i = 3, #ARGV, 2 do\n"
                                   "  local lk = ARGV[1] .. ARGV[i] .. ':lock'\n"
                                   "  if redis.call('GET', lk) == ARGV[i + 1] then\n"
                                   "    redis.call('SET', lk, ARGV[i + 1], 'PX', ARGV[2])\n"
                                   "    redis.call('SREM', KEYS[1], ARGV[i]); out[1] = out[1] + 1\n"
                                   "  else out[#out + 1] = (i - 1) / 2 end\n"
                                   "end\n"
                                   "return out\n";

/* stall: KEYS stalled stalled-check active wait events meta marker
 *        ARGV base now intervalMs maxStalledCount
 * Returns -1 (another worker checked within the interval) or the number of
 * jobs requeued. */
static const char SCRIPT_STALL[] =
    "if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end\n"
    "redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
    "local maxEvents = redis.call('HGET', KEYS[6], 'opts.maxLenEvents') or '10000'\n"
    "redis.call('XTRIM', KEYS[5], 'MAXLEN', '~', maxEvents)\n"
    "local cands = redis.call('SMEMBERS', KEYS[1])\n"
    "redis.call('DEL', KEYS[1])\n"
    "local paused = redis.call('HGET', KEYS[6], 'paused')\n"
    "local requeued = 0\n"
    "for _, jid in ipairs(cands) do\n"
    "  if string.sub(jid, 1, 2) == '0:' then redis.call('LREM', KEYS[3], 1, jid)\n"
    "  elseif redis.call('EXISTS', ARGV[1] .. jid .. ':lock') == 0 then\n"
    "    if redis.call('LREM', KEYS[3], 1, jid) > 0 then\n"
    "      local stc = redis.call('HINCRBY', ARGV[1] .. jid, 'stc', 1)\n"
    "      if stc > tonumber(ARGV[4]) then\n"
    "        redis.call('HSET', ARGV[1] .. jid, 'defa', 'job stalled more than allowable limit') "
    "end\n"
    "      redis.call('RPUSH', KEYS[4], jid)\n"
    "      if not paused then redis.call('ZADD', KEYS[7], 0, '0') end\n"
    "      redis.call('XADD', KEYS[5], '*', 'event', 'waiting', 'jobId', jid, 'prev', 'active')\n"
    "      redis.call('XADD', KEYS[5], '*', 'event', 'stalled', 'jobId', jid)\n"
    "      requeued = requeued + 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local act = redis.call('LRANGE', KEYS[3], 0, -1)\n"
    "for i = 1, #act, 1000 do\n"
    "  redis.call('SADD', KEYS[1], unpack(act, i, math.min(i + 999, #act))) end\n"
    "return requeued\n";

/* reclaim: KEYS active wait events marker meta; ARGV base token.
 * The job in active whose lock holds this token (a take whose reply was
 * lost: at most one) is given back as release does. Returns 1, or 0 when
 * no job holds the token (the take never ran, or its lock expired and the
 * stall check requeued the job). */
static const char SCRIPT_RECLAIM[] =
    "for _, jid in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do\n"
    "  local jk = ARGV[1] .. jid\n"
    "  if redis.call('GET', jk .. ':lock') == ARGV[2] then\n"
    "    redis.call('DEL', jk .. ':lock')\n"
    "    redis.call('LREM', KEYS[1], -1, jid)\n"
    "    redis.call('HINCRBY', jk, 'ats', -1)\n"
    "    redis.call('RPUSH', KEYS[2], jid)\n"
    "    if not redis.call('HGET', KEYS[5], 'paused') then redis.call('ZADD', KEYS[4], 0, '0') "
    "end\n"
    "    redis.call('XADD', KEYS[3], '*', 'event', 'waiting', 'jobId', jid, 'prev', 'active')\n"
    "    return 1\n"
    "  end\n"
    "end\n"
    "return 0\n";

const char *ev_bq_script(int s)
{
    static const char *const all[EV_BQ_NSCRIPTS] = {SCRIPT_ADD,   SCRIPT_WORK,  SCRIPT_RELEASE,
                                                    SCRIPT_RENEW, SCRIPT_STALL, SCRIPT_RECLAIM};
    return s >= 0 && s < EV_BQ_NSCRIPTS ? all[s] : "";
}

/* ---- connections and calls ---------------------------------------------- */

redisContext *ev_bq_connect(const ev_bq *q, int io_timeout_ms, ev_err *err)
{
    const char *addr = q->ri->url->redacted;
    struct timeval tv = {.tv_sec = 3, .tv_usec = 0};
    redisContext *c = redisConnectWithTimeout(q->host, q->port, tv);
    if (!c) {
        ev_err_set(err, EV_EINTERNAL, "out of memory");
        return NULL;
    }
    if (c->err) {
        ev_err_set(err, EV_ECONNECT,
                   "bullmq target %s: cannot connect to Redis (%s); is redis-server running and "
                   "reachable? (locally: ./scripts/brokers start redis)",
                   addr, c->errstr);
        redisFree(c);
        return NULL;
    }
    if (io_timeout_ms > 0) {
        struct timeval io = {.tv_sec = io_timeout_ms / 1000,
                             .tv_usec = (io_timeout_ms % 1000) * 1000};
        redisSetTimeout(c, io);
    }
    redisReply *r = NULL;
    if (q->password) {
        if (q->user)
            r = redisCommand(c, "AUTH %s %s", q->user, q->password);
        else
            r = redisCommand(c, "AUTH %s", q->password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            ev_err_set(err, EV_ECONNECT,
                       "bullmq target %s: authentication failed (%s); check the user and "
                       "password in the URL",
                       addr, r ? r->str : c->errstr);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (q->db) {
        r = redisCommand(c, "SELECT %d", q->db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            ev_err_set(err, EV_ECONNECT, "bullmq target %s: SELECT %d failed (%s)", addr, q->db,
                       r ? r->str : c->errstr);
            goto fail;
        }
        freeReplyObject(r);
    }
    return c;
fail:
    freeReplyObject(r);
    redisFree(c);
    return NULL;
}

redisContext *ev_bq_reconnect(const ev_bq *q, int s, ev_err *err)
{
    redisContext *c = ev_bq_connect(q, EV_BQ_IO_TIMEOUT_MS, err);
    if (!c)
        return NULL;
    redisReply *r =
        s >= 0 ? redisCommand(c, "SCRIPT LOAD %s", ev_bq_script(s)) : redisCommand(c, "PING");
    int ok = r && (s >= 0 ? r->type == REDIS_REPLY_STRING && r->len == 40
                          : r->type == REDIS_REPLY_STATUS);
    if (!ok) {
        ev_err_set(err, EV_ECONNECT, "bullmq target %s: Redis is not ready (%s)",
                   q->ri->url->redacted,
                   r && r->type == REDIS_REPLY_ERROR ? r->str
                   : c->errstr[0]                    ? c->errstr
                                                     : "unexpected reply");
        redisFree(c);
        c = NULL;
    }
    freeReplyObject(r);
    return c;
}

const char *ev_bq_err_detail(const ev_bq *q, const char *msg)
{
    static const char pfx[] = "bullmq target ";
    size_t n = sizeof pfx - 1, r = strlen(q->ri->url->redacted);
    if (!strncmp(msg, pfx, n) && !strncmp(msg + n, q->ri->url->redacted, r) &&
        !strncmp(msg + n + r, ": ", 2))
        return msg + n + r + 2;
    return msg;
}

void ev_bq_key(const ev_bq *q, const char *suffix, char *buf)
{
    snprintf(buf, EV_BQ_KEY_MAX, "%s%s", q->base, suffix);
}

int ev_bq_load_scripts(ev_bq *q, redisContext *c, ev_err *err)
{
    for (int s = 0; s < EV_BQ_NSCRIPTS; s++) {
        redisReply *r = redisCommand(c, "SCRIPT LOAD %s", ev_bq_script(s));
        if (!r || r->type != REDIS_REPLY_STRING || r->len != 40) {
            int rc = ev_err_set(err, EV_ECONNECT, "bullmq target %s: SCRIPT LOAD failed (%s)",
                                q->ri->url->redacted,
                                r && r->type == REDIS_REPLY_ERROR ? r->str
                                : c->errstr[0]                    ? c->errstr
                                                                  : "unexpected reply");
            freeReplyObject(r);
            return rc;
        }
        memcpy(q->sha.hex[s], r->str, 40);
        q->sha.hex[s][40] = '\0';
        freeReplyObject(r);
    }
    return EV_OK;
}

#define EV_BQ_MAX_ARGV 48

static int build_argv(const ev_bq *q, int s, int nkeys, const char *const *keys, int nargs,
                      const char *const *args, const size_t *arglens, const char **argv,
                      size_t *lens)
{
    if (3 + nkeys + nargs > EV_BQ_MAX_ARGV)
        return -1;
    static const char *const nk[] = {"0", "1", "2",  "3",  "4",  "5",  "6",  "7",
                                     "8", "9", "10", "11", "12", "13", "14", "15"};
    if (nkeys < 0 || nkeys >= (int)(sizeof nk / sizeof nk[0]))
        return -1;
    const char *nkbuf = nk[nkeys];
    int n = 0;
    argv[n] = "EVALSHA";
    lens[n++] = 7;
    argv[n] = q->sha.hex[s];
    lens[n++] = 40;
    argv[n] = nkbuf;
    lens[n++] = strlen(nkbuf);
    for (int i = 0; i < nkeys; i++) {
        argv[n] = keys[i];
        lens[n++] = strlen(keys[i]);
    }
    for (int i = 0; i < nargs; i++) {
        argv[n] = args[i];
        lens[n++] = arglens && arglens[i] != (size_t)-1 ? arglens[i] : strlen(args[i]);
    }
    return n;
}

int ev_bq_eval_append(const ev_bq *q, redisContext *c, int s, int nkeys, const char *const *keys,
                      int nargs, const char *const *args, const size_t *arglens)
{
    const char *argv[EV_BQ_MAX_ARGV];
    size_t lens[EV_BQ_MAX_ARGV];
    int n = build_argv(q, s, nkeys, keys, nargs, args, arglens, argv, lens);
    if (n < 0)
        return -1;
    return redisAppendCommandArgv(c, n, argv, lens) == REDIS_OK ? 0 : -1;
}

int ev_bq_eval_format(const ev_bq *q, char **cmd, int s, int nkeys, const char *const *keys,
                      int nargs, const char *const *args, const size_t *arglens)
{
    const char *argv[EV_BQ_MAX_ARGV];
    size_t lens[EV_BQ_MAX_ARGV];
    int n = build_argv(q, s, nkeys, keys, nargs, args, arglens, argv, lens);
    if (n < 0)
        return -1;
    return redisFormatCommandArgv(cmd, n, argv, lens);
}

redisReply *ev_bq_eval(const ev_bq *q, redisContext *c, int s, int nkeys, const char *const *keys,
                       int nargs, const char *const *args, const size_t *arglens)
{
    const char *argv[EV_BQ_MAX_ARGV];
    size_t lens[EV_BQ_MAX_ARGV];
    int n = build_argv(q, s, nkeys, keys, nargs, args, arglens, argv, lens);
    if (n < 0)
        return NULL;
    redisReply *r = redisCommandArgv(c, n, argv, lens);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        /* The server lost its script cache (restart, SCRIPT FLUSH): load again. */
        freeReplyObject(r);
        r = redisCommand(c, "SCRIPT LOAD %s", ev_bq_script(s));
        if (!r)
            return NULL;
        freeReplyObject(r);
        r = redisCommandArgv(c, n, argv, lens);
    }
    return r;
}

/* One queued call of a line: on the caller's stack until done is set. */
struct ev_bq_call {
    const char **argv;
    const size_t *lens;
    int argc;
    redisReply *reply;
    int done;
    char err[256];
    ev_bq_call *next;
};

/* Sends the batch as one pipeline and collects the replies in order. Runs
 * without the line's mutex (busy is set, so nobody else uses l->c). After a
 * failure the context is broken: every call of that batch fails, and the
 * next batch connects afresh (one attempt: the consumers, which went down
 * with their call, pace the attempts by their reconnect schedule). */
static void line_run(const ev_bq *q, ev_bq_line *l, ev_bq_call *batch)
{
    if (!l->c || l->c->err) {
        redisFree(l->c);
        ev_err e;
        if (!(l->c = ev_bq_reconnect(q, EV_BQ_S_WORK, &e))) {
            for (ev_bq_call *k = batch; k; k = k->next)
                snprintf(k->err, sizeof k->err, "%s", ev_bq_err_detail(q, e.msg));
            return;
        }
    }
    ev_bq_call *unsent = NULL; /* the first call that could not be queued */
    for (ev_bq_call *k = batch; k && !unsent; k = k->next)
        if (redisAppendCommandArgv(l->c, k->argc, k->argv, k->lens) != REDIS_OK)
            unsent = k;
    for (ev_bq_call *k = batch; k; k = k->next) {
        void *r = NULL;
        if (k == unsent) {
            /* A reply would never come for it or those after it. */
            for (; k; k = k->next)
                snprintf(k->err, sizeof k->err, "out of memory queueing a script call");
            break;
        }
        if (!l->c->err && redisGetReply(l->c, &r) == REDIS_OK)
            k->reply = r;
        else
            snprintf(k->err, sizeof k->err, "%s", l->c->errstr[0] ? l->c->errstr : "EOF");
    }
}

redisReply *ev_bq_line_eval(ev_bq *q, uint32_t consumer, int s, int nkeys, const char *const *keys,
                            int nargs, const char *const *args, char *errstr, size_t size)
{
    const char *argv[EV_BQ_MAX_ARGV];
    size_t lens[EV_BQ_MAX_ARGV];
    ev_bq_call me = {.argv = argv, .lens = lens};
    me.argc = build_argv(q, s, nkeys, keys, nargs, args, NULL, argv, lens);
    if (me.argc < 0 || !q->lines) {
        snprintf(errstr, size, "bad script call");
        return NULL;
    }
    ev_bq_line *l = &q->lines[(consumer / EV_BQ_LINE_CONSUMERS) % q->nlines];
    pthread_mutex_lock(&l->mu);
    if (l->last)
        l->last->next = &me;
    else
        l->head = &me;
    l->last = &me;
    while (!me.done) {
        if (l->busy) {
            pthread_cond_wait(&l->cv, &l->mu);
            continue;
        }
        ev_bq_call *batch = l->head;
        l->head = l->last = NULL;
        l->busy = 1;
        pthread_mutex_unlock(&l->mu);
        line_run(q, l, batch);
        pthread_mutex_lock(&l->mu);
        for (ev_bq_call *k = batch, *nx; k; k = nx) {
            nx = k->next; /* k may return (and its stack go) once done is set */
            k->done = 1;
        }
        l->busy = 0;
        /* Wakes the batch's callers and the queued ones: one of them sends
         * the next batch. */
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    if (!me.reply)
        snprintf(errstr, size, "%s", me.err);
    return me.reply;
}

void ev_bq_now_ms(char *buf, size_t size)
{
    snprintf(buf, size, "%" PRId64, ev_wall_ns() / EV_NS_PER_MS);
}

void ev_bq_add_counts(ev_bq *q, const ev_bq_counts *c, const ev_hist *qw, const ev_hist *proc)
{
    pthread_mutex_lock(&q->mu);
    ev_bq_counts *t = &q->total;
    t->added += c->added;
    t->duplicates += c->duplicates;
    t->add_errors += c->add_errors;
    t->unanswered += c->unanswered;
    t->pub_reconnects += c->pub_reconnects;
    t->finish_retries += c->finish_retries;
    t->reclaimed += c->reclaimed;
    t->sub_reconnects += c->sub_reconnects;
    t->keeper_reconnects += c->keeper_reconnects;
    t->down_ns += c->down_ns;
    t->taken += c->taken;
    t->completed += c->completed;
    t->failed_deferred += c->failed_deferred;
    t->finish_lock_lost += c->finish_lock_lost;
    t->finish_errors += c->finish_errors;
    t->released += c->released;
    if (c->first_take_mono && (!t->first_take_mono || c->first_take_mono < t->first_take_mono))
        t->first_take_mono = c->first_take_mono;
    if (c->last_finish_mono > t->last_finish_mono)
        t->last_finish_mono = c->last_finish_mono;
    t->lock_renewals += c->lock_renewals;
    t->locks_lost += c->locks_lost;
    t->stall_checks += c->stall_checks;
    t->stalled_requeued += c->stalled_requeued;
    t->ev_completed += c->ev_completed;
    t->ev_failed += c->ev_failed;
    t->ev_stalled += c->ev_stalled;
    t->ev_removed += c->ev_removed;
    t->ev_duplicated += c->ev_duplicated;
    t->job_missing += c->job_missing;
    if (qw)
        ev_hist_merge(q->queue_wait, qw);
    if (proc)
        ev_hist_merge(q->processing, proc);
    pthread_mutex_unlock(&q->mu);
}

/* ---- target parameters --------------------------------------------------- */

static const char *const bq_modes[] = {"worker", "observer", NULL};
static const char *const bq_versions[] = {"5", "6", NULL};

static const ev_param bq_params[] = {
    {"queue", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY,
     "the queue's name, as your Node Queue and Worker use it (required)"},
    {"prefix", EV_PT_STRING, "bull", 0, 0, NULL, EV_PF_NONEMPTY, "BullMQ's key prefix"},
    {"bullmq_version", EV_PT_ENUM, "6", 0, 0, bq_versions, 0,
     "the BullMQ data layout to speak (major version)"},
    {"attempts", EV_PT_INT, "0", 0, 1000000, NULL, 0, "job option attempts (0: BullMQ's default)"},
    {"remove_on_complete", EV_PT_STRING, "false", 0, 0, NULL, 0,
     "job option removeOnComplete: true, false or a count of completed jobs to keep"},
    {"max_len_events", EV_PT_INT, "10000", 1, 1000000000, NULL, 0,
     "the events stream's cap (BullMQ's maxLenEvents)"},
    {"lock_duration", EV_PT_DURATION, "30s", 10 * EV_NS_PER_MS, 0, NULL, 0,
     "worker mode: a job's lock, renewed while it is processed"},
    {"stalled_interval", EV_PT_DURATION, "30s", 10 * EV_NS_PER_MS, 0, NULL, 0,
     "worker mode: how often stalled jobs are looked for"},
    {"max_stalled_count", EV_PT_INT, "1", 0, 1000000, NULL, 0,
     "worker mode: stalls before a job fails"},
    {"reconnect_timeout", EV_PT_DURATION, "10s", 0, 0, NULL, 0,
     "a connection lost (Redis restarting) is retried for this long, then the run ends (exit 3)"},
    {NULL},
};

/* removeOnComplete as text: "true" → 0 (keep none), "false" → -1 (keep all),
 * N → keep N. Returns 0, or -1 when it is none of these. */
static int parse_keep(const char *v, int64_t *keep)
{
    if (!strcmp(v, "true")) {
        *keep = 0;
        return 0;
    }
    if (!strcmp(v, "false")) {
        *keep = -1;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end || errno || v[0] == '-' || x > 1000000000ULL)
        return -1;
    *keep = (int64_t)x;
    return 0;
}

/* The database number of a bullmq:// path, or -1. */
static int parse_db(const char *path)
{
    char *end = NULL;
    errno = 0;
    unsigned long db = strtoul(path, &end, 10);
    if (end == path || *end || errno || db > 10000 || path[0] == '-')
        return -1;
    return (int)db;
}

static int valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == ':' || (unsigned char)s[i] == 0x7f)
            return 0;
    return 1;
}

static void *keeper_main(void *arg);

static void bq_teardown(void *state);

static int bq_configure(const ev_run_info *ri, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_plan *p = ri->plan;
    const ev_params *ps = ri->params;
    char where[160];
    int64_t keep;
    if (!u->host[0])
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: no host; expected bullmq://host:port[/db]?queue=NAME",
                          u->redacted);
    if (strchr(u->hosts, ','))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: bullmq:// takes one host (Redis Cluster is not supported)",
                          u->redacted);
    if (u->path[0] && parse_db(u->path) < 0)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: the path \"%s\" is not a database number; expected "
                          "bullmq://host:port/0",
                          u->redacted, u->path);
    const char *queue = ev_param_str(ps, "queue"), *prefix = ev_param_str(ps, "prefix");
    if (!queue)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: no queue; add ?queue=NAME (the name your Node Queue and "
                          "Worker use)",
                          u->redacted);
    if (!valid_name(queue, EV_BQ_QUEUE_MAX) || !valid_name(prefix, EV_BQ_PREFIX_MAX))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: queue and prefix must be 1..%d/%d characters without ':' "
                          "or spaces",
                          u->redacted, EV_BQ_QUEUE_MAX - 1, EV_BQ_PREFIX_MAX - 1);
    if (parse_keep(ev_param_str(ps, "remove_on_complete"), &keep))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: remove_on_complete=\"%s\" is not valid; expected true, "
                          "false or a count of completed jobs to keep, e.g. "
                          "remove_on_complete=1000",
                          u->redacted, ev_param_str(ps, "remove_on_complete"));
    if (p->mode == EV_MODE_BINARY) {
        ev_plan_origin(p, "event.mode", where, sizeof where);
        return ev_err_set(err, EV_EUSAGE,
                          "%s: event.mode \"binary\": BullMQ has no CloudEvents binding, so the "
                          "job's data is the whole event as JSON; use \"structured\"",
                          where);
    }
    if ((int64_t)ri->groups > 1) {
        ev_plan_origin(p, "verify.groups", where, sizeof where);
        return ev_err_set(err, EV_EUSAGE,
                          "%s: verify.groups=%" PRId64 ": a BullMQ queue is one group; set it to "
                          "1, or 0 to add jobs only (run one evload per queue to test several)",
                          where, (int64_t)ri->groups);
    }
    if (p->verify_mode && !strcmp(p->verify_mode, "observer") && (int64_t)ri->groups == 1 &&
        (int64_t)ri->consumers != 1) {
        ev_plan_origin(p, "verify.consumers", where, sizeof where);
        return ev_err_set(err, EV_EUSAGE,
                          "%s: verify.consumers=%" PRId64 ": in observer mode evload reads the "
                          "queue's events stream with one reader; set it to 1 (your own workers "
                          "set the concurrency)",
                          where, (int64_t)ri->consumers);
    }
    return EV_OK;
}

static int bq_setup_do(const ev_run_info *ri, void **state, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_plan *p = ri->plan;
    const ev_params *ps = ri->params;
    int mode =
        p->verify_mode && !strcmp(p->verify_mode, "observer") ? EV_BQ_OBSERVER : EV_BQ_WORKER;

    ev_bq *q = calloc(1, sizeof *q);
    if (!q)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    pthread_mutex_init(&q->mu, NULL);
    pthread_mutex_init(&q->admin_mu, NULL);
    *state = q; /* bq_setup frees it when setup fails below */
    q->ri = ri;
    q->mode = mode;
    if (!(q->queue_wait = ev_hist_new()) || !(q->processing = ev_hist_new()))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    snprintf(q->host, sizeof q->host, "%s", u->host);
    q->port = u->port ? u->port : 6379;
    q->db = u->path[0] ? parse_db(u->path) : 0;
    q->user = u->user;
    q->password = u->password;
    const char *queue = ev_param_str(ps, "queue"), *prefix = ev_param_str(ps, "prefix");
    snprintf(q->queue, sizeof q->queue, "%s", queue);
    snprintf(q->prefix, sizeof q->prefix, "%s", prefix);
    snprintf(q->base, sizeof q->base, "%s:%s:", prefix, queue);
    q->version = 5 + ev_param_enum(ps, "bullmq_version");
    q->attempts = ev_param_int(ps, "attempts");
    q->max_len_events = ev_param_int(ps, "max_len_events");
    q->max_stalled = ev_param_int(ps, "max_stalled_count");
    q->lock_ms = ev_param_dur(ps, "lock_duration") / EV_NS_PER_MS;
    q->stalled_ms = ev_param_dur(ps, "stalled_interval") / EV_NS_PER_MS;
    q->reconnect_timeout_ns = ev_param_dur(ps, "reconnect_timeout");
    parse_keep(ev_param_str(ps, "remove_on_complete"), &q->keep_completed); /* configure checked */
    if (q->keep_completed < 0)
        snprintf(q->opts_json, sizeof q->opts_json, "{\"attempts\":%" PRId64 "}", q->attempts);
    else if (q->keep_completed == 0)
        snprintf(q->opts_json, sizeof q->opts_json,
                 "{\"attempts\":%" PRId64 ",\"removeOnComplete\":true}", q->attempts);
    else
        snprintf(q->opts_json, sizeof q->opts_json,
                 "{\"attempts\":%" PRId64 ",\"removeOnComplete\":%" PRId64 "}", q->attempts,
                 q->keep_completed);

    int rc;
    if (!(q->admin = ev_bq_connect(q, EV_BQ_IO_TIMEOUT_MS, err)))
        return EV_ECONNECT;
    if ((rc = ev_bq_load_scripts(q, q->admin, err)))
        return rc;
    /* Workers trim the events stream to the queue's cap, as BullMQ's do. */
    char mk[EV_BQ_KEY_MAX];
    ev_bq_key(q, "meta", mk);
    snprintf(q->trim_len, sizeof q->trim_len, "%" PRId64, q->max_len_events);
    redisReply *m = redisCommand(q->admin, "HGET %s opts.maxLenEvents", mk);
    if (m && m->type == REDIS_REPLY_STRING && m->len > 0 && m->len < sizeof q->trim_len &&
        strspn(m->str, "0123456789") == m->len)
        snprintf(q->trim_len, sizeof q->trim_len, "%s", m->str);
    freeReplyObject(m);
    /* The observer starts reading after the last event already in the stream. */
    char k[EV_BQ_KEY_MAX];
    ev_bq_key(q, "events", k);
    redisReply *r = redisCommand(q->admin, "XREVRANGE %s + - COUNT 1", k);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        rc = ev_err_set(err, EV_ECONNECT, "bullmq target %s: cannot read %s (%s)", u->redacted, k,
                        r ? r->str : q->admin->errstr);
        freeReplyObject(r);
        return rc;
    }
    snprintf(q->start_id, sizeof q->start_id, "0-0");
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements > 0 &&
        r->element[0]->element[0]->type == REDIS_REPLY_STRING)
        snprintf(q->start_id, sizeof q->start_id, "%s", r->element[0]->element[0]->str);
    freeReplyObject(r);

    if (mode == EV_BQ_WORKER && ri->groups > 0) { /* 0 groups: adding only */
        q->nslots = ri->consumers;
        if (!(q->slots = calloc(q->nslots, sizeof *q->slots)))
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        for (uint32_t i = 0; i < q->nslots; i++)
            pthread_mutex_init(&q->slots[i].mu, NULL);
        q->nlines = (q->nslots + EV_BQ_LINE_CONSUMERS - 1) / EV_BQ_LINE_CONSUMERS;
        if (!(q->lines = calloc(q->nlines, sizeof *q->lines)))
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        for (uint32_t i = 0; i < q->nlines; i++) {
            pthread_mutex_init(&q->lines[i].mu, NULL);
            pthread_cond_init(&q->lines[i].cv, NULL);
        }
        for (uint32_t i = 0; i < q->nlines; i++)
            if (!(q->lines[i].c = ev_bq_connect(q, EV_BQ_IO_TIMEOUT_MS, err)))
                return EV_ECONNECT;
        if (pthread_create(&q->keeper, NULL, keeper_main, q))
            return ev_err_set(err, EV_EINTERNAL, "cannot start the BullMQ keeper thread");
        q->keeper_started = 1;
    }
    return EV_OK;
}

static int bq_setup(const ev_run_info *ri, void **state, ev_err *err)
{
    void *st = NULL;
    int rc = bq_setup_do(ri, &st, err);
    if (rc) {
        bq_teardown(st);
        st = NULL;
    }
    *state = st;
    return rc;
}

/* ---- the keeper: lock renewal and the stalled-job check ----------------- */

static void keeper_renew(ev_bq *q, redisContext *c, ev_bq_counts *cnt)
{
    const char *args[2 + 2 * 16];
    char lock[32];
    char(*jids)[256] = malloc(q->nslots * sizeof *jids);
    char(*toks)[192] = malloc(q->nslots * sizeof *toks);
    uint32_t *slot = malloc(q->nslots * sizeof *slot);
    if (!jids || !toks || !slot)
        goto out;
    uint32_t n = 0;
    for (uint32_t i = 0; i < q->nslots; i++) {
        ev_bq_slot *s = &q->slots[i];
        pthread_mutex_lock(&s->mu);
        if (s->busy) {
            memcpy(jids[n], s->jid, sizeof jids[n]);
            memcpy(toks[n], s->token, sizeof toks[n]);
            slot[n++] = i;
        }
        pthread_mutex_unlock(&s->mu);
    }
    snprintf(lock, sizeof lock, "%" PRId64, q->lock_ms);
    char stalled[EV_BQ_KEY_MAX];
    ev_bq_key(q, "stalled", stalled);
    const char *keys[1] = {stalled};
    for (uint32_t i = 0; i < n; i += 16) {
        int na = 2;
        args[0] = q->base;
        args[1] = lock;
        for (uint32_t j = i; j < n && j < i + 16; j++) {
            args[na++] = jids[j];
            args[na++] = toks[j];
        }
        redisReply *r = ev_bq_eval(q, c, EV_BQ_S_RENEW, 1, keys, na, args, NULL);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
            r->element[0]->type == REDIS_REPLY_INTEGER) {
            cnt->lock_renewals += (uint64_t)r->element[0]->integer;
            /* Not renewed: lost, unless the worker finished the job meanwhile
             * (its slot no longer holds that token). */
            for (size_t k = 1; k < r->elements; k++) {
                long long x = r->element[k]->integer;
                if (r->element[k]->type != REDIS_REPLY_INTEGER || x < 1 || x > 16 ||
                    i + (uint32_t)x - 1 >= n)
                    continue;
                uint32_t j = i + (uint32_t)x - 1;
                ev_bq_slot *s = &q->slots[slot[j]];
                pthread_mutex_lock(&s->mu);
                if (s->busy && !strcmp(s->token, toks[j]))
                    cnt->locks_lost++;
                pthread_mutex_unlock(&s->mu);
            }
        }
        freeReplyObject(r);
    }
out:
    free(jids);
    free(toks);
    free(slot);
}

static void keeper_stall(ev_bq *q, redisContext *c, ev_bq_counts *cnt)
{
    char k[7][EV_BQ_KEY_MAX];
    static const char *const sfx[7] = {"stalled", "stalled-check", "active", "wait",
                                       "events",  "meta",          "marker"};
    const char *keys[7];
    for (int i = 0; i < 7; i++) {
        ev_bq_key(q, sfx[i], k[i]);
        keys[i] = k[i];
    }
    char now[32], iv[32], maxs[32];
    ev_bq_now_ms(now, sizeof now);
    snprintf(iv, sizeof iv, "%" PRId64, q->stalled_ms);
    snprintf(maxs, sizeof maxs, "%" PRId64, q->max_stalled);
    const char *args[4] = {q->base, now, iv, maxs};
    redisReply *r = ev_bq_eval(q, c, EV_BQ_S_STALL, 7, keys, 4, args, NULL);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
        cnt->stall_checks++;
        cnt->stalled_requeued += (uint64_t)r->integer;
    }
    freeReplyObject(r);
}

static void *keeper_main(void *arg)
{
    ev_bq *q = arg;
    ev_bq_counts cnt;
    memset(&cnt, 0, sizeof cnt);
    redisContext *c = NULL;
    int64_t next_renew = ev_mono_ns() + q->lock_ms / 2 * EV_NS_PER_MS;
    int64_t next_stall = ev_mono_ns(); /* check once at start, as Node workers do */
    /* A broken context (server restart) is replaced on the reconnect
     * schedule, for as long as the run lasts: the keeper never gives up (the
     * workers end the run when Redis stays away beyond reconnect_timeout). */
    ev_backoff rc;
    ev_backoff_init(&rc, 0, EV_BQ_RECONNECT_MIN_NS, EV_BQ_RECONNECT_MAX_NS, INT64_MAX / 4);
    int connected_once = 0;
    while (!atomic_load(&q->keeper_stop)) {
        int64_t now = ev_mono_ns();
        if (!c || c->err) {
            redisFree(c);
            c = NULL;
            ev_backoff_down(&rc, now);
            if (!ev_backoff_due(&rc, now)) {
                ev_sleep_until(ev_backoff_wake(&rc, now + 50 * EV_NS_PER_MS), &q->keeper_stop);
                continue;
            }
            ev_err e;
            if (!(c = ev_bq_reconnect(q, -1, &e))) {
                ev_backoff_failed(&rc, ev_mono_ns());
                continue;
            }
            ev_backoff_up(&rc, ev_mono_ns());
            if (connected_once++) {
                cnt.keeper_reconnects++;
                /* Renew at once: the workers' locks were not renewed while
                 * Redis was away. */
                next_renew = now;
            }
        }
        int did = 0;
        if (now >= next_stall) {
            keeper_stall(q, c, &cnt);
            next_stall = now + q->stalled_ms * EV_NS_PER_MS;
            did = 1;
        }
        if (now >= next_renew) {
            keeper_renew(q, c, &cnt);
            next_renew = now + q->lock_ms / 2 * EV_NS_PER_MS;
            did = 1;
        }
        if (did) { /* publish as we go: report() runs before teardown stops us */
            ev_bq_add_counts(q, &cnt, NULL, NULL);
            memset(&cnt, 0, sizeof cnt);
        }
        ev_sleep_until(now + 50 * EV_NS_PER_MS, &q->keeper_stop);
    }
    redisFree(c);
    ev_bq_add_counts(q, &cnt, NULL, NULL);
    return NULL;
}

/* ---- depth, sample, report ---------------------------------------------- */

/* Reads the queue's counts into q->counts (admin_mu held). 0 or -1. */
static int read_counts(ev_bq *q)
{
    if (q->admin && q->admin->err) {
        redisFree(q->admin);
        q->admin = NULL;
    }
    if (!q->admin) {
        ev_err e;
        if (!(q->admin = ev_bq_connect(q, EV_BQ_IO_TIMEOUT_MS, &e)))
            return -1;
    }
    static const char *const sfx[8] = {"wait",      "active", "prioritized", "delayed",
                                       "completed", "failed", "paused",      "id"};
    static const char *const cmd[8] = {"LLEN",  "LLEN",  "ZCARD", "ZCARD",
                                       "ZCARD", "ZCARD", "LLEN",  "GET"};
    char k[EV_BQ_KEY_MAX];
    for (int i = 0; i < 8; i++) {
        ev_bq_key(q, sfx[i], k);
        redisAppendCommand(q->admin, "%s %s", cmd[i], k);
    }
    int rc = 0;
    for (int i = 0; i < 8; i++) {
        redisReply *r = NULL;
        if (redisGetReply(q->admin, (void **)&r) != REDIS_OK || !r) {
            rc = -1;
            break;
        }
        if (r->type == REDIS_REPLY_INTEGER)
            q->counts[i] = r->integer;
        else if (r->type == REDIS_REPLY_STRING)
            q->counts[i] = strtoll(r->str, NULL, 10);
        else if (r->type == REDIS_REPLY_NIL)
            q->counts[i] = 0;
        else
            rc = -1;
        freeReplyObject(r);
    }
    if (rc == 0)
        q->counts_mono = ev_mono_ns();
    return rc;
}

static int64_t bq_depth(void *state)
{
    ev_bq *q = state;
    pthread_mutex_lock(&q->admin_mu);
    int64_t d = -1;
    if (read_counts(q) == 0) {
        d = q->counts[0] + q->counts[1] + q->counts[2] + q->counts[3];
        if (q->version == 5)
            d += q->counts[6];
    }
    pthread_mutex_unlock(&q->admin_mu);
    return d;
}

static void bq_sample(void *state, json_t *point)
{
    ev_bq *q = state;
    pthread_mutex_lock(&q->admin_mu);
    /* depth() has just read the counts in the same reporter tick. */
    int ok = q->counts_mono && ev_mono_ns() - q->counts_mono < 200 * EV_NS_PER_MS;
    if (!ok)
        ok = read_counts(q) == 0;
    if (ok) {
        static const char *const names[6] = {"wait",    "active",    "prioritized",
                                             "delayed", "completed", "failed"};
        for (int i = 0; i < 6; i++)
            json_object_set_new(point, names[i], json_integer((json_int_t)q->counts[i]));
        if (q->version == 5)
            json_object_set_new(point, "paused", json_integer((json_int_t)q->counts[6]));
    }
    pthread_mutex_unlock(&q->admin_mu);
}

static int bq_ordered(void *state, const ev_run_info *ri)
{
    ev_bq *q = state;
    /* One evload worker takes jobs in wait-list order (FIFO per lane);
     * completion events from concurrent workers are in no promised order. */
    return q->mode == EV_BQ_WORKER && ri->consumers == 1;
}

static void bq_group_name(void *state, uint32_t g, char *buf, size_t size)
{
    ev_bq *q = state;
    (void)g;
    snprintf(buf, size, "%s", q->queue);
}

static json_t *hist_json(const ev_hist *h)
{
    json_t *o = json_object();
    static const struct {
        const char *k;
        double p;
    } ps[] = {{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p999", 99.9}};
    uint64_t n = ev_hist_count(h);
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        json_object_set_new(o, ps[i].k,
                            json_real(n ? (double)ev_hist_percentile(h, ps[i].p) / 1e6 : 0.0));
    json_object_set_new(o, "max", json_real(n ? (double)ev_hist_max(h) / 1e6 : 0.0));
    json_object_set_new(o, "mean", json_real(ev_hist_mean(h) / 1e6));
    json_object_set_new(o, "count", json_integer((json_int_t)n));
    /* e.g. negative queue_wait: a Node worker stamps processedOn with the time
     * it began its finish-and-fetch-next call, which can precede the add. */
    json_object_set_new(o, "out_of_range", json_integer((json_int_t)ev_hist_out_of_range(h)));
    return o;
}

/* queue_wait and processing, as BullMQ's own timestamps tell them, for
 * thresholds and the summary: a copy, or NULL when nothing was measured. */
static ev_hist *bq_latency(void *state, int metric)
{
    ev_bq *q = state;
    const ev_hist *src = metric == EV_METRIC_queue_wait   ? q->queue_wait
                         : metric == EV_METRIC_processing ? q->processing
                                                          : NULL;
    ev_hist *h = NULL;
    pthread_mutex_lock(&q->mu);
    if (src && ev_hist_count(src) && (h = ev_hist_new()))
        ev_hist_copy(h, src);
    pthread_mutex_unlock(&q->mu);
    return h;
}

static void bq_report(void *state, json_t *out)
{
    ev_bq *q = state;
    pthread_mutex_lock(&q->mu);
    ev_bq_counts t = q->total;
    json_t *qw = hist_json(q->queue_wait), *pr = hist_json(q->processing);
    pthread_mutex_unlock(&q->mu);
#define SETI(o, k, v) json_object_set_new((o), (k), json_integer((json_int_t)(v)))
    json_object_set_new(out, "queue", json_string(q->queue));
    json_object_set_new(out, "prefix", json_string(q->prefix));
    SETI(out, "bullmq_version", q->version);
    json_object_set_new(out, "mode", json_string(q->mode == EV_BQ_WORKER ? "worker" : "observer"));
    json_t *pub = json_object();
    SETI(pub, "added", t.added);
    SETI(pub, "duplicates", t.duplicates);
    SETI(pub, "errors", t.add_errors);
    SETI(pub, "unanswered", t.unanswered);
    SETI(pub, "reconnects", t.pub_reconnects);
    json_object_set_new(out, "publisher", pub);
    if (q->mode == EV_BQ_WORKER) {
        json_t *w = json_object();
        SETI(w, "concurrency", q->nslots);
        SETI(w, "taken", t.taken);
        SETI(w, "completed", t.completed);
        SETI(w, "failed_deferred", t.failed_deferred);
        SETI(w, "finish_lock_lost", t.finish_lock_lost);
        SETI(w, "finish_errors", t.finish_errors);
        SETI(w, "released", t.released);
        SETI(w, "lock_renewals", t.lock_renewals);
        SETI(w, "locks_lost", t.locks_lost);
        SETI(w, "stall_checks", t.stall_checks);
        SETI(w, "stalled_requeued", t.stalled_requeued);
        SETI(w, "reconnects", t.sub_reconnects);
        SETI(w, "finish_retries", t.finish_retries);
        SETI(w, "reclaimed", t.reclaimed);
        SETI(w, "keeper_reconnects", t.keeper_reconnects);
        double span = t.last_finish_mono > t.first_take_mono
                          ? (double)(t.last_finish_mono - t.first_take_mono) / 1e9
                          : 0.0;
        json_object_set_new(w, "busy_s", json_real(span));
        json_object_set_new(w, "rate", json_real(span > 0 ? (double)t.completed / span : 0.0));
        json_object_set_new(out, "worker", w);
    } else {
        json_t *o = json_object();
        SETI(o, "completed", t.ev_completed);
        SETI(o, "failed", t.ev_failed);
        SETI(o, "stalled", t.ev_stalled);
        SETI(o, "removed", t.ev_removed);
        SETI(o, "duplicated", t.ev_duplicated);
        SETI(o, "job_missing", t.job_missing);
        SETI(o, "reconnects", t.sub_reconnects);
        json_object_set_new(out, "observer", o);
    }
    json_object_set_new(out, "down_s", json_real((double)t.down_ns / 1e9));
    json_object_set_new(out, "queue_wait", qw);
    json_object_set_new(out, "processing", pr);
    pthread_mutex_lock(&q->admin_mu);
    if (read_counts(q) == 0) {
        json_t *c = json_object();
        static const char *const names[8] = {"wait",      "active", "prioritized", "delayed",
                                             "completed", "failed", "paused",      "id"};
        for (int i = 0; i < 8; i++)
            SETI(c, names[i], q->counts[i]);
        json_object_set_new(out, "final_counts", c);
    }
    pthread_mutex_unlock(&q->admin_mu);
#undef SETI
}

static void bq_teardown(void *state)
{
    ev_bq *q = state;
    if (!q)
        return;
    if (q->keeper_started) {
        atomic_store(&q->keeper_stop, 1);
        pthread_join(q->keeper, NULL);
    }
    for (uint32_t i = 0; q->slots && i < q->nslots; i++)
        pthread_mutex_destroy(&q->slots[i].mu);
    free(q->slots);
    for (uint32_t i = 0; q->lines && i < q->nlines; i++) {
        redisFree(q->lines[i].c);
        pthread_mutex_destroy(&q->lines[i].mu);
        pthread_cond_destroy(&q->lines[i].cv);
    }
    free(q->lines);
    redisFree(q->admin);
    ev_hist_free(q->queue_wait);
    ev_hist_free(q->processing);
    pthread_mutex_destroy(&q->mu);
    pthread_mutex_destroy(&q->admin_mu);
    free(q);
}

const ev_broker ev_broker_bullmq = {
    .name = "bullmq",
    .schemes = (const char *const[]){"bullmq", NULL},
    .summary = "BullMQ queue: evload's workers, or an observer of yours (verify.mode)",
    .example = "bullmq://127.0.0.1:6379?queue=orders&prefix=bull",
    .doc = "docs/bullmq.md",
    .roles = EV_ROLE_PUBLISH | EV_ROLE_VERIFY,
    .durable = 1,
    .params = bq_params,
    .verify_modes = bq_modes,
    .configure = bq_configure,
    .latency = bq_latency,
    .setup = bq_setup,
    .ordered = bq_ordered,
    .depth = bq_depth,
    .report = bq_report,
    .sample = bq_sample,
    .group_name = bq_group_name,
    .teardown = bq_teardown,
    .pub = &ev_bq_pub_ops,
    .sub = &ev_bq_sub_ops,
};
