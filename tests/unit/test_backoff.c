/* The reconnect schedule (ev_backoff.h), driven with made-up monotonic times. */
#include "ev_backoff.h"
#include "ev_test.h"

#define MS 1000000LL
#define S 1000000000LL

/* RabbitMQ's schedule: first = min = 100 ms, doubling to 1 s, 60 s timeout. */
static void test_doubling_to_max(void)
{
    ev_backoff b;
    ev_backoff_init(&b, 100 * MS, 100 * MS, 1 * S, 60 * S);
    CHECK_INT(b.down, ==, 0);
    CHECK_INT(ev_backoff_due(&b, 5 * S), ==, 0); /* up: nothing is due */
    CHECK_INT((int)(ev_backoff_wake(&b, 7 * S) / MS), ==, 7000);
    int64_t t = 10 * S;
    ev_backoff_down(&b, t);
    CHECK_INT(ev_backoff_due(&b, t + 99 * MS), ==, 0);
    CHECK_INT(ev_backoff_due(&b, t + 100 * MS), ==, 1);
    CHECK_INT((int)((ev_backoff_wake(&b, t + 5 * S) - t) / MS), ==, 100);
    CHECK_INT((int)((ev_backoff_wake(&b, t + 50 * MS) - t) / MS), ==, 50);
    /* Each failure (the attempt itself took 10 ms) spaces the next: 200, 400,
     * 800 ms, then 1 s for good. */
    static const int want[] = {200, 400, 800, 1000, 1000, 1000};
    int64_t now = t + 100 * MS;
    for (int i = 0; i < 6; i++) {
        now += 10 * MS;
        CHECK_INT(ev_backoff_failed(&b, now), ==, 0);
        CHECK_INT((int)((b.next_attempt - now) / MS), ==, want[i]);
        CHECK_INT(ev_backoff_due(&b, b.next_attempt - 1), ==, 0);
        now = b.next_attempt;
        CHECK_INT(ev_backoff_due(&b, now), ==, 1);
    }
    CHECK_U64(b.attempts, ==, 6);
    /* A second down() during the outage changes nothing. */
    int64_t next = b.next_attempt;
    ev_backoff_down(&b, now + 1);
    CHECK(b.down_since == t && b.next_attempt == next);
    CHECK_INT((int)(ev_backoff_up(&b, now + 5 * MS) / MS), ==, (int)((now + 5 * MS - t) / MS));
    CHECK_INT(b.down, ==, 0);
    CHECK_INT(ev_backoff_up(&b, now + 9 * S) == 0, ==, 1); /* already up */
    /* The next outage starts the schedule afresh. */
    ev_backoff_down(&b, 100 * S);
    CHECK_U64(b.attempts, ==, 0);
    CHECK_INT(ev_backoff_due(&b, 100 * S + 100 * MS), ==, 1);
    CHECK_INT(ev_backoff_failed(&b, 100 * S + 100 * MS), ==, 0);
    CHECK_INT((int)((b.next_attempt - 100 * S - 100 * MS) / MS), ==, 200);
}

/* The timeout counts from the first attempt, and a due attempt is made
 * before giving up: Redis Pub/Sub's subscriber (reconnect_delay 4 s, every
 * 100 ms, reconnect_timeout 10 s). */
static void test_deadline(void)
{
    ev_backoff b;
    ev_backoff_init(&b, 4 * S, 100 * MS, 100 * MS, 10 * S);
    int64_t t = 1 * S;
    ev_backoff_down(&b, t);
    CHECK_INT(ev_backoff_due(&b, t + 4 * S - 1), ==, 0);
    int64_t now = t + 4 * S;
    int fails = 0;
    while (ev_backoff_failed(&b, now) == 0) {
        CHECK_INT((int)((b.next_attempt - now) / MS), ==, 100);
        now = b.next_attempt;
        fails++;
    }
    /* Attempts at 4.0, 4.1, … 13.9 s after the loss are followed by more; the
     * one at 14.0 s fails past the deadline. */
    CHECK_INT(fails, ==, 100);
    CHECK_INT((int)((now - t) / MS), ==, 14000);
    CHECK_U64(b.attempts, ==, 101);
    /* The attempt at the deadline succeeding instead is up, not given up. */
    ev_backoff_init(&b, 0, 100 * MS, 100 * MS, 1 * S);
    ev_backoff_down(&b, t);
    CHECK_INT(ev_backoff_due(&b, t), ==, 1); /* first = 0: at once */
    CHECK_INT(ev_backoff_failed(&b, t + 999 * MS), ==, 0);
    CHECK_INT(ev_backoff_failed(&b, t + 1 * S), ==, -1);
    CHECK_INT((int)(ev_backoff_up(&b, t + 1 * S) / MS), ==, 1000);
    /* A zero timeout gives up at the first failure. */
    ev_backoff_init(&b, 0, 100 * MS, 1 * S, 0);
    ev_backoff_down(&b, t);
    CHECK_INT(ev_backoff_failed(&b, t), ==, -1);
}

/* Bad schedules are made sane: min 0 → 1 ns, max < min → min, negatives → 0;
 * doubling near INT64_MAX does not overflow, and a next attempt beyond
 * INT64_MAX is INT64_MAX ("never"), as is a timeout that would overflow. */
static void test_limits(void)
{
    ev_backoff b;
    ev_backoff_init(&b, -5, 0, -1, -1);
    CHECK(b.first_ns == 0 && b.min_ns == 1 && b.max_ns == 1 && b.timeout_ns == 0);
    ev_backoff_init(&b, 0, 3 * S, INT64_MAX, INT64_MAX / 4);
    ev_backoff_down(&b, 0);
    for (int i = 0; i < 80; i++) {
        CHECK_INT(ev_backoff_failed(&b, 1), ==, 0);
        CHECK(b.backoff > 0 && b.backoff <= INT64_MAX);
    }
    CHECK(b.backoff == INT64_MAX);
    CHECK(b.next_attempt == INT64_MAX);
    CHECK_INT(ev_backoff_due(&b, INT64_MAX - 1), ==, 0);
    ev_backoff_init(&b, INT64_MAX, 1, 1, INT64_MAX);
    ev_backoff_down(&b, 5);
    CHECK(b.next_attempt == INT64_MAX);
    CHECK_INT(ev_backoff_failed(&b, INT64_MAX - 1), ==, 0);
}

int main(void)
{
    EV_RUN(test_doubling_to_max);
    EV_RUN(test_deadline);
    EV_RUN(test_limits);
    EV_DONE();
}
