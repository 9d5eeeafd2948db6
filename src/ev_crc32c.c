/* ev_crc32c — CRC-32C (Castagnoli), the checksum of evloadcrc (docs/design.md §2.3).
 *
 * Design notes:
 * - Two implementations with identical results: the SSE4.2 `crc32`
 *   instruction (8 bytes per instruction) and a portable slicing-by-8 table
 *   walk (8 bytes per step, 8 KiB of tables). CRC-32C was picked for
 *   evloadcrc precisely because x86-64 (and ARMv8) compute it in hardware.
 * - The choice is made once, under pthread_once, together with building the
 *   tables; after that ev_crc32c is a pointer call. No constructor tricks, so
 *   linking the object has no side effects.
 * - Conventions follow zlib's crc32: the caller's running value is the
 *   finished CRC (0 to start); we complement on entry and on exit, so calls
 *   chain over consecutive pieces.
 * - Unaligned 8-byte loads go through memcpy: defined behaviour, and the
 *   compiler turns it into a single load on x86-64. The table walk assumes
 *   nothing about host endianness (bytes are assembled explicitly). */
#include "ev_codec.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define EV_CRC_HW 1
#include <nmmintrin.h>
#else
#define EV_CRC_HW 0
#endif

#define POLY 0x82F63B78u /* reflected Castagnoli polynomial */

/* table[k][b]: the CRC contribution of byte b followed by k zero bytes. */
static uint32_t table[8][256];

typedef uint32_t (*crc_fn)(uint32_t crc, const unsigned char *p, size_t n);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static crc_fn impl;
static int hw_active;

/* Raw (non-complemented) table-driven update. */
static uint32_t crc_sw_raw(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n >= 8) {
        /* Little-endian assembly of the next 8 bytes, whatever the host. */
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        uint32_t hi =
            (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if EV_CRC_HW
__attribute__((target("sse4.2"))) static uint32_t crc_hw_raw(uint32_t crc, const unsigned char *p,
                                                             size_t n)
{
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    if (n >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        c32 = _mm_crc32_u32(c32, w);
        p += 4;
        n -= 4;
    }
    while (n--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
#endif

static void init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];

    impl = crc_sw_raw;
#if EV_CRC_HW
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        impl = crc_hw_raw;
        hw_active = 1;
    }
#endif
}

uint32_t ev_crc32c(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&once, init);
    return ~impl(~crc, data, n);
}

uint32_t ev_crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&once, init);
    return ~crc_sw_raw(~crc, data, n);
}

int ev_crc32c_hw_active(void)
{
    pthread_once(&once, init);
    return hw_active;
}
