/* `--set KEY=VALUE` on a default plan: the input is up to MAX_SETS
 * assignments, one per line, applied in order (stopping at the first error,
 * as the command line does), then the cross-field checks. */
#include "ev_scenario.h"
#include "fuzz.h"

#define MAX_SETS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ev_plan *p = NULL;
    ev_err err;
    char *text = fuzz_strndup(data, size);
    if (!text || ev_plan_new_default(&p, &err) != EV_OK)
        goto out;
    char *line = text;
    int rc = EV_OK;
    for (int i = 0; i < MAX_SETS && line && rc == EV_OK; i++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if ((rc = ev_plan_set(p, line, &err)) != EV_OK)
            FUZZ_CHECK(fuzz_msg_ok(err.msg));
        line = nl ? nl + 1 : NULL;
    }
    if (rc == EV_OK && ev_plan_finish(p, &err) != EV_OK)
        FUZZ_CHECK(fuzz_msg_ok(err.msg));
out:
    ev_plan_free(p);
    free(text);
    return 0;
}
