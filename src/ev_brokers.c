/* The broker registry. Modules other than mock are weak references, so a
 * module is in the build exactly when its files are (CMakeLists.txt adds
 * src/brokers/NAME.c, publishers/NAME.c and verifiers/NAME.c when present). */
#include "broker.h"

#include <stdio.h>
#include <string.h>

extern const ev_broker ev_broker_mock;
extern const ev_broker ev_broker_redis __attribute__((weak));
extern const ev_broker ev_broker_bullmq __attribute__((weak));
extern const ev_broker ev_broker_rabbitmq __attribute__((weak));
extern const ev_broker ev_broker_kafka __attribute__((weak));

static const ev_broker *const registry[] = {
    &ev_broker_mock, &ev_broker_redis, &ev_broker_bullmq, &ev_broker_rabbitmq, &ev_broker_kafka,
};
#define NREG (sizeof registry / sizeof registry[0])

const ev_broker *ev_broker_find(const char *scheme)
{
    for (size_t i = 0; i < NREG; i++)
        if (registry[i] && strcmp(registry[i]->scheme, scheme) == 0)
            return registry[i];
    return NULL;
}

const char *ev_broker_schemes(void)
{
    static char list[128];
    if (!list[0]) {
        size_t o = 0;
        for (size_t i = 0; i < NREG; i++)
            if (registry[i])
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "",
                                      registry[i]->scheme);
    }
    return list;
}
