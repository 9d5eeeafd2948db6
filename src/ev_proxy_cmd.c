/* `evload proxy LISTEN UPSTREAM`: the fault proxy in the foreground
 * (docs/faults.md). Prints the listening address as the first line of
 * stdout, then takes commands, one a line, from stdin (or --control FILE),
 * each answered with one line on stdout. SIGINT/SIGTERM or `quit` stop it. */
#include "ev_proxy.h"
#include "ev_signal.h"

#include "ev_text.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_ 1024
#define MAX_TOXICS 64

static void usage(FILE *f)
{
    fputs("usage: evload proxy LISTEN UPSTREAM [--toxic SPEC]... [--control FILE|-]\n"
          "                    [--json FILE] [--seed N]\n"
          "\n"
          "A TCP proxy with faults: listens on LISTEN (HOST:PORT, [IPV6]:PORT or a bare\n"
          "PORT on 127.0.0.1; port 0 picks a free one), forwards every connection to\n"
          "UPSTREAM, and applies toxics to either direction (upstream = client → server,\n"
          "downstream = server → client). Prints the address it listens on as the first\n"
          "line of stdout, e.g.\n"
          "  evload proxy 127.0.0.1:0 127.0.0.1:6379 --toxic down:latency=200ms..800ms\n"
          "  evload run scenarios/redis-pubsub-smoke.json \\\n"
          "      --target 'redis://PRINTED_ADDRESS?channel=evload-smoke'\n"
          "Runs until SIGINT/SIGTERM or \"quit\"; exit 0, or 2 (usage), 3 (cannot listen or\n"
          "resolve UPSTREAM).\n"
          "\n"
          "  -t, --toxic SPEC     switch a toxic on from the start (repeatable)\n"
          "  -c, --control FILE   read commands from FILE (a FIFO, or a file that is\n"
          "                       followed as it grows) instead of stdin; \"-\" is stdin\n"
          "  -j, --json FILE      write the counters (JSON) to FILE on exit; \"-\" stdout\n"
          "  -s, --seed N         seed for random latencies and slice sizes\n"
          "  -h, --help           this text\n"
          "\n"
          "SPEC = [DIRECTION:]NAME[=VALUE][,KEY=VALUE]..., DIRECTION up, down or both:\n"
          "  down:latency=200ms  down:latency=200ms..800ms  up:latency=100ms,jitter=20ms\n"
          "  down:bandwidth=64kB (bytes/s)  both:timeout (blackhole)  up:timeout=5s (then\n"
          "  close)  reset (RST every connection; reset=2s: 2 s after each opens)\n"
          "  down:slicer=64,delay=1ms  up:slicer=100,variation=50  down:limit_data=10MB\n"
          "\n"
          "Commands (one a line; each answered with one line on stdout):\n"
          "  add SPEC          switch a toxic on (\"add downstream latency=200ms\" works too);\n"
          "                    replaces the one of the same name and direction\n"
          "  remove [DIR:]NAME switch it off (no direction: both)\n"
          "  clear             switch every toxic off\n"
          "  reset             RST every connection open now, once\n"
          "  list              the toxics that are on\n"
          "  stats             the counters as one line of JSON\n"
          "  quit              stop\n",
          f);
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* One command line; answers on stdout. Returns 1 on quit. */
static int command(ev_proxy *px, char *line)
{
    ev_err err = {{0}};
    char *s = line;
    while (*s == ' ' || *s == '\t')
        s++;
    for (size_t n = strlen(s); n && strchr(" \t\r\n", s[n - 1]); n--)
        s[n - 1] = '\0';
    if (!*s || *s == '#')
        return 0;
    size_t wl = strcspn(s, " \t");
    char *arg = s + wl;
    while (*arg == ' ' || *arg == '\t')
        arg++;
    if (wl == 3 && !strncmp(s, "add", 3) && *arg) {
        ev_proxy_toxic t;
        char spec[160];
        if (ev_proxy_toxic_parse(arg, &t, &err) || ev_proxy_add(px, &t, &err)) {
            reply("error: %s", err.msg);
            return 0;
        }
        ev_proxy_toxic_format(&t, spec, sizeof spec);
        reply("ok add %s", spec);
    } else if (wl == 6 && !strncmp(s, "remove", 6) && *arg) {
        unsigned dirs;
        ev_proxy_kind kind;
        if (ev_proxy_ref_parse(arg, &dirs, &kind, &err)) {
            reply("error: %s", err.msg);
            return 0;
        }
        int n = ev_proxy_remove(px, dirs, kind);
        if (n)
            reply("ok remove %s", arg);
        else
            reply("error: no %s toxic is on %s", ev_proxy_kind_name(kind),
                  kind == EV_PROXY_RESET  ? "this proxy"
                  : dirs == EV_PROXY_UP   ? "upstream"
                  : dirs == EV_PROXY_DOWN ? "downstream"
                                          : "either direction");
    } else if (!strcmp(s, "clear")) {
        ev_proxy_clear(px);
        reply("ok clear");
    } else if (!strcmp(s, "reset")) {
        ev_proxy_reset_now(px);
        reply("ok reset");
    } else if (!strcmp(s, "list")) {
        ev_proxy_toxic t[2 * EV_PROXY_NKINDS];
        size_t n = ev_proxy_toxics(px, t, 2 * EV_PROXY_NKINDS);
        char out[2048], spec[160];
        size_t o = 0;
        out[0] = '\0';
        for (size_t i = 0; i < n; i++) {
            ev_proxy_toxic_format(&t[i], spec, sizeof spec);
            ev_text_put(out, sizeof out, &o, " %s", spec);
        }
        reply("ok list%s", out);
    } else if (!strcmp(s, "stats")) {
        json_t *j = ev_proxy_json(px);
        char *text =
            j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
        if (text)
            reply("%s", text);
        else
            reply("error: out of memory");
        free(text);
        json_decref(j);
    } else if (!strcmp(s, "quit")) {
        reply("ok quit");
        return 1;
    } else {
        char v[EV_SHOW_SIZE(40)];
        ev_show(s, 40, v, sizeof v);
        reply("error: unknown command \"%s\"; expected add SPEC, remove [DIR:]NAME, clear, "
              "reset, list, stats or quit",
              v);
    }
    return 0;
}

/* Opens the control source: stdin for "-"; a FIFO read-write (so it never
 * reaches EOF when a writer closes); any other file read-only, followed as
 * it grows. *follow = 1 for the latter. -1 on error (errno). */
static int open_control(const char *path, int *follow)
{
    *follow = 0;
    if (!strcmp(path, "-"))
        return STDIN_FILENO;
    struct stat st;
    if (stat(path, &st))
        return -1;
    if (S_ISFIFO(st.st_mode))
        return open(path, O_RDWR | O_CLOEXEC);
    *follow = S_ISREG(st.st_mode);
    return open(path, O_RDONLY | O_CLOEXEC);
}

static int write_json(ev_proxy *px, const char *path)
{
    json_t *j = ev_proxy_json(px);
    int rc = -1, flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10);
    if (!j)
        return -1;
    if (!strcmp(path, "-")) {
        rc = json_dumpf(j, stdout, flags);
        putchar('\n');
        fflush(stdout);
    } else
        rc = json_dump_file(j, path, flags);
    json_decref(j);
    return rc;
}

/* The command line. */
typedef struct proxy_args {
    const char *toxics[MAX_TOXICS], *control, *json_path, *listen, *upstream;
    int ntoxics, have_seed;
    unsigned long long seed;
} proxy_args;

/* Parses argv into a (every toxic spec checked, nothing bound yet). Returns
 * 0, 1 after --help, or EV_EUSAGE with the error printed. */
static int parse_args(int argc, char **argv, proxy_args *a)
{
    static const struct option opts[] = {
        {"toxic", required_argument, NULL, 't'}, {"control", required_argument, NULL, 'c'},
        {"json", required_argument, NULL, 'j'},  {"seed", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    int ch;
    a->control = "-";
    optind = 1;
    while ((ch = getopt_long(argc, argv, "t:c:j:s:h", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            if (a->ntoxics == MAX_TOXICS) {
                fprintf(stderr, "evload proxy: at most %d --toxic\n", MAX_TOXICS);
                return EV_EUSAGE;
            }
            a->toxics[a->ntoxics++] = optarg;
            break;
        case 'c':
            a->control = optarg;
            break;
        case 'j':
            a->json_path = optarg;
            break;
        case 's': {
            char *end = NULL;
            errno = 0;
            a->seed = strtoull(optarg, &end, 10);
            if (errno || !*optarg || *end || *optarg == '-') {
                fprintf(stderr, "evload proxy: --seed %s: expected a whole number\n", optarg);
                return EV_EUSAGE;
            }
            a->have_seed = 1;
            break;
        }
        case 'h':
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "evload proxy: see `evload proxy --help`\n");
            return EV_EUSAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr,
                "evload proxy: expected LISTEN and UPSTREAM, e.g. `evload proxy 127.0.0.1:0 "
                "127.0.0.1:6379`; see `evload proxy --help`\n");
        return EV_EUSAGE;
    }
    a->listen = argv[optind];
    a->upstream = argv[optind + 1];
    for (int i = 0; i < a->ntoxics; i++) {
        ev_proxy_toxic t;
        ev_err err = {{0}};
        if (ev_proxy_toxic_parse(a->toxics[i], &t, &err)) {
            fprintf(stderr, "evload proxy: --toxic: %s\n", err.msg);
            return EV_EUSAGE;
        }
    }
    return 0;
}

/* Reads commands from cfd (follow: a file read as it grows) and runs them
 * until `quit` or a signal (stop > 0). */
static void control_loop(ev_proxy *px, int cfd, int follow, atomic_int *stop)
{
    char line[LINE_MAX_];
    size_t used = 0;
    int open_ = 1, overlong = 0;
    while (!atomic_load(stop)) {
        struct pollfd pfd = {.fd = cfd, .events = POLLIN};
        int n = poll(&pfd, open_ && !follow ? 1 : 0, 200);
        if (!follow && (n <= 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR))))
            continue;
        ssize_t r = read(cfd, line + used, sizeof line - 1 - used);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) {
            if (!follow)
                open_ = 0; /* EOF on stdin (e.g. </dev/null): run until a signal */
            continue;      /* a followed file: look again in 200 ms */
        }
        used += (size_t)r;
        line[used] = '\0';
        char *nl;
        int quit = 0;
        while (!quit && (nl = strchr(line, '\n'))) {
            *nl = '\0';
            if (overlong) {
                reply("error: a command longer than %d bytes was ignored", LINE_MAX_ - 2);
                overlong = 0;
            } else
                quit = command(px, line);
            size_t rest = used - (size_t)(nl + 1 - line);
            memmove(line, nl + 1, rest + 1);
            used = rest;
        }
        if (quit)
            return;
        if (used == sizeof line - 1) {
            used = 0; /* an over-long line: drop it up to its newline */
            overlong = 1;
        }
    }
}

static void print_stats(ev_proxy *px)
{
    ev_proxy_stats s;
    ev_proxy_stats_get(px, &s);
    fprintf(stderr,
            "evload proxy: stopped: %llu connections (%llu reset by toxics, %llu aborted by a "
            "peer, %llu errors), %llu bytes upstream, %llu downstream, %llu delayed\n",
            (unsigned long long)s.accepted, (unsigned long long)s.reset,
            (unsigned long long)s.aborted, (unsigned long long)s.errors,
            (unsigned long long)s.up.bytes_out, (unsigned long long)s.down.bytes_out,
            (unsigned long long)(s.up.bytes_delayed + s.down.bytes_delayed));
}

int ev_proxy_main(int argc, char **argv)
{
    proxy_args a = {0};
    int rc = parse_args(argc, argv, &a), cfd = -1, follow = 0;
    if (rc)
        return rc == 1 ? 0 : rc;
    ev_proxy *px = NULL;
    ev_err err = {{0}};
    if ((cfd = open_control(a.control, &follow)) < 0) {
        fprintf(stderr, "evload proxy: --control %s: %s\n", a.control, strerror(errno));
        return EV_EUSAGE;
    }
    if ((rc = ev_proxy_new(a.listen, a.upstream, &px, &err))) {
        fprintf(stderr, "evload proxy: %s\n", err.msg);
        goto out;
    }
    if (a.have_seed)
        ev_proxy_seed(px, a.seed);
    for (int i = 0; i < a.ntoxics; i++)
        if ((rc = ev_proxy_apply(px, a.toxics[i], &err))) {
            fprintf(stderr, "evload proxy: --toxic: %s\n", err.msg);
            goto out;
        }
    atomic_int *stop = ev_signal_install(); /* no SA_RESTART: poll() returns EINTR */
    signal(SIGPIPE, SIG_IGN);
    if ((rc = ev_proxy_start(px, &err))) {
        fprintf(stderr, "evload proxy: %s\n", err.msg);
        goto out;
    }
    printf("%s\n", ev_proxy_listen_addr(px));
    fflush(stdout);
    fprintf(stderr,
            "evload proxy: %s → %s; commands: add SPEC, remove [DIR:]NAME, clear, reset, list, "
            "stats, quit (see --help)\n",
            ev_proxy_listen_addr(px), ev_proxy_upstream_addr(px));
    control_loop(px, cfd, follow, stop);
    ev_proxy_stop(px);
    print_stats(px);
    if (a.json_path && write_json(px, a.json_path)) {
        fprintf(stderr, "evload proxy: cannot write %s\n", a.json_path);
        rc = EV_EINTERNAL;
    }
out:
    ev_proxy_free(px);
    if (cfd > STDIN_FILENO)
        close(cfd);
    return rc;
}
