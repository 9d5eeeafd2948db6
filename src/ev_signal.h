/* ev_signal — the process's Ctrl-C counter, shared by the commands that run
 * the engine (run, sweep, search, suite) and handed to it as
 * ev_run_opts.interrupt: the first SIGINT or SIGTERM asks the run to stop
 * and still report, the second to stop at once. */
#ifndef EV_SIGNAL_H
#define EV_SIGNAL_H

#include <stdatomic.h>

/* Sets SIGINT and SIGTERM to count into the counter (0, 1, 2: it stops at
 * 2) and returns it (static storage; never NULL). Idempotent. Without
 * SA_RESTART: a blocking poll() or read() returns EINTR. */
atomic_int *ev_signal_install(void);

#endif
