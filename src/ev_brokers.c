/* The transport registry and endpoints (see broker.h).
 *
 * The list of transports is a plain compile-time table: CMakeLists.txt
 * writes ev_transports.h with one EV_TRANSPORT(name) line per transport it
 * builds (EV_TRANSPORTS there), and each module exports
 * `const ev_broker ev_broker_<name>`. */
#include "broker.h"

#include "ev_text.h"
#include "ev_transports.h" /* generated: EV_TRANSPORT(name) ... */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EV_TRANSPORT(name) extern const ev_broker ev_broker_##name;
EV_TRANSPORT_LIST
#undef EV_TRANSPORT

static const ev_broker *const registry[] = {
#define EV_TRANSPORT(name) &ev_broker_##name,
    EV_TRANSPORT_LIST
#undef EV_TRANSPORT
};
#define NREG (sizeof registry / sizeof registry[0])

const ev_broker *ev_broker_at(size_t i)
{
    return i < NREG ? registry[i] : NULL;
}

const ev_broker *ev_broker_find(const char *scheme)
{
    for (size_t i = 0; scheme && i < NREG; i++)
        for (size_t j = 0; registry[i]->schemes[j]; j++)
            if (strcmp(registry[i]->schemes[j], scheme) == 0)
                return registry[i];
    return NULL;
}

const char *ev_broker_schemes(void)
{
    static char list[256];
    if (!list[0]) {
        size_t o = 0;
        for (size_t i = 0; i < NREG; i++)
            for (size_t j = 0; registry[i]->schemes[j]; j++)
                ev_text_put(list, sizeof list, &o, "%s%s", o ? ", " : "", registry[i]->schemes[j]);
    }
    return list;
}

const ev_subcommand *ev_broker_command(const char *name)
{
    for (size_t i = 0; name && i < NREG; i++)
        for (const ev_subcommand *c = registry[i]->commands; c && c->name; c++)
            if (strcmp(c->name, name) == 0)
                return c;
    return NULL;
}

const char *const *ev_broker_prefixes(void)
{
    static const char *list[NREG + 1];
    size_t n = 0;
    for (size_t i = 0; i < NREG; i++)
        if (registry[i]->settings_prefix)
            list[n++] = registry[i]->settings_prefix;
    list[n] = NULL;
    return list;
}

/* ---- endpoints ----------------------------------------------------------- */

void ev_endpoint_free(ev_endpoint *ep)
{
    if (!ep)
        return;
    ev_params_free(ep->params);
    ev_url_free(ep->url);
    free(ep);
}

static const char *role_name(unsigned roles)
{
    return roles & EV_ROLE_PUBLISH ? "a target (publishing)" : "a source (verifying)";
}

int ev_endpoint_open(const char *text, unsigned roles, ev_endpoint **out, ev_err *err)
{
    ev_endpoint *ep = calloc(1, sizeof *ep);
    if (!ep)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    int rc = ev_url_parse(text, &ep->url, err);
    if (rc)
        goto fail;
    const ev_url *u = ep->url;
    ep->br = ev_broker_find(u->scheme);
    if (!ep->br) {
        rc = ev_err_set(err, EV_EUSAGE, "target %s: unknown scheme \"%s\"; expected one of: %s",
                        u->redacted, u->scheme, ev_broker_schemes());
        goto fail;
    }
    unsigned missing = roles & ~ep->br->roles;
    if (missing) {
        rc = ev_err_set(err, EV_EUSAGE, "%s: %s:// cannot be %s", u->redacted, u->scheme,
                        role_name(missing));
        goto fail;
    }
    if ((rc = ev_params_mask(ep->br->params, ep->url, err)) ||
        (rc = ev_params_parse(ep->br->params, u, ep->br->params_hint, &ep->params, err)))
        goto fail;
    *out = ep;
    return EV_OK;
fail:
    ev_endpoint_free(ep);
    return rc;
}

int ev_endpoint_configure(const ev_endpoint *ep, const ev_run_info *ri, ev_err *err)
{
    const ev_broker *br = ep->br;
    /* verify.mode belongs to where evload verifies: a pipeline's target only
     * publishes, and its source is configured on its own. */
    const char *mode = (ri->roles & EV_ROLE_VERIFY) ? ri->plan->verify_mode : NULL;
    if (mode) {
        const char *const *m = br->verify_modes;
        size_t n = 0;
        while (m && m[n] && strcmp(m[n], mode))
            n++;
        if (!m || !m[n]) {
            char where[160], list[160];
            size_t o = 0;
            list[0] = '\0';
            for (size_t i = 0; m && m[i]; i++)
                ev_text_put(list, sizeof list, &o, "%s%s", i ? " or " : "", m[i]);
            size_t cnt = 0;
            while (m && m[cnt])
                cnt++;
            const char *near = m ? ev_nearest(mode, m, cnt) : NULL;
            ev_plan_origin(ri->plan, "verify.mode", where, sizeof where);
            if (!m)
                return ev_err_set(err, EV_EUSAGE,
                                  "%s: verify.mode \"%s\": %s:// has no verify modes; remove it",
                                  where, mode, ep->url->scheme);
            return ev_err_set(err, EV_EUSAGE, "%s: verify.mode \"%s\"%s%s%s; %s:// takes %s", where,
                              mode, near ? " (did you mean \"" : "", near ? near : "",
                              near ? "\"?)" : "", ep->url->scheme, list);
        }
    }
    return br->configure ? br->configure(ri, err) : EV_OK;
}

void ev_broker_print_targets(FILE *f, int markdown)
{
    for (size_t i = 0; i < NREG; i++) {
        const ev_broker *b = registry[i];
        char schemes[64];
        size_t o = 0;
        schemes[0] = '\0';
        for (size_t j = 0; b->schemes[j]; j++)
            ev_text_put(schemes, sizeof schemes, &o, "%s%s://", j ? ", " : "", b->schemes[j]);
        if (markdown) {
            fprintf(f, "### `%s` — %s\n\nExample: `%s`", schemes, b->summary, b->example);
            if (b->doc)
                fprintf(f, " (more in [%s](%s))", b->doc + 5, b->doc + 5);
            fprintf(f, "\n\n");
            if (b->params && b->params[0].key)
                ev_param_print_md(f, b->params);
            else
                fprintf(f, "No parameters.\n");
            if (b->settings_prefix)
                fprintf(f, "\nSettings `%s.PROPERTY`: %s\n", b->settings_prefix,
                        b->settings_help ? b->settings_help : "passed verbatim");
            fprintf(f, "\n");
            continue;
        }
        fprintf(f, "%s  %s\n  e.g. %s\n", schemes, b->summary, b->example);
        if (b->params && b->params[0].key)
            ev_param_print(f, b->params);
        if (b->settings_prefix)
            fprintf(f, "  --set %s.PROPERTY=VALUE  %s\n", b->settings_prefix,
                    b->settings_help ? b->settings_help : "passed verbatim");
        fprintf(f, "\n");
    }
}
