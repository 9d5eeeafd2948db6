/* ev_history — see ev_history.h. */
#include "ev_history.h"

#include "ev_json.h"
#include "ev_report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ev_mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST)
        return -1;
    return 0;
}

static json_t *num_or_null(const json_t *run, const char *path)
{
    const json_t *v = ev_jget(run, path);
    return json_is_number(v) ? json_deep_copy(v) : json_null();
}

json_t *ev_history_entry(const json_t *run)
{
    static const char *const nums[][2] = {
        {"duration_s", "run.duration_s"},
        {"attempted", "publish.attempted"},
        {"rate_achieved", "publish.rate_achieved"},
        {"throughput", "deliver.throughput"},
        {"delivered", "deliver.delivered"},
        {"lost", "deliver.lost"},
        {"pending", "deliver.pending"},
        {"e2e_p50", "latency.e2e.p50"},
        {"e2e_p95", "latency.e2e.p95"},
        {"e2e_p99", "latency.e2e.p99"},
        {"e2e_max", "latency.e2e.max"},
        {"ack_p99", "latency.ack.p99"},
    };
    char res[128];
    snprintf(res, sizeof res, "runs/%s.json", ev_jstr(run, "run.id"));
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s}", "run_id", ev_jstr(run, "run.id"), "scenario",
                          ev_jstr(run, "run.scenario"), "started", ev_jstr(run, "run.started"),
                          "verdict", ev_jstr(run, "verdict"), "target", ev_jstr(run, "run.target"));
    for (size_t i = 0; e && i < sizeof nums / sizeof nums[0]; i++)
        json_object_set_new(e, nums[i][0], num_or_null(run, nums[i][1]));
    if (e)
        json_object_set_new(e, "results", json_string(res));
    return e;
}

static int append_one(const char *dir, const json_t *run, ev_err *err)
{
    char path[4096];
    const char *id = ev_jstr(run, "run.id");
    if (!*id || strchr(id, '/'))
        return ev_err_set(err, EV_EUSAGE, "--history: the results have no usable run id");
    snprintf(path, sizeof path, "%s/runs/%s.json", dir, id);
    int rc = ev_report_write((json_t *)(uintptr_t)run, path, err);
    if (rc)
        return rc;
    json_t *e = ev_history_entry(run);
    char *line =
        e ? json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(e);
    if (!line)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    size_t n = strlen(line);
    line[n] = '\n'; /* the NUL becomes the newline: one write */
    snprintf(path, sizeof path, "%s/index.jsonl", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    ssize_t w = fd >= 0 ? write(fd, line, n + 1) : -1;
    if (fd < 0 || w != (ssize_t)(n + 1) || close(fd))
        rc = ev_err_set(err, EV_EUSAGE, "--history: cannot append to %s (%s)", path,
                        strerror(errno));
    free(line);
    return rc;
}

int ev_history_append(const char *dir, const json_t *doc, ev_err *err)
{
    char runs[4096];
    snprintf(runs, sizeof runs, "%s/runs", dir);
    if (ev_mkdirs(runs))
        return ev_err_set(err, EV_EUSAGE, "--history: cannot create %s (%s)", runs,
                          strerror(errno));
    const json_t *list = ev_jget(doc, "runs");
    if (json_is_array(list) && json_is_object(ev_jget(doc, "sweep"))) {
        size_t i;
        const json_t *r;
        json_array_foreach (list, i, r) {
            int rc = append_one(dir, r, err);
            if (rc)
                return rc;
        }
        return EV_OK;
    }
    return append_one(dir, doc, err);
}

int ev_history_load(const char *dir, const char *run_id, json_t **out, ev_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.jsonl", dir);
    json_t *all = json_array();
    if (!all)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    FILE *f = fopen(path, "r");
    if (!f && errno != ENOENT) {
        json_decref(all);
        return ev_err_set(err, EV_EUSAGE, "--history: cannot read %s (%s)", path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    size_t upto = 0;
    while (f && (len = getline(&line, &cap, f)) > 0) {
        json_t *e = json_loadb(line, (size_t)len, JSON_DISABLE_EOF_CHECK, NULL);
        if (!json_is_object(e)) {
            json_decref(e);
            continue;
        }
        json_array_append_new(all, e);
        if (run_id && !strcmp(ev_jstr(e, "run_id"), run_id))
            upto = json_array_size(all);
    }
    free(line);
    if (f)
        fclose(f);
    if (upto)
        while (json_array_size(all) > upto)
            json_array_remove(all, upto);
    *out = all;
    return EV_OK;
}
