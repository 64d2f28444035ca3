/*
 * Recognition net: a dlib-style ResNet-29 variant (golden README §6.2).
 * Every conv is conv + bias followed by a per-channel affine (a folded
 * batch-norm), both folded here into the weights.
 *
 *   residual(x)      = relu(conv2(relu(conv1(x))) + x)          3x3 SAME s1
 *   residual_down(x) = relu(avgpool2x2(x) + conv2(relu(conv1(x))))
 *                      conv1 3x3 stride 2 VALID; the conv branch is zero-padded
 *                      at the bottom/right and the shortcut in channels when
 *                      their shapes differ (fs_net_add's zero extension)
 *
 *   150x150x3 -> conv 7x7/2 VALID 32 -> maxpool 3x3/2 -> 3 x residual(32)
 *   -> down 64 + 3 x residual -> down 128 + 2 x residual -> down 256 + 2 x
 *   residual -> down 256 -> mean over H, W -> fc 256x128 (no bias)
 */
#include "face_internal.h"

#include <stdio.h>
#include <string.h>

static int conv(fs_netb *b, const char *layer, const char *which, int in, int k, int cin,
                int cout, int stride, fs_pad pad, fs_act act)
{
    char p[96], s[96], name[96];
    snprintf(p, sizeof p, "%s/%s/conv", layer, which);
    snprintf(s, sizeof s, "%s/%s/scale", layer, which);
    snprintf(name, sizeof name, "%s/%s", layer, which);
    fs_conv_desc d = {k, k, cin, cout, stride, pad, act,
                      fs_nb_getp(b, p, "filters", k, k, cin, cout),
                      fs_nb_getp(b, p, "bias", cout, 0, 0, 0),
                      fs_nb_getp(b, s, "weights", cout, 0, 0, 0),
                      fs_nb_getp(b, s, "biases", cout, 0, 0, 0), 0, NULL};
    return fs_nb_conv(b, name, in, 0, &d);
}

static int residual(fs_netb *b, const char *layer, int in, int c)
{
    int x = conv(b, layer, "conv1", in, 3, c, c, 1, FS_PAD_SAME, FS_ACT_RELU);
    x = conv(b, layer, "conv2", x, 3, c, c, 1, FS_PAD_SAME, FS_ACT_NONE);
    int sum[2] = {x, in};
    return fs_net_add(b->net, layer, 2, sum, FS_ACT_RELU);
}

static int residual_down(fs_netb *b, const char *layer, int in, int cin, int cout)
{
    char name[96];
    int x = conv(b, layer, "conv1", in, 3, cin, cout, 2, FS_PAD_VALID, FS_ACT_RELU);
    x = conv(b, layer, "conv2", x, 3, cout, cout, 1, FS_PAD_SAME, FS_ACT_NONE);
    snprintf(name, sizeof name, "%s/pool", layer);
    int p = fs_net_pool(b->net, name, in, FS_POOL_AVG, 2, 2, FS_PAD_VALID);
    int sum[2] = {p, x};
    return fs_net_add(b->net, layer, 2, sum, FS_ACT_RELU);
}

int fs_recognition_build(fs_weights *w, fs_simple_net *m, fs_error *err)
{
    memset(m, 0, sizeof *m);
    fs_netb b;
    int st = fs_nb_start(&b, "face_recognition", w, err);
    if (st != FS_OK)
        return st;
    char p[] = "conv32_down";
    fs_conv_desc d = {7, 7, 3, 32, 2, FS_PAD_VALID, FS_ACT_RELU,
                      fs_nb_getp(&b, p, "conv/filters", 7, 7, 3, 32),
                      fs_nb_getp(&b, p, "conv/bias", 32, 0, 0, 0),
                      fs_nb_getp(&b, p, "scale/weights", 32, 0, 0, 0),
                      fs_nb_getp(&b, p, "scale/biases", 32, 0, 0, 0), 0, NULL};
    int x = fs_nb_conv(&b, "conv32_down(7x7/2 valid)", 0, 0, &d);
    x = fs_net_pool(b.net, "max_pool_3x3/2", x, FS_POOL_MAX, 3, 2, FS_PAD_VALID);
    x = residual(&b, "conv32_1", x, 32);
    x = residual(&b, "conv32_2", x, 32);
    x = residual(&b, "conv32_3", x, 32);
    x = residual_down(&b, "conv64_down", x, 32, 64);
    x = residual(&b, "conv64_1", x, 64);
    x = residual(&b, "conv64_2", x, 64);
    x = residual(&b, "conv64_3", x, 64);
    x = residual_down(&b, "conv128_down", x, 64, 128);
    x = residual(&b, "conv128_1", x, 128);
    x = residual(&b, "conv128_2", x, 128);
    x = residual_down(&b, "conv256_down", x, 128, 256);
    x = residual(&b, "conv256_1", x, 256);
    x = residual(&b, "conv256_2", x, 256);
    x = residual_down(&b, "conv256_down_out", x, 256, 256);
    x = fs_net_mean(b.net, "global_avg_pool", x);
    m->out = fs_net_fc(b.net, "fc(descriptor)", x, 256, 128, fs_nb_get(&b, "fc", 256, 128, 0, 0),
                       NULL, FS_ACT_NONE);
    return fs_nb_done(&b, m->out, &m->net, err);
}
