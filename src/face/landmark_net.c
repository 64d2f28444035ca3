/*
 * 68-point landmark net (golden README §5.2): four dense blocks, then a 7x7
 * average pool and a fully connected layer to 136 outputs.
 *
 *   out1 = relu(conv0(x))                       (stride 2)
 *   out2 = conv1(out1)
 *   out3 = conv2(relu(out1 + out2))
 *   out4 = conv3(relu(out1 + (out2 + out3)))
 *   out  = relu(out1 + (out2 + (out3 + out4)))
 *
 * conv0 of dense0 is a regular 3x3 conv; every other conv is separable
 * (depthwise 3x3, then 1x1 + bias, nothing in between).  All SAME.
 */
#include "face_internal.h"

#include <stdio.h>
#include <string.h>

/* Separable conv: depthwise (no bias) then pointwise + bias, activation act. */
static int separable(fs_netb *b, const char *block, int i, int in, int cin, int cout,
                     int stride, fs_act act, const char *probe)
{
    char prefix[64], name[96];
    snprintf(prefix, sizeof prefix, "%s/conv%d", block, i);
    snprintf(name, sizeof name, "%s/depthwise", prefix);
    fs_conv_desc dw = {3, 3, cin, cin, stride, FS_PAD_SAME, FS_ACT_NONE,
                       fs_nb_getp(b, prefix, "depthwise_filter", 3, 3, cin, 1), NULL, NULL, NULL, 0, NULL};
    int x = fs_nb_conv(b, name, in, 1, &dw);
    fs_conv_desc pw = {1, 1, cin, cout, 1, FS_PAD_SAME, act,
                       fs_nb_getp(b, prefix, "pointwise_filter", 1, 1, cin, cout),
                       fs_nb_getp(b, prefix, "bias", cout, 0, 0, 0), NULL, NULL, 0, NULL};
    return fs_nb_conv(b, probe, x, 0, &pw);
}

static int dense_block(fs_netb *b, int k, int in, int cin, int cout)
{
    char block[16], name[96];
    snprintf(block, sizeof block, "dense%d", k);
    int o[5];
    snprintf(name, sizeof name, "%s/out1(conv0+relu)", block);
    if (k == 0) {
        fs_conv_desc d = {3, 3, cin, cout, 2, FS_PAD_SAME, FS_ACT_RELU,
                          fs_nb_getp(b, "dense0/conv0", "filters", 3, 3, cin, cout),
                          fs_nb_getp(b, "dense0/conv0", "bias", cout, 0, 0, 0), NULL, NULL, 0, NULL};
        o[1] = fs_nb_conv(b, name, in, 0, &d);
    } else {
        o[1] = separable(b, block, 0, in, cin, cout, 2, FS_ACT_RELU, name);
    }
    int x = o[1];
    for (int i = 1; i <= 3; i++) {
        snprintf(name, sizeof name, "%s/out%d(conv%d)", block, i + 1, i);
        o[i + 1] = separable(b, block, i, x, cout, cout, 1, FS_ACT_NONE, name);
        if (i < 3)
            snprintf(name, sizeof name, "%s/in%d", block, i + 2);
        else
            snprintf(name, sizeof name, "%s/output", block);
        x = fs_net_add(b->net, name, i + 1, &o[1], FS_ACT_RELU);
    }
    return x;
}

int fs_landmark_build(fs_weights *w, fs_simple_net *m, fs_error *err)
{
    memset(m, 0, sizeof *m);
    fs_netb b;
    int st = fs_nb_start(&b, "face_landmark_68", w, err);
    if (st != FS_OK)
        return st;
    int x = dense_block(&b, 0, 0, 3, 32);
    x = dense_block(&b, 1, x, 32, 64);
    x = dense_block(&b, 2, x, 64, 128);
    x = dense_block(&b, 3, x, 128, 256);
    x = fs_net_pool(b.net, "avg_pool_7x7", x, FS_POOL_AVG, 7, 2, FS_PAD_VALID);
    m->out = fs_net_fc(b.net, "fc(raw output)", x, 256, 136,
                       fs_nb_get(&b, "fc/weights", 256, 136, 0, 0),
                       fs_nb_get(&b, "fc/bias", 136, 0, 0, 0), FS_ACT_NONE);
    return fs_nb_done(&b, m->out, &m->net, err);
}
