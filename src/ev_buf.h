/* ev_buf — a growable byte buffer. Zero-initialised (EV_BUF_INIT) is empty and
 * valid. The buffer owns `p`; ev_buf_free releases it. Appends return 0, or -1
 * when out of memory (the buffer is then unchanged). `p` is always kept
 * NUL-terminated after the first successful append, for convenience; `len`
 * never counts the NUL. */
#ifndef EV_BUF_H
#define EV_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct ev_buf {
    char *p;
    size_t len, cap;
} ev_buf;

#define EV_BUF_INIT                                                                                \
    {                                                                                              \
        0                                                                                          \
    }

/* Ensures room for `extra` more bytes plus the NUL: on success
 * cap >= len + extra + 1, so a caller may write up to `extra` bytes at p + len
 * directly, then advance len and store the NUL itself. */
int ev_buf_reserve(ev_buf *b, size_t extra);
int ev_buf_append(ev_buf *b, const void *data, size_t n);
int ev_buf_puts(ev_buf *b, const char *s);
/* Appends s with every byte that is not an ASCII letter or digit and not in
 * `keep` written as %XX (RFC 3986): keep EV_PCT_PATH for a URL path,
 * EV_PCT_UNRESERVED for one path segment. */
#define EV_PCT_UNRESERVED "-._~"
#define EV_PCT_PATH "-._~/!$&'()*+,;=:@"
int ev_buf_put_pct(ev_buf *b, const char *s, const char *keep);
int ev_buf_putu64(ev_buf *b, uint64_t v); /* decimal */
int ev_buf_puti64(ev_buf *b, int64_t v);  /* decimal */
/* Appends s as a JSON string literal (with quotes), escaping as RFC 8259 requires:
 * `"` and `\` as \" and \\, controls below 0x20 as \b \f \n \r \t or \u00XX.
 * Every other byte is copied as is, so s must be UTF-8 for the result to be JSON. */
int ev_buf_put_json_string(ev_buf *b, const char *s, size_t n);
void ev_buf_reset(ev_buf *b); /* len = 0, keeps memory */
void ev_buf_free(ev_buf *b);  /* frees; b is empty and reusable */

/* The longest decimal form of a uint64_t (18446744073709551615). */
#define EV_FMT_U64_MAX 20
/* Writes v in decimal at dst (which must have room for EV_FMT_U64_MAX bytes);
 * no NUL, no allocation. Returns the number of bytes written (1..20). For hot
 * paths that format straight into reserved buffer space. */
size_t ev_fmt_u64(char *dst, uint64_t v);

#endif
