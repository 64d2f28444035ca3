/*
 * SSD MobileNet v1 face detector (golden README §4.2).
 *
 *   conv_0        3x3 s2 conv + offset, relu6                 -> 256x256x32
 *   conv_1..13    depthwise 3x3 + batch-norm, relu6, then 1x1 conv + offset,
 *                 relu6; stride 2 at 2, 4, 6, 12              -> 16x16x1024
 *                 (conv_11's output is F0, conv_13's F1)
 *   prediction    1x1 / 3x3-s2 pairs, relu6 -> F2 8x8, F3 4x4, F4 2x2, F5 1x1
 *   heads k=0..5  on Fk: 1x1 conv + bias to 4A box encodings and 3A class
 *                 logits, A = 3 anchors per cell for k = 0, else 6
 *
 * Node names are the golden probe names.
 */
#include "face_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define BN_EPS 0.0010000000474974513 /* 0.001 as float32, as the reference */

/* 1x1 or 3x3 conv + convolution_bn_offset, relu6. */
static int pointwise(fs_netb *b, const char *name, const char *prefix, int in, int k, int cin,
                     int cout, int stride)
{
    fs_conv_desc d = {k, k, cin, cout, stride, FS_PAD_SAME, FS_ACT_RELU6,
                      fs_nb_getp(b, prefix, "weights", k, k, cin, cout),
                      fs_nb_getp(b, prefix, "convolution_bn_offset", cout, 0, 0, 0), NULL, NULL, 0, NULL};
    return fs_nb_conv(b, name, in, 0, &d);
}

/* Depthwise 3x3 + batch-norm folded as (conv - mean) * gamma/sqrt(var+eps) + beta. */
static int depthwise_bn(fs_netb *b, const char *name, int layer, int in, int c, int stride)
{
    char p[96], bn[128];
    snprintf(p, sizeof p, "MobilenetV1/Conv2d_%d_depthwise", layer);
    snprintf(bn, sizeof bn, "%s/BatchNorm", p);
    const float *gamma = fs_nb_getp(b, bn, "gamma", c, 0, 0, 0);
    const float *beta = fs_nb_getp(b, bn, "beta", c, 0, 0, 0);
    const float *mean = fs_nb_getp(b, bn, "moving_mean", c, 0, 0, 0);
    const float *var = fs_nb_getp(b, bn, "moving_variance", c, 0, 0, 0);
    const float *w = fs_nb_getp(b, p, "depthwise_weights", 3, 3, c, 1);
    if (!gamma || !beta || !mean || !var || !w || c > 1024)
        return -1;
    float neg_mean[1024], scale[1024];
    for (int i = 0; i < c; i++) {
        neg_mean[i] = -mean[i];
        scale[i] = (float)((double)gamma[i] / sqrt((double)var[i] + BN_EPS));
    }
    fs_conv_desc d = {3, 3, c, c, stride, FS_PAD_SAME, FS_ACT_RELU6, w, neg_mean, scale, beta, 0, NULL};
    return fs_nb_conv(b, name, in, 1, &d);
}

/* 1x1 prediction head conv + bias, no activation. */
static int head(fs_netb *b, const char *name, int k, const char *kind, int in, int cin, int cout)
{
    char p[96];
    snprintf(p, sizeof p, "Prediction/BoxPredictor_%d/%s", k, kind);
    fs_conv_desc d = {1, 1, cin, cout, 1, FS_PAD_SAME, FS_ACT_NONE,
                      fs_nb_getp(b, p, "weights", 1, 1, cin, cout),
                      fs_nb_getp(b, p, "biases", cout, 0, 0, 0), NULL, NULL, 0, NULL};
    return fs_nb_conv(b, name, in, 0, &d);
}

int fs_ssd_build(fs_weights *w, fs_ssd_net *m, fs_error *err)
{
    memset(m, 0, sizeof *m);
    fs_netb b;
    int st = fs_nb_start(&b, "ssd_mobilenetv1", w, err);
    if (st != FS_OK)
        return st;
    static const int ch[14] = {32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
    char name[96], prefix[96];
    int x = pointwise(&b, "mobilenetv1/conv_0", "MobilenetV1/Conv2d_0_pointwise", 0, 3, 3, 32, 2);
    int f0 = -1;
    for (int i = 1; i <= 13; i++) {
        int stride = i == 2 || i == 4 || i == 6 || i == 12 ? 2 : 1;
        snprintf(name, sizeof name, "mobilenetv1/conv_%d/depthwise", i);
        x = depthwise_bn(&b, name, i, x, ch[i - 1], stride);
        snprintf(name, sizeof name, "mobilenetv1/conv_%d/pointwise", i);
        snprintf(prefix, sizeof prefix, "MobilenetV1/Conv2d_%d_pointwise", i);
        x = pointwise(&b, name, prefix, x, 1, ch[i - 1], ch[i], 1);
        if (i == 11)
            f0 = x;
    }
    /* Extra feature layers: (1x1 -> cout) then (3x3 s2 -> cout2). */
    static const int pcfg[8][3] = {{1, 1024, 256}, {3, 256, 512}, {1, 512, 128}, {3, 128, 256},
                                   {1, 256, 128},  {3, 128, 256}, {1, 256, 64},  {3, 64, 128}};
    int feat[FS_SSD_HEADS] = {f0, x};
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof name, "prediction_layer/conv_%d", i);
        snprintf(prefix, sizeof prefix, "Prediction/Conv2d_%d_pointwise", i);
        x = pointwise(&b, name, prefix, x, pcfg[i][0], pcfg[i][1], pcfg[i][2],
                      pcfg[i][0] == 3 ? 2 : 1);
        if (i % 2 == 1)
            feat[2 + i / 2] = x;
    }
    static const int fch[FS_SSD_HEADS] = {512, 1024, 512, 256, 256, 128};
    for (int k = 0; k < FS_SSD_HEADS; k++) {
        int a = k == 0 ? 3 : 6;
        snprintf(name, sizeof name, "box_predictor_%d/box_encoding", k);
        m->box[k] = head(&b, name, k, "BoxEncodingPredictor", feat[k], fch[k], 4 * a);
        snprintf(name, sizeof name, "box_predictor_%d/class_logits", k);
        m->cls[k] = head(&b, name, k, "ClassPredictor", feat[k], fch[k], 3 * a);
        fs_net_output(b.net, m->box[k]);
        fs_net_output(b.net, m->cls[k]);
    }
    const float *anchors = fs_nb_get(&b, "Output/extra_dim", 1, FS_SSD_ANCHORS, 4, 0);
    if (anchors)
        memcpy(m->anchors, anchors, sizeof m->anchors);
    /* TF preprocessor constants (x * 2/255 - 1); face-api applies the same
     * normalisation itself, so they are only acknowledged here. */
    fs_nb_get(&b, "Preprocessor/mul/x", 0, 0, 0, 0);
    fs_nb_get(&b, "Preprocessor/sub/y", 0, 0, 0, 0);
    return fs_nb_done(&b, -1, &m->net, err);
}
