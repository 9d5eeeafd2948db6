/* Scenario files: any text through the loader, then the cross-field checks.
 * Invariants: an error says something on one line; a plan that loads frees
 * cleanly (LeakSanitizer). */
#include "ev_scenario.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ev_plan *p = NULL;
    ev_err err;
    if (ev_plan_load_text((const char *)data, size, "fuzz.json", &p, &err) != EV_OK) {
        FUZZ_CHECK(p == NULL); /* *out untouched on error */
        FUZZ_CHECK(fuzz_msg_ok(err.msg));
        FUZZ_CHECK(strncmp(err.msg, "fuzz.json", 9) == 0);
        return 0;
    }
    FUZZ_CHECK(p != NULL);
    if (ev_plan_finish(p, &err) == EV_OK) {
        (void)ev_plan_publish_ns(p);
        (void)ev_plan_expected_events(p);
    } else {
        FUZZ_CHECK(fuzz_msg_ok(err.msg));
    }
    ev_plan_free(p);
    return 0;
}
