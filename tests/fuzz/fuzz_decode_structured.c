/* Structured-mode events: any bytes through the verifiers' decoder (run id
 * "run1", the one tests/fuzz/seedgen.c writes into the seeds). Invariants:
 * the outcome is one of the three, its reason fits and is printable ASCII,
 * FOREIGN fills nothing else, and an OK event is valid CloudEvents. */
#include "ev_codec.h"
#include "fuzz.h"

static void check_seen(const ev_ce_seen *s)
{
    FUZZ_CHECK(s->status == EV_CE_OK || s->status == EV_CE_FOREIGN || s->status == EV_CE_CORRUPT);
    size_t rn = strnlen(s->reason, sizeof s->reason);
    FUZZ_CHECK(rn < sizeof s->reason);
    for (size_t i = 0; i < rn; i++)
        FUZZ_CHECK(s->reason[i] >= 0x20 && s->reason[i] < 0x7F);
    FUZZ_CHECK((s->status == EV_CE_OK) == (rn == 0));
    if (s->status == EV_CE_FOREIGN)
        FUZZ_CHECK(!s->has_identity && !s->instance && !s->lane && !s->seq && !s->sched_ns &&
                   !s->sent_ns);
    if (s->status == EV_CE_OK)
        FUZZ_CHECK(s->has_identity);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ev_ce_seen seen;
    ev_ce_decode_structured((const char *)data, size, "run1", &seen);
    check_seen(&seen);
    if (seen.status == EV_CE_OK)
        FUZZ_CHECK(ev_ce_validate_json((const char *)data, size, NULL) == 0);
    return 0;
}
