/* Threshold expressions: "METRIC\nEXPR". Invariants on success: the
 * threshold keeps what was written, and ev_threshold_holds agrees with its
 * operator at the bound itself and for NaN. */
#include "ev_threshold.h"
#include "fuzz.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    if (!text)
        return 0;
    char *expr = strchr(text, '\n');
    if (expr)
        *expr++ = '\0';
    ev_threshold t;
    ev_err err;
    if (ev_threshold_parse(text, expr, &t, &err) == EV_OK) {
        FUZZ_CHECK(strcmp(t.metric, text) == 0);
        FUZZ_CHECK(strcmp(t.expr, expr ? expr : "") == 0);
        FUZZ_CHECK(isfinite(t.bound));
        FUZZ_CHECK(t.agg != EV_AGG_P || (t.pct > 0 && t.pct <= 100));
        int at = ev_threshold_holds(&t, t.bound);
        int inclusive = t.op == EV_OP_LE || t.op == EV_OP_GE || t.op == EV_OP_EQ;
        FUZZ_CHECK(at == inclusive);
        FUZZ_CHECK(ev_threshold_holds(&t, (double)NAN) == (t.op == EV_OP_NE));
        static const double probes[] = {0, 1, -1, 0.5, 1e300, -1e300, (double)INFINITY};
        for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
            int h = ev_threshold_holds(&t, probes[i]);
            FUZZ_CHECK(h == 0 || h == 1);
        }
    } else {
        FUZZ_CHECK(fuzz_msg_ok(err.msg));
    }
    free(text);
    return 0;
}
