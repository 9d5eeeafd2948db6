/* ev_param — see ev_param.h.
 *
 * Design notes
 * - Defaults go through the same parser as URL text, so the printed default
 *   is the real one; a default that does not parse is a bug in the module's
 *   table and fails every run with EV_EINTERNAL (a test catches it first).
 * - Accessors look keys up by name: tables are short and this happens at
 *   setup, never per event. A key missing from the table, or read as the
 *   wrong type, is a programming error: it aborts with the key named rather
 *   than returning a value that silently means something else. */
#include "ev_param.h"

#include "ev_text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pval {
    int given;
    size_t n;     /* values kept (EV_PF_MULTI), else 0 or 1 */
    char **texts; /* the value(s) as text, decoded */
    int64_t i, lo, hi;
    double d;
} pval;

struct ev_params {
    const ev_param *defs;
    size_t n;
    pval *v; /* [n] */
};

static size_t table_len(const ev_param *defs)
{
    size_t n = 0;
    while (defs && defs[n].key)
        n++;
    return n;
}

static const char *type_name(const ev_param *p)
{
    switch (p->type) {
    case EV_PT_STRING:
        return "string";
    case EV_PT_BOOL:
        return "bool";
    case EV_PT_INT:
        return "integer";
    case EV_PT_NUMBER:
        return "number";
    case EV_PT_PROB:
        return "probability";
    case EV_PT_DURATION:
        return "duration";
    case EV_PT_DURRANGE:
        return "duration[..duration]";
    case EV_PT_ENUM:
        return "enum";
    }
    return "?";
}

static void bound_text(const ev_param *p, double v, char *buf, size_t size)
{
    if (p->type == EV_PT_DURATION || p->type == EV_PT_DURRANGE)
        ev_format_duration((int64_t)v, buf, size);
    else
        ev_fmt_num(v, buf, size);
}

void ev_param_form(const ev_param *p, char *buf, size_t size)
{
    size_t n = 0;
    char lo[40], hi[40];
    buf[0] = '\0';
    switch (p->type) {
    case EV_PT_STRING:
        ev_text_put(buf, size, &n, p->flags & EV_PF_NONEMPTY ? "a non-empty string" : "a string");
        return;
    case EV_PT_BOOL:
        ev_text_put(buf, size, &n, "1, 0, true or false");
        return;
    case EV_PT_PROB:
        ev_text_put(buf, size, &n, "a probability from 0 to 1");
        return;
    case EV_PT_ENUM:
        for (size_t i = 0; p->choices && p->choices[i]; i++)
            ev_text_put(buf, size, &n, "%s%s",
                        i == 0              ? ""
                        : p->choices[i + 1] ? ", "
                                            : " or ",
                        p->choices[i]);
        return;
    case EV_PT_INT:
    case EV_PT_NUMBER:
    case EV_PT_DURATION:
    case EV_PT_DURRANGE:
        break;
    }
    const char *what = p->type == EV_PT_INT        ? "a whole number"
                       : p->type == EV_PT_NUMBER   ? "a number"
                       : p->type == EV_PT_DURATION ? "a duration such as 2s"
                                                   : "a duration or MIN..MAX such as 20ms..40ms";
    ev_text_put(buf, size, &n, "%s", what);
    bound_text(p, p->min, lo, sizeof lo);
    if (p->max > 0) {
        bound_text(p, p->max, hi, sizeof hi);
        ev_text_put(buf, size, &n, " from %s to %s", lo, hi);
    } else if (p->min > 0) {
        ev_text_put(buf, size, &n, " of at least %s", lo);
    }
}

/* What the help adds to a parameter's own words: the choices or the range,
 * where the type alone does not say it ("" otherwise). */
static void form_note(const ev_param *p, char *buf, size_t size)
{
    buf[0] = '\0';
    switch (p->type) {
    case EV_PT_ENUM:
        ev_param_form(p, buf, size);
        return;
    case EV_PT_INT:
    case EV_PT_NUMBER:
    case EV_PT_DURATION:
    case EV_PT_DURRANGE:
        if (p->min > 0 || p->max > 0)
            ev_param_form(p, buf, size);
        return;
    case EV_PT_STRING:
    case EV_PT_BOOL:
    case EV_PT_PROB:
        return;
    }
}

/* Parses text for p into v. 0, or -1 when it is not of the form. */
static int parse_value(const ev_param *p, const char *t, pval *v)
{
    char *end = NULL;
    ev_err e;
    switch (p->type) {
    case EV_PT_STRING:
        return (p->flags & EV_PF_NONEMPTY) && !t[0] ? -1 : 0;
    case EV_PT_BOOL:
        if (!strcmp(t, "1") || !strcmp(t, "true"))
            v->i = 1;
        else if (!strcmp(t, "0") || !strcmp(t, "false"))
            v->i = 0;
        else
            return -1;
        return 0;
    case EV_PT_INT: {
        if (!t[0] || (!isdigit((unsigned char)t[0]) && t[0] != '-'))
            return -1;
        errno = 0;
        long long x = strtoll(t, &end, 10);
        if (errno || *end || (double)x < p->min || (p->max > 0 && (double)x > p->max))
            return -1;
        v->i = x;
        return 0;
    }
    case EV_PT_NUMBER:
    case EV_PT_PROB: {
        if (!t[0] || !(isdigit((unsigned char)t[0]) || t[0] == '.' || t[0] == '-'))
            return -1;
        errno = 0;
        double d = strtod(t, &end);
        if (errno || *end || !isfinite(d))
            return -1;
        double lo = p->type == EV_PT_PROB ? 0.0 : p->min;
        double hi = p->type == EV_PT_PROB ? 1.0 : p->max;
        if (d < lo || (hi > 0 && d > hi))
            return -1;
        v->d = d;
        return 0;
    }
    case EV_PT_DURATION:
        if (ev_parse_duration(t, &v->i, &e) || (double)v->i < p->min ||
            (p->max > 0 && (double)v->i > p->max))
            return -1;
        return 0;
    case EV_PT_DURRANGE: {
        const char *dots = strstr(t, "..");
        char first[64];
        size_t fl = dots ? (size_t)(dots - t) : strlen(t);
        if (fl >= sizeof first)
            return -1;
        memcpy(first, t, fl);
        first[fl] = '\0';
        if (ev_parse_duration(first, &v->lo, &e))
            return -1;
        v->hi = v->lo;
        if (dots && ev_parse_duration(dots + 2, &v->hi, &e))
            return -1;
        if (v->hi < v->lo || (double)v->lo < p->min || (p->max > 0 && (double)v->hi > p->max))
            return -1;
        return 0;
    }
    case EV_PT_ENUM:
        for (int i = 0; p->choices && p->choices[i]; i++)
            if (!strcmp(p->choices[i], t)) {
                v->i = i;
                return 0;
            }
        return -1;
    }
    return -1;
}

static int keep_text(pval *v, const char *t, int multi)
{
    char *dup = strdup(t);
    if (!dup)
        return -1;
    if (!multi && v->n) {
        free(v->texts[0]);
        v->texts[0] = dup;
        return 0;
    }
    char **nt = realloc(v->texts, (v->n + 1) * sizeof *nt);
    if (!nt) {
        free(dup);
        return -1;
    }
    v->texts = nt;
    v->texts[v->n++] = dup;
    return 0;
}

void ev_params_free(ev_params *ps)
{
    if (!ps)
        return;
    for (size_t i = 0; i < ps->n; i++) {
        for (size_t j = 0; j < ps->v[i].n; j++)
            free(ps->v[i].texts[j]);
        free(ps->v[i].texts);
    }
    free(ps->v);
    free(ps);
}

static int unknown_key(const ev_param *defs, size_t n, const ev_url *u, const char *k,
                       const char *hint, ev_err *err)
{
    const char *names[64];
    char list[600];
    size_t nn = n < 64 ? n : 64, len = 0;
    list[0] = '\0';
    for (size_t j = 0; j < nn; j++) {
        names[j] = defs[j].key;
        ev_text_put(list, sizeof list, &len, "%s%s", j ? ", " : "", defs[j].key);
    }
    char shown[EV_SHOW_SIZE(40)];
    ev_show(k, 40, shown, sizeof shown);
    const char *near = ev_nearest(k, names, nn);
    const char *sep = hint ? "; " : "", *h = hint ? hint : "";
    if (!n)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: unknown parameter \"%s\"; %s:// takes none%s%s", u->redacted,
                          shown, u->scheme, sep, h);
    if (near)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: unknown parameter \"%s\" (did you mean \"%s\"?); %s:// takes "
                          "%s%s%s",
                          u->redacted, shown, near, u->scheme, list, sep, h);
    return ev_err_set(err, EV_EUSAGE, "target %s: unknown parameter \"%s\"; %s:// takes %s%s%s",
                      u->redacted, shown, u->scheme, list, sep, h);
}

static int bad_value(const ev_param *p, const ev_url *u, const char *t, ev_err *err)
{
    char form[256], shown[EV_SHOW_SIZE(40)];
    ev_param_form(p, form, sizeof form);
    if (p->flags & EV_PF_SECRET)
        snprintf(shown, sizeof shown, "***");
    else
        ev_show(t, 40, shown, sizeof shown);
    /* A default of nothing much makes a poor example: the form says enough. */
    const char *eg =
        p->def && p->def[0] && strcmp(p->def, "0") && strcmp(p->def, "0s") ? p->def : NULL;
    if (eg)
        return ev_err_set(err, EV_EUSAGE, "target %s: %s=\"%s\" is not %s; expected e.g. %s=%s",
                          u->redacted, p->key, shown, form, p->key, eg);
    return ev_err_set(err, EV_EUSAGE, "target %s: %s=\"%s\" is not %s", u->redacted, p->key, shown,
                      form);
}

int ev_params_parse(const ev_param *defs, const ev_url *u, const char *hint, ev_params **out,
                    ev_err *err)
{
    size_t n = table_len(defs);
    ev_params *ps = calloc(1, sizeof *ps);
    if (!ps || !(ps->v = calloc(n ? n : 1, sizeof *ps->v))) {
        free(ps);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    ps->defs = defs;
    ps->n = n;
    int rc = EV_OK;
    for (size_t i = 0; i < n; i++) {
        const ev_param *p = &defs[i];
        if (!p->def)
            continue;
        if (parse_value(p, p->def, &ps->v[i]) || keep_text(&ps->v[i], p->def, 0)) {
            rc = ev_err_set(err, EV_EINTERNAL, "%s:// parameter %s: bad default \"%s\"", u->scheme,
                            p->key, p->def);
            goto out;
        }
    }
    for (size_t k = 0; k < u->nparams; k++) {
        const char *key = u->params[k].key, *val = u->params[k].value;
        size_t i = 0;
        while (i < n && strcmp(defs[i].key, key))
            i++;
        if (i == n) {
            rc = unknown_key(defs, n, u, key, hint, err);
            goto out;
        }
        pval *v = &ps->v[i];
        int multi = (defs[i].flags & EV_PF_MULTI) != 0;
        if (!v->given && v->n) { /* drop the default once a value is given */
            free(v->texts[0]);
            v->n = 0;
        }
        if (parse_value(&defs[i], val, v)) {
            rc = bad_value(&defs[i], u, val, err);
            goto out;
        }
        if (keep_text(v, val, multi)) {
            rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
            goto out;
        }
        v->given = 1;
    }
out:
    if (rc) {
        ev_params_free(ps);
        return rc;
    }
    *out = ps;
    return EV_OK;
}

static const ev_param *find_def(const ev_param *defs, const char *key, size_t len)
{
    for (size_t i = 0; defs && defs[i].key; i++)
        if (strlen(defs[i].key) == len && !strncmp(defs[i].key, key, len))
            return &defs[i];
    return NULL;
}

int ev_params_mask(const ev_param *defs, ev_url *u, ev_err *err)
{
    const char *r = u->redacted, *q = strchr(r, '?');
    if (!q)
        return EV_OK;
    size_t n = strlen(r);
    char *out = malloc(n + 4 * u->nparams + 8), *o = out;
    if (!out)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    memcpy(o, r, (size_t)(q - r) + 1);
    o += q - r + 1;
    const char *p = q + 1;
    while (*p && *p != '#') {
        size_t seg = strcspn(p, "&#"), klen = strcspn(p, "=&#");
        const ev_param *d = find_def(defs, p, klen);
        if (d && (d->flags & EV_PF_SECRET) && klen < seg) {
            memcpy(o, p, klen + 1);
            o += klen + 1;
            memcpy(o, "***", 3);
            o += 3;
        } else {
            memcpy(o, p, seg);
            o += seg;
        }
        p += seg;
        if (*p == '&')
            *o++ = *p++;
    }
    memcpy(o, p, strlen(p) + 1); /* the fragment, if any */
    free(u->redacted);
    u->redacted = out;
    return EV_OK;
}

/* The value slot of key, checked against the expected types (a mask of
 * 1 << ev_param_type); aborts on a programming error. */
static const pval *slot(const ev_params *ps, const char *key, unsigned types)
{
    for (size_t i = 0; i < ps->n; i++)
        if (!strcmp(ps->defs[i].key, key)) {
            if (!(types & (1u << ps->defs[i].type)))
                break;
            return &ps->v[i];
        }
    fprintf(stderr,
            "evload: internal error: target parameter \"%s\" read as the wrong type or "
            "missing from its table\n",
            key);
    abort();
}

int ev_param_given(const ev_params *ps, const char *key)
{
    return slot(ps, key, ~0u)->given;
}

const char *ev_param_str(const ev_params *ps, const char *key)
{
    const pval *v = slot(ps, key, ~0u);
    return v->n ? v->texts[v->n - 1] : NULL;
}

int ev_param_bool(const ev_params *ps, const char *key)
{
    return (int)slot(ps, key, 1u << EV_PT_BOOL)->i;
}

int64_t ev_param_int(const ev_params *ps, const char *key)
{
    return slot(ps, key, 1u << EV_PT_INT)->i;
}

double ev_param_num(const ev_params *ps, const char *key)
{
    return slot(ps, key, 1u << EV_PT_NUMBER | 1u << EV_PT_PROB)->d;
}

int64_t ev_param_dur(const ev_params *ps, const char *key)
{
    return slot(ps, key, 1u << EV_PT_DURATION)->i;
}

void ev_param_durrange(const ev_params *ps, const char *key, int64_t *lo, int64_t *hi)
{
    const pval *v = slot(ps, key, 1u << EV_PT_DURRANGE);
    *lo = v->lo;
    *hi = v->hi;
}

int ev_param_enum(const ev_params *ps, const char *key)
{
    return (int)slot(ps, key, 1u << EV_PT_ENUM)->i;
}

size_t ev_param_count(const ev_params *ps, const char *key)
{
    return slot(ps, key, ~0u)->n;
}

const char *ev_param_at(const ev_params *ps, const char *key, size_t i)
{
    const pval *v = slot(ps, key, ~0u);
    return i < v->n ? v->texts[i] : NULL;
}

void ev_param_print(FILE *f, const ev_param *defs)
{
    int wk = 8, wt = 8;
    for (size_t i = 0; defs && defs[i].key; i++) {
        int k = (int)strlen(defs[i].key), t = (int)strlen(type_name(&defs[i]));
        wk = k > wk ? k : wk;
        wt = t > wt ? t : wt;
    }
    const int col[5] = {2, 2 + wk + 2, 2 + wk + 2 + wt + 2, 2 + wk + 2 + wt + 2 + 12,
                        2 + wk + 2 + wt + 2 + 12};
    for (size_t i = 0; defs && defs[i].key; i++) {
        const ev_param *p = &defs[i];
        char form[256], help[512];
        form_note(p, form, sizeof form);
        snprintf(help, sizeof help, "%s%s%s%s", p->help, form[0] ? " (" : "", form,
                 form[0] ? ")" : "");
        const char *def = p->def ? (p->def[0] ? p->def : "\"\"") : "-";
        char key[64];
        snprintf(key, sizeof key, "  %s", p->key);
        const char *cells[5] = {key, type_name(p), def, "", help};
        ev_text_row(f, cells, col);
    }
}

void ev_param_print_md(FILE *f, const ev_param *defs)
{
    fprintf(f, "| parameter | type | default | meaning |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; defs && defs[i].key; i++) {
        const ev_param *p = &defs[i];
        char form[256];
        form_note(p, form, sizeof form);
        fprintf(f, "| `%s` | %s | %s%s%s | %s%s%s%s%s |\n", p->key, type_name(p), p->def ? "`" : "",
                p->def ? (p->def[0] ? p->def : "\"\"") : "-", p->def ? "`" : "", p->help,
                form[0] ? " (" : "", form, form[0] ? ")" : "",
                p->flags & EV_PF_MULTI ? "; may be given more than once" : "");
    }
}
