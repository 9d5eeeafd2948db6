/* The broker registry: one line per module. */
#include "broker.h"

#include <string.h>

extern const ev_broker ev_broker_mock;

static const ev_broker *const registry[] = {
    &ev_broker_mock,
};

const ev_broker *ev_broker_find(const char *scheme)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (strcmp(registry[i]->scheme, scheme) == 0)
            return registry[i];
    return NULL;
}

const char *ev_broker_schemes(void)
{
    return "mock";
}
