/* ev_tsan_threads — C11 <threads.h> thread calls routed through pthreads, so
 * ThreadSanitizer sees the threads that libraries create with them. Linked
 * into the evload binary of TSan builds only (CMake option EV_TSAN).
 *
 * Why: glibc's thrd_create, thrd_join and thrd_detach call its internal
 * __pthread_* functions, which the TSan runtime (gcc 12's and clang 14's)
 * does not intercept. A thread started by thrd_create therefore has no TSan
 * thread state, and its first intercepted call (malloc) crashes inside the
 * runtime; TSan's SEGV handler then faults again on the same thread ("nested
 * bug in the same thread, aborting"). librdkafka creates all its threads with
 * thrd_create, so every Kafka run died that way. The executable's definitions
 * below take precedence over libc's for every shared library (the dynamic
 * linker searches the executable first), and pthread_create/pthread_join go
 * through TSan's interceptors.
 *
 * glibc defines thrd_t as pthread_t and a thread's int result as the
 * pthread result cast through uintptr_t, so these are drop-in: thrd_exit,
 * thrd_current and thrd_equal (glibc's) stay compatible. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

/* Exported to the libraries that call them; no header. */
int thrd_create(thrd_t *thr, thrd_start_t func, void *arg);
int thrd_join(thrd_t thr, int *res);
int thrd_detach(thrd_t thr);

typedef struct start {
    thrd_start_t func;
    void *arg;
} start;

static void *trampoline(void *p)
{
    start s = *(start *)p;
    free(p);
    return (void *)(uintptr_t)s.func(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    start *s = malloc(sizeof *s);
    if (!s)
        return thrd_nomem;
    s->func = func;
    s->arg = arg;
    int rc = pthread_create(thr, NULL, trampoline, s);
    if (rc) {
        free(s);
        return rc == EAGAIN ? thrd_nomem : thrd_error;
    }
    return thrd_success;
}

int thrd_join(thrd_t thr, int *res)
{
    void *ret;
    if (pthread_join(thr, &ret))
        return thrd_error;
    if (res)
        *res = (int)(uintptr_t)ret;
    return thrd_success;
}

int thrd_detach(thrd_t thr)
{
    return pthread_detach(thr) ? thrd_error : thrd_success;
}
