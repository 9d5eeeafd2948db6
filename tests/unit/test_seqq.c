/* The in-order reply queue: FIFO order across growth and wrap-around. */
#include "ev_seqq.h"
#include "ev_test.h"

static void test_fifo_across_growth(void)
{
    ev_seqq q = {0};
    uint64_t next_in = 1, next_out = 1;
    /* Interleave pushes and pops so the ring wraps before each growth. */
    for (int round = 0; round < 2000; round++) {
        for (int i = 0; i < 3; i++)
            CHECK_INT(ev_seqq_push(&q, next_in++), ==, 0);
        CHECK_U64(ev_seqq_pop(&q), ==, next_out++);
        CHECK_U64(ev_seqq_pop(&q), ==, next_out++);
    }
    CHECK_U64(q.n, ==, next_in - next_out);
    CHECK_INT(ev_seqq_push(&q, 999999), ==, 0);
    ev_seqq_unpush(&q);
    while (q.n)
        CHECK_U64(ev_seqq_pop(&q), ==, next_out++);
    CHECK_U64(next_out, ==, next_in);
    ev_seqq_free(&q);
    CHECK(q.v == NULL && q.n == 0);
    ev_seqq_unpush(&q); /* empty: no-op */
    CHECK_U64(q.n, ==, 0);
}

int main(void)
{
    EV_RUN(test_fifo_across_growth);
    EV_DONE();
}
