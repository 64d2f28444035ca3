/*
 * SSD anchors generated for any input size: at 512 they must be the model's
 * stored table (Output/extra_dim) to the bit; at other sizes they keep the
 * pixel strides and sizes of the 512 grid.
 */
#include <stdlib.h>

#include "../src/face/face_internal.h"
#include "harness.h"

/* Feature-map sizes of the SSD planned for an input side. */
static int grids(const fs_ssd_net *m, int side, int gh[FS_SSD_HEADS], int gw[FS_SSD_HEADS])
{
    fs_plan *p = NULL;
    fs_error e = {0};
    if (fs_plan_create(m->net, side, side, 0, &p, &e) != FS_OK) {
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
        return -1;
    }
    for (int k = 0; k < FS_SSD_HEADS; k++) {
        fs_tensor t = fs_plan_tensor(p, NULL, m->box[k]);
        gh[k] = t.h;
        gw[k] = t.w;
    }
    fs_plan_free(p);
    return 0;
}

TEST(ssd_anchor_generator_reproduces_stored_anchors)
{
    fs_weights *w = NULL;
    fs_error e = {0};
    static fs_ssd_net m;
    CHECK_OK(fs_weights_load(fs_test_models_dir(), "ssd_mobilenetv1_model", &w, &e), &e);
    REQUIRE(w);
    CHECK_OK(fs_ssd_build(w, &m, &e), &e);
    fs_weights_free(w);
    REQUIRE(m.net);
    int gh[FS_SSD_HEADS], gw[FS_SSD_HEADS];
    float *a = malloc(4 * 4 * FS_SSD_ANCHORS * sizeof *a);
    REQUIRE(a && grids(&m, 512, gh, gw) == 0);
    CHECK_INT(fs_ssd_anchor_count(gh, gw), FS_SSD_ANCHORS);
    CHECK_INT(fs_ssd_anchors(512, gh, gw, a), FS_SSD_ANCHORS);
    int differ = 0;
    for (int i = 0; i < 4 * FS_SSD_ANCHORS; i++)
        if (a[i] != m.anchors[i] && differ++ < 5)
            fs_test_fail(__FILE__, __LINE__, "anchor %d coord %d: %.9g, stored %.9g", i / 4, i % 4,
                         a[i], m.anchors[i]);
    CHECK_INT(differ, 0);

    /* 256: maps 16, 8, 4, 2, 1, 1; the first anchor of map 0 is still 51.2 px
     * across with its centre 8 px in, i.e. 0.2 and 1/32 of the input. */
    REQUIRE(grids(&m, 256, gh, gw) == 0);
    CHECK_INT(gh[0], 16);
    CHECK_INT(gh[5], 1);
    int n = fs_ssd_anchors(256, gh, gw, a);
    CHECK_INT(n, fs_ssd_anchor_count(gh, gw));
    CHECK_INT(n, 16 * 16 * 3 + (64 + 16 + 4 + 1 + 1) * 6);
    CHECK_NEAR(a[2] - a[0], 0.2, 1e-6);
    CHECK_NEAR((a[0] + a[2]) / 2, 8.0 / 256, 1e-7);
    /* map 1 starts after map 0: centre 16 px, scale 0.35 * 512 px */
    const float *b = a + 4 * (16 * 16 * 3);
    CHECK_NEAR((b[1] + b[3]) / 2, 16.0 / 256, 1e-7);
    CHECK_NEAR(b[3] - b[1], 0.35 * 2, 1e-6);
    /* 288 (not a power of two): maps 18, 9, 5, 3, 2, 1 */
    REQUIRE(grids(&m, 288, gh, gw) == 0);
    CHECK_INT(gh[2], 5);
    CHECK_INT(fs_ssd_anchors(288, gh, gw, a), fs_ssd_anchor_count(gh, gw));
    free(a);
    fs_net_free(m.net);
}
