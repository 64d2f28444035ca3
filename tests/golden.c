/* Golden-data helpers for the parity tests (see tests/golden.h). */
#include "golden.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

void openblas_set_num_threads(int);

/* The suite checks numbers, not speed: one BLAS thread keeps the network
 * tests fast and steady on a shared host, where two OpenMP threads spinning
 * against other load made them 4-10x slower. */
__attribute__((constructor)) static void one_blas_thread(void)
{
    openblas_set_num_threads(1);
}

fs_json *golden_load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "tests/data/golden/%s", name);
    uint8_t *buf;
    size_t len;
    fs_error e = {0};
    fs_json *j = NULL;
    if (fs_read_file(path, 0, &buf, &len, &e) != FS_OK) {
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
        return NULL;
    }
    if (fs_json_parse((const char *)buf, len, path, &j, &e) != FS_OK)
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
    free(buf);
    return j;
}

int golden_floats(const fs_json *j, float *out, size_t n)
{
    if (fs_json_count(j) != n)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = (float)fs_json_number(fs_json_at(j, i), NAN);
    return 0;
}

static void check_value(const char *name, const char *what, size_t idx, double want, double got,
                        probe_stats *st)
{
    double rel = fabs(got - want) / fmax(1.0, fabs(want));
    if (st && rel > st->max_sample_rel)
        st->max_sample_rel = rel;
    CHECK_MSG(rel <= 1e-4, "%s: %s[%zu] = %.9g, golden %.9g", name, what, idx, got, want);
}

void golden_check_probe(const fs_json *probe, const float *values, size_t count,
                        probe_stats *st)
{
    const char *name = fs_json_string(fs_json_get(probe, "name"));
    name = name ? name : "(probe)";
    size_t want_count = (size_t)fs_json_number(fs_json_get(probe, "count"), -1);
    CHECK_MSG(want_count == count, "%s: %zu values, golden %zu", name, count, want_count);
    if (want_count != count)
        return;
    double sum = 0, abs_sum = 0;
    for (size_t i = 0; i < count; i++) {
        sum += values[i];
        abs_sum += fabs(values[i]);
    }
    double g_abs = fs_json_number(fs_json_get(probe, "abs_sum"), NAN);
    double g_sum = fs_json_number(fs_json_get(probe, "sum"), NAN);
    double rel = fabs(abs_sum - g_abs) / fmax(g_abs, 1e-30);
    if (st) {
        if (rel > st->max_abs_sum_rel)
            st->max_abs_sum_rel = rel;
        st->layers++;
    }
    CHECK_MSG(rel <= 1e-5, "%s: abs_sum %.9g, golden %.9g (rel %.3g)", name, abs_sum, g_abs, rel);
    CHECK_MSG(fabs(sum - g_sum) <= 1e-5 * fmax(g_abs, 1.0), "%s: sum %.9g, golden %.9g", name,
              sum, g_sum);
    const fs_json *idx = fs_json_get(probe, "sample_idx"), *smp = fs_json_get(probe, "samples");
    CHECK_MSG(fs_json_count(idx) == 16 && fs_json_count(smp) == 16, "%s: malformed probe", name);
    for (size_t k = 0; k < fs_json_count(idx) && k < fs_json_count(smp); k++) {
        size_t i = (size_t)fs_json_number(fs_json_at(idx, k), 0);
        if (i < count)
            check_value(name, "sample", i, fs_json_number(fs_json_at(smp, k), NAN), values[i], st);
    }
    const fs_json *f8 = fs_json_get(probe, "first8");
    for (size_t i = 0; i < fs_json_count(f8) && i < count; i++)
        check_value(name, "first8", i, fs_json_number(fs_json_at(f8, i), NAN), values[i], st);
}

void golden_fixed_pattern(uint8_t *px, int size, int salt)
{
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
            for (int c = 0; c < 3; c++)
                px[((size_t)y * size + x) * 3 + c] =
                    (uint8_t)((7 * x + 13 * y + 17 * c + 3 * ((x * y + salt) % 23)) % 256);
}
