/* Durations: whatever ev_parse_duration accepts, ev_format_duration writes
 * back as text that parses to the same number of nanoseconds. */
#include "ev_text.h"
#include "fuzz.h"

#include <inttypes.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    if (!text)
        return 0;
    int64_t ns = -1, again = -1;
    ev_err err;
    if (ev_parse_duration(text, &ns, &err) == EV_OK) {
        FUZZ_CHECK(ns >= 0);
        char buf[64];
        ev_format_duration(ns, buf, sizeof buf);
        if (ev_parse_duration(buf, &again, &err) != EV_OK || again != ns) {
            fprintf(stderr, "round trip: \"%s\" -> %" PRId64 " ns -> \"%s\" -> %" PRId64 " (%s)\n",
                    text, ns, buf, again, err.msg);
            FUZZ_CHECK(0);
        }
    } else {
        FUZZ_CHECK(fuzz_msg_ok(err.msg));
    }
    free(text);
    return 0;
}
