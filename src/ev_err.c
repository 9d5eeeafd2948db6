#include "ev_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ev_err_set(ev_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void ev_err_prefix(ev_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    /* Truncation is the intent here: the head first, then as much of the old
     * message as still fits. */
    memcpy(old, err->msg, sizeof old);
    size_t h = strlen(head), room = sizeof err->msg - 1;
    if (h > room)
        h = room;
    memcpy(err->msg, head, h);
    size_t o = h;
    if (o + 2 <= room) {
        memcpy(err->msg + o, ": ", 2);
        o += 2;
    }
    size_t n = strnlen(old, sizeof old);
    if (n > room - o)
        n = room - o;
    memcpy(err->msg + o, old, n);
    err->msg[o + n] = '\0';
}
