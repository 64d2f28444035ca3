/* Reference NN ops for the tests (see nn_ref.h). */
#include "nn_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

float nn_frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

void nn_fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = nn_frand(&seed);
}

float nn_act(float v, fs_act a)
{
    if (a == FS_ACT_RELU)
        return v > 0 ? v : 0;
    if (a == FS_ACT_RELU6)
        return v < 0 ? 0 : v > 6 ? 6 : v;
    if (a == FS_ACT_LEAKY)
        return v > 0 ? v : 0.1f * v;
    return v;
}

void nn_ref_conv(const float *in, int h, int w, int cin, const fs_conv_desc *d, int dw,
                 float *out, double *abs_out, int oh, int ow)
{
    int pt = 0, pl = 0;
    if (d->pad == FS_PAD_EXPLICIT)
        pt = pl = d->pad_px;
    if (d->pad == FS_PAD_SAME) {
        int th = (oh - 1) * d->stride + d->kh - h, tw = (ow - 1) * d->stride + d->kw - w;
        pt = th > 0 ? th / 2 : 0;
        pl = tw > 0 ? tw / 2 : 0;
    }
    int cout = dw ? cin : d->cout;
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            for (int o = 0; o < cout; o++) {
                double s = 0, a = 0;
                for (int ky = 0; ky < d->kh; ky++)
                    for (int kx = 0; kx < d->kw; kx++) {
                        int iy = y * d->stride + ky - pt, ix = x * d->stride + kx - pl;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                            continue;
                        const float *p = in + ((size_t)iy * w + ix) * cin;
                        for (int c = dw ? o : 0; c < (dw ? o + 1 : cin); c++) {
                            double t = (double)p[c] *
                                       (dw ? d->weights[(ky * d->kw + kx) * cin + o]
                                           : d->weights[((ky * d->kw + kx) * cin + c) * cout + o]);
                            s += t;
                            a += fabs(t);
                        }
                    }
                double scale = d->scale ? d->scale[o] : 1;
                s = (s + (d->bias ? d->bias[o] : 0)) * scale + (d->shift ? d->shift[o] : 0);
                float v = (float)s;
                if (d->act == FS_ACT_PRELU)
                    v = v > 0 ? v : d->slope[o] * v;
                out[((size_t)y * ow + x) * cout + o] = nn_act(v, d->act);
                if (abs_out)
                    abs_out[((size_t)y * ow + x) * cout + o] = a * fabs(scale);
            }
}

int nn_plans_agree(const fs_net *net, int h, int w, int flags_a, int flags_b, int node,
                   unsigned seed, size_t *ws_a, size_t *ws_b, fs_precision *prec_b)
{
    fs_plan *p[2] = {NULL, NULL};
    void *ws[2] = {NULL, NULL};
    int flags[2] = {flags_a, flags_b}, same = 0;
    fs_error e = {0};
    for (int i = 0; i < 2; i++) {
        CHECK_OK(fs_plan_create(net, h, w, flags[i], &p[i], &e), &e);
        if (!p[i] || !(ws[i] = fs_nn_alloc(fs_plan_workspace(p[i]))))
            goto out;
        fs_tensor in = fs_plan_tensor(p[i], NULL, 0);
        nn_fill(fs_plan_input(p[i], ws[i]), fs_tensor_count(in), seed);
        fs_plan_run(p[i], ws[i], NULL);
    }
    fs_tensor a = fs_plan_tensor(p[0], ws[0], node), b = fs_plan_tensor(p[1], ws[1], node);
    same = fs_tensor_count(a) == fs_tensor_count(b) &&
           memcmp(a.data, b.data, fs_tensor_count(a) * sizeof(float)) == 0;
    if (ws_a)
        *ws_a = fs_plan_workspace(p[0]);
    if (ws_b)
        *ws_b = fs_plan_workspace(p[1]);
    if (prec_b)
        *prec_b = fs_plan_precision(p[1]);
out:
    for (int i = 0; i < 2; i++) {
        free(ws[i]);
        fs_plan_free(p[i]);
    }
    return same;
}

/* Builds a one-conv net, runs it on a random input at precision p, compares. */
static void conv_case(int h, int w, int cin, int cout, int k, int stride, fs_pad pad, fs_act a,
                      int dw, int oh, int ow, fs_precision prec)
{
    size_t nw = (size_t)k * k * cin * (dw ? 1 : cout);
    int nc = dw ? cin : cout;
    float *wt = malloc(nw * sizeof *wt), *bias = malloc(3 * (size_t)nc * sizeof *bias);
    REQUIRE(wt && bias);
    float *scale = bias + nc, *shift = scale + nc;
    nn_fill(wt, nw, 7);
    nn_fill(bias, (size_t)nc, 8);
    nn_fill(scale, (size_t)nc, 9);
    nn_fill(shift, (size_t)nc, 10);
    float *slope = malloc((size_t)nc * sizeof *slope);
    REQUIRE(slope);
    nn_fill(slope, (size_t)nc, 12);
    fs_conv_desc d = {k, k, cin, nc, stride, pad, a, wt, bias, scale, shift,
                      pad == FS_PAD_EXPLICIT ? (k - 1) / 2 : 0, a == FS_ACT_PRELU ? slope : NULL};
    fs_net *net = fs_net_create("t", cin);
    int node = dw ? fs_net_depthwise(net, "c", 0, &d) : fs_net_conv(net, "c", 0, &d);
    fs_net_output(net, node);
    fs_plan *p = NULL;
    fs_error e = {0};
    int bf16 = prec == FS_PREC_BF16;
    if (bf16)
        CHECK_OK(fs_net_prepare_bf16(net, &e), &e);
    CHECK_OK(fs_plan_create(net, h, w, bf16 ? FS_PLAN_BF16 : 0, &p, &e), &e);
    if (p) {
        CHECK_INT(fs_plan_precision(p), prec);
        fs_tensor t = fs_plan_tensor(p, NULL, node);
        CHECK_MSG(t.h == oh && t.w == ow, "%dx%d k%d s%d: out %dx%d, expected %dx%d", h, w, k,
                  stride, t.h, t.w, oh, ow);
        void *ws = fs_nn_alloc(fs_plan_workspace(p));
        size_t n = (size_t)oh * ow * d.cout;
        float *ref = malloc(n * sizeof *ref);
        double *mag = malloc(n * sizeof *mag);
        REQUIRE(ws && ref && mag);
        nn_fill(fs_plan_input(p, ws), (size_t)h * w * cin, 11);
        nn_ref_conv(fs_plan_input(p, ws), h, w, cin, &d, dw, ref, mag, oh, ow);
        fs_plan_run(p, ws, NULL);
        t = fs_plan_tensor(p, ws, node);
        /* depthwise convs run in float32 in either precision */
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double tol = 1e-5 * fmax(1.0, fabs(ref[i]));
            if (bf16 && !dw)
                tol += mag[i] / 256.0;
            worst = fmax(worst, fabs(t.data[i] - ref[i]) / tol);
        }
        CHECK_MSG(worst <= 1.0, "%s %s %dx%dx%d->%d k%d s%d %s: error %.3g x the tolerance",
                  fs_precision_name(prec), dw ? "dw" : "conv", h, w, cin, nc, k, stride,
                  pad == FS_PAD_SAME ? "same" : pad == FS_PAD_VALID ? "valid" : "explicit", worst);
        free(ref);
        free(mag);
        free(ws);
    }
    fs_plan_free(p);
    fs_net_free(net);
    free(wt);
    free(bias);
    free(slope);
}

void nn_conv_cases(fs_precision p)
{
    /* SAME stride 2 on even sizes pads bottom/right only; on odd sizes 1/1 */
    conv_case(8, 8, 3, 5, 3, 2, FS_PAD_SAME, FS_ACT_RELU6, 0, 4, 4, p);
    conv_case(7, 9, 3, 5, 3, 2, FS_PAD_SAME, FS_ACT_NONE, 0, 4, 5, p);
    conv_case(9, 9, 4, 6, 3, 1, FS_PAD_SAME, FS_ACT_RELU, 0, 9, 9, p);
    conv_case(15, 15, 3, 8, 7, 2, FS_PAD_VALID, FS_ACT_RELU, 0, 5, 5, p);
    conv_case(35, 35, 4, 8, 3, 2, FS_PAD_VALID, FS_ACT_RELU, 0, 17, 17, p);
    conv_case(6, 5, 16, 24, 1, 1, FS_PAD_SAME, FS_ACT_LEAKY, 0, 6, 5, p);
    conv_case(2, 2, 8, 8, 3, 2, FS_PAD_SAME, FS_ACT_NONE, 0, 1, 1, p);
    conv_case(40, 40, 3, 4, 3, 1, FS_PAD_VALID, FS_ACT_NONE, 0, 38, 38, p); /* several chunks */
    /* 1x1 with an odd channel count (bf16: not the direct path), long K
     * (plain bf16 weights), many output channels (several B panels) */
    conv_case(9, 7, 13, 40, 1, 1, FS_PAD_SAME, FS_ACT_RELU, 0, 9, 7, p);
    conv_case(13, 11, 40, 70, 3, 1, FS_PAD_SAME, FS_ACT_RELU6, 0, 13, 11, p);
    conv_case(30, 30, 160, 17, 1, 1, FS_PAD_SAME, FS_ACT_NONE, 0, 30, 30, p);
    conv_case(8, 8, 32, 32, 3, 2, FS_PAD_SAME, FS_ACT_RELU6, 1, 4, 4, p);
    conv_case(7, 7, 48, 48, 3, 1, FS_PAD_SAME, FS_ACT_NONE, 1, 7, 7, p);
    conv_case(5, 6, 3, 3, 3, 2, FS_PAD_SAME, FS_ACT_LEAKY, 1, 3, 3, p);
    conv_case(9, 9, 17, 17, 5, 2, FS_PAD_VALID, FS_ACT_RELU, 1, 3, 3, p);
    /* ONNX/PyTorch: symmetric explicit padding (stride 2 on an even size
     * pads top/left too, unlike SAME) and PReLU, regular and depthwise */
    conv_case(8, 8, 3, 16, 3, 2, FS_PAD_EXPLICIT, FS_ACT_PRELU, 0, 4, 4, p);
    conv_case(7, 7, 20, 33, 1, 1, FS_PAD_EXPLICIT, FS_ACT_PRELU, 0, 7, 7, p);
    conv_case(10, 10, 40, 40, 3, 2, FS_PAD_EXPLICIT, FS_ACT_PRELU, 1, 5, 5, p);
    conv_case(9, 9, 24, 24, 3, 1, FS_PAD_EXPLICIT, FS_ACT_PRELU, 1, 9, 9, p);
    conv_case(7, 7, 32, 32, 7, 1, FS_PAD_VALID, FS_ACT_NONE, 1, 1, 1, p); /* global depthwise */
}
