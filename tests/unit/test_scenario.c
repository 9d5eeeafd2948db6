/* test_scenario — scenario files, --set, ev_plan_finish and the schedule.
 * Run from the repository root (CTest's working directory). Error texts are
 * compared whole: they are the user interface, and e2e tests rely on them. */
#include "ev_scenario.h"
#include "ev_test.h"
#include "ev_settings.h"
#include "ev_text.h"

#include <math.h>

#define NS_S INT64_C(1000000000)
#define NS_MS INT64_C(1000000)

/* Loads text as "t.json"; expects success. */
static ev_plan *load_ok(const char *text)
{
    ev_plan *p = NULL;
    ev_err e = {{0}};
    int rc = ev_plan_load_text(text, strlen(text), "t.json", &p, &e);
    if (rc != EV_OK)
        fprintf(stderr, "unexpected error: %s\n", e.msg);
    CHECK_INT(rc, ==, EV_OK);
    CHECK(p != NULL);
    return p;
}

/* Loads text as "t.json"; expects exactly this one-line error. */
static void load_err(const char *text, const char *want)
{
    ev_plan *p = NULL;
    ev_err e = {{0}};
    int rc = ev_plan_load_text(text, strlen(text), "t.json", &p, &e);
    CHECK_INT(rc, ==, EV_EUSAGE);
    CHECK(p == NULL);
    CHECK_STR(e.msg, want);
    CHECK(strchr(e.msg, '\n') == NULL);
}

static void set_ok(ev_plan *p, const char *assignment)
{
    ev_err e = {{0}};
    int rc = ev_plan_set(p, assignment, &e);
    if (rc != EV_OK)
        fprintf(stderr, "unexpected error: %s\n", e.msg);
    CHECK_INT(rc, ==, EV_OK);
}

static void set_err(ev_plan *p, const char *assignment, const char *want)
{
    ev_err e = {{0}};
    CHECK_INT(ev_plan_set(p, assignment, &e), ==, EV_EUSAGE);
    CHECK_STR(e.msg, want);
}

static void finish_ok(ev_plan *p)
{
    ev_err e = {{0}};
    int rc = ev_plan_finish(p, &e);
    if (rc != EV_OK)
        fprintf(stderr, "unexpected error: %s\n", e.msg);
    CHECK_INT(rc, ==, EV_OK);
}

static void finish_err(ev_plan *p, const char *want)
{
    ev_err e = {{0}};
    CHECK_INT(ev_plan_finish(p, &e), ==, EV_EUSAGE);
    CHECK_STR(e.msg, want);
}

/* ---- valid scenarios --------------------------------------------------- */

/* The example scenario of docs/design.md §7, field by field. */
static void test_full_scenario(void)
{
    ev_plan *p = NULL;
    ev_err e = {{0}};
    int rc = ev_plan_load("tests/golden/scenarios/spike.json", &p, &e);
    if (rc != EV_OK)
        fprintf(stderr, "%s\n", e.msg);
    CHECK_INT(rc, ==, EV_OK);
    CHECK_STR(p->path, "tests/golden/scenarios/spike.json");
    CHECK_STR(p->name, "spike");
    CHECK_STR(p->description, "Ramp to 500 events/s, hold, come back down");
    CHECK_STR(p->target,
              "amqp://guest:guest@127.0.0.1:5672/%2f?exchange=cloud-events&queue=evload");
    CHECK(p->run_id == NULL);
    CHECK_STR(p->event_type, "network.example.build.start");
    CHECK_STR(p->event_source, "/evload");
    CHECK_INT(p->data_size, ==, 512);
    CHECK_INT(p->mode, ==, EV_MODE_STRUCTURED);
    CHECK(p->event_data_json == NULL);
    CHECK_INT(p->executor, ==, EV_EXEC_RAMPING);
    CHECK_INT(p->lanes, ==, 4);
    CHECK_DBL(p->start_rate, ==, 100);
    CHECK_U64(p->nstages, ==, 3);
    CHECK_INT(p->stages[0].duration_ns, ==, 60 * NS_S);
    CHECK_DBL(p->stages[0].target, ==, 500);
    CHECK_INT(p->stages[1].duration_ns, ==, 120 * NS_S);
    CHECK_DBL(p->stages[1].target, ==, 500);
    CHECK_INT(p->stages[2].duration_ns, ==, 60 * NS_S);
    CHECK_DBL(p->stages[2].target, ==, 100);
    CHECK_INT(p->count, ==, 0);
    CHECK_INT(p->max_in_flight, ==, 1000);
    CHECK_INT(p->groups, ==, 1);
    CHECK_INT(p->consumers, ==, 4);
    CHECK_INT(p->prefetch, ==, 100);
    CHECK_INT(p->work_min_ns, ==, 5 * NS_MS);
    CHECK_INT(p->work_max_ns, ==, 20 * NS_MS);
    CHECK_INT(p->drain_timeout_ns, ==, 30 * NS_S);
    CHECK(p->verify_mode == NULL);
    CHECK_INT(p->warmup_ns, ==, 5 * NS_S);
    CHECK_U64(p->nthresholds, ==, 3);
    CHECK_STR(p->thresholds[0].metric, "lost");
    CHECK_STR(p->thresholds[0].expr, "count==0");
    CHECK_INT(p->thresholds[0].latency, ==, 0);
    CHECK_INT(p->thresholds[0].agg, ==, EV_AGG_COUNT);
    CHECK_INT(p->thresholds[0].op, ==, EV_OP_EQ);
    CHECK_DBL(p->thresholds[0].bound, ==, 0);
    CHECK_STR(p->thresholds[1].metric, "e2e");
    CHECK_INT(p->thresholds[1].latency, ==, 1);
    CHECK_INT(p->thresholds[1].agg, ==, EV_AGG_P);
    CHECK_DBL(p->thresholds[1].pct, ==, 95);
    CHECK_INT(p->thresholds[1].op, ==, EV_OP_LT);
    CHECK_DBL(p->thresholds[1].bound, ==, 3000);
    CHECK_STR(p->thresholds[2].metric, "publish_errors");
    CHECK_INT(p->thresholds[2].agg, ==, EV_AGG_RATE);
    CHECK_DBL(p->thresholds[2].bound, ==, 0.01);
    CHECK_U64(p->nextra, ==, 0);
    finish_ok(p);
    CHECK_INT(ev_plan_publish_ns(p), ==, 240 * NS_S);
    CHECK_DBL(ev_plan_expected_events(p), ==, 96000); /* 18000 + 60000 + 18000 */
    ev_plan_free(p);
}

static void test_constant_scenario(void)
{
    ev_plan *p = NULL;
    ev_err e = {{0}};
    CHECK_INT(ev_plan_load("tests/golden/scenarios/constant.json", &p, &e), ==, EV_OK);
    CHECK_STR(p->name, "constant"); /* the file's base name */
    CHECK_STR(p->target, "kafka://embedded/evload");
    CHECK_INT(p->mode, ==, EV_MODE_BINARY);
    CHECK_STR(p->event_data_json, "{\"kind\":\"build\",\"tags\":[\"a\",\"b\"]}");
    CHECK_STR(p->event_type, "dev.evload.test"); /* defaults */
    CHECK_INT(p->data_size, ==, 256);
    CHECK_INT(p->executor, ==, EV_EXEC_CONSTANT);
    CHECK_INT(p->lanes, ==, 2);
    CHECK_DBL(p->rate, ==, 1000);
    CHECK_INT(p->duration_ns, ==, 30 * NS_S);
    CHECK_INT(p->groups, ==, 2);
    CHECK_INT(p->work_min_ns, ==, NS_MS);
    CHECK_INT(p->work_max_ns, ==, NS_MS);
    CHECK_U64(p->nextra, ==, 3);
    CHECK_STR(p->extra[0].key, "kafka.linger.ms");
    CHECK_STR(p->extra[0].value, "5");
    CHECK_STR(p->extra[1].key, "kafka.batch.num.messages");
    CHECK_STR(p->extra[1].value, "1000");
    CHECK_STR(p->extra[2].key, "kafka.enable.idempotence");
    CHECK_STR(p->extra[2].value, "true");
    finish_ok(p);
    CHECK_INT(ev_plan_publish_ns(p), ==, 30 * NS_S);
    CHECK_DBL(ev_plan_expected_events(p), ==, 30000);
    ev_plan_free(p);
}

static void test_defaults(void)
{
    ev_plan *p = NULL;
    ev_err e = {{0}};
    CHECK_INT(ev_plan_new_default(&p, &e), ==, EV_OK);
    CHECK_STR(p->path, "");
    CHECK_STR(p->description, "");
    CHECK(p->target == NULL);
    CHECK_STR(p->event_type, "dev.evload.test");
    CHECK_STR(p->event_source, "/evload");
    CHECK_INT(p->data_size, ==, 256);
    CHECK_INT(p->mode, ==, EV_MODE_STRUCTURED);
    CHECK_INT(p->executor, ==, EV_EXEC_CONSTANT);
    CHECK_INT(p->lanes, ==, 1);
    CHECK_DBL(p->rate, ==, 100);
    CHECK_INT(p->duration_ns, ==, 10 * NS_S);
    CHECK_DBL(p->start_rate, ==, 0);
    CHECK(p->stages == NULL);
    CHECK_INT(p->count, ==, 0);
    CHECK_INT(p->max_in_flight, ==, 1000);
    CHECK_INT(p->groups, ==, 1);
    CHECK_INT(p->consumers, ==, 1);
    CHECK_INT(p->prefetch, ==, 100);
    CHECK_INT(p->work_min_ns, ==, 0);
    CHECK_INT(p->work_max_ns, ==, 0);
    CHECK_INT(p->drain_timeout_ns, ==, 10 * NS_S);
    CHECK_INT(p->warmup_ns, ==, 0);
    CHECK_U64(p->nthresholds, ==, 0);
    finish_err(p, "no target; pass --target URL or set \"target\" in the scenario, e.g. "
                  "\"mock://\"");
    set_ok(p, "target=mock://");
    finish_ok(p);
    CHECK_DBL(ev_plan_expected_events(p), ==, 1000);
    ev_plan_free(p);
    ev_plan_free(NULL);

    /* The name defaults to the file's base name without ".json". */
    p = NULL;
    CHECK_INT(ev_plan_load_text("{}", 2, "dir/sub/smoke.json", &p, &e), ==, EV_OK);
    CHECK_STR(p->name, "smoke");
    ev_plan_free(p);
    p = NULL;
    CHECK_INT(ev_plan_load_text("{}", 2, "other", &p, &e), ==, EV_OK);
    CHECK_STR(p->name, "other");
    ev_plan_free(p);
}

/* The first copy-paste example of docs/scenarios.md. */
static void test_docs_example(void)
{
    ev_plan *p = NULL;
    ev_err e = {{0}};
    int rc = ev_plan_load("tests/golden/scenarios/docs-quickstart.json", &p, &e);
    if (rc != EV_OK)
        fprintf(stderr, "%s\n", e.msg);
    CHECK_INT(rc, ==, EV_OK);
    finish_ok(p);
    CHECK_STR(p->name, "quickstart");
    CHECK_DBL(ev_plan_expected_events(p), ==, 6000);
    ev_plan_free(p);
}

/* Every ```json block of docs/scenarios.md is a complete scenario that loads
 * and passes ev_plan_finish, so users can paste them. */
static void test_docs_blocks(void)
{
    FILE *f = fopen("docs/scenarios.md", "rb");
    CHECK(f != NULL);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    CHECK_U64(n, <, sizeof doc - 1);
    doc[n] = '\0';
    int blocks = 0;
    for (char *b = doc; (b = strstr(b, "\n```json\n")) != NULL;) {
        b += 9;
        char *end = strstr(b, "\n```\n");
        CHECK(end != NULL);
        ev_plan *p = NULL;
        ev_err e = {{0}};
        int rc = ev_plan_load_text(b, (size_t)(end - b), "docs/scenarios.md", &p, &e);
        if (rc == EV_OK)
            rc = ev_plan_finish(p, &e);
        if (rc != EV_OK)
            fprintf(stderr, "block %d: %s\n", blocks, e.msg);
        CHECK_INT(rc, ==, EV_OK);
        ev_plan_free(p);
        blocks++;
        b = end;
    }
    CHECK_INT(blocks, >=, 6);
}

/* ---- file errors: exact position and text ------------------------------- */

static void test_syntax_errors(void)
{
    load_err("{\n  \"name\": \"x\",\n}\n",
             "t.json:2:14: invalid JSON: a comma before '}'; remove it (JSON has no trailing "
             "commas)");
    load_err("{\n  \"name\" \"x\"\n}", "t.json:2:10: invalid JSON near '\"x\"'; expected ':'");
    load_err("{\"name\": tru}", "t.json:1:10: invalid JSON: invalid token near 'tru'");
    load_err("{\"name\": \"x\"", "t.json:1:13: invalid JSON near end of file; expected '}'");
    load_err("", "t.json:1:1: the scenario is empty; expected a JSON object {...}");
    load_err("  \n", "t.json:1:1: the scenario is empty; expected a JSON object {...}");
    load_err("\n [1]",
             "t.json:2:2: not a JSON object (got an array); a scenario is one JSON object {...}");
    load_err("\"x\"", "t.json:1:1: not a JSON object; a scenario is one JSON object {...}");
}

static void test_duplicate_key(void)
{
    load_err("{\n  \"name\": \"a\",\n  \"name\": \"b\"\n}",
             "t.json:3:3: duplicate key \"name\"; a key may appear only once in an object");
    load_err("{\"verify\": {\"groups\": 1, \"groups\": 2}}",
             "t.json:1:26: duplicate key \"groups\"; a key may appear only once in an object");
}

static void test_unknown_keys(void)
{
    load_err("{\n  \"name\": \"a\",\n  \"publsh\": {}\n}",
             "t.json:3:3: unknown key \"publsh\"; did you mean \"publish\"?");
    load_err("{\n  \"publish\": { \"lanes\": 2, \"rtae\": 5 }\n}",
             "t.json:2:28: unknown key \"rtae\" in \"publish\"; did you mean \"rate\"?");
    load_err("{\"zzzzzz\": 1}",
             "t.json:1:2: unknown key \"zzzzzz\"; expected one of: name, description, target, "
             "run_id, event, publish, verify, warmup, drift, streams, thresholds, faults, kafka, "
             "sweep");
    load_err("{\"publish.rate\": 5}",
             "t.json:1:2: unknown key \"publish.rate\"; settings nest: write {\"publish\": "
             "{\"rate\": ...}}");
    load_err("{\"publish\": {\"stages\": [{\"duration\": \"1m\", \"taget\": 5}]}}",
             "t.json:1:44: unknown key \"taget\" in \"publish.stages[0]\"; did you mean "
             "\"target\"?");
    load_err("{\"verify\": {\"work\": {\"min\": \"1ms\", \"mx\": \"2ms\"}}}",
             "t.json:1:36: unknown key \"mx\" in \"verify.work\"; did you mean \"max\"?");
    load_err("{\"event\": {\"zzzzzz\": 1}}",
             "t.json:1:12: unknown key \"zzzzzz\" in \"event\"; expected one of: type, source, "
             "data_size, mode, data");
}

static void test_bad_values(void)
{
    load_err("{\n  \"publish\": {\n    \"duration\": \"30x\"\n  }\n}",
             "t.json:3:17: \"30x\" is not a duration; expected e.g. \"500ms\", \"30s\", \"5m\", "
             "\"1h30m\"");
    load_err("{\"warmup\": 5}",
             "t.json:1:12: warmup must be a duration string such as \"30s\" (got a number)");
    load_err("{\"publish\": {\"lanes\": 300}}",
             "t.json:1:23: publish.lanes must be between 1 and 256 (got 300)");
    load_err("{\"event\": {\"data_size\": 8}}",
             "t.json:1:25: event.data_size must be between 16 and 1048576 bytes (got 8)");
    load_err("{\"verify\": {\"groups\": 2.5}}",
             "t.json:1:23: verify.groups must be a whole number (got 2.5)");
    load_err("{\"publish\": {\"rate\": -5}}", "t.json:1:22: publish.rate must be > 0 (got -5)");
    load_err("{\"publish\": {\"duration\": \"0s\"}}",
             "t.json:1:26: publish.duration must be > 0s (got 0s)");
    load_err("{\"event\": {\"data_size\": \"512\"}}",
             "t.json:1:25: event.data_size must be an integer, not a string; write 512 without "
             "quotes");
    load_err("{\"name\": 5}", "t.json:1:10: name must be a string (got a number)");
    load_err("{\"publish\": 5}", "t.json:1:13: publish must be an object (got a number)");
    load_err("{\"publish\": {\"executor\": \"ramping\"}}",
             "t.json:1:26: publish.executor must be one of \"constant-arrival-rate\", "
             "\"ramping-arrival-rate\", \"max-throughput\" (got \"ramping\")");
    load_err("{\"target\": \"localhost:5672\"}",
             "t.json:1:12: target must be a URL SCHEME://..., e.g. \"mock://\"; `evload run "
             "--help` lists every target (got \"localhost:5672\")");
    /* A target with credentials is never echoed. */
    load_err("{\"target\": \"guest:secret@host\"}",
             "t.json:1:12: target must be a URL SCHEME://..., e.g. \"mock://\"; `evload run "
             "--help` lists every target");
    load_err("{\"run_id\": \"a-b\"}",
             "t.json:1:12: run_id must be 1 to 32 lowercase letters or digits (it is part of "
             "every event id) (got \"a-b\")");
    load_err("{\"run_id\": \"Ab_1\"}",
             "t.json:1:12: run_id must be 1 to 32 lowercase letters or digits (it is part of "
             "every event id) (got \"Ab_1\")");
    load_err("{\"event\": {\"data\": [1]}}",
             "t.json:1:20: event.data must be a JSON object, e.g. {\"kind\": \"test\"} (got an "
             "array)");
    load_err("{\"publish\": {\"stages\": []}}",
             "t.json:1:24: publish.stages must have at least one stage, e.g. [{\"duration\": "
             "\"1m\", \"target\": 500}]");
    load_err("{\"publish\": {\"stages\": [{\"duration\": \"1m\"}]}}",
             "t.json:1:25: publish.stages[0] needs \"target\", e.g. {\"duration\": \"1m\", "
             "\"target\": 500}");
    load_err("{\"publish\": {\"stages\": [{\"duration\": \"1m\", \"target\": -1}]}}",
             "t.json:1:54: publish.stages[0].target must be >= 0 (got -1)");
    load_err("{\"verify\": {\"work\": {\"min\": \"20ms\", \"max\": \"5ms\"}}}",
             "t.json:1:21: verify.work min (20ms) is greater than max (5ms)");
    /* What the user wrote is echoed on one line, control bytes escaped. */
    load_err("{\"event\": {\"mode\": \"bin\\nary\"}}",
             "t.json:1:20: event.mode must be one of \"structured\", \"binary\" (got "
             "\"bin\\nary\")");
    load_err("{\"pub\\tlish\": 1}",
             "t.json:1:2: unknown key \"pub\\tlish\"; did you mean \"publish\"?");
    load_err("{\"kafka\": {\"acks\": [1]}}",
             "t.json:1:20: kafka.acks must be a string, number or boolean (client properties are "
             "text; got an array)");
}

static void test_threshold_errors(void)
{
    load_err("{\n  \"thresholds\": { \"e2e\": [\"avg<500\", \"p95<3000\"] }\n}",
             "t.json:2:38: bad threshold \"p95<3000\" for e2e (p needs a percentile, as in "
             "p(95)); expected AGG OP NUMBER with AGG one of p(N), avg, min, med, max, count and "
             "OP one of < <= > >= == != (latencies in ms), e.g. \"p(95)<3000\"");
    load_err("{\"thresholds\": {\"e2ee\": [\"p(95)<1\"]}}",
             "t.json:1:17: unknown threshold metric \"e2ee\"; did you mean \"e2e\"?");
    load_err("{\"thresholds\": {\"lost\": \"count==0\"}}",
             "t.json:1:25: thresholds.lost must be an array of expressions, e.g. [\"count==0\"] "
             "(got a string)");
}

/* ---- --set -------------------------------------------------------------- */

static void test_set_each_type(void)
{
    ev_plan *p = load_ok("{\"target\": \"mock://\", \"kafka\": {\"linger.ms\": 5}}");
    set_ok(p, "name=renamed");
    CHECK_STR(p->name, "renamed");
    set_ok(p, "description=");
    CHECK_STR(p->description, "");
    set_ok(p, "run_id=ab12");
    CHECK_STR(p->run_id, "ab12");
    set_ok(p, "event.type=com.example.x=y"); /* only the first '=' splits */
    CHECK_STR(p->event_type, "com.example.x=y");
    set_ok(p, "publish.lanes=8");
    CHECK_INT(p->lanes, ==, 8);
    set_ok(p, "publish.count=1e3"); /* a whole number written as a real */
    CHECK_INT(p->count, ==, 1000);
    set_ok(p, "publish.rate=2.5e3");
    CHECK_DBL(p->rate, ==, 2500);
    set_ok(p, "warmup=1m30s");
    CHECK_INT(p->warmup_ns, ==, 90 * NS_S);
    set_ok(p, "event.mode=binary");
    CHECK_INT(p->mode, ==, EV_MODE_BINARY);
    set_ok(p, "publish.executor=max-throughput");
    CHECK_INT(p->executor, ==, EV_EXEC_MAX);
    set_ok(p, "event.data={\"a\": 1, \"b\": [true]}");
    CHECK_STR(p->event_data_json, "{\"a\":1,\"b\":[true]}");
    set_ok(p, "publish.stages=[{\"duration\": \"30s\", \"target\": 10}]");
    CHECK_U64(p->nstages, ==, 1);
    CHECK_INT(p->stages[0].duration_ns, ==, 30 * NS_S);
    set_ok(p, "verify.work=2ms");
    CHECK_INT(p->work_min_ns, ==, 2 * NS_MS);
    CHECK_INT(p->work_max_ns, ==, 2 * NS_MS);
    set_ok(p, "verify.work={\"min\": \"1ms\", \"max\": \"3ms\"}");
    CHECK_INT(p->work_min_ns, ==, NS_MS);
    CHECK_INT(p->work_max_ns, ==, 3 * NS_MS);
    set_ok(p, "thresholds={\"lost\": [\"count==0\"], \"e2e\": [\"p(99)<250\", \"max<1000\"]}");
    CHECK_U64(p->nthresholds, ==, 3);
    CHECK_STR(p->thresholds[2].expr, "max<1000");
    set_ok(p, "kafka.linger.ms=10"); /* replaces */
    set_ok(p, "kafka.acks=all");     /* appends */
    CHECK_U64(p->nextra, ==, 2);
    CHECK_STR(p->extra[0].key, "kafka.linger.ms");
    CHECK_STR(p->extra[0].value, "10");
    CHECK_STR(p->extra[1].key, "kafka.acks");
    CHECK_STR(p->extra[1].value, "all");
    set_ok(p, "verify.mode=observer");
    CHECK_STR(p->verify_mode, "observer");
    ev_plan_free(p);
}

static void test_set_errors(void)
{
    ev_plan *p = load_ok("{\"target\": \"mock://\"}");
    set_err(p, "publsh.rate=5",
            "--set publsh.rate: unknown key \"publsh.rate\"; did you mean \"publish.rate\"?");
    set_err(p, "zzzzzzzz=1",
            "--set zzzzzzzz: unknown key \"zzzzzzzz\"; expected a key listed by evload run --help");
    set_err(p, "publish.rate",
            "--set publish.rate: expected KEY=VALUE, e.g. --set "
            "publish.rate=500");
    set_err(p, "publish.lanes=abc",
            "--set publish.lanes: \"abc\" is not an integer; expected e.g. 1");
    set_err(p, "publish.lanes=2.5", "--set publish.lanes: must be a whole number (got 2.5)");
    set_err(p, "publish.lanes=0", "--set publish.lanes: must be between 1 and 256 (got 0)");
    set_err(p, "publish.rate=-5", "--set publish.rate: must be > 0 (got -5)");
    set_err(p, "publish.rate=0x10",
            "--set publish.rate: \"0x10\" is not a number; expected e.g. 500 or 12.5");
    set_err(p, "publish.rate=",
            "--set publish.rate: \"\" is not a number; expected e.g. 500 or "
            "12.5");
    set_err(p, "warmup=5",
            "--set warmup: \"5\" is not a duration (a number without a unit); "
            "expected e.g. \"500ms\", \"30s\", \"5m\", \"1h30m\"");
    set_err(p, "event.mode=text",
            "--set event.mode: must be one of \"structured\", \"binary\" "
            "(got \"text\")");
    set_err(p, "event.data=[1]",
            "--set event.data: must be a JSON object, e.g. {\"kind\": "
            "\"test\"} (got an array)");
    set_err(p, "event.data={bad",
            "--set event.data: invalid JSON (string or '}' expected near 'bad' at column 4); "
            "expected e.g. '{\"kind\": \"test\"}'");
    set_err(p, "thresholds={\"lost\": [\"cnt==0\"]}",
            "--set thresholds: bad threshold \"cnt==0\" for lost (unknown aggregate); expected "
            "AGG OP NUMBER with AGG one of count, rate and OP one of < <= > >= == !=, e.g. "
            "\"count==0\", \"rate<0.01\"");
    set_err(p, "publish.stages=[{\"duration\": \"1m\", \"target\": -1}]",
            "--set publish.stages: publish.stages[0].target must be >= 0 (got -1)");
    set_err(p, "target=localhost",
            "--set target: must be a URL SCHEME://..., e.g. \"mock://\"; `evload run --help` "
            "lists every target (got \"localhost\")");
    set_err(p, "kafka.=1", "--set kafka.: no property name; expected e.g. --set kafka.NAME=VALUE");
    set_err(p, "publish.rate=1\n2",
            "--set publish.rate: \"1\\n2\" is not a number; expected e.g. 500 or 12.5");
    set_err(p, "pub\nlish.rate=1",
            "--set pub?lish.rate: unknown key \"pub?lish.rate\"; did you mean \"publish.rate\"?");
    /* A failed --set leaves the plan as it was. */
    CHECK_INT(p->lanes, ==, 1);
    CHECK_DBL(p->rate, ==, 100);
    CHECK(p->event_data_json == NULL);
    CHECK_STR(p->target, "mock://");
    finish_ok(p);
    ev_plan_free(p);
}

/* ---- ev_plan_finish ------------------------------------------------------ */

static void test_finish_checks(void)
{
    ev_plan *p;

    /* publish.rate given with --set to a ramping scenario. */
    ev_err e = {{0}};
    CHECK_INT(ev_plan_load("tests/golden/scenarios/spike.json", &p, &e), ==, EV_OK);
    set_ok(p, "publish.rate=200");
    finish_err(p, "--set publish.rate: publish.rate applies only to executor "
                  "\"constant-arrival-rate\", but the executor is \"ramping-arrival-rate\" "
                  "(which takes publish.start_rate and publish.stages)");
    ev_plan_free(p);

    /* Stages in the file under the default constant executor: points at them. */
    p = load_ok("{\"target\": \"mock://\", \"publish\": {\"stages\": [{\"duration\": \"1m\", "
                "\"target\": 5}]}}");
    finish_err(p, "t.json:1:45: publish.stages applies only to executor "
                  "\"ramping-arrival-rate\", but the executor is \"constant-arrival-rate\" "
                  "(which takes publish.rate and publish.duration)");
    set_ok(p, "publish.executor=ramping-arrival-rate"); /* the order of sources does not matter */
    finish_ok(p);
    CHECK_DBL(ev_plan_expected_events(p), ==, 150); /* (0 + 5) / 2 × 60 */
    ev_plan_free(p);

    p = load_ok("{\"target\": \"mock://\", \"publish\": {\"executor\": \"ramping-arrival-rate\"}}");
    finish_err(p, "t.json:1:47: publish.executor \"ramping-arrival-rate\" needs publish.stages, "
                  "e.g. \"stages\": [{\"duration\": \"1m\", \"target\": 500}]");
    set_ok(p, "publish.stages=[{\"duration\": \"0s\", \"target\": 5}]");
    finish_err(p, "--set publish.stages: publish.stages last 0s in all; expected at least one "
                  "stage with a duration > 0");
    ev_plan_free(p);

    p = load_ok("{\"target\": \"mock://\", \"publish\": {\"executor\": \"max-throughput\"}}");
    finish_err(p, "t.json:1:47: publish.executor \"max-throughput\" needs publish.count (how "
                  "many events) or publish.duration (how long)");
    set_ok(p, "publish.count=10");
    finish_ok(p);
    set_ok(p, "publish.duration=1s");
    finish_err(p, "--set publish.duration: publish.duration and publish.count are alternatives "
                  "for \"max-throughput\"; set only one");
    set_ok(p, "publish.count=0");
    finish_ok(p);
    ev_plan_free(p);

    p = load_ok("{\"target\": \"mock://\", \"publish\": {\"count\": 5}}");
    finish_err(p, "t.json:1:44: publish.count applies only to executor \"max-throughput\", but "
                  "the executor is \"constant-arrival-rate\" (which takes publish.rate and "
                  "publish.duration)");
    ev_plan_free(p);

    p = load_ok("{\"target\": \"mock://\", \"publish\": {\"executor\": \"ramping-arrival-rate\", "
                "\"stages\": [{\"duration\": \"1m\", \"target\": 5}], \"duration\": \"1m\"}}");
    finish_err(p, "t.json:1:128: publish.duration applies only to executor "
                  "\"constant-arrival-rate\" or \"max-throughput\", but the executor is "
                  "\"ramping-arrival-rate\" (which takes publish.start_rate and publish.stages)");
    ev_plan_free(p);

    /* max_in_flight below lanes: blame the one that was given. */
    p = load_ok("{\"target\": \"mock://\"}");
    set_ok(p, "publish.lanes=8");
    set_ok(p, "publish.max_in_flight=4");
    finish_err(p, "--set publish.max_in_flight: publish.max_in_flight (4) must be at least "
                  "publish.lanes (8): each lane needs room for one event in flight");
    ev_plan_free(p);

    /* work min > max can only come from code; checked again anyway. */
    CHECK_INT(ev_plan_new_default(&p, &e), ==, EV_OK);
    p->work_min_ns = 20 * NS_MS;
    p->work_max_ns = 5 * NS_MS;
    finish_err(p, "verify.work min (20ms) is greater than max (5ms)");
    ev_plan_free(p);

    /* No target anywhere. */
    p = NULL;
    CHECK_INT(ev_plan_load_text("{\"name\": \"x\"}", 13, "dir/t.json", &p, &e), ==, EV_OK);
    finish_err(p, "dir/t.json: no target; pass --target URL or set \"target\" in the scenario, "
                  "e.g. \"mock://\"");
    set_ok(p, "target=redis://127.0.0.1:6379?channel=x");
    finish_ok(p);
    ev_plan_free(p);
}

/* ---- the schedule -------------------------------------------------------- */

static void test_expected_events(void)
{
    ev_plan *p = load_ok("{\"target\": \"mock://\", \"publish\": {\"rate\": 250, \"duration\": "
                         "\"1m30s\"}}");
    finish_ok(p);
    CHECK_INT(ev_plan_publish_ns(p), ==, 90 * NS_S);
    CHECK_DBL(ev_plan_expected_events(p), ==, 22500);
    ev_plan_free(p);

    p = load_ok(
        "{\"target\": \"mock://\", \"publish\": {\"executor\": \"ramping-arrival-rate\", "
        "\"start_rate\": 10, \"stages\": [{\"duration\": \"10s\", \"target\": 30}, "
        "{\"duration\": \"0s\", \"target\": 100}, {\"duration\": \"5s\", \"target\": 0}]}}");
    finish_ok(p);
    CHECK_INT(ev_plan_publish_ns(p), ==, 15 * NS_S);
    CHECK_DBL(ev_plan_expected_events(p), ==, 200 + 0 + 250); /* a 0s stage jumps */
    ev_plan_free(p);

    p = load_ok("{\"target\": \"mock://\", \"publish\": {\"executor\": \"max-throughput\", "
                "\"count\": 100000}}");
    finish_ok(p);
    CHECK_INT(ev_plan_publish_ns(p), ==, 0);
    CHECK_DBL(ev_plan_expected_events(p), ==, 100000);
    ev_plan_free(p);

    p = load_ok("{\"target\": \"mock://\", \"publish\": {\"executor\": \"max-throughput\", "
                "\"duration\": \"2m\"}}");
    finish_ok(p);
    CHECK_INT(ev_plan_publish_ns(p), ==, 120 * NS_S);
    CHECK_DBL(ev_plan_expected_events(p), ==, 0);
    ev_plan_free(p);
}

/* ---- helpers ------------------------------------------------------------- */

static void test_nearest(void)
{
    static const char *const c[] = {"publish", "verify", "event", "warmup", "thresholds"};
    CHECK_STR(ev_nearest("publsh", c, 5), "publish");
    CHECK_STR(ev_nearest("verfy", c, 5), "verify");
    CHECK_STR(ev_nearest("threshold", c, 5), "thresholds");
    CHECK_STR(ev_nearest("warmpu", c, 5), "warmup");
    CHECK(ev_nearest("xyz", c, 5) == NULL);
    CHECK(ev_nearest("", c, 5) == NULL);
    CHECK(ev_nearest("publish", c, 0) == NULL);
}

static void test_settings_print(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    ev_settings_print(f);
    fclose(f);
    CHECK_HAS(buf, "KEY");
    CHECK_HAS(buf, "publish.max_in_flight");
    CHECK_HAS(buf, "16..1048576 bytes");
    /* Every line fits a 100-column terminal. */
    for (char *line = buf, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        CHECK(nl != NULL);
        CHECK_INT(nl - line, <=, 100);
    }
    free(buf);
}

/* ---- streams ------------------------------------------------------------ */

static void test_streams(void)
{
    /* Inheritance: what a stream does not set comes from the top level;
     * lanes are numbered across streams; the warm-up goes to every stream. */
    ev_plan *p =
        load_ok("{\"target\": \"mock://\", \"warmup\": \"1s\",\n"
                " \"event\": {\"type\": \"top\", \"data_size\": 512},\n"
                " \"publish\": {\"rate\": 40, \"duration\": \"2s\"},\n"
                " \"streams\": [\n"
                "  {\"name\": \"a\", \"publish\": {\"lanes\": 3}},\n"
                "  {\"name\": \"b\", \"start_after\": \"5s\", \"event\": {\"type\": \"bt\"},\n"
                "   \"publish\": {\"executor\": \"ramping-arrival-rate\", \"stages\":\n"
                "     [{\"duration\": \"4s\", \"target\": 10, \"name\": \"up\"}]}}]}");
    finish_ok(p);
    CHECK_INT(p->nstreams, ==, 2);
    CHECK_INT(p->streams_explicit, ==, 1);
    const ev_stream *a = ev_plan_stream(p, "a"), *b = ev_plan_stream(p, "b");
    CHECK(a && b);
    CHECK_STR(a->plan->event_type, "top");
    CHECK_INT(a->plan->data_size, ==, 512);
    CHECK_DBL(a->plan->rate, ==, 40.0);
    CHECK_INT(a->plan->duration_ns, ==, 2 * NS_S);
    CHECK_INT(a->plan->warmup_ns, ==, NS_S);
    CHECK_STR(b->plan->event_type, "bt");
    CHECK_INT(b->plan->data_size, ==, 512);
    CHECK_INT(b->start_after_ns, ==, 5 * NS_S);
    CHECK_STR(b->plan->stages[0].name, "up");
    CHECK_INT(a->lane0, ==, 0);
    CHECK_INT(b->lane0, ==, 3);
    CHECK_INT(ev_plan_lanes(p), ==, 4);
    CHECK(ev_plan_lane_stream(p, 2) == a);
    CHECK(ev_plan_lane_stream(p, 3) == b);
    /* a: 40/s for 2 s; b: 0 → 10/s over 4 s = 20. */
    CHECK_DBL(ev_plan_expected_events(p), ==, 100.0);
    /* From the end of the warm-up to b's end: 5 s + 4 s. */
    CHECK_INT(ev_plan_publish_ns(p), ==, 9 * NS_S);
    /* --set on the top level reaches a stream that does not set it; on one
     * stream, only that one. */
    set_ok(p, "event.data_size=64");
    set_ok(p, "streams.a.publish.rate=80");
    finish_ok(p);
    CHECK_INT(a->plan->data_size, ==, 64);
    CHECK_DBL(a->plan->rate, ==, 80.0);
    set_err(p, "streams.c.publish.rate=1",
            "--set streams.c.publish.rate: no stream named \"c\" in the scenario");
    set_err(p, "streams.a.verify.groups=2",
            "--set streams.a.verify.groups: a stream takes start_after, event.* and publish.* "
            "settings; \"verify.groups\" is none of them");
    ev_plan_free(p);

    /* Without streams the plan is its own one stream. */
    p = load_ok("{\"target\": \"mock://\"}");
    finish_ok(p);
    CHECK_INT(p->nstreams, ==, 1);
    CHECK(p->streams[0].plan == p);
    CHECK_STR(p->streams[0].name, "");
    ev_plan_free(p);

    /* Errors point into the stream. */
    load_err("{\"streams\": [{\"name\": \"a\", \"publish\": {\"rat\": 1}}]}",
             "t.json:1:40: unknown key \"rat\" in \"streams[0].publish\"; did you mean \"rate\"?");
    load_err("{\"streams\": [{\"name\": \"a\", \"publish\": {\"rate\": 0}}]}",
             "t.json:1:48: streams[0].publish.rate must be > 0 (got 0)");
    load_err("{\"streams\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}",
             "t.json:1:38: streams[1].name \"a\" names streams[0] already");
    load_err("{\"streams\": [{\"publish\": {}}]}",
             "t.json:1:14: streams[0] needs a \"name\" (it tags the stream's metrics, e.g. "
             "e2e{stream:parser})");
    load_err("{\"streams\": []}",
             "t.json:1:13: streams must be an array of 1 to 32 streams, e.g. "
             "[{\"name\": \"parser\", \"publish\": {\"rate\": 500}}] (got an array)");
    p = load_ok("{\"target\": \"mock://\", \"streams\": [{\"name\": \"a\", \"publish\": "
                "{\"executor\": \"max-throughput\"}}]}");
    finish_err(p,
               "t.json:1:73: stream \"a\": publish.executor \"max-throughput\" needs publish.count "
               "(how many events) or publish.duration (how long)");
    ev_plan_free(p);
    /* Tagged thresholds name what the plan has. */
    p = load_ok("{\"target\": \"mock://\", \"streams\": [{\"name\": \"a\"}],\n"
                " \"thresholds\": {\"e2e{stream:b}\": [\"p(95)<5\"]}}");
    finish_err(p, "t.json:2:16: thresholds has \"e2e{stream:b}\", but no stream is named so; the "
                  "streams are a");
    ev_plan_free(p);
    p = load_ok(
        "{\"target\": \"mock://\", \"thresholds\": {\"lost{output:dlq}\": [\"count==0\"]}}");
    finish_err(p, "t.json:1:37: thresholds has \"lost{output:dlq}\", but the scenario has no "
                  "verify.outputs");
    ev_plan_free(p);
    p = load_ok("{\"target\": \"mock://\", \"publish\": {\"executor\": \"ramping-arrival-rate\", "
                "\"stages\": [{\"duration\": \"1s\", \"target\": 5, \"name\": \"spike\"}]},"
                " \"thresholds\": {\"e2e{stage:spike}\": [\"p(95)<5\"], \"ack{stage:drain}\": "
                "[\"p(95)<5\"]}}");
    finish_ok(p);
    ev_plan_free(p);
}

int main(void)
{
    /* The program takes pass-through prefixes from its transports; here, Kafka's. */
    static const char *const prefixes[] = {"kafka", NULL};
    ev_scenario_passthrough(prefixes);
    EV_RUN(test_full_scenario);
    EV_RUN(test_constant_scenario);
    EV_RUN(test_defaults);
    EV_RUN(test_docs_example);
    EV_RUN(test_docs_blocks);
    EV_RUN(test_syntax_errors);
    EV_RUN(test_duplicate_key);
    EV_RUN(test_unknown_keys);
    EV_RUN(test_bad_values);
    EV_RUN(test_threshold_errors);
    EV_RUN(test_set_each_type);
    EV_RUN(test_set_errors);
    EV_RUN(test_finish_checks);
    EV_RUN(test_expected_events);
    EV_RUN(test_nearest);
    EV_RUN(test_settings_print);
    EV_RUN(test_streams);
    EV_DONE();
}
