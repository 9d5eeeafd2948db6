/* test_tseries — the timeseries off the heap: the spill file gives back every
 * record it was given, by index, in any order, also after more appends; a
 * write it cannot make (here: over RLIMIT_FSIZE, as a full disk would) is an
 * error that names the file and stays (no record goes missing silently);
 * points read back bit for bit (scalars, histograms, broker figures); the
 * results file written a point at a time from the spill is byte for byte the
 * document ev_report_build makes, for a run's (spilled) results and for
 * results in memory, with and without points; the drift read from the spill
 * equals the drift of the same points in memory. */
#include "ev_hist.h"
#include "ev_report.h"
#include "ev_scenario.h"
#include "ev_spill.h"
#include "ev_test.h"
#include "ev_test_plan.h"
#include "ev_tseries.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

static void test_spill(void)
{
    ev_spill *s = NULL;
    ev_err err;
    CHECK_INT(ev_spill_open("the test", &s, &err), ==, 0);
    char big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    /* Record i: i bytes of big from offset i (record 0 is empty), in two parts. */
    for (size_t i = 0; i < 300; i++) {
        size_t n = i == 299 ? sizeof big - 300 : i;
        ev_spill_part parts[2] = {{big + i, n / 2}, {big + i + n / 2, n - n / 2}};
        CHECK_INT(ev_spill_append(s, parts, 2, &err), ==, 0);
    }
    CHECK_U64(ev_spill_count(s), ==, 300);
    CHECK_U64(ev_spill_bytes(s), ==, 300 * 4 + 298 * 299 / 2 + sizeof big - 300);
    /* Backwards, then forwards: every record as written. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < 300; k++) {
            size_t i = pass ? k : 299 - k, n = i == 299 ? sizeof big - 300 : i;
            const void *d = NULL;
            size_t got = 1;
            CHECK_INT(ev_spill_read(s, i, &d, &got, &err), ==, 0);
            CHECK_U64(got, ==, n);
            CHECK(memcmp(d, big + i, n) == 0);
            CHECK_INT(((const char *)d)[n], ==, '\0');
        }
    /* Appending after reading, then reading the new record and an old one. */
    ev_spill_part one = {"after", 5};
    CHECK_INT(ev_spill_append(s, &one, 1, &err), ==, 0);
    const void *d = NULL;
    size_t n = 0;
    CHECK_INT(ev_spill_read(s, 300, &d, &n, &err), ==, 0);
    CHECK_U64(n, ==, 5);
    CHECK(memcmp(d, "after", 5) == 0);
    CHECK_INT(ev_spill_read(s, 7, &d, &n, &err), ==, 0);
    CHECK_U64(n, ==, 7);
    CHECK(memcmp(d, big + 7, 7) == 0);
    /* No record 302: an error, and from then on every call says so. */
    CHECK_INT(ev_spill_read(s, 301, &d, &n, &err), ==, EV_EINTERNAL);
    CHECK(strstr(err.msg, "the test spill file in ") != NULL);
    ev_spill_free(s);
    ev_spill_free(NULL);
}

/* A write the file system refuses (over the file size limit, EFBIG, as a
 * full disk refuses with ENOSPC) fails the append with the reason, and every
 * later append and read fails the same way. */
static void test_spill_write_error(void)
{
    ev_spill *s = NULL;
    ev_err err;
    CHECK_INT(ev_spill_open("the timeseries", &s, &err), ==, 0);
    struct rlimit old, lim;
    CHECK_INT(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK_INT(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
    char rec[1000] = {0};
    ev_spill_part p = {rec, sizeof rec};
    int rc = 0, ok = 0;
    for (int i = 0; i < 10 && !rc; i++)
        if (!(rc = ev_spill_append(s, &p, 1, &err)))
            ok++;
    CHECK_INT(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
    signal(SIGXFSZ, prev);
    CHECK_INT(rc, ==, EV_EINTERNAL);
    CHECK_INT(ok, ==, 4); /* 4 × 1004 bytes fit under 4096 */
    CHECK_U64(ev_spill_count(s), ==, 4);
    CHECK(strstr(err.msg, "the timeseries spill file in ") != NULL);
    CHECK(strstr(err.msg, "writing record 5") != NULL);
    CHECK(strstr(err.msg, "File too large") != NULL);
    ev_err again;
    CHECK_INT(ev_spill_append(s, &p, 1, &again), ==, EV_EINTERNAL);
    CHECK_STR(again.msg, err.msg);
    const void *d;
    size_t n;
    CHECK_INT(ev_spill_read(s, 0, &d, &n, &again), ==, EV_EINTERNAL);
    CHECK_STR(again.msg, err.msg);
    ev_spill_free(s);
    /* A directory that is not there: the error names it. */
    char *old_tmp = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", "/nonexistent-evload-dir", 1);
    s = NULL;
    CHECK_INT(ev_spill_open("the timeseries", &s, &err), ==, EV_EINTERNAL);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, "/nonexistent-evload-dir") != NULL);
    if (old_tmp)
        setenv("TMPDIR", old_tmp, 1);
    else
        unsetenv("TMPDIR");
    free(old_tmp);
}

/* Point i of a synthetic run: every field different from its neighbours',
 * reals that need all 17 digits, histograms of i + 1 samples, broker figures
 * with reals, integers, null and a nested object (none on every third). */
static void make_point(ev_tpoint *tp, size_t i)
{
    memset(tp, 0, sizeof *tp);
    tp->t = (double)(i + 1) + 0.000123456789 + 1.0 / 3.0 * 1e-9;
    snprintf(tp->phase, sizeof tp->phase, "%s", i < 2 ? "warmup" : i < 40 ? "publish" : "drain");
    tp->rate_target = 1000.0 / 3.0;
    tp->rate_achieved = 333.0 + (double)i / 7.0;
    tp->sent = 333 * (i + 1), tp->acked = 333 * (i + 1) - 1, tp->failed = i % 3;
    tp->received = 330 * (i + 1), tp->lost = i % 5;
    tp->in_flight = (int64_t)i, tp->depth = i % 4 ? (int64_t)i * 3 : -1;
    tp->blocked_ns = (int64_t)i * 1234567;
    tp->e2e_p50_ms = 0.1 + (double)i / 1e3, tp->e2e_p99_ms = 2.0 + (double)i / 9.0;
    tp->e2e_max_ms = 9.0 + (double)i, tp->sched_lag_p99_ms = 0.01 * (double)i;
    tp->rss_bytes = i % 7 ? (int64_t)(20 << 20) + (int64_t)i * 4096 : -1;
    tp->planned_s = 60.0, tp->remaining_s = 60.0 - tp->t;
    ev_hist *h = ev_hist_new();
    for (size_t k = 0; k <= i; k++)
        ev_hist_record(h, (int64_t)(1000000 + 37000 * (k + i)));
    tp->hist_e2e = ev_hist_encode(h);
    ev_hist_record(h, 5000);
    tp->hist_ack = ev_hist_encode(h);
    tp->hist_e2e_sched = i % 2 ? ev_hist_encode(h) : NULL;
    ev_hist_free(h);
    if (i % 3)
        tp->broker =
            json_pack("{s:f, s:I, s:n, s:{s:f, s:s}, s:f}", "memory",
                      (double)(1 << 20) * (1.0 + (double)i / 3.0), "ready", (json_int_t)i * 1000003,
                      "lag", "sub", "depth", 1.0 / 7.0 * (double)i, "name", "q\"1\n", "whole", 5.0);
}

static void free_point(ev_tpoint *tp)
{
    free(tp->hist_e2e);
    free(tp->hist_ack);
    free(tp->hist_e2e_sched);
    json_decref(tp->broker);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    char *buf = malloc(1 << 22);
    CHECK(buf != NULL);
    *n = fread(buf, 1, 1 << 22, f);
    CHECK(*n < 1 << 22);
    fclose(f);
    return buf;
}

/* ev_report_results streamed to a file equals ev_report_write of
 * ev_report_build, byte for byte. */
static void check_same_file(const ev_results *R, const char *dir)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/streamed.json", dir);
    snprintf(b, sizeof b, "%s/built.json", dir);
    ev_err err;
    CHECK_INT(ev_report_results(R, a, NULL, &err), ==, 0);
    json_t *doc = NULL;
    CHECK_INT(ev_report_results(R, b, &doc, &err), ==, 0);
    CHECK(doc != NULL);
    CHECK_U64(json_array_size(json_object_get(doc, "timeseries")), ==, R->nts);
    json_decref(doc);
    size_t na, nb;
    char *ta = slurp(a, &na), *tb = slurp(b, &nb);
    CHECK_U64(na, ==, nb);
    CHECK(memcmp(ta, tb, na) == 0);
    CHECK(nb > 1000);
    free(ta);
    free(tb);
    remove(a);
    remove(b);
}

static void fill_results(ev_results *R, const ev_plan *p)
{
    memset(R, 0, sizeof *R);
    R->plan = p;
    snprintf(R->run_id, sizeof R->run_id, "t1");
    R->target = "mock://";
    R->broker_name = "mock";
    /* One group of the plan's one output: verified, so the drift reads the
     * e2e histograms. */
    CHECK_U64(p->noutputs, ==, 1);
    R->outputs = calloc(1, sizeof *R->outputs);
    R->groups = calloc(1, sizeof *R->groups);
    CHECK(R->outputs && R->groups);
    R->noutputs = R->ngroups = 1;
    R->outputs[0].def = &p->outputs[0];
    R->outputs[0].source = "mock://";
    R->outputs[0].ngroups = 1;
    snprintf(R->groups[0].name, sizeof R->groups[0].name, "g1");
}

static void test_points(void)
{
    ev_plan *p = ev_test_plan_ok("{\"target\": \"mock://\", \"drift\": {\"interval\": \"5s\"}, "
                                 "\"publish\": {\"rate\": 333, \"duration\": \"40s\"}}");
    char dir[] = "/tmp/evload-test-tseries-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    enum { N = 45 };
    ev_results S, M; /* spilled, as a run's; in memory, as merge's */
    fill_results(&S, p);
    fill_results(&M, p);
    CHECK(ev_tseries_last(&S) == NULL);
    M.ts = calloc(N, sizeof *M.ts);
    M.nts = N;
    ev_err err;
    for (size_t i = 0; i < N; i++) {
        ev_tpoint tp;
        make_point(&tp, i);
        CHECK_INT(ev_tseries_append(&S, &tp, &err), ==, 0);
        const ev_tpoint *last = ev_tseries_last(&S);
        CHECK(last != NULL && last->t == tp.t && last->sent == tp.sent);
        CHECK(last->hist_e2e == NULL && last->broker == NULL);
        M.ts[i] = tp; /* M owns the strings from here */
    }
    CHECK_U64(S.nts, ==, 0); /* nothing in memory while the run goes */
    CHECK(ev_tseries_bytes(&S) > 0);
    CHECK_INT(ev_tseries_finish(&S, &err), ==, 0);
    CHECK_U64(S.nts, ==, N);
    CHECK_INT(ev_tseries_finish(&M, &err), ==, 0); /* no spill: nothing to do */
    CHECK_U64(M.nts, ==, N);
    CHECK(M.ts[3].hist_e2e != NULL);
    /* The scalars in memory, the rest on file; every point as it was, in
     * order, read back in any order. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < N; k++) {
            size_t i = pass ? k : N - 1 - k;
            const ev_tpoint *s = &S.ts[i], *m = &M.ts[i];
            CHECK(s->hist_e2e == NULL && s->hist_ack == NULL && s->broker == NULL);
            CHECK(s->t == m->t && !strcmp(s->phase, m->phase) && s->sent == m->sent);
            CHECK(s->depth == m->depth && s->rss_bytes == m->rss_bytes);
            CHECK(s->e2e_p99_ms == m->e2e_p99_ms && s->remaining_s == m->remaining_s);
            const ev_tpoint *w = ev_tseries_point(&S, i);
            CHECK(w != NULL);
            CHECK(w->t == m->t && w->received == m->received && w->blocked_ns == m->blocked_ns);
            CHECK(same_str(w->hist_e2e, m->hist_e2e));
            CHECK(same_str(w->hist_ack, m->hist_ack));
            CHECK(same_str(w->hist_e2e_sched, m->hist_e2e_sched));
            CHECK((w->broker == NULL) == (m->broker == NULL));
            CHECK(!m->broker || json_equal(w->broker, m->broker));
            CHECK(ev_tseries_point(&M, i) == m);
        }
    CHECK(ev_tseries_point(&S, N) == NULL); /* no such point: an error from then on */
    CHECK_INT(ev_tseries_error(&S, &err), ==, EV_EINTERNAL);
    CHECK(strstr(err.msg, "no record 46") != NULL);
    CHECK_INT(ev_tseries_error(&M, &err), ==, 0);
    ev_results_free(&S);

    /* Again, without the out-of-range read: evaluate and write. */
    fill_results(&S, p);
    for (size_t i = 0; i < N; i++) {
        ev_tpoint tp;
        make_point(&tp, i);
        CHECK_INT(ev_tseries_append(&S, &tp, &err), ==, 0);
        free_point(&tp);
    }
    CHECK_INT(ev_tseries_finish(&S, &err), ==, 0);
    CHECK_INT(ev_report_evaluate(&S, &err), ==, 0);
    CHECK_INT(ev_report_evaluate(&M, &err), ==, 0);
    /* The drift read a point at a time from the file equals the drift of
     * the points in memory: 38 publishing seconds make 7 complete 5 s
     * points of p99, throughput, rss and the broker's memory. */
    for (int m = 0; m < EV_DRIFT_COUNT; m++) {
        const ev_drift_series *a = &S.drift.s[m], *b = &M.drift.s[m];
        CHECK_U64(a->npoints, ==, 7);
        CHECK_U64(a->npoints, ==, b->npoints);
        CHECK_INT(a->available, ==, 1);
        for (size_t i = 0; i < a->npoints; i++)
            CHECK(a->t_s[i] == b->t_s[i] && a->value[i] == b->value[i]);
    }
    check_same_file(&S, dir);
    check_same_file(&M, dir);
    ev_results_free(&M);
    ev_results_free(&S);

    /* No points at all: "timeseries": [] either way. */
    fill_results(&S, p);
    CHECK_INT(ev_tseries_finish(&S, &err), ==, 0);
    CHECK_INT(ev_report_evaluate(&S, &err), ==, 0);
    check_same_file(&S, dir);
    ev_results_free(&S);
    rmdir(dir);
    ev_plan_free(p);
}

int main(void)
{
    EV_RUN(test_spill);
    EV_RUN(test_spill_write_error);
    EV_RUN(test_points);
    EV_DONE();
}
