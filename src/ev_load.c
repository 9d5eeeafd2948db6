/* The one plan loader of the commands (see ev_load.h). */
#include "ev_load.h"

#include "broker.h"
#include "ev_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the target's transport would have by default where the plan says
 * nothing (HTTP publishes binary mode, as CloudEvents HTTP senders do). A
 * target that does not open is explained later, by the run's own checks. */
static int transport_defaults(ev_plan *p, ev_err *err)
{
    ev_endpoint *ep = NULL;
    if (!p->target || ev_endpoint_open(p->target, EV_ROLE_PUBLISH, &ep, NULL))
        return EV_OK;
    const char *mode = ep->br->default_mode ? ep->br->default_mode(ep->params) : NULL;
    int rc = mode ? ev_plan_default(p, "event.mode", mode, err) : EV_OK;
    ev_endpoint_free(ep);
    return rc;
}

/* --set KEY=VALUE for a KEY and a VALUE given apart. */
static int set_pair(ev_plan *p, const char *key, const char *value, ev_err *err)
{
    size_t n = strlen(key) + strlen(value) + 2;
    char *set = malloc(n);
    if (!set)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    snprintf(set, n, "%s=%s", key, value);
    int rc = ev_plan_set(p, set, err);
    free(set);
    return rc;
}

int ev_load_plan(const ev_load_args *a, ev_plan **out, ev_err *err)
{
    ev_plan *p = NULL;
    int rc = ev_plan_load(a->path, &p, err);
    for (size_t i = 0; !rc && i < a->nsets; i++)
        rc = ev_plan_set(p, a->sets[i], err);
    for (size_t i = 0; !rc && i < a->nextra; i++)
        rc = ev_plan_set(p, a->extra[i], err);
    if (!rc && a->source)
        rc = set_pair(p, "verify.source", a->source, err);
    if (!rc && a->target) {
        char *t = strdup(a->target);
        if (!t)
            rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        else {
            free(p->target);
            p->target = t;
        }
    }
    if (!rc)
        rc = transport_defaults(p, err);
    if (!rc)
        rc = ev_plan_finish(p, err);
    if (!rc)
        rc = ev_check(p, err);
    if (rc) {
        ev_plan_free(p);
        return rc;
    }
    *out = p;
    return EV_OK;
}
