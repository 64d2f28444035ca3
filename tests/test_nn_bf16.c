/*
 * The bf16 path of the NN runtime: rounding, the AVX-512 BF16 matrix kernel
 * against a double-precision reference on awkward sizes, convolutions
 * against their TF definitions, and the fall-back to float32 on a CPU
 * without the feature (forced through the test hook).
 */
#include <math.h>
#include <stdlib.h>

#include "../src/nn/nn_internal.h"
#include "facesearch/face.h"
#include "harness.h"
#include "nn_ref.h"

TEST(bf16_rounding_is_nearest_even)
{
    CHECK_INT(fs_nn_bf16_round(1.0f), 0x3f80);
    CHECK_INT(fs_nn_bf16_round(-2.0f), 0xc000);
    CHECK_INT(fs_nn_bf16_round(0.0f), 0x0000);
    /* 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even 1 */
    CHECK_INT(fs_nn_bf16_round(1.00390625f), 0x3f80);
    /* 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up */
    CHECK_INT(fs_nn_bf16_round(1.01171875f), 0x3f82);
    CHECK_INT(fs_nn_bf16_round(nextafterf(1.00390625f, 2.0f)), 0x3f81); /* above half: up */
    CHECK_INT(fs_nn_bf16_round(INFINITY), 0x7f80);
    CHECK(isnan(fs_nn_bf16_float(fs_nn_bf16_round(NAN))));
    for (unsigned s = 1, i = 0; i < 1000; i++) {
        float v = nn_frand(&s) * 100.0f;
        CHECK(fabsf(fs_nn_bf16_float(fs_nn_bf16_round(v)) - v) <= fabsf(v) / 256.0f);
    }
    fs_precision p;
    CHECK_OK(fs_precision_parse("bf16", &p, NULL), &(fs_error){0});
    CHECK_INT(p, FS_PREC_BF16);
    fs_error e = {0};
    CHECK_INT(fs_precision_parse("fp16", &p, &e), FS_EUSAGE);
    CHECK(strstr(e.msg, "'fp16'") != NULL);
    CHECK_STR(fs_precision_name(FS_PREC_AUTO), "auto");
}

/* One product through the kernel: C (ldc = N + 3, the 3 extra columns must
 * stay untouched) vs a double sum of the same bf16 values. */
static void gemm_case(int M, int N, int K, int split, int with_bias, fs_act act, unsigned seed)
{
    const size_t lda = (size_t)(K + 1) / 2 * 2 + 2, ldc = (size_t)N + 3;
    float *a = malloc((size_t)M * K * sizeof *a), *w = malloc((size_t)K * N * sizeof *w);
    float *bias = malloc((size_t)N * sizeof *bias), *c = malloc((size_t)M * ldc * sizeof *c);
    uint16_t *ab = fs_nn_alloc((size_t)M * lda * sizeof *ab);
    uint16_t *wp = fs_nn_alloc(fs_nn_bf16_packed_count(K, N, split) * sizeof *wp);
    REQUIRE(a && w && bias && c && ab && wp);
    nn_fill(a, (size_t)M * K, seed);
    nn_fill(w, (size_t)K * N, seed + 1);
    nn_fill(bias, (size_t)N, seed + 2);
    for (int m = 0; m < M; m++) {
        fs_nn_bf16_convert(a + (size_t)m * K, ab + (size_t)m * lda, (size_t)K);
        for (size_t k = (size_t)K; k < lda; k++) /* the odd K's partner meets a zero weight */
            ab[(size_t)m * lda + k] = fs_nn_bf16_round(k == (size_t)K ? 1.0f : 0.0f);
    }
    for (size_t i = 0; i < (size_t)M * ldc; i++)
        c[i] = 12345.0f;
    fs_nn_bf16_pack_b(w, K, N, split, wp);
    fs_nn_bf16_gemm(M, N, K, ab, lda, wp, split, c, ldc, with_bias ? bias : NULL, act);
    double worst = 0;
    int kept = 1;
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            double s = with_bias ? bias[n] : 0, mag = fabs(s);
            for (int k = 0; k < K; k++) {
                float x = fs_nn_bf16_float(fs_nn_bf16_round(a[(size_t)m * K + k]));
                float v = w[(size_t)k * N + n];
                float hi = fs_nn_bf16_float(fs_nn_bf16_round(v));
                float wv = split ? hi + fs_nn_bf16_float(fs_nn_bf16_round(v - hi)) : hi;
                s += (double)x * wv;
                mag += fabs((double)x * wv);
            }
            /* float32 sums, two roundings per pair of products */
            double tol = (K + 4) * 0x1p-23 * mag + 1e-30;
            double got = c[(size_t)m * ldc + n], want = nn_act((float)s, act);
            worst = fmax(worst, fabs(got - want) / tol);
        }
        for (size_t n = (size_t)N; n < ldc; n++)
            kept &= c[(size_t)m * ldc + n] == 12345.0f;
    }
    CHECK_MSG(worst <= 1.0, "bf16 gemm M=%d N=%d K=%d split=%d: error %.3g x the bound", M, N, K,
              split, worst);
    CHECK_MSG(kept, "bf16 gemm M=%d N=%d K=%d: wrote past column N", M, N, K);
    free(a);
    free(w);
    free(bias);
    free(c);
    free(ab);
    free(wp);
}

TEST(bf16_gemm_matches_double_reference_on_odd_sizes)
{
    if (!fs_nn_cpu_bf16())
        SKIP("this CPU has no AVX-512 BF16");
    /* M around the 12-row tile, N around the 16/32-column panels, K odd,
     * 1, and long; both weight layouts, with and without bias. */
    const int Ms[] = {1, 5, 12, 13, 25}, Ns[] = {1, 15, 16, 17, 32, 33, 70}, Ks[] = {1, 2, 3, 31, 130};
    const fs_act acts[] = {FS_ACT_NONE, FS_ACT_RELU, FS_ACT_RELU6, FS_ACT_LEAKY};
    unsigned seed = 1;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 7; j++)
            for (int k = 0; k < 5; k++, seed += 3)
                gemm_case(Ms[i], Ns[j], Ks[k], (i + j + k) % 2, (i + k) % 3 != 0,
                          acts[(i + j) % 4], seed);
    gemm_case(100, 256, 1152, 0, 1, FS_ACT_RELU, 99); /* a recognition-net shape */
    gemm_case(37, 64, 32, 1, 1, FS_ACT_RELU6, 98);    /* an SSD first-block shape */
}

TEST(conv_bf16_matches_tf_definition)
{
    if (!fs_nn_cpu_bf16())
        SKIP("this CPU has no AVX-512 BF16");
    nn_conv_cases(FS_PREC_BF16);
}

/* A small residual net run at fp32 and through a plan that asked for bf16
 * while the hook hides the feature: must be the float32 path exactly. */
static void check_fallback(fs_net *net, int out)
{
    fs_precision got = FS_PREC_AUTO;
    CHECK(nn_plans_agree(net, 11, 9, 0, FS_PLAN_BF16, out, 5, NULL, NULL, &got));
    CHECK_INT(got, FS_PREC_FP32);
}

TEST(bf16_falls_back_to_fp32_without_the_cpu_feature)
{
    float w[3 * 3 * 8 * 8], b[8];
    nn_fill(w, sizeof w / sizeof *w, 5);
    nn_fill(b, 8, 6);
    fs_conv_desc d = {3, 3, 8, 8, 1, FS_PAD_SAME, FS_ACT_RELU, w, b, NULL, NULL, 0, NULL};
    fs_net *net = fs_net_create("fallback", 8), *net2 = fs_net_create("prepared", 8);
    REQUIRE(net && net2);
    int x = fs_net_conv(net, "c1", 0, &d), x2 = fs_net_conv(net2, "c1", 0, &d);
    int in[2] = {fs_net_conv(net, "c2", x, &d), 0}, in2[2] = {fs_net_conv(net2, "c2", x2, &d), 0};
    int out = fs_net_add(net, "sum", 2, in, FS_ACT_NONE);
    fs_net_add(net2, "sum", 2, in2, FS_ACT_NONE);
    fs_net_output(net, out);
    fs_net_output(net2, out);
    fs_error e = {0};
    int had = fs_nn_cpu_bf16();
    CHECK_OK(fs_net_prepare_bf16(net2, &e), &e); /* packed while the CPU shows it */

    fs_nn_cpu_hide_bf16(1);
    CHECK_INT(fs_nn_cpu_bf16(), 0);
    CHECK_INT(fs_precision_effective(FS_PREC_AUTO), FS_PREC_FP32);
    CHECK_INT(fs_precision_effective(FS_PREC_BF16), FS_PREC_FP32);
    CHECK_OK(fs_net_prepare_bf16(net, &e), &e); /* a no-op now */
    check_fallback(net, out);
    check_fallback(net2, out);
    /* the engine asked for bf16 runs, and says, fp32 */
    fs_engine_opts o;
    fs_engine_opts_init(&o);
    o.precision = FS_PREC_BF16;
    fs_engine *eng = NULL;
    CHECK_OK(fs_engine_create(fs_test_models_dir(), &o, &eng, &e), &e);
    if (eng)
        CHECK_INT(fs_engine_precision(eng), FS_PREC_FP32);
    fs_engine_destroy(eng);
    fs_nn_cpu_hide_bf16(0);

    CHECK_INT(fs_nn_cpu_bf16(), had);
    CHECK_INT(fs_precision_effective(FS_PREC_FP32), FS_PREC_FP32);
    CHECK_INT(fs_precision_effective(FS_PREC_AUTO), had ? FS_PREC_BF16 : FS_PREC_FP32);
    fs_net_free(net);
    fs_net_free(net2);
}
