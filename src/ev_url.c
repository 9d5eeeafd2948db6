/* ev_url — a small, strict URL splitter for broker targets. Brokers validate
 * their own parameters; this module only splits and decodes. */
#include "ev_url.h"

#include "ev_text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new string; '+' stays '+'. NULL on a bad
 * escape or out of memory (*bad tells which). */
static char *pct_decode(const char *s, size_t n, int *bad)
{
    char *out = malloc(n + 1), *o = out;
    *bad = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int a = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int b = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (a < 0 || b < 0) {
                free(out);
                *bad = 1;
                return NULL;
            }
            int h = a * 16 + b;
            *o++ = (char)h;
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

void ev_url_free(ev_url *u)
{
    if (!u)
        return;
    free(u->scheme);
    free(u->user);
    free(u->password);
    free(u->hosts);
    free(u->host);
    free(u->path);
    for (size_t i = 0; i < u->nparams; i++) {
        free(u->params[i].key);
        free(u->params[i].value);
    }
    free(u->params);
    free(u->redacted);
    free(u);
}

const char *ev_url_param_get(const ev_url *u, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; i < u->nparams; i++)
        if (strcmp(u->params[i].key, key) == 0)
            v = u->params[i].value;
    return v;
}

void ev_url_redact_text(const char *text, char *buf, size_t size)
{
    if (size == 0)
        return;
    const char *sep = strstr(text, "://");
    const char *at = sep ? strchr(sep + 3, '@') : NULL;
    const char *slash = sep ? strpbrk(sep + 3, "/?#") : NULL;
    const char *colon = sep ? memchr(sep + 3, ':', at ? (size_t)(at - sep - 3) : 0) : NULL;
    if (!at || (slash && slash < at) || !colon) {
        snprintf(buf, size, "%s", text);
        return;
    }
    snprintf(buf, size, "%.*s:***%s", (int)(colon - text), text, at);
}

int ev_url_parse(const char *text, ev_url **out, ev_err *err)
{
    int rc = EV_EINTERNAL, bad = 0;
    ev_url *u = calloc(1, sizeof *u);
    char shown[512];
    ev_url_redact_text(text, shown, sizeof shown);
    if (!u)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");

    const char *sep = strstr(text, "://");
    if (!sep || sep == text) {
        rc = ev_err_set(err, EV_EUSAGE,
                        "target \"%s\" is not a URL; expected SCHEME://…, e.g. "
                        "mock://, redis://127.0.0.1:6379?channel=evload",
                        shown);
        goto fail;
    }
    for (const char *c = text; c < sep; c++)
        if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-' && *c != '.') {
            rc = ev_err_set(err, EV_EUSAGE, "target \"%s\": bad character in the scheme", shown);
            goto fail;
        }
    if (!(u->scheme = dup_range(text, (size_t)(sep - text))))
        goto oom;
    for (char *c = u->scheme; *c; c++)
        *c = (char)tolower((unsigned char)*c);

    const char *auth = sep + 3;
    const char *auth_end = auth + strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *c = auth; c < auth_end; c++)
        if (*c == '@')
            at = c;
    const char *hp = auth;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        const char *uend = colon ? colon : at;
        if (!(u->user = pct_decode(auth, (size_t)(uend - auth), &bad)))
            goto decode_fail;
        if (colon && !(u->password = pct_decode(colon + 1, (size_t)(at - colon - 1), &bad)))
            goto decode_fail;
        hp = at + 1;
    }
    if (!(u->hosts = dup_range(hp, (size_t)(auth_end - hp))))
        goto oom;
    {
        size_t first = strcspn(u->hosts, ",");
        const char *h = u->hosts;
        const char *colon = NULL;
        if (h[0] == '[') { /* [v6]:port */
            const char *rb = memchr(h, ']', first);
            if (!rb) {
                rc = ev_err_set(err, EV_EUSAGE, "target \"%s\": unclosed '[' in the host", shown);
                goto fail;
            }
            if (!(u->host = dup_range(h + 1, (size_t)(rb - h - 1))))
                goto oom;
            if (rb + 1 < h + first && rb[1] == ':')
                colon = rb + 1;
        } else {
            colon = memchr(h, ':', first);
            if (!(u->host = dup_range(h, colon ? (size_t)(colon - h) : first)))
                goto oom;
        }
        if (colon) {
            char *end = NULL;
            unsigned long port = strtoul(colon + 1, &end, 10);
            if (end == colon + 1 || end != h + first || port == 0 || port > 65535) {
                rc = ev_err_set(err, EV_EUSAGE,
                                "target \"%s\": bad port \"%.*s\"; expected a number 1..65535",
                                shown, (int)(h + first - colon - 1), colon + 1);
                goto fail;
            }
            u->port = (int)port;
        }
    }
    const char *rest = auth_end;
    const char *q = strchr(rest, '?');
    const char *frag = strchr(rest, '#');
    const char *path_end = q ? q : (frag ? frag : rest + strlen(rest));
    if (*rest == '/') {
        if (!(u->path = pct_decode(rest + 1, (size_t)(path_end - rest - 1), &bad)))
            goto decode_fail;
    } else if (!(u->path = dup_range("", 0))) {
        goto oom;
    }
    if (q) {
        const char *p = q + 1;
        const char *qend = frag && frag > q ? frag : q + strlen(q);
        while (p < qend) {
            const char *amp = memchr(p, '&', (size_t)(qend - p));
            const char *e = amp ? amp : qend;
            if (e > p) {
                const char *eq = memchr(p, '=', (size_t)(e - p));
                ev_url_param *np = realloc(u->params, (u->nparams + 1) * sizeof *np);
                if (!np)
                    goto oom;
                u->params = np;
                ev_url_param *par = &u->params[u->nparams];
                par->key = pct_decode(p, eq ? (size_t)(eq - p) : (size_t)(e - p), &bad);
                par->value = par->key ? (eq ? pct_decode(eq + 1, (size_t)(e - eq - 1), &bad)
                                            : dup_range("", 0))
                                      : NULL;
                if (!par->key || !par->value) {
                    free(par->key);
                    free(par->value);
                    goto decode_fail;
                }
                u->nparams++;
            }
            p = e + 1;
        }
    }
    if (!(u->redacted = dup_range(shown, strlen(shown))))
        goto oom;
    *out = u;
    return EV_OK;

decode_fail:
    if (bad) {
        rc = ev_err_set(err, EV_EUSAGE,
                        "target \"%s\": bad percent-escape; expected %%XY with hex digits", shown);
        goto fail;
    }
oom:
    rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
fail:
    ev_url_free(u);
    return rc;
}

const char *ev_url_shape(const char *s)
{
    static const char expected[] =
        "a URL SCHEME://..., e.g. \"mock://\"; `evload run --help` lists every target";
    const char *p = s;
    if (!isalpha((unsigned char)*p))
        return expected;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    return strncmp(p, "://", 3) == 0 ? NULL : expected;
}
