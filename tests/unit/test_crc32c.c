/* Unit tests for ev_crc32c: known answers, chaining, and the hardware path
 * against the table path on every length 0..300 at every misalignment. */
#include "ev_codec.h"
#include "ev_test.h"

/* Bit-at-a-time reference, straight from the definition. */
static uint32_t crc_ref(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}

static void test_known_answers(void)
{
    fprintf(stderr, "   hardware crc32: %s\n", ev_crc32c_hw_active() ? "yes" : "no");
    CHECK_U64(ev_crc32c(0, "123456789", 9), ==, 0xE3069283u);
    CHECK_U64(ev_crc32c_sw(0, "123456789", 9), ==, 0xE3069283u);
    CHECK_U64(ev_crc32c(0, "", 0), ==, 0);
    CHECK_U64(ev_crc32c(0, NULL, 0), ==, 0);
    CHECK_U64(ev_crc32c(0x12345678u, NULL, 0), ==, 0x12345678u);
    /* RFC 3720 (iSCSI) B.4 test vectors */
    unsigned char v[48];
    memset(v, 0, 32);
    CHECK_U64(ev_crc32c(0, v, 32), ==, 0x8A9136AAu);
    memset(v, 0xFF, 32);
    CHECK_U64(ev_crc32c(0, v, 32), ==, 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        v[i] = (unsigned char)i;
    CHECK_U64(ev_crc32c(0, v, 32), ==, 0x46DD794Eu);
    CHECK_U64(ev_crc32c_sw(0, v, 32), ==, 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        v[i] = (unsigned char)(31 - i);
    CHECK_U64(ev_crc32c(0, v, 32), ==, 0x113FDB5Cu);
    static const unsigned char scsi[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK_U64(ev_crc32c(0, scsi, 48), ==, 0xD9963A56u);
    CHECK_U64(ev_crc32c_sw(0, scsi, 48), ==, 0xD9963A56u);
}

static void test_hw_vs_sw(void)
{
    unsigned char buf[300 + 16];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n <= 300; n++) {
            uint32_t ref = crc_ref(buf + off, n);
            uint32_t hw = ev_crc32c(0, buf + off, n);
            uint32_t sw = ev_crc32c_sw(0, buf + off, n);
            if (hw != ref || sw != ref)
                fprintf(stderr, "off %zu n %zu\n", off, n);
            CHECK_U64(hw, ==, ref);
            CHECK_U64(sw, ==, ref);
        }
    }
}

static void test_chaining(void)
{
    unsigned char buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 7 + 3);
    uint32_t whole = ev_crc32c(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut += 37) {
        CHECK_U64(ev_crc32c(ev_crc32c(0, buf, cut), buf + cut, sizeof buf - cut), ==, whole);
        CHECK_U64(ev_crc32c_sw(ev_crc32c(0, buf, cut), buf + cut, sizeof buf - cut), ==, whole);
    }
}

int main(void)
{
    EV_RUN(test_known_answers);
    EV_RUN(test_hw_vs_sw);
    EV_RUN(test_chaining);
    EV_DONE();
}
