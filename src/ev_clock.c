#include "ev_clock.h"

#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

int64_t ev_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * EV_NS_PER_S + ts.tv_nsec;
}

int64_t ev_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * EV_NS_PER_S + ts.tv_nsec;
}

/* Below this much remaining time we spin: a sleep overshoots by the thread's
 * timer slack plus wake-up latency. Pacing threads lower their slack to 1 µs
 * (ev_clock_precise), which keeps the spin short and its CPU cost low. */
#define SPIN_NS (20 * EV_NS_PER_US)
/* Longest single sleep, so a stop request is noticed within this long. */
#define SLICE_NS (50 * EV_NS_PER_MS)

void ev_sleep_until(int64_t deadline_ns, const atomic_int *stop)
{
    for (;;) {
        if (stop && atomic_load_explicit(stop, memory_order_relaxed))
            return;
        int64_t left = deadline_ns - ev_mono_ns();
        if (left <= 0)
            return;
        if (left <= SPIN_NS)
            continue;
        int64_t nap = left - SPIN_NS;
        if (nap > SLICE_NS)
            nap = SLICE_NS;
        struct timespec ts = {.tv_sec = nap / EV_NS_PER_S, .tv_nsec = nap % EV_NS_PER_S};
        nanosleep(&ts, NULL);
    }
}

int ev_rfc3339(int64_t wall_ns, char *buf, int size)
{
    time_t secs = (time_t)(wall_ns / EV_NS_PER_S);
    long frac = (long)(wall_ns % EV_NS_PER_S);
    struct tm tm;
    gmtime_r(&secs, &tm);
    return snprintf(buf, (size_t)size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

void ev_clock_precise(void)
{
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
}

int ev_rfc3339_parse(const char *s, int64_t *wall_ns)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n < 19)
        return -1;
    const char *p = s + n;
    int64_t frac = 0, scale = EV_NS_PER_S;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++)
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &k) != 2 || k != 5 || hh > 23 || mm > 59)
            return -1;
        off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    *wall_ns = ((int64_t)t - off) * EV_NS_PER_S + frac;
    return 0;
}
