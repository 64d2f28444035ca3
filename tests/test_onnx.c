/*
 * The ONNX loader and the 512-D recogniser: parity with onnxruntime on
 * aligned chips of the sample photos (tests/data/golden/mfn512.json, made
 * by tools/golden/onnx_recognizer.mjs), bf16 within its tolerance, and clear
 * errors for damaged files and graphs the runtime cannot map.
 */
#include <stdlib.h>

#include "facesearch/nn.h"
#include "golden.h"
#include "harness.h"
#include "onnx_util.h"

#define SIDE 112
#define BF16_TOL 0.01 /* max abs vs the reference (outputs up to ~0.5): measured 0.0062 */

static void model_path(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/fr_feature.onnx", fs_test_models_dir());
}

/* The network input (NHWC) of a golden item: a chip file normalised as the
 * generator does, or the generator's analytic pattern. */
static int golden_input(const char *name, float *x)
{
    if (strcmp(name, "pattern") == 0) {
        for (int y = 0; y < SIDE; y++)
            for (int xx = 0; xx < SIDE; xx++)
                for (int c = 0; c < 3; c++)
                    x[(y * SIDE + xx) * 3 + c] =
                        (float)(0.9 * sin(0.05 * (xx + 1) * (c + 1)) * cos(0.07 * (y + 1)) +
                                0.1 * ((xx * 7 + y * 13 + c * 5) % 11) / 11 - 0.05);
        return 0;
    }
    char path[256];
    snprintf(path, sizeof path, "tests/data/golden/mfn512/%s.rgb", name);
    uint8_t *raw;
    size_t len;
    fs_error e = {0};
    if (fs_read_file(path, 0, &raw, &len, &e) != FS_OK || len != SIDE * SIDE * 3) {
        fs_test_fail(__FILE__, __LINE__, "%s: %s", path, e.msg);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        x[i] = ((float)raw[i] - 127.5f) / 128.0f;
    free(raw);
    return 0;
}

/* Runs every golden item at one precision; returns the worst max-abs error. */
static double run_golden(int flags, double *worst_cos)
{
    char path[512];
    model_path(path, sizeof path);
    fs_onnx_model m;
    fs_error e = {0};
    fs_json *g = golden_load("mfn512.json");
    if (!g)
        return INFINITY;
    double worst = INFINITY;
    *worst_cos = 1;
    fs_plan *p = NULL;
    void *ws = NULL;
    if (fs_onnx_load(path, &m, &e) != FS_OK) {
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
        goto out;
    }
    CHECK_STR(m.sha256, fs_json_string(fs_json_get(g, "model_sha256")));
    CHECK_INT(m.out_dim, 512);
    if ((flags & FS_PLAN_BF16) && fs_net_prepare_bf16(m.net, &e) != FS_OK)
        goto out;
    if (fs_plan_create(m.net, SIDE, SIDE, flags, &p, &e) != FS_OK ||
        !(ws = fs_nn_alloc(fs_plan_workspace(p))))
        goto out;
    const fs_json *items = fs_json_get(g, "items");
    CHECK(fs_json_count(items) == 7);
    worst = 0;
    for (size_t i = 0; i < fs_json_count(items); i++) {
        const fs_json *it = fs_json_at(items, i);
        double want[512];
        if (golden_input(fs_json_string(fs_json_get(it, "name")), fs_plan_input(p, ws)) != 0 ||
            fs_json_numbers(fs_json_get(it, "output"), want, 512, "output", &e) != FS_OK) {
            worst = INFINITY;
            break;
        }
        fs_plan_run(p, ws, NULL);
        const float *got = fs_plan_tensor(p, ws, m.out).data;
        double dot = 0, na = 0, nb = 0;
        for (int k = 0; k < 512; k++) {
            worst = fmax(worst, fabs(got[k] - want[k]));
            dot += got[k] * want[k];
            na += (double)got[k] * got[k];
            nb += want[k] * want[k];
        }
        *worst_cos = fmin(*worst_cos, dot / sqrt(na * nb));
    }
out:
    if (e.code)
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
    free(ws);
    fs_plan_free(p);
    fs_net_free(m.net);
    fs_json_free(g);
    return worst;
}

TEST(onnx_recognizer_matches_onnxruntime_fp32)
{
    double cos;
    double worst = run_golden(0, &cos);
    CHECK_MSG(worst <= 1e-4, "fp32 max abs error %.3g vs onnxruntime (limit 1e-4)", worst);
    printf("    fp32: max abs %.3g, min cosine %.9f\n", worst, cos);
}

TEST(onnx_recognizer_bf16_within_tolerance)
{
    if (!fs_nn_cpu_bf16())
        SKIP("no AVX-512 BF16 on this CPU");
    double cos;
    double worst = run_golden(FS_PLAN_BF16, &cos);
    CHECK_MSG(worst <= BF16_TOL, "bf16 max abs error %.3g (limit %g)", worst, BF16_TOL);
    CHECK_MSG(cos >= 0.999, "bf16 cosine to the reference %.6f (limit 0.999)", cos);
    printf("    bf16: max abs %.3g, min cosine %.6f\n", worst, cos);
}

/* ---- damaged files and unsupported graphs ---- */

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Loads path and returns the error (FS_OK on success, the net freed). */
static int try_load(const char *path, fs_error *e)
{
    fs_onnx_model m;
    memset(e, 0, sizeof *e);
    int st = fs_onnx_load(path, &m, e);
    if (st == FS_OK)
        fs_net_free(m.net);
    return st;
}

TEST(onnx_damaged_files_are_clear_errors)
{
    char path[512], bad[600];
    model_path(path, sizeof path);
    uint8_t *buf;
    size_t len;
    fs_error e = {0};
    REQUIRE(fs_read_file(path, 0, &buf, &len, &e) == FS_OK);
    snprintf(bad, sizeof bad, "%s/damaged.onnx", fs_test_tmpdir());
    const size_t cuts[] = {len / 2, len - 1, 100, 7, 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        REQUIRE(write_file(bad, buf, cuts[i]) == 0);
        CHECK_INT(try_load(bad, &e), FS_EMODEL);
        CHECK_MSG(strstr(e.msg, "damaged.onnx") != NULL, "message names the file: %s", e.msg);
    }
    /* flipped bytes in the middle of the weights: still a model, or a clear error */
    for (size_t i = len / 3; i < len / 3 + 64; i++)
        buf[i] ^= 0x5a;
    REQUIRE(write_file(bad, buf, len) == 0);
    int st = try_load(bad, &e);
    CHECK(st == FS_OK || st == FS_EMODEL);
    free(buf);
    snprintf(bad, sizeof bad, "%s/absent.onnx", fs_test_tmpdir());
    CHECK_INT(try_load(bad, &e), FS_EMODEL);
}

TEST(onnx_unsupported_graphs_name_the_node)
{
    char path[600];
    fs_error e;
    snprintf(path, sizeof path, "%s/tiny.onnx", fs_test_tmpdir());
    const int64_t sym[4] = {1, 1, 1, 1}, asym[4] = {0, 0, 1, 1};
    REQUIRE(tu_onnx_tiny(path, "Conv", sym, 1) == 0);
    /* the well-formed graph maps; only its 8x8 output is refused (not a vector) */
    CHECK_INT(try_load(path, &e), FS_EMODEL);
    CHECK_MSG(strstr(e.msg, "not a vector") != NULL, "%s", e.msg);
    REQUIRE(tu_onnx_tiny(path, "Sigmoid", sym, 1) == 0);
    CHECK_INT(try_load(path, &e), FS_EMODEL);
    CHECK_MSG(strstr(e.msg, "the_node") && strstr(e.msg, "Sigmoid") &&
                  strstr(e.msg, "unsupported operator"), "%s", e.msg);
    REQUIRE(tu_onnx_tiny(path, "Conv", asym, 1) == 0);
    CHECK_INT(try_load(path, &e), FS_EMODEL);
    CHECK_MSG(strstr(e.msg, "the_node") && strstr(e.msg, "asymmetric pads"), "%s", e.msg);
    REQUIRE(tu_onnx_tiny(path, "Conv", sym, 2) == 0);
    CHECK_INT(try_load(path, &e), FS_EMODEL);
    CHECK_MSG(strstr(e.msg, "the_node") && strstr(e.msg, "dilation"), "%s", e.msg);
}
