/* ev_tseries — the timeseries on file (see ev_tseries.h).
 *
 * A point's record: the ev_tpoint struct as it is in memory (its pointers
 * are meaningless on file and cleared when read back), then for each of
 * hist_e2e, hist_ack, hist_e2e_sched and the broker figures' compact JSON a
 * uint32_t length (0: NULL; else the bytes with their NUL) and the bytes.
 * The file never leaves the process, so native layout is enough, and every
 * number reads back bit for bit: scalars are copied, the broker's reals are
 * written with 17 significant digits (jansson's default), which is exact,
 * and its object keeps its key order. */
#include "ev_tseries.h"

#include "ev_spill.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NSTR 4 /* hist_e2e, hist_ack, hist_e2e_sched, broker */

struct ev_tseries {
    ev_spill *spill;
    ev_tpoint last; /* scalars of the last point appended */
    int have_last;
    ev_tpoint cur;      /* the point read last: strings in the spill's buffer */
    json_t *cur_broker; /* owned: cur.broker */
    size_t cur_i;
    int have_cur;
    int failed; /* sticky: a read or write failed, `fail` says how */
    ev_err fail;
};

/* Keeps the first error of t (sticky) and returns rc. */
static int keep(ev_tseries *t, int rc, const ev_err *e, ev_err *err)
{
    if (rc && !t->failed) {
        t->failed = 1;
        t->fail = *e;
    }
    if (rc && err)
        *err = t->fail;
    return rc;
}

/* tp with its pointers cleared: what is kept in memory of a point. */
static void scalars(ev_tpoint *dst, const ev_tpoint *tp)
{
    *dst = *tp;
    dst->hist_e2e = dst->hist_ack = dst->hist_e2e_sched = NULL;
    dst->broker = NULL;
}

int ev_tseries_append(ev_results *R, const ev_tpoint *tp, ev_err *err)
{
    ev_tseries *t = R->tseries;
    if (!t) {
        if (!(t = calloc(1, sizeof *t)))
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        int rc = ev_spill_open("the timeseries", &t->spill, err);
        if (rc) {
            free(t);
            return rc;
        }
        R->tseries = t;
    }
    char *broker = NULL;
    if (tp->broker &&
        !(broker = json_dumps(tp->broker, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    const char *str[NSTR] = {tp->hist_e2e, tp->hist_ack, tp->hist_e2e_sched, broker};
    uint32_t len[NSTR];
    ev_spill_part parts[2 + NSTR] = {{tp, sizeof *tp}, {len, sizeof len}};
    for (int k = 0; k < NSTR; k++) {
        size_t n = str[k] ? strlen(str[k]) + 1 : 0;
        len[k] = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n; /* the spill refuses it */
        parts[2 + k] = (ev_spill_part){str[k], n};
    }
    t->have_cur = 0; /* the spill's buffer is reused for writing */
    ev_err e;
    int rc = keep(t, ev_spill_append(t->spill, parts, 2 + NSTR, &e), &e, err);
    free(broker);
    if (rc)
        return rc;
    scalars(&t->last, tp);
    t->have_last = 1;
    return EV_OK;
}

const ev_tpoint *ev_tseries_last(const ev_results *R)
{
    return R->tseries && R->tseries->have_last ? &R->tseries->last : NULL;
}

/* Reads record i into t->cur. 0 or EV_EINTERNAL. */
static int read_raw(ev_tseries *t, size_t i, ev_err *err)
{
    if (t->have_cur && t->cur_i == i)
        return EV_OK;
    t->have_cur = 0;
    json_decref(t->cur_broker);
    t->cur_broker = NULL;
    const void *data;
    size_t n;
    int rc = ev_spill_read(t->spill, i, &data, &n, err);
    if (rc)
        return rc;
    const char *p = data, *end = p + n;
    uint32_t len[NSTR];
    if (n < sizeof t->cur + sizeof len)
        return ev_err_set(err, EV_EINTERNAL, "the timeseries spill file: point %zu is short",
                          i + 1);
    memcpy(&t->cur, p, sizeof t->cur);
    memcpy(len, p + sizeof t->cur, sizeof len);
    p += sizeof t->cur + sizeof len;
    const char *str[NSTR];
    for (int k = 0; k < NSTR; k++) {
        if ((size_t)(end - p) < len[k] || (len[k] && p[len[k] - 1] != '\0'))
            return ev_err_set(err, EV_EINTERNAL,
                              "the timeseries spill file: point %zu is malformed", i + 1);
        str[k] = len[k] ? p : NULL;
        p += len[k];
    }
    t->cur.hist_e2e = (char *)(uintptr_t)str[0];
    t->cur.hist_ack = (char *)(uintptr_t)str[1];
    t->cur.hist_e2e_sched = (char *)(uintptr_t)str[2];
    t->cur.broker = NULL;
    if (str[3]) {
        json_error_t je;
        if (!(t->cur_broker = json_loadb(str[3], len[3] - 1, JSON_DECODE_ANY, &je)))
            return ev_err_set(err, EV_EINTERNAL,
                              "the timeseries spill file: point %zu's broker figures: %s", i + 1,
                              je.text);
        t->cur.broker = t->cur_broker;
    }
    t->cur_i = i;
    t->have_cur = 1;
    return EV_OK;
}

static int read_point(ev_tseries *t, size_t i, ev_err *err)
{
    if (t->failed)
        return keep(t, EV_EINTERNAL, &t->fail, err);
    ev_err e;
    return keep(t, read_raw(t, i, &e), &e, err);
}

int ev_tseries_finish(ev_results *R, ev_err *err)
{
    ev_tseries *t = R->tseries;
    if (!t)
        return EV_OK;
    size_t n = ev_spill_count(t->spill);
    ev_tpoint *ts = calloc(n ? n : 1, sizeof *ts);
    if (!ts)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = read_point(t, i, err);
        if (rc) {
            free(ts);
            return rc;
        }
        scalars(&ts[i], &t->cur);
    }
    for (size_t i = 0; i < R->nts; i++) { /* a run has none: its points are all on file */
        json_decref(R->ts[i].broker);
        free(R->ts[i].hist_e2e);
        free(R->ts[i].hist_ack);
        free(R->ts[i].hist_e2e_sched);
    }
    free(R->ts);
    R->ts = ts;
    R->nts = n;
    return EV_OK;
}

const ev_tpoint *ev_tseries_point(const ev_results *R, size_t i)
{
    ev_tseries *t = R->tseries;
    if (!t)
        return i < R->nts ? &R->ts[i] : NULL;
    /* A failed read is kept by the spill (sticky): ev_tseries_error. */
    return read_point(t, i, NULL) ? NULL : &t->cur;
}

int ev_tseries_error(const ev_results *R, ev_err *err)
{
    ev_tseries *t = R->tseries;
    if (!t || !t->failed)
        return EV_OK;
    if (err)
        *err = t->fail;
    return EV_EINTERNAL;
}

size_t ev_tseries_bytes(const ev_results *R)
{
    return R->tseries ? ev_spill_bytes(R->tseries->spill) : 0;
}

void ev_tseries_free(ev_tseries *t)
{
    if (!t)
        return;
    json_decref(t->cur_broker);
    ev_spill_free(t->spill);
    free(t);
}
