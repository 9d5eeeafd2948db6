/* Binary-mode events through each protocol binding's header collector.
 * Input: one byte choosing the binding (low bits: AMQP, Kafka, HTTP; bit 7
 * for AMQP: the first value is the content_type property), then header
 * name/value pairs, each name and value ended by '\0' or '\n', up to an
 * empty name; the rest is the body. Every name and value is copied into its
 * own exact-size block (values without a NUL, as brokers hand them over), so
 * AddressSanitizer catches a read past any of them. */
#include "ev_cebind.h"
#include "fuzz.h"

#define MAX_HEADERS 48 /* more than EV_CE_HDR_MAX_ATTRS, to reach `dropped` */

/* The next token of p[*i..n), ended by '\0', '\n' or the end. */
static const uint8_t *token(const uint8_t *p, size_t n, size_t *i, size_t *len)
{
    const uint8_t *t = p + *i;
    size_t k = *i;
    while (k < n && p[k] != '\0' && p[k] != '\n')
        k++;
    *len = k - *i;
    *i = k < n ? k + 1 : n;
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const ev_ce_binding bindings[] = {EV_CE_BIND_AMQP, EV_CE_BIND_KAFKA, EV_CE_BIND_HTTP};
    ev_ce_binding b = bindings[(data[0] & 0x7F) % 3];
    size_t i = 1, len, nblocks = 0;
    void *blocks[2 * MAX_HEADERS + 1];
    ev_ce_headers h;
    ev_ce_headers_init(&h, b);
    if (b == EV_CE_BIND_AMQP && (data[0] & 0x80)) {
        const uint8_t *ct = token(data, size, &i, &len);
        char *copy = malloc(len ? len : 1);
        if (!copy)
            goto out;
        memcpy(copy, ct, len);
        blocks[nblocks++] = copy;
        ev_ce_headers_set_content_type(&h, copy, len);
    }
    for (int k = 0; k < MAX_HEADERS && i < size; k++) {
        size_t nlen, vlen;
        const uint8_t *name = token(data, size, &i, &nlen);
        if (nlen == 0)
            break; /* the body starts */
        const uint8_t *value = token(data, size, &i, &vlen);
        char *nc = malloc(nlen), *vc = malloc(vlen ? vlen : 1);
        if (!nc || !vc) {
            free(nc);
            free(vc);
            goto out;
        }
        memcpy(nc, name, nlen);
        memcpy(vc, value, vlen);
        blocks[nblocks++] = nc;
        blocks[nblocks++] = vc;
        int kept = ev_ce_headers_add(&h, nc, nlen, vc, vlen);
        FUZZ_CHECK(kept == 0 || kept == 1);
    }
    FUZZ_CHECK(h.nattrs <= EV_CE_HDR_MAX_ATTRS && h.used <= sizeof h.scratch);
    for (size_t a = 0; a < h.nattrs; a++)
        for (size_t c = 0; c < h.attrs[a].name_len; c++)
            FUZZ_CHECK(h.attrs[a].name[c] < 'A' || h.attrs[a].name[c] > 'Z');
    (void)ev_ce_headers_binary(&h);

    ev_ce_seen seen;
    ev_ce_decode_binary(h.attrs, h.nattrs, h.content_type, (const char *)data + i, size - i, "run1",
                        &seen);
    FUZZ_CHECK(seen.status == EV_CE_OK || seen.status == EV_CE_FOREIGN ||
               seen.status == EV_CE_CORRUPT);
    FUZZ_CHECK(strnlen(seen.reason, sizeof seen.reason) < sizeof seen.reason);
    if (seen.status == EV_CE_FOREIGN)
        FUZZ_CHECK(!seen.has_identity);
    if (seen.status == EV_CE_OK)
        FUZZ_CHECK(seen.has_identity && seen.reason[0] == '\0');
out:
    for (size_t k = 0; k < nblocks; k++)
        free(blocks[k]);
    return 0;
}
