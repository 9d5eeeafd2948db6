/* ev_test_plan — for unit tests that need a finished plan (ev_test.h first). */
#ifndef EV_TEST_PLAN_H
#define EV_TEST_PLAN_H

#include "ev_scenario.h"

/* Loads text as "t.json" and finishes it, as `evload run` does; any error
 * fails the test. The caller owns the plan (ev_plan_free). */
static ev_plan *ev_test_plan_ok(const char *text)
{
    ev_plan *p = NULL;
    ev_err e;
    memset(&e, 0, sizeof e);
    int rc = ev_plan_load_text(text, strlen(text), "t.json", &p, &e);
    if (!rc)
        rc = ev_plan_finish(p, &e);
    if (rc)
        fprintf(stderr, "unexpected error: %s\n", e.msg);
    CHECK_INT(rc, ==, 0);
    return p;
}

#endif
