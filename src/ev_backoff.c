/* ev_backoff — see ev_backoff.h. */
#include "ev_backoff.h"

#include <stdint.h>

/* a + b for b >= 0, at most INT64_MAX (a schedule may be "never"). */
static int64_t sat_add(int64_t a, int64_t b)
{
    return b > INT64_MAX - a ? INT64_MAX : a + b;
}

void ev_backoff_init(ev_backoff *b, int64_t first_ns, int64_t min_ns, int64_t max_ns,
                     int64_t timeout_ns)
{
    *b = (ev_backoff){.first_ns = first_ns < 0 ? 0 : first_ns,
                      .min_ns = min_ns > 0 ? min_ns : 1,
                      .max_ns = max_ns,
                      .timeout_ns = timeout_ns < 0 ? 0 : timeout_ns};
    if (b->max_ns < b->min_ns)
        b->max_ns = b->min_ns;
}

void ev_backoff_down(ev_backoff *b, int64_t now)
{
    if (b->down)
        return;
    b->down = 1;
    b->down_since = now;
    b->backoff = b->min_ns;
    b->next_attempt = sat_add(now, b->first_ns);
    b->attempts = 0;
}

int ev_backoff_due(const ev_backoff *b, int64_t now)
{
    return b->down && now >= b->next_attempt;
}

int ev_backoff_failed(ev_backoff *b, int64_t now)
{
    b->attempts++;
    if (now - b->down_since >= sat_add(b->first_ns, b->timeout_ns))
        return -1;
    b->backoff = b->backoff > b->max_ns / 2 ? b->max_ns : b->backoff * 2;
    b->next_attempt = sat_add(now, b->backoff);
    return 0;
}

int64_t ev_backoff_up(ev_backoff *b, int64_t now)
{
    if (!b->down)
        return 0;
    b->down = 0;
    return now - b->down_since;
}

int64_t ev_backoff_wake(const ev_backoff *b, int64_t until)
{
    return b->down && b->next_attempt < until ? b->next_attempt : until;
}
