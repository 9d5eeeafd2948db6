/* ev_url — target URLs (docs/design.md §7.3):
 * scheme://[user[:pass]@]host[:port][,host:port…][/path][?k=v&…]. Percent-decoding is applied to
 * user, password, path and query values. The password is kept only in `password`, for the broker
 * module that logs in; every printable form (`redacted`, ev_url_redact_text) shows "***" instead.
 */
#ifndef EV_URL_H
#define EV_URL_H

#include "ev_err.h"

#include <stddef.h>

typedef struct ev_url_param {
    char *key, *value;
} ev_url_param;

typedef struct ev_url {
    char *scheme;   /* lower-case */
    char *user;     /* NULL if absent */
    char *password; /* NULL if absent */
    char *hosts;    /* "host:port[,host:port]" as written, "" if absent */
    char *host;     /* first host, "" if absent */
    int port;       /* first port, 0 if absent */
    char *path;     /* decoded, without the leading '/'; "" if absent */
    ev_url_param *params;
    size_t nparams;
    char *redacted; /* the whole URL with the password replaced by *** */
} ev_url;

/* Parses text into a new ev_url owned by the caller (ev_url_free). EV_EUSAGE
 * with the position and what was expected on error. */
int ev_url_parse(const char *text, ev_url **out, ev_err *err);
void ev_url_free(ev_url *u); /* NULL is a no-op */
/* Value of query parameter key (last one wins), or NULL. */
const char *ev_url_param_get(const ev_url *u, const char *key);
/* NULL when s has the shape SCHEME://… (scheme: a letter, then letters,
 * digits, '+', '-', '.'), else what was expected (for settings holding URLs). */
const char *ev_url_shape(const char *s);

/* Replaces the password in any URL-looking text by *** (for messages that quote
 * a URL the user typed, before it parsed). Writes into buf. */
void ev_url_redact_text(const char *text, char *buf, size_t size);

#endif
