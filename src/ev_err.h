/* ev_err — error detail that travels beside an int status.
 *
 * Every fallible function returns int (0 = success, otherwise one of EV_E*)
 * and, when given a non-NULL ev_err, writes a one-line human message into it.
 * The status chooses the exit code (docs/design.md §7.2); the message tells the user
 * what happened and, where we know, how to fix it. */
#ifndef EV_ERR_H
#define EV_ERR_H

#include <stddef.h>

enum {
    EV_OK = 0,
    EV_ETHRESH = 1,    /* a threshold failed (exit 1) */
    EV_EUSAGE = 2,     /* usage or scenario error (exit 2) */
    EV_ECONNECT = 3,   /* could not connect or set up (exit 3) */
    EV_EINTERNAL = 4,  /* internal error, including out of memory (exit 4) */
    EV_EINCOMPLETE = 5 /* the run was interrupted: its results are partial (exit 5) */
};

typedef struct ev_err {
    char msg[512];
} ev_err;

/* Formats into err->msg (if err is non-NULL) and returns code, so callers can
 * write `return ev_err_set(err, EV_EUSAGE, "...", ...)`. */
int ev_err_set(ev_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes err->msg with "prefix: " (for adding file or broker context). */
void ev_err_prefix(ev_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
