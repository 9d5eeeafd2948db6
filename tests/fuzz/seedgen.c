/* seedgen — writes the event seeds of the decode_* fuzz targets with evload's
 * own encoder (run id "run1", as the targets expect):
 *   OUT/decode_structured/ and OUT/decode_diff/: structured events, whole and
 *     damaged (checksum, id, foreign run, not JSON);
 *   OUT/decode_headers/: binary events in fuzz_decode_headers.c's input form,
 *     one per binding, headers named by ev_ce_bind_header_name.
 * Built with EV_FUZZ; run once by hand (tests/fuzz/README.md). The outputs
 * are committed; this program is how they were made. */
#include "ev_cebind.h"
#include "ev_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *out_dir;

static void put_file(const char *target, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "seedgen: cannot write %s\n", path);
        exit(1);
    }
}

static ev_ce_template *make(size_t data_size, const char *data_template, uint32_t lane)
{
    ev_ce_params p = {.type = "dev.evload.test",
                      .source = "/evload",
                      .run = "run1",
                      .instance = 0,
                      .lane = lane,
                      .data_size = data_size,
                      .data_template = data_template};
    ev_ce_template *t = NULL;
    ev_err err;
    if (ev_ce_template_new(&p, &t, &err) != 0) {
        fprintf(stderr, "seedgen: %s\n", err.msg);
        exit(1);
    }
    return t;
}

static void structured(const char *name, const char *body, size_t n)
{
    put_file("decode_structured", name, body, n);
    put_file("decode_diff", name, body, n);
}

/* fuzz_decode_headers input: binding byte, NAME\0VALUE\0 pairs, an empty
 * name, the body. */
static void headers(const char *name, ev_ce_binding b, const ev_ce_binary *e)
{
    ev_buf in = {0};
    unsigned char first = (unsigned char)b;
    if (b == EV_CE_BIND_AMQP)
        first |= 0x80; /* content_type property first */
    ev_buf_append(&in, &first, 1);
    if (b == EV_CE_BIND_AMQP)
        ev_buf_append(&in, e->content_type, strlen(e->content_type) + 1);
    for (size_t i = 0; i < e->nattrs; i++) {
        char hn[64];
        size_t hl =
            ev_ce_bind_header_name(b, e->attrs[i].name, e->attrs[i].name_len, hn, sizeof hn);
        ev_buf_append(&in, hn, hl + 1);
        ev_buf_append(&in, e->attrs[i].value, e->attrs[i].value_len);
        ev_buf_append(&in, "", 1);
    }
    const char *cth = ev_ce_bind_content_type_header(b);
    if (cth) {
        ev_buf_append(&in, cth, strlen(cth) + 1);
        ev_buf_append(&in, e->content_type, strlen(e->content_type) + 1);
    }
    ev_buf_append(&in, "", 1);
    ev_buf_append(&in, e->body.p, e->body.len);
    put_file("decode_headers", name, in.p, in.len);
    ev_buf_free(&in);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seedgen OUT_DIR (e.g. tests/fuzz/corpus)\n");
        return 2;
    }
    out_dir = argv[1];
    const int64_t sched = 1767225600000000000LL, sent = sched + 1234567;

    /* Structured: a minimal event, a padded one, one with scenario data. */
    ev_ce_template *small = make(16, NULL, 0), *padded = make(256, NULL, 3),
                   *withdata =
                       make(128, "{\"user\":{\"id\":42,\"tags\":[\"a\",\"b\"]},\"ok\":true}", 1);
    ev_buf b = {0};
    ev_ce_encode_structured(small, 1, sched, sent, &b);
    structured("small.json", b.p, b.len);
    /* damaged copies of the small event */
    char *copy = malloc(b.len);
    memcpy(copy, b.p, b.len);
    char *d = memmem(copy, b.len, "\"data\":{\"seq\":1", 15);
    if (d) {
        d[14] = '2'; /* data.seq 2 vs evloadseq 1: checksum mismatch */
        structured("small-bad-crc.json", copy, b.len);
    }
    memcpy(copy, b.p, b.len);
    char *r = memmem(copy, b.len, "\"evloadrun\":\"run1\"", 18);
    if (r) {
        r[16] = '2'; /* another run: foreign */
        structured("small-other-run.json", copy, b.len);
    }
    structured("small-truncated.json", b.p, b.len / 2);
    free(copy);
    b.len = 0;
    ev_ce_encode_structured(padded, 9007199254740993ULL, sched, sent, &b);
    structured("padded-bigseq.json", b.p, b.len);
    b.len = 0;
    ev_ce_encode_structured(withdata, 7, sched, sent, &b);
    structured("with-data.json", b.p, b.len);
    ev_buf_free(&b);

    /* Binary: the same events through each binding. */
    static const struct {
        ev_ce_binding b;
        const char *name;
    } bind[] = {{EV_CE_BIND_AMQP, "amqp"}, {EV_CE_BIND_KAFKA, "kafka"}, {EV_CE_BIND_HTTP, "http"}};
    ev_ce_binary e = {0};
    for (size_t i = 0; i < 3; i++) {
        char name[64];
        ev_ce_encode_binary(small, 1, sched, sent, &e);
        snprintf(name, sizeof name, "%s-small.bin", bind[i].name);
        headers(name, bind[i].b, &e);
        ev_ce_encode_binary(withdata, 7, sched, sent, &e);
        snprintf(name, sizeof name, "%s-with-data.bin", bind[i].name);
        headers(name, bind[i].b, &e);
    }
    ev_ce_binary_free(&e);
    ev_ce_template_free(small);
    ev_ce_template_free(padded);
    ev_ce_template_free(withdata);
    return 0;
}
