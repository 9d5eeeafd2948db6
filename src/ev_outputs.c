/* ev_outputs — verify.outputs and verify.match: where evload verifies and how
 * an output message is tied to the published event (docs/pipelines.md).
 *
 *   "verify": { "outputs": {
 *       "results": { "source": "kafka://…/results", "match": "json:/input/id" },
 *       "dlq":     { "source": "amqp://…?queue=dlq", "expect": "none" },
 *       "fanout":  { "source": "redis://…?channel=out", "expect": {"copies": 2}, "groups": 8 } } }
 *
 * Errors point at the member in the file (ev_where), as every setting does. */
#include "ev_outputs.h"

#include "ev_text.h"
#include "ev_url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int oom(ev_err *err)
{
    return ev_err_set(err, EV_EINTERNAL, "out of memory");
}

#define MATCH_FORMS "\"envelope\", \"header:NAME\", \"json:/POINTER\" or \"traceparent\""

const char *ev_match_parse(const char *s, ev_match_kind *kind, const char **arg)
{
    if (!strcmp(s, "envelope")) {
        *kind = EV_MATCH_ENVELOPE, *arg = NULL;
        return NULL;
    }
    if (!strcmp(s, "traceparent")) {
        *kind = EV_MATCH_TRACEPARENT, *arg = NULL;
        return NULL;
    }
    if (!strncmp(s, "header:", 7)) {
        const char *n = s + 7;
        if (!*n)
            return "header: needs a header name, e.g. \"header:x-source-id\"";
        for (const char *c = n; *c; c++)
            if ((unsigned char)*c <= ' ' || *c == ':' || (unsigned char)*c == 0x7f)
                return "a header name has no spaces, ':' or control characters";
        *kind = EV_MATCH_HEADER, *arg = n;
        return NULL;
    }
    if (!strncmp(s, "json:", 5)) {
        const char *ptr = s + 5;
        if (*ptr && *ptr != '/')
            return "a JSON pointer (RFC 6901) is empty or starts with '/', e.g. \"json:/data/id\"";
        for (const char *c = ptr; *c; c++)
            if (*c == '~' && c[1] != '0' && c[1] != '1')
                return "in a JSON pointer '~' is only '~0' (for ~) or '~1' (for /)";
        *kind = EV_MATCH_JSON, *arg = ptr;
        return NULL;
    }
    return "one of " MATCH_FORMS;
}

void ev_outputs_free(ev_output *o, size_t n)
{
    for (size_t i = 0; o && i < n; i++) {
        free(o[i].name);
        free(o[i].source);
        free(o[i].expect_type);
        free(o[i].match_arg);
    }
    free(o);
}

/* "expect": "all" | "none" | {"type": T} | {"copies": K} */
static int parse_expect(ev_output *o, json_t *v, const char *path, const ev_where *w, ev_err *err)
{
    if (json_is_string(v) && !strcmp(json_string_value(v), "all"))
        return EV_OK;
    if (json_is_string(v) && !strcmp(json_string_value(v), "none")) {
        o->expect = EV_EXPECT_NONE;
        return EV_OK;
    }
    static const char *const keys[] = {"type", "copies"};
    const char *k;
    json_t *x;
    if (!json_is_object(v) || json_object_size(v) != 1)
        goto bad;
    json_object_foreach (v, k, x) {
        char sub[320];
        snprintf(sub, sizeof sub, "%s.%.60s", path, k);
        if (!strcmp(k, "type")) {
            if (!json_is_string(x) || !json_string_length(x))
                return ev_where_fail(w, sub, 0, 1, err, "must be a CloudEvents type, e.g. \"%s\"",
                                     "build.completed");
            o->expect = EV_EXPECT_TYPE;
            if (!(o->expect_type = strdup(json_string_value(x))))
                return oom(err);
        } else if (!strcmp(k, "copies")) {
            if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 64)
                return ev_where_fail(w, sub, 0, 1, err, "must be a whole number from 1 to 64");
            o->copies = json_integer_value(x);
        } else {
            return ev_unknown_key(w, path, k, keys, 2, err);
        }
    }
    return EV_OK;
bad:
    return ev_where_fail(w, path, 0, 1, err,
                         "must be \"all\", \"none\", {\"type\": \"T\"} or {\"copies\": K}");
}

static int parse_count(json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int parse_one(ev_output *o, const char *name, json_t *v, const ev_where *w, ev_err *err)
{
    static const char *const keys[] = {"source", "expect", "match", "groups", "consumers"};
    char path[160];
    snprintf(path, sizeof path, "verify.outputs.%.60s", name);
    if (!ev_valid_name(name, 40))
        return ev_where_fail(w, path, 1, 0, err,
                             "output name \"%.40s\": 1 to 40 letters, digits, '_', '-' or '.'",
                             name);
    if (!json_is_object(v))
        return ev_where_fail(w, path, 0, 1, err,
                             "must be an object such as {\"source\": \"amqp://…\", \"expect\": "
                             "\"all\"} (got %s)",
                             json_is_array(v) ? "an array" : "a value");
    o->copies = 1;
    if (!(o->name = strdup(name)))
        return oom(err);
    const char *k;
    json_t *x;
    json_object_foreach (v, k, x) {
        char sub[240];
        snprintf(sub, sizeof sub, "%s.%.60s", path, k);
        int rc = EV_OK;
        if (!strcmp(k, "source")) {
            const char *why = json_is_string(x) ? ev_url_shape(json_string_value(x)) : "a URL";
            if (why)
                return ev_where_fail(w, sub, 0, 1, err, "must be %s", why);
            if (!(o->source = strdup(json_string_value(x))))
                return oom(err);
        } else if (!strcmp(k, "expect")) {
            rc = parse_expect(o, x, sub, w, err);
        } else if (!strcmp(k, "match")) {
            const char *arg = NULL, *why = json_is_string(x) ? ev_match_parse(json_string_value(x),
                                                                              &o->match, &arg)
                                                             : "one of " MATCH_FORMS;
            if (why)
                return ev_where_fail(w, sub, 0, 1, err, "must be %s", why);
            if (arg && !(o->match_arg = strdup(arg)))
                return oom(err);
            o->match_given = 1;
        } else if (!strcmp(k, "groups")) {
            if (parse_count(x, 1, 1024, &o->groups))
                return ev_where_fail(w, sub, 0, 1, err, "must be a whole number from 1 to 1024");
        } else if (!strcmp(k, "consumers")) {
            if (parse_count(x, 1, 1024, &o->consumers))
                return ev_where_fail(w, sub, 0, 1, err, "must be a whole number from 1 to 1024");
        } else {
            return ev_unknown_key(w, path, k, keys, sizeof keys / sizeof keys[0], err);
        }
        if (rc)
            return rc;
    }
    if (!o->source)
        return ev_where_fail(w, path, 0, 1, err,
                             "needs \"source\": the URL evload consumes this output from");
    return EV_OK;
}

int ev_outputs_apply(ev_plan *p, json_t *v, const ev_where *w, ev_err *err)
{
    if (!json_is_object(v) || json_object_size(v) == 0 || json_object_size(v) > EV_OUTPUTS_MAX)
        return ev_where_fail(w, "verify.outputs", 0, 1, err,
                             "must be an object of 1 to %d named outputs, e.g. {\"results\": "
                             "{\"source\": \"kafka://127.0.0.1:9092/results\"}}",
                             EV_OUTPUTS_MAX);
    size_t n = json_object_size(v), i = 0;
    ev_output *o = calloc(n, sizeof *o);
    if (!o)
        return oom(err);
    const char *name;
    json_t *x;
    int rc = EV_OK;
    json_object_foreach (v, name, x) {
        if ((rc = parse_one(&o[i++], name, x, w, err)))
            break;
    }
    char *text = rc ? NULL : json_dumps(v, JSON_COMPACT);
    if (!rc && !text)
        rc = oom(err);
    if (rc) {
        ev_outputs_free(o, n);
        return rc;
    }
    ev_outputs_free(p->outputs, p->noutputs);
    free(p->outputs_json);
    p->outputs = o;
    p->noutputs = n;
    p->outputs_json = text;
    p->outputs_explicit = 1;
    return EV_OK;
}

int ev_outputs_finish(ev_plan *p, ev_err *err)
{
    if (!p->outputs_explicit) {
        ev_outputs_free(p->outputs, p->noutputs);
        p->outputs = NULL;
        p->noutputs = 0;
        if (p->groups == 0)
            return EV_OK; /* publish only */
        ev_output *o = calloc(1, sizeof *o);
        if (!o || !(o->name = strdup("")) ||
            (p->verify_source && !(o->source = strdup(p->verify_source)))) {
            ev_outputs_free(o, 1);
            return oom(err);
        }
        o->copies = 1;
        p->outputs = o;
        p->noutputs = 1;
    }
    /* An output that expects none (or some) of the run's events fails the
     * run when others arrive, unless the thresholds say otherwise. */
    int selective = 0, judged = 0;
    for (size_t i = 0; i < p->noutputs; i++)
        selective |= p->outputs[i].expect != EV_EXPECT_ALL;
    for (size_t i = 0; i < p->nthresholds; i++)
        judged |= !strcmp(p->thresholds[i].metric, "unexpected");
    if (selective && !judged) {
        ev_threshold *t = realloc(p->thresholds, (p->nthresholds + 1) * sizeof *t);
        if (!t)
            return oom(err);
        p->thresholds = t;
        if (ev_threshold_parse("unexpected", "count==0", &t[p->nthresholds], err))
            return EV_EINTERNAL;
        p->nthresholds++;
    }
    const char *arg = NULL;
    ev_match_kind m = EV_MATCH_ENVELOPE;
    if (p->verify_match)
        ev_match_parse(p->verify_match, &m, &arg); /* checked when it was set */
    for (size_t i = 0; i < p->noutputs; i++) {
        ev_output *o = &p->outputs[i];
        if (!o->groups)
            o->groups = p->groups ? p->groups : 1;
        if (!o->consumers)
            o->consumers = p->consumers;
        if (!o->match_given) {
            o->match = m;
            free(o->match_arg);
            o->match_arg = NULL;
            if (arg && !(o->match_arg = strdup(arg)))
                return oom(err);
        }
    }
    return EV_OK;
}
