/* ev_url — a small, strict URL splitter for broker targets: splits, expands
 * ${NAME} and percent-decodes, and hides the password (see ev_url.h). Brokers
 * validate their own parameters. */
#include "ev_url.h"

#include "ev_buf.h"
#include "ev_env.h"

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

void ev_url_free(ev_url *u)
{
    if (!u)
        return;
    free(u->scheme);
    free(u->user);
    if (u->password)
        explicit_bzero(u->password, strlen(u->password));
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

/* ---- where the secret is ------------------------------------------------- */

/* The one split that decides where the userinfo, and so the password, is: used
 * by ev_url_parse (to connect and to build `redacted`) and by
 * ev_url_redact_text (for text that did not parse), so that what is hidden is
 * exactly what would be sent as the password.
 *
 * - The authority starts after the first "://" when what precedes it is a
 *   valid scheme; otherwise (no scheme, or a mangled one) at the start of the
 *   text, so that "guest:pw@host" typed without a scheme is still redacted.
 * - It ends at the first '/', '?' or '#' after its start (or at the end).
 * - The userinfo ends at the LAST '@' of the authority, so a password may
 *   hold '@' unencoded; the password is what follows the userinfo's first ':'
 *   (a user name cannot hold ':' unencoded; a password can).
 * - An '@' after the end of the authority makes the text ambiguous: either
 *   the userinfo holds an unencoded '/', '?' or '#' (then the real authority
 *   runs to that '@'), or the path or query holds an '@'. Both readings are
 *   possible ("amqp://u:1?x@h" is user u, password "1?x", or host u, port 1,
 *   parameter "x@h"), so ev_url_parse refuses the text and every printable
 *   form hides everything from the start of the authority to the last '@'.
 *   The price is that an '@' in a path or a parameter must be written %40. */
typedef struct url_split {
    const char *auth;     /* start of the authority */
    const char *auth_end; /* first '/', '?' or '#' after auth, or the NUL */
    const char *at;       /* the '@' that ends the userinfo; NULL if none */
    const char *colon;    /* first ':' of the userinfo (the password follows); NULL if none */
    int ambiguous;        /* an '@' after auth_end: hide auth..at, parse nothing */
} url_split;

static int is_scheme(const char *s, size_t n)
{
    if (n == 0 || !isalpha((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.')
            return 0;
    return 1;
}

static void split_url(const char *text, url_split *sp)
{
    const char *sep = strstr(text, "://");
    sp->auth = sep && is_scheme(text, (size_t)(sep - text)) ? sep + 3 : text;
    sp->auth_end = sp->auth + strcspn(sp->auth, "/?#");
    sp->at = strrchr(sp->auth, '@');
    sp->ambiguous = sp->at && sp->at > sp->auth_end;
    sp->colon =
        sp->at && !sp->ambiguous ? memchr(sp->auth, ':', (size_t)(sp->at - sp->auth)) : NULL;
}

/* The printable form of text split as sp, into buf (snprintf's contract: the
 * length it needed). The password becomes "***" unless it is written only as
 * ${NAME} references (then it shows as written: names are not secrets); an
 * ambiguous userinfo becomes "***" whole. The user name and everything after
 * the '@' stay as written, ${NAME} included: nothing expanded is ever shown. */
static int render(const char *text, const url_split *sp, char *buf, size_t size)
{
    const char *pw = sp->colon ? sp->colon + 1 : NULL;
    if (!sp->at || (!sp->ambiguous && (!pw || ev_env_refs_only(pw, (size_t)(sp->at - pw)))))
        return snprintf(buf, size, "%s", text);
    const char *keep = sp->ambiguous ? sp->auth : pw;
    return snprintf(buf, size, "%.*s***%s", (int)(keep - text), text, sp->at);
}

void ev_url_redact_text(const char *text, char *buf, size_t size)
{
    url_split sp;
    if (size == 0)
        return;
    split_url(text, &sp);
    render(text, &sp, buf, size);
}

int ev_url_password_span(const char *text, size_t *off, size_t *len)
{
    url_split sp;
    split_url(text, &sp);
    if (sp.ambiguous)
        return -1;
    if (!sp.colon)
        return 0;
    *off = (size_t)(sp.colon + 1 - text);
    *len = (size_t)(sp.at - (sp.colon + 1));
    return 1;
}

static char *redact_alloc(const char *text, const url_split *sp)
{
    int n = render(text, sp, NULL, 0);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (p)
        render(text, sp, p, (size_t)n + 1);
    return p;
}

/* ---- components ---------------------------------------------------------- */

/* One component written as s[0..n) (user, password, host list, path, a query
 * key or value), after the split: literal text is percent-decoded when
 * `decode`, each ${NAME} is replaced by the variable's value verbatim (never
 * decoded, never split: expansion comes after the split, so a value may hold
 * '@', ':', '/', '%', anything). *out is a new string. Errors quote `shown`
 * and name the part (`what`), never its text; an unset variable is named
 * unless `secret` and the part has literal text too (the printable form shows
 * "***" then, and the name might be part of a literal password). */
static int component(const char *s, size_t n, int decode, int secret, const char *what,
                     const char *shown, char **out, ev_err *err)
{
    ev_buf b = EV_BUF_INIT;
    size_t pos = 0, len = 0;
    const char *p = NULL, *v = NULL;
    int rc = EV_OK;
    *out = NULL;
    for (;;) {
        ev_env_kind k = ev_env_next(s, n, &pos, &p, &len);
        if (k == EV_ENV_END)
            break;
        if (k == EV_ENV_BAD) {
            rc = ev_err_set(err, EV_EUSAGE,
                            "target \"%s\": a \"${\" in the %s does not begin a reference "
                            "${NAME} (NAME: letters, digits, '_'); write $${ for a literal ${",
                            shown, what);
            goto out;
        }
        if (k == EV_ENV_REF) {
            if ((rc = ev_env_get(p, len, &v, err))) {
                if (secret && !ev_env_refs_only(s, n))
                    ev_err_set(err, rc,
                               "target \"%s\": a variable named in the %s is not set "
                               "(write $${ for a literal ${)",
                               shown, what);
                else
                    ev_err_set(err, rc,
                               "target \"%s\": environment variable %.*s (in the %s) is not set",
                               shown, (int)len, p, what);
                goto out;
            }
            if (ev_buf_puts(&b, v))
                goto oom;
            continue;
        }
        if (ev_buf_reserve(&b, len))
            goto oom;
        for (size_t i = 0; i < len; i++) {
            int c = (unsigned char)p[i];
            if (decode && c == '%') {
                int hi = i + 1 < len ? hexval((unsigned char)p[i + 1]) : -1;
                int lo = i + 2 < len ? hexval((unsigned char)p[i + 2]) : -1;
                if (hi < 0 || lo < 0) {
                    rc = ev_err_set(err, EV_EUSAGE,
                                    "target \"%s\": bad percent-escape in the %s; expected %%XY "
                                    "with hex digits (a literal '%%' is %%25)%s",
                                    shown, what,
                                    secret ? ", or give the password raw through ${VAR}" : "");
                    goto out;
                }
                c = hi * 16 + lo;
                i += 2;
            }
            b.p[b.len++] = (char)c;
        }
        b.p[b.len] = '\0';
    }
    if (!b.p && ev_buf_append(&b, "", 0))
        goto oom;
    *out = b.p;
    b.p = NULL;
    goto out;
oom:
    rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
out:
    if (secret && b.p)
        explicit_bzero(b.p, b.cap);
    ev_buf_free(&b);
    return rc;
}

/* ---- the parse ----------------------------------------------------------- */

int ev_url_parse(const char *text, ev_url **out, ev_err *err)
{
    int rc = EV_OK;
    ev_url *u = calloc(1, sizeof *u);
    url_split sp;
    split_url(text, &sp);
    if (!u || !(u->redacted = redact_alloc(text, &sp)))
        goto oom;
    const char *shown = u->redacted;

    const char *sep = strstr(text, "://");
    if (!sep || sep == text) {
        rc = ev_err_set(err, EV_EUSAGE,
                        "target \"%s\" is not a URL; expected SCHEME://…, e.g. "
                        "mock://, redis://127.0.0.1:6379?channel=evload",
                        shown);
        goto fail;
    }
    if (sp.auth != sep + 3) {
        rc = ev_err_set(err, EV_EUSAGE, "target \"%s\": bad character in the scheme", shown);
        goto fail;
    }
    if (sp.ambiguous) {
        rc = ev_err_set(
            err, EV_EUSAGE,
            "target \"%s\": cannot tell where the password ends (an '@' follows a '/', '?' "
            "or '#'): percent-encode '/', '?', '#' "
            "and '@' in a user name or password (%%2F %%3F %%23 %%40) and '@' in "
            "the path or parameters (%%40), or give the password through ${VAR}",
            shown);
        goto fail;
    }
    if (!(u->scheme = dup_range(text, (size_t)(sep - text))))
        goto oom;
    for (char *c = u->scheme; *c; c++)
        *c = (char)tolower((unsigned char)*c);

    const char *hp = sp.auth;
    if (sp.at) {
        const char *uend = sp.colon ? sp.colon : sp.at;
        if ((rc = component(sp.auth, (size_t)(uend - sp.auth), 1, 0, "user name", shown, &u->user,
                            err)))
            goto fail;
        if (sp.colon && (rc = component(sp.colon + 1, (size_t)(sp.at - sp.colon - 1), 1, 1,
                                        "password", shown, &u->password, err)))
            goto fail;
        hp = sp.at + 1;
    }
    /* The host list is not percent-decoded; a variable may give all of it
     * ("kafka://${BROKERS}/topic"), so it is parsed after expansion. */
    if ((rc = component(hp, (size_t)(sp.auth_end - hp), 0, 0, "host", shown, &u->hosts, err)))
        goto fail;
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
    /* After the authority: [/path][?query][#fragment]; the fragment is ignored. */
    const char *rest = sp.auth_end;
    const char *path_end = rest + strcspn(rest, "?#");
    if (*rest == '/') {
        if ((rc = component(rest + 1, (size_t)(path_end - rest - 1), 1, 0, "path", shown, &u->path,
                            err)))
            goto fail;
    } else if (!(u->path = dup_range("", 0))) {
        goto oom;
    }
    if (*path_end == '?') {
        const char *p = path_end + 1;
        const char *qend = p + strcspn(p, "#");
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
                par->key = par->value = NULL;
                rc = component(p, (size_t)((eq ? eq : e) - p), 1, 0, "parameters", shown, &par->key,
                               err);
                if (!rc)
                    rc = eq ? component(eq + 1, (size_t)(e - eq - 1), 1, 0, "parameters", shown,
                                        &par->value, err)
                            : component("", 0, 0, 0, "parameters", shown, &par->value, err);
                if (rc) {
                    free(par->key);
                    free(par->value);
                    goto fail;
                }
                u->nparams++;
            }
            p = e + 1;
        }
    }
    *out = u;
    return EV_OK;

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
