/*
 * libFuzzer harness for the JSON reader behind the models' manifests and
 * the index sidecar: parse, then walk the whole tree through the accessors.
 */
#include <stddef.h>
#include <stdint.h>

#include "facesearch/nn.h"

static void walk(const fs_json *j, int depth)
{
    if (depth > 1000)
        return;
    volatile double sink = fs_json_number(j, 0) + fs_json_bool(j, 0);
    (void)sink;
    const char *s = fs_json_string(j);
    if (s)
        (void)s[0];
    size_t n = fs_json_count(j);
    for (size_t i = 0; i < n; i++) {
        const char *key = fs_json_key(j, i);
        if (key)
            (void)fs_json_get(j, key);
        walk(fs_json_at(j, i), depth + 1);
    }
    double v[4];
    fs_json_numbers(j, v, 4, "fuzz", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    fs_json *j = NULL;
    fs_error err = {0};
    if (fs_json_parse((const char *)data, len, "fuzz", &j, &err) == FS_OK)
        walk(j, 0);
    fs_json_free(j);
    return 0;
}
