/* ev_env — ${NAME} references to environment variables (see ev_env.h). */
#include "ev_env.h"

#include "ev_buf.h"

#include <stdlib.h>
#include <string.h>

static int name_start(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int name_char(int c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

ev_env_kind ev_env_next(const char *s, size_t len, size_t *pos, const char **p, size_t *n)
{
    size_t i = *pos;
    if (i >= len)
        return EV_ENV_END;
    if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') { /* "$${" */
        *p = s + i + 1;
        *n = 2;
        *pos = i + 3;
        return EV_ENV_TEXT;
    }
    if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
        size_t b = i + 2, e = b;
        while (e < len && name_char((unsigned char)s[e]))
            e++;
        if (e == b || !name_start((unsigned char)s[b]) || e >= len || s[e] != '}' ||
            e - b > EV_ENV_NAME_MAX) {
            *p = s + i;
            *n = 0;
            return EV_ENV_BAD;
        }
        *p = s + b;
        *n = e - b;
        *pos = e + 1;
        return EV_ENV_REF;
    }
    /* Literal text up to the next "${" or "$${" (a lone '$' is text). */
    size_t e = i + 1;
    while (e < len && !(s[e] == '$' && e + 1 < len && (s[e + 1] == '{' || s[e + 1] == '$')))
        e++;
    /* "$$" not followed by '{' is text too: take the first '$' and go on. */
    if (e < len && s[e] == '$' && s[e + 1] == '$' && !(e + 2 < len && s[e + 2] == '{'))
        e++;
    *p = s + i;
    *n = e - i;
    *pos = e;
    return EV_ENV_TEXT;
}

int ev_env_get(const char *name, size_t n, const char **value, ev_err *err)
{
    char key[EV_ENV_NAME_MAX + 1];
    if (n > EV_ENV_NAME_MAX)
        n = EV_ENV_NAME_MAX; /* ev_env_next never returns longer names */
    memcpy(key, name, n);
    key[n] = '\0';
    const char *v = getenv(key);
    if (!v)
        return ev_err_set(err, EV_EUSAGE, "environment variable %s is not set", key);
    *value = v;
    return EV_OK;
}

int ev_env_expand(const char *in, char **out, ev_err *err)
{
    ev_buf b = EV_BUF_INIT;
    size_t len = strlen(in), pos = 0, n = 0;
    const char *p = NULL, *v = NULL;
    int rc = EV_OK;
    *out = NULL;
    for (;;) {
        ev_env_kind k = ev_env_next(in, len, &pos, &p, &n);
        if (k == EV_ENV_END)
            break;
        if (k == EV_ENV_BAD) {
            rc = ev_err_set(err, EV_EUSAGE,
                            "\"${\" at byte %zu does not begin a reference ${NAME} (NAME: letters, "
                            "digits, '_'); write $${ for a literal ${",
                            (size_t)(p - in) + 1);
            goto out;
        }
        if (k == EV_ENV_REF && (rc = ev_env_get(p, n, &v, err)))
            goto out;
        if (k == EV_ENV_REF ? ev_buf_puts(&b, v) : ev_buf_append(&b, p, n)) {
            rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
            goto out;
        }
    }
    if (!b.p && ev_buf_append(&b, "", 0)) { /* "" in, "" out */
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto out;
    }
    *out = b.p;
    b.p = NULL;
out:
    ev_buf_free(&b);
    return rc;
}

int ev_env_refs_only(const char *s, size_t n)
{
    size_t pos = 0, len = 0;
    const char *p = NULL;
    int refs = 0;
    ev_env_kind k;
    while ((k = ev_env_next(s, n, &pos, &p, &len)) == EV_ENV_REF)
        refs++;
    return refs > 0 && k == EV_ENV_END;
}
