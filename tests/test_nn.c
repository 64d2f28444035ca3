/*
 * The NN runtime on its own: the JSON parser on valid and hostile input, the
 * weight loader's checks, and every op against a naive reference
 * implementation written from the TF definitions (golden README §3).
 */
#include <math.h>
#include <stdlib.h>

#include "facesearch/nn.h"
#include "harness.h"
#include "nn_ref.h"

/* ------------------------------------------------------------------ JSON */

static int parses(const char *text)
{
    fs_json *j = NULL;
    fs_error e = {0};
    int st = fs_json_parse(text, strlen(text), "t", &j, &e);
    fs_json_free(j);
    return st == FS_OK;
}

TEST(json_parses_values_and_escapes)
{
    const char *t = " {\"a\": [1, -2.5e3, 0.125, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00"
                    "\\n\\\"\", \"o\": {}, \"e\": []} ";
    fs_json *j = NULL;
    fs_error e = {0};
    CHECK_OK(fs_json_parse(t, strlen(t), "t", &j, &e), &e);
    REQUIRE(j);
    CHECK_INT(fs_json_kind(j), FS_JSON_OBJECT);
    CHECK_INT(fs_json_count(j), 4);
    const fs_json *a = fs_json_get(j, "a");
    CHECK_INT(fs_json_count(a), 6);
    CHECK(fs_json_number(fs_json_at(a, 1), 0) == -2500.0);
    CHECK(fs_json_number(fs_json_at(a, 2), 0) == 0.125);
    CHECK_INT(fs_json_kind(fs_json_at(a, 3)), FS_JSON_BOOL);
    CHECK_INT(fs_json_bool(fs_json_at(a, 3), -1), 1);
    CHECK_INT(fs_json_bool(fs_json_at(a, 4), -1), 0);
    CHECK_INT(fs_json_bool(fs_json_at(a, 0), -1), -1);
    CHECK_INT(fs_json_kind(fs_json_at(a, 5)), FS_JSON_NULL);
    CHECK_STR(fs_json_string(fs_json_get(j, "s")), "x\xc3\xa9\xf0\x9f\x98\x80\n\"");
    CHECK_STR(fs_json_key(j, 2), "o");
    CHECK(fs_json_get(j, "missing") == NULL);
    CHECK(fs_json_at(a, 6) == NULL);
    double v[2];
    CHECK_INT(fs_json_numbers(a, v, 2, "a", &e), FS_ECORRUPT);
    fs_json_free(j);
    /* a number is parsed exactly like strtod, so float32 values round-trip */
    CHECK(parses("0.10000000149011612"));
}

TEST(json_rejects_malformed_input_with_offset)
{
    static const char *bad[] = {
        "", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "[01]", "[1.]", "[.5]", "[1e]", "[-]",
        "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00x\"", "[1] 2", "tru",
        "nul", "[\"a\nb\"]", "{1:2}", "[1,2", "\"\\", "[-inf]", "[NaN]", "[0x10]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fs_json *j = NULL;
        fs_error e = {0};
        int st = fs_json_parse(bad[i], strlen(bad[i]), "bad.json", &j, &e);
        CHECK_MSG(st == FS_ECORRUPT && j == NULL, "accepted malformed JSON #%zu: %s", i, bad[i]);
        CHECK_MSG(strncmp(e.msg, "bad.json: byte ", 15) == 0, "message: %s", e.msg);
    }
    /* deep nesting is refused, not a stack overflow */
    char deep[300];
    memset(deep, '[', sizeof deep);
    fs_json *j = NULL;
    fs_error e = {0};
    CHECK_INT(fs_json_parse(deep, sizeof deep, "deep", &j, &e), FS_ECORRUPT);
    CHECK(strstr(e.msg, "too deep") != NULL);
    /* the buffer need not be NUL-terminated: a number at the very end */
    char num[3] = {'1', '2', '3'};
    CHECK_OK(fs_json_parse(num, 2, "n", &j, &e), &e);
    CHECK(fs_json_number(j, 0) == 12.0);
    fs_json_free(j);
}

/* --------------------------------------------------------------- weights */

static const char *tmp_path(const char *name)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", fs_test_tmpdir(), name);
    return path[k];
}

static void write_file(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(tmp_path(name), "wb");
    REQUIRE(f);
    CHECK(fwrite(data, 1, n, f) == n);
    fclose(f);
}

/* A model "m": a uint8 tensor q [2,3] (scale 0.1, min -0.5), an int32
 * constant (1 byte quantised, skipped), a raw float32 r [2] at offset 7. */
static void write_model(const char *manifest, size_t bin_len)
{
    uint8_t bin[16] = {0, 1, 2, 3, 254, 255, 9};
    float r[2] = {1.5f, -2.25f};
    memcpy(bin + 7, r, sizeof r);
    write_file("m-weights_manifest.json", manifest, strlen(manifest));
    write_file("m.bin", bin, bin_len);
}

static const char *MANIFEST =
    "[{\"paths\": [\"m.bin\"], \"weights\": ["
    "{\"name\": \"q\", \"shape\": [2, 3], \"dtype\": \"float32\","
    " \"quantization\": {\"dtype\": \"uint8\", \"scale\": 0.1, \"min\": -0.5}},"
    "{\"name\": \"k\", \"shape\": [], \"dtype\": \"int32\","
    " \"quantization\": {\"dtype\": \"uint8\", \"scale\": 1, \"min\": 0}},"
    "{\"name\": \"r\", \"shape\": [2], \"dtype\": \"float32\"}]}]";

TEST(weights_dequantise_skip_and_unaligned)
{
    write_model(MANIFEST, 15);
    fs_weights *w = NULL;
    fs_error e = {0};
    CHECK_OK(fs_weights_load(fs_test_tmpdir(), "m", &w, &e), &e);
    REQUIRE(w);
    const float *q, *r;
    int qs[2] = {2, 3}, rs[1] = {2};
    CHECK_OK(fs_weights_get(w, "q", 2, qs, &q, &e), &e);
    static const uint8_t raw[6] = {0, 1, 2, 3, 254, 255};
    for (int i = 0; i < 6; i++)
        CHECK(q[i] == (float)(raw[i] * 0.1 + -0.5));
    CHECK(fs_weights_check_used(w, &e) == FS_EMODEL && strstr(e.msg, "'r'"));
    CHECK_OK(fs_weights_get(w, "r", 1, rs, &r, &e), &e);
    CHECK(r[0] == 1.5f && r[1] == -2.25f);
    CHECK_OK(fs_weights_check_used(w, &e), &e);
    int bad[2] = {3, 2};
    CHECK_INT(fs_weights_get(w, "q", 2, bad, &q, &e), FS_EMODEL);
    CHECK(strstr(e.msg, "m: tensor 'q' has shape [2,3], expected [3,2]") != NULL);
    CHECK_INT(fs_weights_get(w, "nope", 1, rs, &r, &e), FS_EMODEL);
    CHECK(strstr(e.msg, "'nope' missing") != NULL);
    CHECK_INT(fs_weights_get(w, "k", 0, NULL, &r, &e), FS_EMODEL);
    CHECK_INT(fs_weights_file_count(w), 2);
    const char *name, *sha;
    fs_weights_file(w, 1, &name, &sha);
    CHECK_STR(name, "m.bin");
    CHECK_INT(strlen(sha), 64);
    fs_weights_free(w);
}

TEST(weights_bad_files_are_named_errors)
{
    fs_weights *w = NULL;
    fs_error e = {0};
    write_model(MANIFEST, 14); /* truncated */
    CHECK_INT(fs_weights_load(fs_test_tmpdir(), "m", &w, &e), FS_EMODEL);
    CHECK(strstr(e.msg, "m-weights_manifest.json: weight file is truncated: tensor 'r'"));
    write_model(MANIFEST, 16); /* one byte too many */
    CHECK_INT(fs_weights_load(fs_test_tmpdir(), "m", &w, &e), FS_EMODEL);
    CHECK(strstr(e.msg, "cover 15 bytes but the shards hold 16"));
    write_model("[{\"paths\": [\"m.bin\"], \"weights\": [", 15); /* malformed */
    CHECK_INT(fs_weights_load(fs_test_tmpdir(), "m", &w, &e), FS_EMODEL);
    CHECK(strstr(e.msg, "m-weights_manifest.json: byte"));
    write_model("[{\"paths\": [\"../m.bin\"], \"weights\": []}]", 15); /* escaping path */
    CHECK_INT(fs_weights_load(fs_test_tmpdir(), "m", &w, &e), FS_EMODEL);
    CHECK(strstr(e.msg, "bad shard path"));
    write_model("[{\"paths\": [\"m.bin\"], \"weights\": [{\"name\": \"q\", \"shape\": [2],"
                " \"dtype\": \"float32\", \"quantization\": {\"dtype\": \"float16\", \"scale\": 1,"
                " \"min\": 0}}]}]", 15);
    CHECK_INT(fs_weights_load(fs_test_tmpdir(), "m", &w, &e), FS_EMODEL);
    CHECK(strstr(e.msg, "unsupported quantization float16"));
    write_model("[{\"paths\": [\"gone.bin\"], \"weights\": []}]", 15);
    CHECK_INT(fs_weights_load(fs_test_tmpdir(), "m", &w, &e), FS_EMODEL);
    CHECK(strstr(e.msg, "gone.bin"));
    CHECK_INT(fs_weights_load(fs_test_tmpdir(), "absent", &w, &e), FS_EMODEL);
    CHECK(strstr(e.msg, "absent-weights_manifest.json"));
    CHECK(w == NULL);
}

TEST(weights_real_models_sum_to_file_size)
{
    /* The loader's size self-check passes on the pinned models (README §2
     * sizes), and every file gets a checksum. */
    static const char *models[] = {"ssd_mobilenetv1_model", "face_landmark_68_model",
                                   "face_recognition_model", "tiny_face_detector_model"};
    for (int i = 0; i < 4; i++) {
        fs_weights *w = NULL;
        fs_error e = {0};
        CHECK_OK(fs_weights_load(fs_test_models_dir(), models[i], &w, &e), &e);
        if (w)
            CHECK_INT(fs_weights_file_count(w), 2);
        fs_weights_free(w);
    }
}

/* ------------------------------------------------------------------- ops */

TEST(conv_and_depthwise_match_tf_definition)
{
    nn_conv_cases(FS_PREC_FP32);
}

TEST(pool_add_mean_fc_match_definitions)
{
    fs_net *net = fs_net_create("t", 3);
    int mx = fs_net_pool(net, "max", 0, FS_POOL_MAX, 2, 2, FS_PAD_SAME);   /* 5x5 -> 3x3 */
    int av = fs_net_pool(net, "avg", 0, FS_POOL_AVG, 2, 2, FS_PAD_VALID);  /* 5x5 -> 2x2 */
    int mx1 = fs_net_pool(net, "max1", 0, FS_POOL_MAX, 2, 1, FS_PAD_SAME); /* 5x5 -> 5x5 */
    int in2[2] = {av, mx}, in3[3] = {mx, av, mx};
    int sum = fs_net_add(net, "sum", 2, in2, FS_ACT_NONE); /* 3x3: av zero-extended */
    int sum3 = fs_net_add(net, "sum3", 3, in3, FS_ACT_RELU);
    int mean = fs_net_mean(net, "mean", 0);
    float fw[6] = {1, 2, 3, 4, 5, 6}, fb[2] = {0.5f, -1};
    int fc = fs_net_fc(net, "fc", mean, 3, 2, fw, fb, FS_ACT_NONE);
    int outs[] = {mx, av, mx1, sum, sum3, mean, fc};
    for (int i = 0; i < 7; i++)
        fs_net_output(net, outs[i]);
    fs_error e = {0};
    CHECK_OK(fs_net_status(net, &e), &e);
    fs_plan *p = NULL;
    CHECK_OK(fs_plan_create(net, 5, 5, 0, &p, &e), &e);
    REQUIRE(p);
    void *ws = fs_nn_alloc(fs_plan_workspace(p));
    float x[75]; /* the input buffer is reused once its last reader ran */
    nn_fill(x, 75, 3);
    memcpy(fs_plan_input(p, ws), x, sizeof x);
#define X(y, xx, c) x[((y) * 5 + (xx)) * 3 + (c)]
    fs_plan_run(p, ws, NULL);
    fs_tensor tm = fs_plan_tensor(p, ws, mx), ta = fs_plan_tensor(p, ws, av);
    fs_tensor t1 = fs_plan_tensor(p, ws, mx1), ts = fs_plan_tensor(p, ws, sum);
    CHECK(tm.h == 3 && ta.h == 2 && t1.h == 5 && ts.h == 3);
    /* max SAME at the last row/col sees only the real pixel(s) */
    CHECK(tm.data[((2 * 3) + 2) * 3 + 1] == X(4, 4, 1));
    CHECK(t1.data[((4 * 5) + 3) * 3 + 2] == fmaxf(X(4, 3, 2), X(4, 4, 2)));
    float a00 = (X(0, 0, 0) + X(0, 1, 0) + X(1, 0, 0) + X(1, 1, 0)) / 4.0f;
    CHECK_NEAR(ta.data[0], a00, 1e-6);
    CHECK_NEAR(ts.data[0], a00 + tm.data[0], 1e-6);
    CHECK(ts.data[(2 * 3 + 2) * 3] == tm.data[(2 * 3 + 2) * 3]); /* outside av: av is 0 */
    fs_tensor t3 = fs_plan_tensor(p, ws, sum3);
    CHECK_NEAR(t3.data[4], fmaxf(0, tm.data[4] + (ta.data[4] + tm.data[4])), 1e-6);
    double m[3] = {0};
    for (int i = 0; i < 25; i++)
        for (int c = 0; c < 3; c++)
            m[c] += x[i * 3 + c] / 25.0;
    fs_tensor tmean = fs_plan_tensor(p, ws, mean), tfc = fs_plan_tensor(p, ws, fc);
    for (int c = 0; c < 3; c++)
        CHECK_NEAR(tmean.data[c], m[c], 1e-6);
    CHECK_NEAR(tfc.data[0], m[0] * 1 + m[1] * 3 + m[2] * 5 + 0.5, 1e-5);
    CHECK_NEAR(tfc.data[1], m[0] * 2 + m[1] * 4 + m[2] * 6 - 1, 1e-5);
    CHECK(fs_plan_flops(p) > 0);
    free(ws);
    fs_plan_free(p);
    fs_net_free(net);
}

TEST(plan_reuses_buffers_without_changing_results)
{
    /* A chain long enough for buffer reuse: the compact plan must give the
     * same output as one that keeps every buffer, and use less memory. */
    float w[3 * 3 * 8 * 8], b[8];
    nn_fill(w, sizeof w / sizeof *w, 5);
    nn_fill(b, 8, 6);
    fs_conv_desc d = {3, 3, 8, 8, 1, FS_PAD_SAME, FS_ACT_RELU, w, b, NULL, NULL, 0, NULL};
    fs_net *net = fs_net_create("chain", 8);
    int x = 0, skip = 0;
    for (int i = 0; i < 8; i++) {
        x = fs_net_conv(net, "c", x, &d);
        if (i % 2 == 1) {
            int in[2] = {x, skip};
            x = skip = fs_net_add(net, "res", 2, in, FS_ACT_RELU);
        }
    }
    fs_net_output(net, x);
    size_t wa = 0, wb = 0;
    CHECK(nn_plans_agree(net, 12, 10, 0, FS_PLAN_KEEP_ALL, x, 4, &wa, &wb, NULL));
    CHECK(wa < wb);
    fs_plan *pa = NULL;
    fs_error e = {0};
    /* too small an input for a VALID layer is an error naming the layer */
    CHECK_INT(fs_plan_create(net, 0, 5, 0, &pa, &e), FS_EUSAGE);
    fs_net_free(net);
}

TEST(net_builder_errors_are_sticky_and_named)
{
    float w[7 * 7 * 4 * 2] = {0};
    fs_conv_desc d = {3, 3, 4, 2, 1, FS_PAD_SAME, FS_ACT_NONE, w, NULL, NULL, NULL, 0, NULL};
    fs_net *net = fs_net_create("n", 3);
    CHECK_INT(fs_net_conv(net, "wrong_cin", 0, &d), -1);
    CHECK_INT(fs_net_pool(net, "after", 1, FS_POOL_MAX, 2, 2, FS_PAD_VALID), -1);
    fs_error e = {0};
    CHECK_INT(fs_net_status(net, &e), FS_EUSAGE);
    CHECK(strstr(e.msg, "n: layer 'wrong_cin'") != NULL);
    fs_plan *p = NULL;
    CHECK_INT(fs_plan_create(net, 4, 4, 0, &p, &e), FS_EUSAGE);
    CHECK(p == NULL);
    fs_net_free(net);
    net = fs_net_create("v", 3);
    d.cin = 3;
    int c = fs_net_conv(net, "valid7", 0,
                        &(fs_conv_desc){7, 7, 3, 2, 1, FS_PAD_VALID, FS_ACT_NONE, w, 0, 0, 0, 0, NULL});
    CHECK(c > 0);
    CHECK_INT(fs_plan_create(net, 5, 9, 0, &p, &e), FS_EUSAGE);
    CHECK(strstr(e.msg, "too small for layer 'valid7'") != NULL);
    fs_net_free(net);
}

/* A separable block (depthwise, then 1x1) is fused by a compact plan: its
 * output must equal, bit for bit, the unfused run of a FS_PLAN_KEEP_ALL plan
 * — in both precisions, over several chunks, a stride-2 depthwise conv and
 * a channel count that is not a multiple of 16. */
static void fused_case(fs_precision prec)
{
    enum { C = 20, N = 24 };
    float dw[9 * C], pw[C * N], dw2[9 * N], pw2[N * 8], b[N];
    nn_fill(dw, 9 * C, 21);
    nn_fill(pw, C * N, 22);
    nn_fill(dw2, 9 * N, 23);
    nn_fill(pw2, N * 8, 24);
    nn_fill(b, N, 25);
    fs_net *net = fs_net_create("separable", C);
    int x = fs_net_depthwise(net, "dw1", 0,
                             &(fs_conv_desc){3, 3, C, C, 1, FS_PAD_EXPLICIT, FS_ACT_PRELU, dw, b, 0, 0,
                                             1, b});
    x = fs_net_conv(net, "pw1", x, &(fs_conv_desc){1, 1, C, N, 1, FS_PAD_SAME, FS_ACT_RELU, pw, b, 0, 0, 0, NULL});
    x = fs_net_depthwise(net, "dw2", x,
                         &(fs_conv_desc){3, 3, N, N, 2, FS_PAD_SAME, FS_ACT_NONE, dw2, 0, 0, 0, 0, NULL});
    x = fs_net_conv(net, "pw2", x, &(fs_conv_desc){1, 1, N, 8, 1, FS_PAD_SAME, FS_ACT_NONE, pw2, b, 0, 0, 0, NULL});
    fs_net_output(net, x);
    fs_error e = {0};
    int fl = prec == FS_PREC_BF16 ? FS_PLAN_BF16 : 0;
    if (fl)
        CHECK_OK(fs_net_prepare_bf16(net, &e), &e);
    size_t wa = 0, wb = 0;
    fs_precision got = FS_PREC_AUTO;
    CHECK_MSG(nn_plans_agree(net, 131, 121, fl | FS_PLAN_KEEP_ALL, fl, x, 26, &wb, &wa, &got),
              "%s: fused separable convs differ from the unfused run", fs_precision_name(prec));
    CHECK_INT(got, prec);
    CHECK(wa < wb); /* the fused depthwise outputs need no buffer */
    fs_net_free(net);
}

TEST(fused_separable_conv_equals_unfused)
{
    fused_case(FS_PREC_FP32);
    if (fs_nn_cpu_bf16())
        fused_case(FS_PREC_BF16);
}
