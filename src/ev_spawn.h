/* ev_spawn — one child process watched without ever blocking the watcher
 * (the `exec` fault: `rabbitmqctl stop_app`, `kubectl delete pod …`).
 *
 * The child gets stdin from /dev/null, stdout and stderr on one pipe, no
 * other descriptor of evload's (its broker sockets stay evload's), default
 * signal handling, and a process group of its own, so a timeout kills what
 * it started too (a shell's `sleep`), and a Ctrl-C at evload's terminal goes
 * to evload, which then ends the child itself. Its environment is evload's:
 * a command can read secrets from variables ($RABBIT_PASS) instead of
 * carrying them in its text. Nothing of the environment is ever reported.
 *
 * ev_spawn_poll reads what the pipe holds (keeping the last
 * EV_SPAWN_TAIL bytes), reaps the child with WNOHANG and enforces the
 * timeout: SIGTERM to the group, SIGKILL EV_SPAWN_GRACE_NS later. One
 * thread uses an ev_spawn. */
#ifndef EV_SPAWN_H
#define EV_SPAWN_H

#include "ev_err.h"

#include <stddef.h>
#include <stdint.h>

#define EV_SPAWN_TAIL 2048
#define EV_SPAWN_GRACE_NS (2 * INT64_C(1000000000))

typedef struct ev_spawn ev_spawn;

typedef struct ev_spawn_status {
    int running;    /* not reaped yet */
    int exited;     /* ended by exit(): exit_code is valid */
    int exit_code;  /* 0..255 */
    int signal;     /* ended by this signal (0: none) */
    int timed_out;  /* evload ended it: its timeout (or the run's end) came */
    int64_t dur_ns; /* start to reap (or to now while running) */
} ev_spawn_status;

/* Starts argv[0] (searched in PATH) with argv; timeout_ns > 0 bounds it.
 * Caller owns *out (ev_spawn_free). EV_EUSAGE naming argv[0] when it
 * cannot be started (not found, not executable), EV_EINTERNAL otherwise. */
int ev_spawn_start(char *const argv[], int64_t timeout_ns, ev_spawn **out, ev_err *err);
/* Reads output, reaps, enforces the timeout. Returns 1 once the child has
 * been reaped, else 0. Never blocks. */
int ev_spawn_poll(ev_spawn *s);
/* Ends it now: as if its timeout had come (SIGTERM, then SIGKILL after the
 * grace period); waits for it (at most the grace period and a little). */
void ev_spawn_kill(ev_spawn *s);
void ev_spawn_get(const ev_spawn *s, ev_spawn_status *st);
/* The last EV_SPAWN_TAIL bytes of its output as valid UTF-8 (control bytes
 * but \n and \t, and bytes that are not UTF-8, replaced by '?'), into buf
 * (size >= EV_SPAWN_TAIL + 1 is enough for all of it). */
void ev_spawn_tail(const ev_spawn *s, char *buf, size_t size);
/* Kills it if still running (ev_spawn_kill) and frees. NULL is a no-op. */
void ev_spawn_free(ev_spawn *s);

#endif
