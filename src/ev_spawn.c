/* ev_spawn — a child process watched without blocking (see ev_spawn.h).
 *
 * posix_spawn (vfork-like, cheap even from a big process) with file actions:
 * /dev/null on 0, the pipe's write end on 1 and 2, every other descriptor
 * closed (closefrom, glibc >= 2.34); the pipe's read end is non-blocking and
 * close-on-exec. The child leads a new process group, so signals for a
 * timeout reach its own children too. */
#include "ev_spawn.h"

#include "ev_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct ev_spawn {
    pid_t pid;
    int fd; /* the pipe's read end, -1 once closed */
    int64_t started, ended, timeout_ns;
    int64_t term_at; /* SIGTERM sent at (0: not yet) */
    int killed;      /* SIGKILL sent */
    int reaped, wstatus, timed_out;
    unsigned char tail[EV_SPAWN_TAIL];
    size_t tlen, thead; /* bytes held; next write position (a ring once full) */
};

static void tail_add(ev_spawn *s, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s->tail[s->thead] = b[i];
        s->thead = (s->thead + 1) % EV_SPAWN_TAIL;
        if (s->tlen < EV_SPAWN_TAIL)
            s->tlen++;
    }
}

static void drain_pipe(ev_spawn *s)
{
    unsigned char buf[4096];
    while (s->fd >= 0) {
        ssize_t n = read(s->fd, buf, sizeof buf);
        if (n > 0) {
            tail_add(s, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            close(s->fd);
            s->fd = -1;
        }
        break;
    }
}

int ev_spawn_start(char *const argv[], int64_t timeout_ns, ev_spawn **out, ev_err *err)
{
    ev_spawn *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    s->fd = -1;
    s->timeout_ns = timeout_ns;
    int p[2] = {-1, -1}, rc = EV_OK;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int fa_ok = 0, at_ok = 0;
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
        rc = ev_err_set(err, EV_EINTERNAL, "exec %s: cannot make a pipe (%s)", argv[0],
                        strerror(errno));
        goto out;
    }
    /* The child's end blocks as a terminal would; ours stays non-blocking. */
    fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) & ~O_NONBLOCK);
    if (posix_spawn_file_actions_init(&fa) || (fa_ok = 1, posix_spawnattr_init(&at))) {
        rc = ev_err_set(err, EV_EINTERNAL, "exec %s: out of memory", argv[0]);
        goto out;
    }
    at_ok = 1;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    int sigs[] = {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&def, sigs[i]);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
    s->started = ev_mono_ns();
    int e = posix_spawnp(&s->pid, argv[0], &fa, &at, argv, environ);
    if (e) {
        rc = ev_err_set(err, e == ENOENT || e == EACCES ? EV_EUSAGE : EV_EINTERNAL,
                        "exec: cannot start %s (%s)", argv[0], strerror(e));
        goto out;
    }
    s->fd = p[0];
    p[0] = -1;
out:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (at_ok)
        posix_spawnattr_destroy(&at);
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return EV_OK;
}

static void signal_group(ev_spawn *s, int sig)
{
    if (kill(-s->pid, sig) && errno == ESRCH)
        kill(s->pid, sig); /* it may have left its group */
}

int ev_spawn_poll(ev_spawn *s)
{
    drain_pipe(s);
    if (s->reaped)
        return 1;
    int st;
    pid_t r = waitpid(s->pid, &st, WNOHANG);
    int64_t now = ev_mono_ns();
    if (r == s->pid) {
        s->reaped = 1;
        s->wstatus = st;
        s->ended = now;
        drain_pipe(s);
        return 1;
    }
    if (r < 0 && errno == ECHILD) { /* reaped elsewhere: say it ended now */
        s->reaped = 1;
        s->wstatus = 0;
        s->ended = now;
        return 1;
    }
    if (s->timeout_ns > 0 && !s->term_at && now - s->started >= s->timeout_ns) {
        s->timed_out = 1;
        s->term_at = now;
        signal_group(s, SIGTERM);
    } else if (s->term_at && !s->killed && now - s->term_at >= EV_SPAWN_GRACE_NS) {
        s->killed = 1;
        signal_group(s, SIGKILL);
    }
    return 0;
}

void ev_spawn_kill(ev_spawn *s)
{
    if (ev_spawn_poll(s))
        return;
    if (!s->term_at) {
        s->timed_out = 1;
        s->term_at = ev_mono_ns();
        signal_group(s, SIGTERM);
    }
    int64_t deadline = s->term_at + EV_SPAWN_GRACE_NS + EV_NS_PER_S;
    while (!ev_spawn_poll(s) && ev_mono_ns() < deadline)
        ev_sleep_until(ev_mono_ns() + 10 * EV_NS_PER_MS, NULL);
    if (!s->reaped) { /* SIGKILL went out in poll; reap it for good */
        int st;
        if (waitpid(s->pid, &st, 0) == s->pid) {
            s->reaped = 1;
            s->wstatus = st;
            s->ended = ev_mono_ns();
        }
    }
}

void ev_spawn_get(const ev_spawn *s, ev_spawn_status *st)
{
    memset(st, 0, sizeof *st);
    st->running = !s->reaped;
    st->timed_out = s->timed_out;
    st->dur_ns = (s->reaped ? s->ended : ev_mono_ns()) - s->started;
    if (s->reaped && WIFEXITED(s->wstatus)) {
        st->exited = 1;
        st->exit_code = WEXITSTATUS(s->wstatus);
    } else if (s->reaped && WIFSIGNALED(s->wstatus)) {
        st->signal = WTERMSIG(s->wstatus);
    }
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80             ? 1
                 : (p[0] & 0xE0) == 0xC0 ? 2
                 : (p[0] & 0xF0) == 0xE0 ? 3
                 : (p[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (!len || len > n || (len == 2 && p[0] < 0xC2) || (len == 4 && p[0] > 0xF4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
        return 0; /* overlong, or a surrogate */
    if (len == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
        return 0;
    return len;
}

void ev_spawn_tail(const ev_spawn *s, char *buf, size_t size)
{
    unsigned char lin[EV_SPAWN_TAIL];
    size_t start = s->tlen < EV_SPAWN_TAIL ? 0 : s->thead;
    for (size_t i = 0; i < s->tlen; i++)
        lin[i] = s->tail[(start + i) % EV_SPAWN_TAIL];
    size_t i = 0, o = 0;
    /* A cut through a character at the front: skip its continuation bytes. */
    if (s->tlen == EV_SPAWN_TAIL)
        while (i < s->tlen && i < 3 && (lin[i] & 0xC0) == 0x80)
            i++;
    while (i < s->tlen && o + 1 < size) {
        size_t l = utf8_len(lin + i, s->tlen - i);
        if (l == 1 && lin[i] < 0x20 && lin[i] != '\n' && lin[i] != '\t')
            l = 0;
        if (l == 1 && lin[i] == 0x7f)
            l = 0;
        if (!l) {
            buf[o++] = '?';
            i++;
            continue;
        }
        if (o + l >= size)
            break;
        memcpy(buf + o, lin + i, l);
        o += l;
        i += l;
    }
    if (size)
        buf[o] = '\0';
}

void ev_spawn_free(ev_spawn *s)
{
    if (!s)
        return;
    if (!s->reaped)
        ev_spawn_kill(s);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}
