/* ev_fleet: storm membership (exact counts, rotation, spread), the resume
 * check on synthetic deliveries (missed ranges, duplicates of a replay,
 * replayed events), connection latencies, the report's shape. */
#include "ev_clock.h"
#include "ev_fleet.h"
#include "ev_test.h"

#include <stdio.h>
#include <string.h>

#define RUN "abc123"

/* A structured event as evload's encoder starts it, with evloadsent. */
static size_t event(char *buf, size_t size, uint32_t lane, uint64_t seq, int64_t sent)
{
    return (size_t)snprintf(buf, size,
                            "{\"specversion\":\"1.0\",\"id\":\"" RUN
                            "-0-%u-%llu\",\"source\":\"/e\","
                            "\"evloadsent\":\"%lld\",\"data\":{}}",
                            lane, (unsigned long long)seq, (long long)sent);
}

static ev_fleet *fleet(uint32_t subs, uint32_t lanes, int64_t storm, double frac)
{
    ev_fleet_conf c = {.subscribers = subs,
                       .lanes = lanes,
                       .run_id = RUN,
                       .storm_ns = storm,
                       .storm_fraction = frac,
                       .storm_jitter_ns = 100 * EV_NS_PER_MS,
                       .seed = 7};
    ev_fleet *f = NULL;
    CHECK_INT(ev_fleet_new(&c, &f, NULL), ==, EV_OK);
    return f;
}

static void test_storm_membership(void)
{
    static const struct {
        uint32_t n;
        double frac;
        uint32_t per;
    } t[] = {{100, 1.0, 100}, {100, 0.5, 50}, {1000, 0.1, 100}, {7, 0.3, 2}, {5, 0.01, 1}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ev_fleet *f = fleet(t[i].n, 1, EV_NS_PER_S, t[i].frac);
        uint32_t seen[1000] = {0};
        for (uint64_t k = 1; k <= 20; k++) {
            uint32_t m = 0, low = 0;
            for (uint32_t g = 0; g < t[i].n; g++)
                if (ev_fleet_storm_member(f, k, g)) {
                    m++;
                    seen[g]++;
                    low += g < t[i].n / 4;
                }
            CHECK_INT(m, ==, t[i].per); /* exactly round(fraction × N) each storm */
            if (t[i].n >= 100 && t[i].per < t[i].n)
                CHECK_INT(low, <, t[i].per); /* not a block of neighbours */
        }
        /* Rotating: over enough storms every subscriber drops. */
        if ((uint64_t)t[i].per * 20 >= t[i].n)
            for (uint32_t g = 0; g < t[i].n; g++)
                CHECK_INT(seen[g], >, 0);
        ev_fleet_free(f);
    }
}

static void test_resume(void)
{
    ev_fleet *f = fleet(2, 2, 0, 1.0);
    ev_fleet_thread *t = ev_fleet_thread_new(f);
    CHECK(t != NULL);
    char b[512];
    int64_t now = ev_mono_ns(), wall = ev_wall_ns();
    ev_fleet_start(f, now);
    ev_fleet_attempt(t, 0, now, wall);
    ev_fleet_up(t, 0, now + EV_NS_PER_MS);
    CHECK_INT(ev_fleet_is_up(f, 0), ==, 1);
    /* Lane 0: 1..10 seen; lane 1: 1..5. */
    for (uint64_t s = 1; s <= 10; s++)
        ev_fleet_event(t, 0, b, event(b, sizeof b, 0, s, wall - 5 * EV_NS_PER_MS), now, wall);
    for (uint64_t s = 1; s <= 5; s++)
        ev_fleet_event(t, 0, b, event(b, sizeof b, 1, s, wall - 5 * EV_NS_PER_MS), now, wall);
    /* Lost; back a second later. */
    int64_t down = now + 10 * EV_NS_PER_MS;
    ev_fleet_down(t, 0, EV_FLEET_CLOSED, "the server ended the stream", down);
    CHECK_INT(ev_fleet_is_up(f, 0), ==, 0);
    int64_t again = down + EV_NS_PER_S, again_wall = wall + EV_NS_PER_S + 10 * EV_NS_PER_MS;
    ev_fleet_attempt(t, 0, again, again_wall);
    ev_fleet_up(t, 0, again + 2 * EV_NS_PER_MS);
    /* The server replays lane 0 from 9 (9 and 10 again: duplicates), then 11,
     * 12 (published before the attempt: replayed); lane 0 goes on live
     * from 20 (13..19 missed); lane 1 resumes at 9 (6..8 missed). */
    int64_t old = wall + 500 * EV_NS_PER_MS, live = again_wall + EV_NS_PER_MS;
    for (uint64_t s = 9; s <= 12; s++)
        ev_fleet_event(t, 0, b, event(b, sizeof b, 0, s, old), again, again_wall);
    ev_fleet_event(t, 0, b, event(b, sizeof b, 0, 20, live), again, again_wall);
    ev_fleet_event(t, 0, b, event(b, sizeof b, 1, 9, live), again, again_wall);
    /* Someone else's events are not tracked. */
    ev_fleet_event(t, 0, "{\"id\":\"other-0-0-3\"}", 20, again, again_wall);
    ev_fleet_thread_close(t);
    json_t *o = json_object();
    ev_fleet_report(f, o, NULL, NULL, NULL);
    json_t *sub = json_array_get(json_object_get(o, "subscribers"), 0);
    CHECK_INT(json_integer_value(json_object_get(sub, "resume_missed")), ==, 7 + 3);
    CHECK_INT(json_integer_value(json_object_get(sub, "resume_duplicated")), ==, 2);
    CHECK_INT(json_integer_value(json_object_get(sub, "replayed")), ==, 2);
    CHECK_INT(json_integer_value(json_object_get(sub, "connects")), ==, 2);
    CHECK_INT(json_integer_value(json_object_get(sub, "events")), ==, 10 + 5 + 7);
    json_t *r = json_array_get(json_object_get(sub, "resumes"), 0);
    CHECK_STR(json_string_value(json_object_get(r, "missed_seqs")), "0:13-19 1:6-8");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(sub, "drops"), "server_closed")),
              ==, 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "connect"), "count")), ==, 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "reconnect"), "count")), ==, 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "first_event"), "count")), ==,
              2);
    ev_hist *h = ev_fleet_latency(f, EV_FLEET_RECONNECT);
    CHECK(h != NULL);
    CHECK_INT(ev_hist_max(h), >=, 2 * EV_NS_PER_MS - 1);
    CHECK_INT(ev_hist_max(h), <, 3 * EV_NS_PER_MS);
    ev_hist_free(h);
    CHECK(ev_fleet_latency(f, EV_FLEET_PING_RTT) == NULL); /* nothing measured */
    json_decref(o);
    ev_fleet_free(f);
}

static void test_storm_drop(void)
{
    ev_fleet *f = fleet(4, 1, 100 * EV_NS_PER_MS, 0.5);
    ev_fleet_thread *t = ev_fleet_thread_new(f);
    int64_t now = ev_mono_ns();
    CHECK_U64(ev_fleet_storm_due(t, now), ==, 0); /* not started */
    CHECK(ev_fleet_storm_next(t) == INT64_MAX);
    ev_fleet_start(f, now);
    ev_fleet_start(f, now + EV_NS_PER_S); /* only the first call counts */
    CHECK_INT(ev_fleet_storm_next(t), ==, now + 100 * EV_NS_PER_MS);
    CHECK_U64(ev_fleet_storm_due(t, now + 50 * EV_NS_PER_MS), ==, 0);
    CHECK_U64(ev_fleet_storm_due(t, now + 250 * EV_NS_PER_MS), ==, 1);
    CHECK_U64(ev_fleet_storm_due(t, now + 250 * EV_NS_PER_MS), ==, 2);
    CHECK_U64(ev_fleet_storm_due(t, now + 250 * EV_NS_PER_MS), ==, 0);
    for (uint32_t g = 0; g < 4; g++) {
        ev_fleet_attempt(t, g, now, ev_wall_ns());
        ev_fleet_up(t, g, now);
    }
    for (uint32_t g = 0; g < 4; g++)
        if (ev_fleet_storm_member(f, 1, g)) {
            int64_t at = ev_fleet_storm_drop(t, g, 1, now);
            CHECK_INT(at, >=, now);
            CHECK_INT(at, <=, now + 100 * EV_NS_PER_MS); /* within the jitter */
        }
    ev_fleet_thread_close(t);
    json_t *o = json_object();
    ev_fleet_report(f, o, NULL, NULL, NULL);
    json_t *st = json_array_get(json_object_get(json_object_get(o, "storm"), "storms"), 0);
    CHECK_INT(json_integer_value(json_object_get(st, "dropped")), ==, 2);
    CHECK_INT(json_integer_value(json_object_get(o, "subscribers_up_at_end")), ==, 2);
    json_decref(o);
    ev_fleet_free(f);
}

int main(void)
{
    EV_RUN(test_storm_membership);
    EV_RUN(test_resume);
    EV_RUN(test_storm_drop);
    EV_DONE();
}
