/*
 * TinyFaceDetector (face-api's tiny YOLOv2 variant with separable convs),
 * from the package's TinyYolov2Base / TinyFaceDetector sources:
 *
 *   conv0    3x3 VALID conv + bias, leaky 0.1                  3 -> 16
 *   maxpool  2x2 s2 SAME
 *   conv1..5 separable (depthwise 3x3 pad 1, 1x1 + bias), leaky,
 *            16 -> 32 -> 64 -> 128 -> 256 -> 512, each followed by a 2x2
 *            max pool, stride 2 SAME except after conv5 (stride 1 SAME)
 *   conv8    1x1 + bias -> 25 = 5 anchors x (x, y, w, h, score)
 *
 * (conv6/conv7 of the generic tiny YOLOv2 are absent: 7 filter sizes.)
 * A 416 input gives a 13x13 grid.
 */
#include "face_internal.h"

#include <stdio.h>
#include <string.h>

int fs_tiny_build(fs_weights *w, fs_simple_net *m, fs_error *err)
{
    memset(m, 0, sizeof *m);
    fs_netb b;
    int st = fs_nb_start(&b, "tiny_face_detector", w, err);
    if (st != FS_OK)
        return st;
    static const int ch[7] = {3, 16, 32, 64, 128, 256, 512};
    char name[64], p[16];
    fs_conv_desc c0 = {3, 3, 3, 16, 1, FS_PAD_VALID, FS_ACT_LEAKY,
                       fs_nb_get(&b, "conv0/filters", 3, 3, 3, 16),
                       fs_nb_get(&b, "conv0/bias", 16, 0, 0, 0), NULL, NULL, 0, NULL};
    int x = fs_nb_conv(&b, "conv0", 0, 0, &c0);
    x = fs_net_pool(b.net, "conv0/pool", x, FS_POOL_MAX, 2, 2, FS_PAD_SAME);
    for (int i = 1; i <= 5; i++) {
        int cin = ch[i], cout = ch[i + 1];
        snprintf(p, sizeof p, "conv%d", i);
        snprintf(name, sizeof name, "conv%d/depthwise", i);
        fs_conv_desc dw = {3, 3, cin, cin, 1, FS_PAD_SAME, FS_ACT_NONE,
                           fs_nb_getp(&b, p, "depthwise_filter", 3, 3, cin, 1), NULL, NULL, NULL, 0, NULL};
        x = fs_nb_conv(&b, name, x, 1, &dw);
        fs_conv_desc pw = {1, 1, cin, cout, 1, FS_PAD_SAME, FS_ACT_LEAKY,
                           fs_nb_getp(&b, p, "pointwise_filter", 1, 1, cin, cout),
                           fs_nb_getp(&b, p, "bias", cout, 0, 0, 0), NULL, NULL, 0, NULL};
        x = fs_nb_conv(&b, p, x, 0, &pw);
        snprintf(name, sizeof name, "conv%d/pool", i);
        x = fs_net_pool(b.net, name, x, FS_POOL_MAX, 2, i < 5 ? 2 : 1, FS_PAD_SAME);
    }
    fs_conv_desc c8 = {1, 1, 512, 5 * FS_TINY_ANCHORS, 1, FS_PAD_VALID, FS_ACT_NONE,
                       fs_nb_get(&b, "conv8/filters", 1, 1, 512, 25),
                       fs_nb_get(&b, "conv8/bias", 25, 0, 0, 0), NULL, NULL, 0, NULL};
    m->out = fs_nb_conv(&b, "conv8", x, 0, &c8);
    return fs_nb_done(&b, m->out, &m->net, err);
}
