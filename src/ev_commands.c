/* The subcommand list (see ev_commands.h). */
#include "ev_commands.h"

#include "ev_k8s.h"
#include "ev_merge.h"
#include "ev_proxy.h"

#include <string.h>

/* The core's own subcommands. */
static const ev_subcommand builtins[] = {
    {"k8s", "Kubernetes manifests of one run split over N pods (`k8s render`)", ev_k8s_main},
    {"merge", "combine the results of one run's instances (--instance I/N) exactly", ev_merge_main},
    {"proxy", "a TCP fault proxy: latency, bandwidth, blackholes, resets (docs/faults.md)",
     ev_proxy_main},
};
#define NBUILTIN (sizeof builtins / sizeof builtins[0])

const ev_subcommand *ev_command_at(size_t i)
{
    if (i < NBUILTIN)
        return &builtins[i];
    i -= NBUILTIN;
    for (size_t b = 0; ev_broker_at(b); b++)
        for (const ev_subcommand *c = ev_broker_at(b)->commands; c && c->name; c++)
            if (i-- == 0)
                return c;
    return NULL;
}

const ev_subcommand *ev_command_find(const char *name)
{
    for (size_t i = 0; name && i < NBUILTIN; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return &builtins[i];
    return ev_broker_command(name);
}
