/* ev_data — see ev_data.h. */
#include "ev_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static json_t *iset_json(const ev_iset *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n; i++)
        json_array_append_new(a,
                              json_pack("[I, I]", (json_int_t)s->v[i].lo, (json_int_t)s->v[i].hi));
    return a;
}

/* Adds j's intervals ([[lo, hi], …]) to s. 0, or -1 when malformed or OOM. */
static int iset_load(const json_t *j, ev_iset *s)
{
    if (!json_is_array(j))
        return -1;
    size_t i;
    json_t *x;
    json_array_foreach (j, i, x) {
        json_t *a = json_array_get(x, 0), *b = json_array_get(x, 1);
        if (json_array_size(x) != 2 || !json_is_integer(a) || !json_is_integer(b) ||
            json_integer_value(a) < 1 || json_integer_value(b) < json_integer_value(a) ||
            json_integer_value(b) - json_integer_value(a) > 100000000000)
            return -1;
        ev_iset one = EV_ISET_INIT;
        if (ev_iset_add(&one, (uint64_t)json_integer_value(a)) < 0)
            return -1;
        one.v[0].hi = (uint64_t)json_integer_value(b); /* one interval [a, b] */
        one.count = one.v[0].hi - one.v[0].lo + 1;
        int rc = ev_iset_union(s, s, &one);
        ev_iset_clear(&one);
        if (rc)
            return -1;
    }
    return 0;
}

json_t *ev_data_ledger(const ev_ledger *l)
{
    ev_ledger_totals t;
    ev_ledger_get_totals(l, &t);
    json_t *lanes = json_object(),
           *o = json_pack("{s:I, s:b, s:{s:I, s:I, s:I, s:I, s:I}}", "copies",
                          (json_int_t)ev_ledger_copies(l), "ordered", ev_ledger_ordered(l),
                          "totals", "received", (json_int_t)t.received, "reordered",
                          (json_int_t)t.reordered, "corrupted", (json_int_t)t.corrupted, "foreign",
                          (json_int_t)t.foreign, "unexpected", (json_int_t)t.unexpected);
    if (!lanes || !o) {
        json_decref(lanes);
        json_decref(o);
        return NULL;
    }
    for (uint32_t i = 0; i < ev_ledger_lanes(l); i++) {
        ev_ledger_lane_view v;
        ev_ledger_lane(l, i, &v);
        if (!v.deliveries && !v.layers[0].n && !v.late->n && !v.corrupted)
            continue;
        json_t *layers = json_array();
        for (uint32_t j = 0; layers && j < ev_ledger_copies(l); j++)
            json_array_append_new(layers, iset_json(&v.layers[j]));
        char key[16];
        snprintf(key, sizeof key, "%u", i);
        json_object_set_new(
            lanes, key,
            json_pack("{s:o, s:o, s:I, s:I, s:I, s:I}", "layers", layers, "late", iset_json(v.late),
                      "deliveries", (json_int_t)v.deliveries, "flagged", (json_int_t)v.flagged,
                      "reordered", (json_int_t)v.reordered, "corrupted", (json_int_t)v.corrupted));
    }
    json_object_set_new(o, "lanes", lanes);
    return o;
}

static json_int_t geti(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

int ev_data_ledger_load(const json_t *j, uint32_t nlanes, const char *what, ev_ledger **out,
                        ev_err *err)
{
    json_int_t copies = geti(j, "copies");
    const json_t *lanes = json_object_get(j, "lanes"), *tot = json_object_get(j, "totals");
    if (copies < 1 || copies > EV_LEDGER_MAX_COPIES || !json_is_object(lanes) ||
        !json_is_object(tot))
        return ev_err_set(err, EV_EUSAGE, "%s: not a ledger (copies, lanes, totals)", what);
    ev_ledger *l =
        ev_ledger_new(nlanes, json_is_true(json_object_get(j, "ordered")), (uint32_t)copies);
    if (!l)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    ev_ledger_totals t = {(uint64_t)geti(tot, "received"), (uint64_t)geti(tot, "reordered"),
                          (uint64_t)geti(tot, "corrupted"), (uint64_t)geti(tot, "foreign"),
                          (uint64_t)geti(tot, "unexpected")};
    ev_ledger_set_totals(l, &t);
    const char *key;
    json_t *ln;
    int rc = 0;
    json_object_foreach ((json_t *)(uintptr_t)lanes, key, ln) {
        char *end = NULL;
        unsigned long i = strtoul(key, &end, 10);
        ev_iset layers[EV_LEDGER_MAX_COPIES], late = EV_ISET_INIT;
        memset(layers, 0, sizeof layers);
        const json_t *ls = json_object_get(ln, "layers");
        int bad = !*key || *end || i >= nlanes || !json_is_array(ls) ||
                  json_array_size(ls) != (size_t)copies || geti(ln, "deliveries") < 0 ||
                  geti(ln, "flagged") < 0 || iset_load(json_object_get(ln, "late"), &late);
        for (json_int_t k = 0; !bad && k < copies; k++)
            bad = iset_load(json_array_get(ls, (size_t)k), &layers[k]);
        /* reordered/corrupted per lane came later: absent reads as 0. */
        json_int_t ro = geti(ln, "reordered"), co = geti(ln, "corrupted");
        ev_ledger_lane_view v = {layers,
                                 &late,
                                 (uint64_t)geti(ln, "deliveries"),
                                 (uint64_t)geti(ln, "flagged"),
                                 ro > 0 ? (uint64_t)ro : 0,
                                 co > 0 ? (uint64_t)co : 0};
        if (!bad && ev_ledger_set_lane(l, (uint32_t)i, &v))
            bad = 1;
        for (json_int_t k = 0; k < copies; k++)
            ev_iset_clear(&layers[k]);
        ev_iset_clear(&late);
        if (bad) {
            rc =
                ev_err_set(err, EV_EUSAGE, "%s: lane \"%s\" of the ledger is malformed", what, key);
            break;
        }
    }
    if (rc) {
        ev_ledger_free(l);
        return rc;
    }
    *out = l;
    return EV_OK;
}

json_t *ev_data_publanes(const ev_publane *pl, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < n; i++)
        if (!pl[i].unknown)
            json_array_append_new(a, json_pack("{s:I, s:I, s:o}", "lane", (json_int_t)i, "sent",
                                               (json_int_t)pl[i].sent, "failed",
                                               iset_json(&pl[i].failed)));
    return a;
}

int ev_data_publanes_load(const json_t *j, ev_publane *pl, uint32_t n, const char *what,
                          ev_err *err)
{
    if (!json_is_array(j))
        return ev_err_set(err, EV_EUSAGE, "%s: no publish record (data.publanes)", what);
    size_t i;
    json_t *x;
    json_array_foreach (j, i, x) {
        json_int_t lane = geti(x, "lane"), sent = geti(x, "sent");
        if (lane < 0 || (uint64_t)lane >= n || sent < 0)
            return ev_err_set(err, EV_EUSAGE, "%s: publish record %zu is malformed", what, i);
        ev_publane *p = &pl[lane];
        if (!p->unknown)
            return ev_err_set(err, EV_EUSAGE, "%s: lane %lld recorded twice", what,
                              (long long)lane);
        p->unknown = 0;
        p->sent = (uint64_t)sent;
        if (iset_load(json_object_get(x, "failed"), &p->failed))
            return ev_err_set(err, EV_EUSAGE, "%s: lane %lld's failed seqs are malformed", what,
                              (long long)lane);
    }
    return EV_OK;
}

json_t *ev_data_environment(void)
{
    struct utsname u;
    char host[256] = "";
    int have_u = uname(&u) == 0;
    gethostname(host, sizeof host - 1);
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "evload", EV_VERSION, "host", host, "cores",
                     (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "kernel", have_u ? u.release : "",
                     "machine", have_u ? u.machine : "", "jansson", JANSSON_VERSION);
}
