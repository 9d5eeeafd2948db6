/* Target URLs. Invariants: a password of 3 or more characters never shows in
 * the redacted form (ev_url's `redacted` or ev_url_redact_text into buffers
 * of any size), unless the same characters appear elsewhere in the URL (a
 * password given as ${NAME} shows as written, its value never);
 * every parsed query key can be looked up. */
#include "ev_url.h"
#include "fuzz.h"

/* 1 when `shown` reveals pw: pw occurs in it but not in what a correct
 * redaction gives, text with the raw password span text[pw_at..pw_end)
 * replaced by "***" (so a password that also appears in the host, or that
 * "***" itself spells, is no leak). */
static int leaks(const char *shown, const char *text, size_t pw_at, size_t pw_end, const char *pw)
{
    if (strlen(pw) < 3 || !strstr(shown, pw))
        return 0;
    size_t n = strlen(text);
    char *expect = malloc(n + 4);
    if (!expect)
        return 0;
    memcpy(expect, text, pw_at);
    memcpy(expect + pw_at, "***", 3);
    memcpy(expect + pw_at + 3, text + pw_end, n - pw_end + 1);
    int leak = strstr(expect, pw) == NULL;
    free(expect);
    return leak;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    if (!text)
        return 0;
    char small[24], big[1024];
    ev_url_redact_text(text, small, sizeof small);
    ev_url_redact_text(text, big, sizeof big);
    ev_url_redact_text(text, small, 1);
    FUZZ_CHECK(small[0] == '\0');

    ev_url *u = NULL;
    ev_err err;
    if (ev_url_parse(text, &u, &err) != EV_OK) {
        FUZZ_CHECK(u == NULL);
        FUZZ_CHECK(err.msg[0] != '\0');
        goto out;
    }
    FUZZ_CHECK(u->scheme && u->hosts && u->host && u->path && u->redacted);
    for (size_t i = 0; i < u->nparams; i++)
        FUZZ_CHECK(ev_url_param_get(u, u->params[i].key) != NULL);
    if (u->password) {
        /* The raw password is what follows the first ':' of the userinfo,
         * which ends at the last '@' before the first of "/?#". */
        const char *auth = strstr(text, "://") + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *c = auth; c < auth + alen; c++)
            if (*c == '@')
                at = c;
        FUZZ_CHECK(at != NULL);
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        FUZZ_CHECK(colon != NULL);
        size_t pw_at = (size_t)(colon + 1 - text), pw_end = (size_t)(at - text);
        char *raw = fuzz_strndup(colon + 1, (size_t)(at - colon - 1));
        if (raw) {
            /* A password written with ${NAME} shows as written (names are
             * not secrets); its value must not show. */
            int literal = strchr(raw, '$') == NULL;
            const char *shown[] = {u->redacted, big};
            for (size_t i = 0; i < 2; i++) {
                if (leaks(shown[i], text, pw_at, pw_end, u->password) ||
                    (literal && leaks(shown[i], text, pw_at, pw_end, raw))) {
                    fprintf(stderr, "password \"%s\" leaks in \"%s\"\n", u->password, shown[i]);
                    FUZZ_CHECK(0);
                }
            }
            free(raw);
        }
    }
    ev_url_free(u);
out:
    free(text);
    return 0;
}
