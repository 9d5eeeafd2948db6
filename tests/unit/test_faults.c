/* test_faults — the `faults` setting (grammar, cross-field checks, their
 * positions), the measuring rules (recovery, events by intended time), the
 * exec action's child processes (ev_spawn) and the connections action over
 * real loopback sockets (ev_conns, plain TCP: the AMQP and Redis handshakes
 * are checked against real brokers in tests/integration/faults_*.sh). */
#include "ev_clock.h"
#include "ev_conns.h"
#include "ev_faults.h"
#include "ev_pacer.h"
#include "ev_scenario.h"
#include "ev_spawn.h"
#include "ev_test.h"
#include "ev_url.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define S EV_NS_PER_S
#define MS EV_NS_PER_MS

/* ---- the setting ---------------------------------------------------------- */

/* Loads and finishes text as "t.json"; NULL with the error in *e. */
static ev_plan *load(const char *text, ev_err *e)
{
    ev_plan *p = NULL;
    memset(e, 0, sizeof *e);
    if (ev_plan_load_text(text, strlen(text), "t.json", &p, e))
        return NULL;
    if (ev_plan_finish(p, e)) {
        ev_plan_free(p);
        return NULL;
    }
    return p;
}

static ev_plan *load_ok(const char *text)
{
    ev_err e;
    ev_plan *p = load(text, &e);
    if (!p)
        fprintf(stderr, "unexpected error: %s\n", e.msg);
    CHECK(p != NULL);
    return p;
}

static void load_err(const char *text, const char *want)
{
    ev_err e;
    ev_plan *p = load(text, &e);
    CHECK(p == NULL);
    CHECK_STR(e.msg, want);
}

static void test_grammar(void)
{
    ev_plan *p = load_ok(
        "{\"target\": \"mock://\", \"publish\": {\"rate\": 10, \"duration\": \"30s\"},\n"
        " \"faults\": [\n"
        "  {\"name\": \"slow\", \"at\": \"10s\", \"for\": \"5s\", \"proxy\": "
        "\"down:latency=200ms..800ms\"},\n"
        "  {\"at\": \"20s\", \"proxy\": \"reset\"},\n"
        "  {\"at\": \"21s\", \"for\": \"2s\", \"proxy\": \"reset\"},\n"
        "  {\"at\": \"22s\", \"proxy\": [\"up:latency=5ms\", \"both:bandwidth=64kB\"]},\n"
        "  {\"at\": \"25s\", \"exec\": \"rabbitmqctl stop_app\", \"timeout\": \"30s\"},\n"
        "  {\"at\": \"26s\", \"exec\": [\"kubectl\", \"delete\", \"pod\"]},\n"
        "  {\"at\": \"1500ms\", \"for\": \"1s\", \"connections\": {\"count\": 500, \"mode\": "
        "\"handshake\", \"protocol\": \"amqp\", \"parallel\": 4}}]}");
    CHECK_U64(p->nfaults, ==, 7);
    const ev_fault *f = p->faults;
    CHECK_STR(f[0].name, "slow");
    CHECK_STR(f[0].where, "t.json:3:3");
    CHECK_INT(f[0].kind, ==, EV_FAULT_PROXY);
    CHECK_INT(f[0].at_ns, ==, 10 * S);
    CHECK_INT(f[0].for_ns, ==, 5 * S);
    CHECK_U64(f[0].ntoxics, ==, 1);
    CHECK_INT(f[0].toxics[0].kind, ==, EV_PROXY_LATENCY);
    CHECK_INT(f[0].toxics[0].dirs, ==, EV_PROXY_DOWN);
    CHECK_INT(f[0].toxics[0].min_ns, ==, 200 * MS);
    CHECK_INT(f[0].toxics[0].max_ns, ==, 800 * MS);
    CHECK_STR(f[0].spec, "down:latency=200ms..800ms");
    CHECK_INT(f[0].reset_once, ==, 0);
    CHECK_STR(f[1].name, "proxy-2");
    CHECK_INT(f[1].reset_once, ==, 1); /* reset without for: once */
    CHECK_INT(f[1].for_ns, ==, -1);
    CHECK_INT(f[2].reset_once, ==, 0); /* with for: the toxic, for its window */
    CHECK_U64(f[3].ntoxics, ==, 2);
    CHECK_STR(f[3].spec, "up:latency=5ms, both:bandwidth=64kB");
    CHECK_INT(f[4].kind, ==, EV_FAULT_EXEC);
    CHECK_STR(f[4].argv[0], "/bin/sh");
    CHECK_STR(f[4].argv[1], "-c");
    CHECK_STR(f[4].argv[2], "rabbitmqctl stop_app");
    CHECK(f[4].argv[3] == NULL);
    CHECK_INT(f[4].timeout_ns, ==, 30 * S);
    CHECK_STR(f[5].argv[0], "kubectl");
    CHECK_STR(f[5].argv[2], "pod");
    CHECK(f[5].argv[3] == NULL);
    CHECK_STR(f[5].spec, "kubectl delete pod");
    CHECK_INT(f[5].timeout_ns, ==, 60 * S); /* the default */
    CHECK_INT(f[6].kind, ==, EV_FAULT_CONNECTIONS);
    CHECK_INT(f[6].at_ns, ==, 1500 * MS);
    CHECK_INT(f[6].count, ==, 500);
    CHECK_INT(f[6].mode, ==, EV_CONNS_HANDSHAKE);
    CHECK_INT(f[6].protocol, ==, EV_CONNS_AMQP);
    CHECK_INT(f[6].parallel, ==, 4);
    CHECK_STR(f[6].spec, "500 handshake amqp parallel 4");
    ev_plan_free(p);

    /* A stage's window becomes at/for (warm-up included); exec keeps its own. */
    p = load_ok("{\"target\": \"mock://\", \"warmup\": \"2s\", \"publish\": {\"executor\": "
                "\"ramping-arrival-rate\", \"stages\": [{\"duration\": \"3s\", \"target\": 10}, "
                "{\"duration\": \"4s\", \"target\": 20}]}, \"faults\": [{\"stage\": 2, "
                "\"connections\": {\"count\": 3}}, {\"stage\": 1, \"exec\": \"true\"}]}");
    CHECK_INT(p->faults[0].at_ns, ==, 5 * S);
    CHECK_INT(p->faults[0].for_ns, ==, 4 * S);
    CHECK_INT(p->faults[1].at_ns, ==, 2 * S);
    CHECK_INT(p->faults[1].for_ns, ==, -1);
    ev_plan_free(p);

    /* --set takes the same JSON; an empty array is no faults. */
    ev_plan *q = NULL;
    ev_err e = {{0}};
    CHECK_INT(ev_plan_new_default(&q, &e), ==, 0);
    CHECK_INT(ev_plan_set(q, "faults=[{\"at\": \"1s\", \"exec\": \"true\"}]", &e), ==, 0);
    CHECK_U64(q->nfaults, ==, 1);
    CHECK_STR(q->faults[0].where, "--set faults");
    CHECK_INT(ev_plan_set(q, "faults=[]", &e), ==, 0);
    CHECK_U64(q->nfaults, ==, 0);
    CHECK_INT(ev_plan_set(q, "faults=[{\"at\": \"1s\"}]", &e), ==, EV_EUSAGE);
    CHECK_STR(e.msg, "--set faults: faults[0] needs an action: \"proxy\": TOXIC, \"exec\": "
                     "COMMAND or \"connections\": {\"count\": N}");
    ev_plan_free(q);
}

static void test_grammar_errors(void)
{
#define T "{\"target\": \"mock://\",\n \"faults\": [\n  "
    load_err(T "{\"at\": \"1s\", \"proxy\": \"down:latncy=2s\"}]}",
             "t.json:3:25: toxic \"down:latncy=2s\": unknown toxic \"latncy\" (did you mean "
             "\"latency\"?); expected latency, bandwidth, timeout, reset, slicer or limit_data "
             "(docs/faults.md)");
    load_err(T "{\"at\": \"1s\", \"for\": \"0s\", \"proxy\": \"reset\"}]}",
             "t.json:3:23: faults[0].for must be longer than 0s");
    load_err(T "{\"at\": 5, \"exec\": \"true\"}]}",
             "t.json:3:10: faults[0].at must be a duration string such as \"10s\" (got a number)");
    load_err(T "{\"at\": \"1s\", \"exec\": \"true\", \"proxy\": \"reset\"}]}",
             "t.json:3:32: a fault has one action: proxy, exec or connections; write another "
             "fault for this one");
    load_err(T "{\"exec\": \"true\"}]}",
             "t.json:3:3: faults[0] needs a time: \"at\": \"10s\" (an offset from the schedule's "
             "start) or \"stage\": N");
    load_err(T "{\"at\": \"1s\", \"for\": \"1s\", \"exec\": \"true\"}]}",
             "t.json:3:3: faults[0] exec has no \"for\": its window is the command's run, bounded "
             "by \"timeout\" (default 60s)");
    load_err(T "{\"at\": \"1s\", \"timeout\": \"1s\", \"proxy\": \"reset\"}]}",
             "t.json:3:3: faults[0] \"timeout\" applies to exec only");
    load_err(T "{\"at\": \"1s\", \"exec\": []}]}",
             "t.json:3:24: faults[0].exec must be a command string (run by /bin/sh -c) or an "
             "array of 1 to 64 arguments, e.g. [\"rabbitmqctl\", \"stop_app\"]");
    load_err(T "{\"at\": \"1s\", \"connections\": {\"count\": 5, \"mod\": \"idle\"}}]}",
             "t.json:3:44: unknown key \"mod\" in \"faults[0].connections\"; did you mean "
             "\"mode\"?");
    load_err(T "{\"at\": \"1s\", \"connections\": {\"mode\": \"idle\"}}]}",
             "t.json:3:31: faults[0].connections needs \"count\": how many connections to open");
    load_err(T "{\"at\": \"1s\", \"connections\": {\"count\": 2, \"mode\": \"handshake\", "
               "\"retry\": \"1s\"}}]}",
             "t.json:3:31: faults[0].connections \"retry\" is for mode idle; handshake mode opens "
             "connections anew all the time");
    load_err(T "{\"at\": \"1s\", \"proxy\": [\"down:latency=1ms\", \"down:latency=2ms\"]}]}",
             "t.json:3:46: faults[0].proxy[1] sets latency twice on one direction; a proxy holds "
             "one of each");
    load_err(T "{\"name\": \"a\", \"at\": \"1s\", \"exec\": \"true\"},\n  {\"name\": \"a\", "
               "\"at\": \"2s\", \"exec\": \"true\"}]}",
             "t.json:4:3: faults[1] has the name \"a\" of faults[0]");
    load_err(T "{\"at\": \"1s\", \"exec\": \"true\", \"when\": 1}]}",
             "t.json:3:32: unknown key \"when\" in \"faults[0]\"; expected one of: name, at, for, "
             "stage, proxy, exec, timeout, connections");
    /* Cross-field (ev_plan_finish): the fault's own position. */
    load_err(T "{\"name\": \"late\", \"at\": \"10s\", \"exec\": \"true\"}]}",
             "t.json:3:3: fault late: starts at 10s, but publishing ends at 10s: it would "
             "overlap none of the run's events");
    load_err(T "{\"stage\": 1, \"exec\": \"true\"}]}",
             "t.json:3:3: fault exec-1: \"stage\": 1 needs publish.executor ramping-arrival-rate "
             "(with publish.stages); use \"at\" and \"for\"");
    load_err(T "{\"at\": \"1s\", \"for\": \"5s\", \"proxy\": \"down:latency=1s\"},\n  {\"at\": "
               "\"3s\", \"proxy\": \"both:latency=2ms\"}]}",
             "t.json:4:3: fault proxy-2: holds latency on a direction while fault proxy-1 does "
             "(their windows overlap): a proxy has one latency per direction");
#undef T
    /* Not overlapping: one after the other, or other directions. */
    ev_plan *p =
        load_ok("{\"target\": \"mock://\", \"faults\": [{\"at\": \"1s\", \"for\": \"2s\", "
                "\"proxy\": \"down:latency=1s\"}, {\"at\": \"3s\", \"proxy\": "
                "\"down:latency=2ms\"}, {\"at\": \"1s\", \"proxy\": \"up:latency=2ms\"}]}");
    ev_plan_free(p);
}

/* Checks against the target: ev_faults_new, as `evload check` runs it. */
static void new_err(const char *faults, const char *target, const char *want)
{
    char text[1024];
    snprintf(text, sizeof text, "{\"target\": \"%s\", \"faults\": %s}", target, faults);
    ev_plan *p = load_ok(text);
    ev_url *u = NULL;
    ev_err e = {{0}};
    CHECK_INT(ev_url_parse(p->target, &u, &e), ==, 0);
    ev_faults *f = NULL;
    int rc = ev_faults_new(p, u, 0, &f, &e);
    if (want) {
        CHECK_INT(rc, ==, EV_EUSAGE);
        CHECK_STR(e.msg, want);
        CHECK(f == NULL);
    } else {
        CHECK_INT(rc, ==, 0);
        CHECK(f != NULL);
    }
    ev_faults_free(f);
    ev_url_free(u);
    ev_plan_free(p);
}

static void test_targets(void)
{
    const char *px = "[{\"at\": \"1s\", \"proxy\": \"reset\"}]";
    const char *cn = "[{\"at\": \"1s\", \"connections\": {\"count\": 2}}]";
    new_err(px, "mock://",
            "t.json:1:34: fault proxy-1: proxy needs a target on the network; mock:// has none "
            "(in-process): use exec faults, or the target's own fault parameters "
            "(docs/targets.md)");
    new_err(cn, "kafka://embedded/t",
            "t.json:1:45: fault connections-1: connections needs a target on the network; "
            "kafka://embedded has none (in-process): use exec faults, or the target's own fault "
            "parameters (docs/kafka.md: down_broker)");
    new_err(px, "kafka://127.0.0.1:9092/t",
            "t.json:1:51: fault proxy-1: a proxy cannot stand in front of Kafka: its clients "
            "connect to the brokers the cluster advertises, not to the bootstrap address (that "
            "would need one proxy per broker and the brokers advertising them); use exec with "
            "`evload kafka-mock`'s down/up/rtt commands (docs/faults.md)");
    new_err(cn, "kafka://127.0.0.1:9092/t", NULL); /* plain TCP to the bootstrap broker */
    new_err(px, "redis://a:1,b:2?channel=c",
            "t.json:1:52: fault proxy-1: proxy needs one host:port; target "
            "redis://a:1,b:2?channel=c has several");
    new_err(px, "redis://127.0.0.1?channel=c", NULL); /* the default port */
    new_err(px, "unknown+x://h/",
            "t.json:1:41: fault proxy-1: proxy needs the target's host and "
            "port; unknown+x://h/ gives no port");
    new_err("[{\"at\": \"1s\", \"exec\": \"true\"}]", "mock://", NULL); /* exec: any target */
    /* No faults: no ev_faults at all. */
    ev_plan *p = load_ok("{\"target\": \"mock://\", \"faults\": []}");
    ev_url *u = NULL;
    ev_err e = {{0}};
    ev_faults *f = (ev_faults *)1;
    CHECK_INT(ev_url_parse(p->target, &u, &e), ==, 0);
    CHECK_INT(ev_faults_new(p, u, 0, &f, &e), ==, 0);
    CHECK(f == NULL);
    ev_url_free(u);
    ev_plan_free(p);
}

/* ---- measuring -------------------------------------------------------------- */

static void test_recovery(void)
{
    /* Baseline p99 2 ms: tolerance 2 × 1.5 + 1 = 4 ms; depth not known. */
    ev_recovery_base b = {.p99_ms = 2.0, .depth = -1};
    ev_recovery_tolerance(&b, 100);
    CHECK_DBL(fabs(b.tol_ms - 4.0), <, 1e-9);
    ev_recovery_sec s[] = {
        {0, 1, 100, 2.0, 0, -1},
        {1, 2, 100, 500.0, 0, -1}, /* the fault: 1..2.4 */
        {2, 3, 100, 3.9, 0, -1},   /* ends after 2.4, within: back */
        {3, 4, 100, 2.0, 0, -1},
    };
    double r = -1;
    CHECK_INT(ev_recovery_find(s, 4, 2.4, &b, &r), ==, 1);
    CHECK_DBL(r, ==, 0.0); /* the second holding the end was already back */
    s[2].p99_ms = 4.1;     /* just outside */
    CHECK_INT(ev_recovery_find(s, 4, 2.4, &b, &r), ==, 1);
    CHECK_DBL(fabs(r - 0.6), <, 1e-9); /* the next second starts 0.6 s after the end */
    s[3].count = 0;                    /* nothing delivered: not back */
    CHECK_INT(ev_recovery_find(s, 4, 2.4, &b, &r), ==, 0);
    s[3].count = 100;
    s[3].gaps_grew = 1; /* events went missing in it: not back */
    CHECK_INT(ev_recovery_find(s, 4, 2.4, &b, &r), ==, 0);
    s[3].gaps_grew = 0;
    CHECK_INT(ev_recovery_find(s, 4, 4.0, &b, &r), ==, 0); /* nothing after the end */
}

/* ev_faults_seq_range against a linear scan of the lane's intended times. */
static void test_seq_range(void)
{
    ev_plan *p = load_ok("{\"target\": \"mock://\", \"publish\": {\"executor\": "
                         "\"ramping-arrival-rate\", \"lanes\": 3, \"start_rate\": 10, \"stages\": "
                         "[{\"duration\": \"5s\", \"target\": 200}, {\"duration\": \"3s\", "
                         "\"target\": 0}]}}");
    for (uint32_t l = 0; l < 3; l++) {
        ev_pacer pc;
        ev_err e;
        CHECK_INT(ev_pacer_init(&pc, p, l, &e), ==, 0);
        uint64_t sent = 0;
        while (ev_pacer_intended(&pc, sent + 1) >= 0)
            sent++;
        CHECK_U64(sent, >, 100);
        const int64_t win[][2] = {{0, 1 * S},         {2 * S, 2 * S + 300 * MS},
                                  {4500 * MS, 6 * S}, {7 * S, 100 * S},
                                  {-5 * S, 0},        {9 * S, 10 * S}};
        for (size_t w = 0; w < sizeof win / sizeof win[0]; w++) {
            uint64_t lo = 0, hi = 0, wl = 0, wh = 0;
            for (uint64_t q = 1; q <= sent; q++) {
                int64_t t = ev_pacer_intended(&pc, q);
                if (t >= win[w][0] && t <= win[w][1]) {
                    if (!wl)
                        wl = q;
                    wh = q;
                }
            }
            int rc = ev_faults_seq_range(&pc, sent, win[w][0], win[w][1], &lo, &hi);
            if (!wl) {
                CHECK_INT(rc, ==, -1);
            } else {
                CHECK_INT(rc, ==, 0);
                CHECK_U64(lo, ==, wl);
                CHECK_U64(hi, ==, wh);
            }
        }
        /* A lane that sent fewer: clipped to what it sent. */
        uint64_t lo, hi;
        CHECK_INT(ev_faults_seq_range(&pc, 5, 0, 100 * S, &lo, &hi), ==, 0);
        CHECK_U64(lo, ==, 1);
        CHECK_U64(hi, ==, 5);
    }
    ev_plan_free(p);
    /* max-throughput: no intended times. */
    p = load_ok("{\"target\": \"mock://\", \"publish\": {\"executor\": \"max-throughput\", "
                "\"count\": 100}}");
    ev_pacer pc;
    ev_err e;
    uint64_t lo, hi;
    CHECK_INT(ev_pacer_init(&pc, p, 0, &e), ==, 0);
    CHECK_INT(ev_faults_seq_range(&pc, 100, 0, 100 * S, &lo, &hi), ==, -1);
    ev_plan_free(p);
}

/* ---- exec: ev_spawn ------------------------------------------------------------ */

static ev_spawn *spawn(const char *cmd, int64_t timeout_ns)
{
    char sh[] = "/bin/sh", c[] = "-c", text[512];
    snprintf(text, sizeof text, "%s", cmd);
    char *argv[] = {sh, c, text, NULL};
    ev_spawn *s = NULL;
    ev_err e = {{0}};
    CHECK_INT(ev_spawn_start(argv, timeout_ns, &s, &e), ==, 0);
    return s;
}

/* Polls until reaped (bounded); returns how long it took. */
static int64_t wait_done(ev_spawn *s, int64_t bound_ns)
{
    int64_t t0 = ev_mono_ns();
    while (!ev_spawn_poll(s)) {
        CHECK_INT(ev_mono_ns() - t0, <, bound_ns);
        ev_sleep_until(ev_mono_ns() + 5 * MS, NULL);
    }
    return ev_mono_ns() - t0;
}

static void test_spawn(void)
{
    char tail[EV_SPAWN_TAIL + 8];
    ev_spawn_status st;
    /* Exit code, both streams in order, no descriptors of ours inherited. */
    int fd = dup(1); /* a descriptor the child must not see */
    char cmd[128];
    snprintf(cmd, sizeof cmd,
             "echo out; echo err >&2; [ -e /proc/self/fd/%d ] && echo LEAK; exit 7", fd);
    ev_spawn *s = spawn(cmd, 10 * S);
    wait_done(s, 10 * S);
    close(fd);
    ev_spawn_get(s, &st);
    CHECK_INT(st.running, ==, 0);
    CHECK_INT(st.exited, ==, 1);
    CHECK_INT(st.exit_code, ==, 7);
    CHECK_INT(st.signal, ==, 0);
    CHECK_INT(st.timed_out, ==, 0);
    ev_spawn_tail(s, tail, sizeof tail);
    CHECK_STR(tail, "out\nerr\n");
    ev_spawn_free(s);

    /* stdin is /dev/null: a command reading it ends at once. */
    s = spawn("cat; echo done", 10 * S);
    wait_done(s, 10 * S);
    ev_spawn_tail(s, tail, sizeof tail);
    CHECK_STR(tail, "done\n");
    ev_spawn_free(s);

    /* The tail keeps the last 2 KiB; control bytes and broken UTF-8 become '?'. */
    s = spawn("i=0; while [ $i -lt 1000 ]; do printf '%04d\\n' $i; i=$((i+1)); done; "
              "printf 'a\\001b\\303(\\303\\251\\n'",
              10 * S);
    wait_done(s, 10 * S);
    ev_spawn_tail(s, tail, sizeof tail);
    CHECK_U64(strlen(tail), ==, EV_SPAWN_TAIL); /* replacements are byte for byte */
    CHECK_HAS(tail, "0999\na?b?(\xc3\xa9\n");
    CHECK(strstr(tail, "0500\n") == NULL);
    ev_spawn_free(s);

    /* Timeout: SIGTERM to its process group (the shell's sleep too). */
    s = spawn("sleep 30; echo not-reached", 200 * MS);
    int64_t took = wait_done(s, 10 * S);
    ev_spawn_get(s, &st);
    CHECK_INT(st.timed_out, ==, 1);
    CHECK_INT(st.exited, ==, 0);
    CHECK_INT(st.signal, ==, 15);
    CHECK_INT(took, <, 3 * S);
    CHECK_INT(st.dur_ns, >=, 200 * MS);
    ev_spawn_free(s);

    /* A command that ignores SIGTERM gets SIGKILL after the grace period. */
    s = spawn("trap '' TERM; echo ready; while :; do sleep 0.05; done", 100 * MS);
    took = wait_done(s, 10 * S);
    ev_spawn_get(s, &st);
    CHECK_INT(st.timed_out, ==, 1);
    CHECK_INT(st.signal, ==, 9);
    CHECK_INT(took, >=, EV_SPAWN_GRACE_NS);
    ev_spawn_free(s);

    /* ev_spawn_kill ends one before its timeout; free kills one still running. */
    s = spawn("sleep 30", 60 * S);
    int64_t t0 = ev_mono_ns();
    ev_spawn_kill(s);
    CHECK_INT(ev_mono_ns() - t0, <, 3 * S);
    ev_spawn_get(s, &st);
    CHECK_INT(st.running, ==, 0);
    CHECK_INT(st.signal, ==, 15);
    ev_spawn_free(s);
    ev_spawn_free(spawn("sleep 30", 60 * S));

    /* A program that does not exist: a usage error naming it. */
    char prog[] = "evload-no-such-program";
    char *argv[] = {prog, NULL};
    ev_err e = {{0}};
    CHECK_INT(ev_spawn_start(argv, S, &s, &e), ==, EV_EUSAGE);
    CHECK_HAS(e.msg, "cannot start evload-no-such-program");
}

/* ---- connections: ev_conns over loopback TCP ------------------------------------ */

static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof a), ==, 0);
    CHECK_INT(listen(fd, 128), ==, 0);
    CHECK_INT(getsockname(fd, (struct sockaddr *)&a, &al), ==, 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static json_int_t jget(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* Waits (bounded) until the counter `k` reaches want. */
static json_t *wait_for(ev_conns *c, const char *k, json_int_t want)
{
    for (int i = 0; i < 500; i++) {
        json_t *j = ev_conns_json(c);
        if (jget(j, k) >= want)
            return j;
        json_decref(j);
        ev_sleep_until(ev_mono_ns() + 10 * MS, NULL);
    }
    return ev_conns_json(c);
}

static void test_conns(void)
{
    int port, lfd = listener(&port);
    ev_conns_cfg cfg = {.port = port, .proto = EV_CONNS_TCP, .mode = EV_CONNS_IDLE, .count = 20};
    snprintf(cfg.host, sizeof cfg.host, "127.0.0.1");
    ev_conns *c = NULL;
    ev_err e = {{0}};
    /* Idle: 20 connected (the kernel completes them; nobody needs to accept). */
    CHECK_INT(ev_conns_start(&cfg, &c, &e), ==, 0);
    json_t *j = wait_for(c, "accepted", 20);
    CHECK_INT(jget(j, "attempted"), ==, 20);
    CHECK_INT(jget(j, "accepted"), ==, 20);
    CHECK_INT(jget(j, "open"), ==, 20);
    CHECK_INT(jget(j, "peak_open"), ==, 20);
    CHECK_INT(jget(j, "refused"), ==, 0);
    char want[32];
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    CHECK_STR(json_string_value(json_object_get(j, "target")), want);
    json_decref(j);
    /* The server closes 5 of them: closed by the broker, not tried again. */
    for (int i = 0; i < 5; i++) {
        int a = accept(lfd, NULL, NULL);
        CHECK_INT(a, >=, 0);
        close(a);
    }
    j = wait_for(c, "closed_by_peer", 5);
    CHECK_INT(jget(j, "closed_by_peer"), ==, 5);
    CHECK_INT(jget(j, "open"), ==, 15);
    CHECK_INT(jget(j, "attempted"), ==, 20);
    CHECK_INT(jget(json_object_get(j, "reasons"), "closed by the broker"), ==, 5);
    json_decref(j);
    ev_conns_stop(c);
    j = ev_conns_json(c);
    CHECK_INT(jget(j, "open"), ==, 0);
    json_decref(j);
    ev_conns_free(c);
    close(lfd);

    /* Nothing listens: every one refused, once (no retry), or again and
     * again with retry. */
    cfg.count = 7;
    CHECK_INT(ev_conns_start(&cfg, &c, &e), ==, 0);
    j = wait_for(c, "refused", 7);
    CHECK_INT(jget(j, "refused"), ==, 7);
    json_decref(j);
    ev_sleep_until(ev_mono_ns() + 200 * MS, NULL);
    j = ev_conns_json(c);
    CHECK_INT(jget(j, "attempted"), ==, 7);
    CHECK_INT(jget(j, "accepted"), ==, 0);
    CHECK_INT(jget(json_object_get(j, "reasons"), "connection refused"), ==, 7);
    json_decref(j);
    ev_conns_free(c);
    cfg.retry_ns = 20 * MS;
    CHECK_INT(ev_conns_start(&cfg, &c, &e), ==, 0);
    j = wait_for(c, "refused", 30);
    CHECK_INT(jget(j, "refused"), >=, 30);
    json_decref(j);
    ev_conns_free(c);

    /* Handshake mode (tcp: connect, close, again): attempts keep coming. */
    lfd = listener(&port);
    cfg =
        (ev_conns_cfg){.port = port, .proto = EV_CONNS_TCP, .mode = EV_CONNS_HANDSHAKE, .count = 3};
    snprintf(cfg.host, sizeof cfg.host, "127.0.0.1");
    CHECK_INT(ev_conns_start(&cfg, &c, &e), ==, 0);
    j = wait_for(c, "accepted", 30);
    CHECK_INT(jget(j, "accepted"), >=, 30);
    CHECK_INT(jget(j, "peak_open"), <=, 3);
    json_decref(j);
    ev_conns_free(c);
    close(lfd);
}

int main(void)
{
    EV_RUN(test_grammar);
    EV_RUN(test_grammar_errors);
    EV_RUN(test_targets);
    EV_RUN(test_recovery);
    EV_RUN(test_seq_range);
    EV_RUN(test_spawn);
    EV_RUN(test_conns);
    EV_DONE();
}
