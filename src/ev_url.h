/* ev_url — target URLs (docs/design.md §7.3):
 * scheme://[user[:pass]@]host[:port][,host:port…][/path][?k=v&…][#ignored].
 *
 * The split (one function in ev_url.c decides it, for connecting and for every
 * printable form alike): the authority is the text after "://" up to the first
 * '/', '?' or '#'; the userinfo ends at the LAST '@' of the authority (so a
 * password may hold '@'); the password is what follows the userinfo's first ':'
 * (so it may hold ':'). A '/', '?' or '#' in a user name or password, and an '@'
 * in the path or the parameters, must be percent-encoded: with an '@' after the
 * authority the text is ambiguous and ev_url_parse refuses it (EV_EUSAGE), and
 * the printable form hides everything between "://" and that '@'.
 *
 * Environment variables: ev_url_parse itself expands ${NAME} (syntax in
 * ev_env.h; "$${" is a literal "${"), so `evload check` and `evload run` see the
 * same thing and there is no other place to forget it. Expansion comes AFTER
 * the split, inside each part (user, password, host list, path, parameter keys
 * and values): a value never splits the URL and is never percent-decoded, so
 * amqp://guest:${RMQ_PASS}@host/ works with RMQ_PASS='p@ss:w/rd%40' as is.
 * Percent-decoding applies to the literal text written around references only
 * (%24{ is another way to write a literal "${"). The host list is not decoded;
 * a variable may hold all of it ("kafka://${BROKERS}/topic").
 *
 * The password is kept only in `password`, for the broker module that logs in.
 * Every printable form (`redacted`, ev_url_redact_text, and the errors of
 * ev_url_parse, which quote `redacted` and name parts, never their text) is the
 * text as written with the password replaced by "***"; a password written only
 * as ${NAME} references is shown as written (names are not secrets). Expanded
 * values never appear in a printable form.
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
    char *redacted; /* the URL as written (unexpanded), the password as *** */
} ev_url;

/* Splits text (as the user wrote it, ${NAME} unexpanded), expands and decodes
 * each part into a new ev_url owned by the caller (ev_url_free, which also
 * wipes the password). EV_EUSAGE with the redacted text, the part and what was
 * expected on error, including an unset variable (named) or a bad "${". */
int ev_url_parse(const char *text, ev_url **out, ev_err *err);
void ev_url_free(ev_url *u); /* NULL is a no-op */
/* Value of query parameter key (last one wins), or NULL. */
const char *ev_url_param_get(const ev_url *u, const char *key);
/* NULL when s has the shape SCHEME://… (scheme: a letter, then letters,
 * digits, '+', '-', '.'), else what was expected (for settings holding URLs). */
const char *ev_url_shape(const char *s);

/* The printable form of any URL-looking text, by the same split as
 * ev_url_parse (for messages that quote a URL that did not parse, and the plan):
 * for text ev_url_parse accepts it equals `redacted`. Text without a valid
 * "SCHEME://" is split from its start ("guest:pw@host" → "guest:***@host").
 * Writes into buf (truncated to size; the secret is never written). */
void ev_url_redact_text(const char *text, char *buf, size_t size);

/* Where text, as written, holds its password (by the same split): 1 with
 * text[*off .. *off + *len) the password as written (percent-encoded,
 * ${NAME} unexpanded; *len may be 0), 0 when it has none, -1 when the text
 * is ambiguous (ev_url_parse refuses it). For tools that move a password
 * elsewhere (`evload k8s render` puts it in a Secret). */
int ev_url_password_span(const char *text, size_t *off, size_t *len);

#endif
