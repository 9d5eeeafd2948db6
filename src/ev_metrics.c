/* ev_metrics — the metric table expanded (see ev_metrics.h). */
#include "ev_metrics.h"

#include "ev_text.h"

#include <string.h>

const ev_metric_def ev_metrics[EV_METRIC_COUNT] = {
#define EV_LAT_(name, side, help) [EV_METRIC_##name] = {#name, 1, 0, side, help},
#define EV_CNT_(name, side, field, help) [EV_METRIC_##name] = {#name, 0, 0, side, help},
#define EV_SEC_(name, side, help) [EV_METRIC_##name] = {#name, 0, 1, side, help},
    EV_LATENCY_METRICS(EV_LAT_) EV_COUNTER_METRICS(EV_CNT_) EV_SECONDS_METRICS(EV_SEC_)
#undef EV_LAT_
#undef EV_CNT_
#undef EV_SEC_
};

int ev_metric_find(const char *name)
{
    for (int i = 0; name && i < EV_METRIC_COUNT; i++)
        if (strcmp(ev_metrics[i].name, name) == 0)
            return i;
    return -1;
}

void ev_metric_names(int latency, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < EV_METRIC_COUNT; i++)
        if ((latency == 2 ? ev_metrics[i].seconds
                          : !ev_metrics[i].seconds && ev_metrics[i].latency == latency))
            ev_text_put(buf, size, &n, "%s%s", n ? ", " : "", ev_metrics[i].name);
}
