/* Helpers that let a network definition read as a list of layers. */
#include "face_internal.h"

#include <stdio.h>
#include <string.h>

const float *fs_nb_get(fs_netb *b, const char *name, int d0, int d1, int d2, int d3)
{
    if (b->e.code)
        return NULL;
    int shape[4] = {d0, d1, d2, d3}, nd = 0;
    while (nd < 4 && shape[nd] > 0)
        nd++;
    const float *p;
    return fs_weights_get(b->w, name, nd, shape, &p, &b->e) == FS_OK ? p : NULL;
}

const float *fs_nb_getp(fs_netb *b, const char *prefix, const char *leaf, int d0, int d1,
                        int d2, int d3)
{
    char name[256];
    snprintf(name, sizeof name, "%s/%s", prefix, leaf);
    return fs_nb_get(b, name, d0, d1, d2, d3);
}

int fs_nb_conv(fs_netb *b, const char *name, int in, int dw, const fs_conv_desc *d)
{
    if (b->e.code)
        return -1;
    return dw ? fs_net_depthwise(b->net, name, in, d) : fs_net_conv(b->net, name, in, d);
}

int fs_nb_start(fs_netb *b, const char *name, fs_weights *w, fs_error *err)
{
    memset(b, 0, sizeof *b);
    b->w = w;
    if (!(b->net = fs_net_create(name, 3)))
        return fs_fail(err, FS_ENOMEM, "%s: out of memory", name);
    return FS_OK;
}

int fs_nb_done(fs_netb *b, int out, fs_net **net, fs_error *err)
{
    if (out >= 0)
        fs_net_output(b->net, out);
    int st = b->e.code ? fs_fail(err, b->e.code, "%s", b->e.msg) : fs_net_status(b->net, err);
    if (st == FS_OK)
        st = fs_weights_check_used(b->w, err);
    if (st != FS_OK) {
        fs_net_free(b->net);
        b->net = NULL;
        return st;
    }
    *net = b->net;
    return FS_OK;
}
