/* ev_signal — see ev_signal.h. */
#include "ev_signal.h"

#include <signal.h>
#include <string.h>

static atomic_int interrupts;

/* Async-signal-safe: lock-free atomics only. */
static void on_signal(int sig)
{
    (void)sig;
    if (atomic_load(&interrupts) < 2)
        atomic_fetch_add(&interrupts, 1);
}

atomic_int *ev_signal_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &interrupts;
}
