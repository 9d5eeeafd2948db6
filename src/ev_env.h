/* ev_env — ${NAME} references to environment variables in settings that may
 * carry a secret (target URLs today), so that CI can keep a password out of
 * files, command lines and shell history, in the spirit of k6's __ENV.
 *
 * Syntax, the same wherever it applies:
 *   ${NAME}  NAME is [A-Za-z_][A-Za-z0-9_]* (at most EV_ENV_NAME_MAX bytes); it
 *            becomes the value of the environment variable NAME, verbatim and
 *            never expanded again. Unset is an error naming NAME; set but empty
 *            gives "".
 *   $${      a literal "${" (the escape).
 *   $        any other '$' is literal ("$x", "$$", "a$" stay as written).
 * A "${" that does not begin a well-formed reference (no closing '}', an empty
 * or bad name) is an error rather than text, so a typo never goes through
 * silently. Error messages name the variable or the byte offset, never quote
 * the text around it: that text may be a secret.
 *
 * Variable names are not secrets: printable forms keep "${NAME}" as written. */
#ifndef EV_ENV_H
#define EV_ENV_H

#include "ev_err.h"

#include <stddef.h>

#define EV_ENV_NAME_MAX 128

typedef enum {
    EV_ENV_END,  /* nothing left */
    EV_ENV_TEXT, /* literal text: *p, *n (for "$${" it is the "${" inside it) */
    EV_ENV_REF,  /* a reference: *p, *n is NAME */
    EV_ENV_BAD   /* a "${" that is not a reference; *p points at its '$' */
} ev_env_kind;

/* Reads the next piece of s[0..len) from *pos and advances *pos past it. A
 * tokenizer, without lookups, so that callers that treat literal text and
 * values differently (ev_url percent-decodes only the former) share the one
 * grammar. After EV_ENV_BAD, *pos is unchanged. */
ev_env_kind ev_env_next(const char *s, size_t len, size_t *pos, const char **p, size_t *n);

/* Looks up the variable name[0..n): 0 and *value (the environment's string:
 * not to be freed, valid until the environment changes), or EV_EUSAGE with
 * "environment variable NAME is not set". */
int ev_env_get(const char *name, size_t n, const char **value, ev_err *err);

/* Expands every reference in `in` into a new string *out owned by the caller
 * (free). On error *out is NULL and err names the unset variable or the byte
 * offset of the bad "${" (EV_EUSAGE), or says out of memory (EV_EINTERNAL). */
int ev_env_expand(const char *in, char **out, ev_err *err);

/* 1 when s[0..n) is one or more references and nothing else (so showing it
 * as written shows no literal text), else 0. Looks nothing up. */
int ev_env_refs_only(const char *s, size_t n);

#endif
