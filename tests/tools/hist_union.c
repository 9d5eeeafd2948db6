/* evload-hist-union METRIC RESULTS.json... — the union of the results files'
 * latency.METRIC histograms (their lossless "h1:" encodings, decoded into one
 * histogram), summarised as the results files summarise a histogram: count,
 * p50, p90, p99 and max in ms, written with the same JSON real precision.
 * The integration tests compare it with what `evload merge` reports, so a
 * merge that added histograms wrongly, or reported percentiles of anything
 * but the union, fails. Exit 0, or 2 with a message. */
#include "ev_hist.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: evload-hist-union METRIC RESULTS.json...\n");
        return 2;
    }
    ev_hist *h = ev_hist_new();
    if (!h)
        return 2;
    for (int i = 2; i < argc; i++) {
        json_error_t je;
        json_t *doc = json_load_file(argv[i], 0, &je);
        json_t *lat = json_object_get(json_object_get(doc, "latency"), argv[1]);
        json_t *enc = json_object_get(lat, "hist");
        if (!json_is_string(enc) ||
            ev_hist_decode(json_string_value(enc), json_string_length(enc), h)) {
            fprintf(stderr, "evload-hist-union: %s: no decodable latency.%s.hist\n", argv[i],
                    argv[1]);
            json_decref(doc);
            ev_hist_free(h);
            return 2;
        }
        json_decref(doc);
    }
    json_t *o = json_pack(
        "{s:I, s:f, s:f, s:f, s:f}", "count", (json_int_t)ev_hist_count(h), "p50",
        (double)ev_hist_percentile(h, 50) / 1e6, "p90", (double)ev_hist_percentile(h, 90) / 1e6,
        "p99", (double)ev_hist_percentile(h, 99) / 1e6, "max", (double)ev_hist_max(h) / 1e6);
    int rc = !o || json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10)) ? 2 : 0;
    putchar('\n');
    json_decref(o);
    ev_hist_free(h);
    return rc;
}
