/* Differential: the allocation-free scanner behind ev_ce_decode_structured
 * against jansson, and the fast decoder against the reference decoder
 * (ev_codec.h states both contracts). */
#include "ev_codec.h"
#include "fuzz.h"

#include <inttypes.h>
#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    int scan = ev_ce_json_scan_check(body, size);
    FUZZ_CHECK(scan >= -1 && scan <= 1);
    if (scan >= 0) { /* -1: beyond the scanner's limits, jansson decides */
        json_error_t je;
        json_t *root = json_loadb(body, size, JSON_REJECT_DUPLICATES, &je);
        if ((root != NULL) != scan) {
            fprintf(stderr, "scanner says %d, jansson %s (%s)\n", scan,
                    root ? "accepts" : "rejects", root ? "" : je.text);
            FUZZ_CHECK(0);
        }
        json_decref(root);
    }

    ev_ce_seen fast, ref;
    ev_ce_decode_structured(body, size, "run1", &fast);
    ev_ce_decode_structured_ref(body, size, "run1", &ref);
    if (fast.status != ref.status || fast.has_identity != ref.has_identity ||
        fast.instance != ref.instance || fast.lane != ref.lane || fast.seq != ref.seq ||
        fast.sched_ns != ref.sched_ns || fast.sent_ns != ref.sent_ns) {
        fprintf(stderr,
                "fast: status %d id %d %" PRIu32 "/%" PRIu32 "/%" PRIu64 " %" PRId64 " %" PRId64
                " (%s)\nref:  status %d id %d %" PRIu32 "/%" PRIu32 "/%" PRIu64 " %" PRId64
                " %" PRId64 " (%s)\n",
                fast.status, fast.has_identity, fast.instance, fast.lane, fast.seq, fast.sched_ns,
                fast.sent_ns, fast.reason, ref.status, ref.has_identity, ref.instance, ref.lane,
                ref.seq, ref.sched_ns, ref.sent_ns, ref.reason);
        FUZZ_CHECK(0);
    }
    return 0;
}
