/* ev_json — see ev_json.h. */
#include "ev_json.h"

#include <stdio.h>
#include <string.h>

json_t *ev_jget(const json_t *o, const char *path)
{
    char key[64];
    const json_t *cur = o;
    while (cur && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        cur = json_object_get(cur, key);
        path += n + (path[n] == '.');
    }
    return (json_t *)(uintptr_t)cur;
}

double ev_jnum(const json_t *o, const char *path)
{
    const json_t *v = ev_jget(o, path);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

uint64_t ev_jint(const json_t *o, const char *path)
{
    const json_t *v = ev_jget(o, path);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

const char *ev_jstr(const json_t *o, const char *path)
{
    const json_t *v = ev_jget(o, path);
    return json_is_string(v) ? json_string_value(v) : "";
}

int ev_jhist(const json_t *o, const char *path, ev_hist *h)
{
    const json_t *v = ev_jget(o, path);
    if (!json_is_string(v))
        return 1;
    return ev_hist_decode(json_string_value(v), json_string_length(v), h) ? -1 : 0;
}
