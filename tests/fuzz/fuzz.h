/* fuzz.h — what the libFuzzer targets of tests/fuzz/ share.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput and nothing else that
 * outlives one input: every allocation is freed before it returns, so
 * LeakSanitizer and libFuzzer's -detect_leaks see any leak in the code under
 * test. A broken invariant is a crash (FUZZ_CHECK), which libFuzzer saves as
 * a reproducer. */
#ifndef EV_FUZZ_H
#define EV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints what broke, then traps: libFuzzer reports a deadly signal and
 * writes the input to its artifact directory. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", __FILE__, __LINE__, #cond);      \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

/* A NUL-terminated copy of s[0..n) in its own exact-size block, so
 * AddressSanitizer catches a read past its end. Caller frees. NULL when out of
 * memory (the target then returns: the allocator is not under test). */
static inline char *fuzz_strndup(const void *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* An error message must say something and be one line (the settings and
 * scenario layers promise both). */
static inline int fuzz_msg_ok(const char *msg)
{
    size_t n = strnlen(msg, 512);
    return n > 0 && n < 512 && !memchr(msg, '\n', n);
}

#endif
