/* ev_spill — records in an unlinked temporary file (see ev_spill.h).
 *
 * A record on file is a uint32_t length (native byte order: the file never
 * leaves the process) and that many bytes. Writes go through pwrite at the
 * file's end and reads through pread at a record's offset, so appending
 * after reading needs no seek and no stdio buffer holds anything. */
#include "ev_spill.h"

#include "ev_buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ev_spill {
    int fd;
    char what[64];  /* "the timeseries" */
    char dir[1024]; /* where the file was made, for errors */
    size_t count;   /* records appended */
    size_t size;    /* bytes in the file */
    size_t *off;    /* offsets of records [0, nidx): built by reads only */
    size_t nidx, capidx;
    ev_buf buf; /* a record being written, or the last one read */
    int failed; /* sticky: every call fails with `fail` */
    ev_err fail;
};

/* The first failure again. */
static int again(const ev_spill *s, ev_err *err)
{
    if (err)
        *err = s->fail;
    return EV_EINTERNAL;
}

/* Records the first failure (sticky) and returns it. */
static int failed(ev_spill *s, ev_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int failed(ev_spill *s, ev_err *err, const char *fmt, ...)
{
    if (!s->failed) {
        char what[384];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        s->failed = 1;
        ev_err_set(&s->fail, EV_EINTERNAL, "%s spill file in %s: %s", s->what, s->dir, what);
    }
    return again(s, err);
}

int ev_spill_open(const char *what, ev_spill **out, ev_err *err)
{
    *out = NULL;
    ev_spill *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    s->fd = -1;
    snprintf(s->what, sizeof s->what, "%s", what);
    const char *dir = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s", dir && dir[0] ? dir : "/tmp");
    char path[sizeof s->dir + 32];
    int n = snprintf(path, sizeof path, "%s/evload-spill-XXXXXX", s->dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        int rc = ev_err_set(err, EV_EINTERNAL, "%s spill file: TMPDIR is too long (%zu bytes)",
                            s->what, strlen(s->dir));
        free(s);
        return rc;
    }
    s->fd = mkostemp(path, O_CLOEXEC);
    if (s->fd < 0) {
        int rc = ev_err_set(err, EV_EINTERNAL,
                            "%s spill file: cannot create it in %s: %s (set TMPDIR to a "
                            "writable directory)",
                            s->what, s->dir, strerror(errno));
        free(s);
        return rc;
    }
    (void)unlink(path); /* the open descriptor keeps it until ev_spill_free */
    *out = s;
    return EV_OK;
}

static int write_all(int fd, const char *p, size_t n, size_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w, n -= (size_t)w, off += (size_t)w;
    }
    return 0;
}

/* 0, an errno, or -1 when the file ends first. */
static int read_all(int fd, void *dst, size_t n, size_t off)
{
    char *p = dst;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0)
            return -1;
        p += r, n -= (size_t)r, off += (size_t)r;
    }
    return 0;
}

int ev_spill_append(ev_spill *s, const ev_spill_part *parts, size_t nparts, ev_err *err)
{
    if (s->failed)
        return again(s, err);
    size_t n = 0;
    for (size_t i = 0; i < nparts; i++)
        n += parts[i].n;
    if (n > UINT32_MAX)
        return failed(s, err, "a record of %zu bytes is too long", n);
    uint32_t len = (uint32_t)n;
    ev_buf_reset(&s->buf);
    if (ev_buf_reserve(&s->buf, sizeof len + n))
        return failed(s, err, "out of memory");
    memcpy(s->buf.p, &len, sizeof len);
    s->buf.len = sizeof len;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].n)
            memcpy(s->buf.p + s->buf.len, parts[i].p, parts[i].n);
        s->buf.len += parts[i].n;
    }
    int e = write_all(s->fd, s->buf.p, s->buf.len, s->size);
    if (e)
        return failed(s, err, "writing record %zu (%zu bytes at offset %zu): %s", s->count + 1,
                      s->buf.len, s->size, strerror(e));
    s->size += s->buf.len;
    s->count++;
    return EV_OK;
}

size_t ev_spill_count(const ev_spill *s)
{
    return s ? s->count : 0;
}

size_t ev_spill_bytes(const ev_spill *s)
{
    return s ? s->size : 0;
}

/* Extends the index to cover record i by scanning the lengths after the
 * last indexed record. */
static int index_to(ev_spill *s, size_t i, ev_err *err)
{
    if (i < s->nidx)
        return EV_OK;
    if (s->capidx < s->count) {
        size_t *o = realloc(s->off, s->count * sizeof *o);
        if (!o)
            return failed(s, err, "out of memory");
        s->off = o;
        s->capidx = s->count;
    }
    size_t at = s->nidx ? s->off[s->nidx - 1] : 0;
    if (s->nidx) {
        uint32_t len;
        int e = read_all(s->fd, &len, sizeof len, at);
        if (e)
            return failed(s, err, "reading at offset %zu: %s", at,
                          e < 0 ? "the file ends early" : strerror(e));
        at += sizeof len + len;
    }
    while (s->nidx <= i) {
        uint32_t len;
        int e = at + sizeof len <= s->size ? read_all(s->fd, &len, sizeof len, at) : -1;
        if (e || at + sizeof len + len > s->size)
            return failed(s, err, "record %zu at offset %zu: %s", s->nidx + 1, at,
                          e > 0 ? strerror(e) : "the file ends early");
        s->off[s->nidx++] = at;
        at += sizeof len + len;
    }
    return EV_OK;
}

int ev_spill_read(ev_spill *s, size_t i, const void **data, size_t *n, ev_err *err)
{
    *data = NULL;
    *n = 0;
    if (s->failed)
        return again(s, err);
    if (i >= s->count)
        return failed(s, err, "no record %zu (%zu written)", i + 1, s->count);
    int rc = index_to(s, i, err);
    if (rc)
        return rc;
    uint32_t len;
    int e = read_all(s->fd, &len, sizeof len, s->off[i]);
    ev_buf_reset(&s->buf);
    if (!e && ev_buf_reserve(&s->buf, len))
        return failed(s, err, "out of memory");
    if (!e)
        e = read_all(s->fd, s->buf.p, len, s->off[i] + sizeof len);
    if (e)
        return failed(s, err, "reading record %zu at offset %zu: %s", i + 1, s->off[i],
                      e < 0 ? "the file ends early" : strerror(e));
    s->buf.len = len;
    s->buf.p[len] = '\0';
    *data = s->buf.p;
    *n = len;
    return EV_OK;
}

void ev_spill_free(ev_spill *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->off);
    ev_buf_free(&s->buf);
    free(s);
}
