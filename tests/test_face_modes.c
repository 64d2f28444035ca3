/*
 * The engine's additions to the reference: chip alignment (similarity fit,
 * rotation invariance), flip-averaged descriptors, the detector input fitted
 * to small photos, the tight-crop fallback, tiles for small faces and their
 * merge.  Photos are made from the model package's samples, so these run
 * without ../shared.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/face/engine_internal.h"
#include "harness.h"

/* The sample's photo, or an empty image (and a failure). */
static fs_image sample(int i)
{
    char path[512];
    fs_image img = {0};
    fs_error e = {0};
    snprintf(path, sizeof path, "%s/demo/sample%d.jpg", fs_test_models_dir(), i);
    if (fs_image_decode_file(path, NULL, &img, NULL, &e) != FS_OK)
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
    return img;
}

/* A crop of img resized to w x h (w, h 0: not resized). */
static fs_image crop(const fs_image *img, int x, int y, int cw, int ch, int w, int h)
{
    fs_image c = {0}, r = {0};
    fs_error e = {0};
    if (fs_image_crop(img, x, y, cw, ch, &c, &e) != FS_OK)
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
    if (!w || !c.data)
        return c;
    if (fs_image_resize(&c, w, h, &r, &e) != FS_OK)
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
    fs_image_free(&c);
    return r;
}

static fs_engine *engine_with(const fs_engine_opts *o)
{
    fs_engine *e = NULL;
    fs_error err = {0};
    if (fs_engine_create(fs_test_models_dir(), o, &e, &err) != FS_OK)
        fs_test_fail(__FILE__, __LINE__, "%s", err.msg);
    return e;
}

/* Faces of img with a fresh worker of e; returns the count (-1 on error). */
static int faces_of(const fs_engine *e, const fs_image *img, int stages, fs_face *f, int cap)
{
    fs_worker *w = NULL;
    fs_error err = {0};
    int n = -1;
    if (fs_worker_create(e, &w, &err) != FS_OK ||
        fs_worker_faces(w, img, stages, f, cap, &n, &err) != FS_OK) {
        fs_test_fail(__FILE__, __LINE__, "%s", err.msg);
        n = -1;
    }
    fs_worker_destroy(w);
    return n;
}

static double iou(const fs_face *a, const fs_face *b)
{
    double iw = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
    double ih = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);
    return iw > 0 && ih > 0 ? iw * ih / (a->w * a->h + b->w * b->h - iw * ih) : 0;
}

TEST(face_similarity_fit_recovers_a_known_similarity)
{
    /* Arbitrary points mapped by scale 1.7, rotation 23 degrees, shift. */
    double from[6][2] = {{10, 20}, {40, 22}, {25, 50}, {12, 70}, {44, 68}, {30, 35}};
    double to[6][2], m[6];
    const double s = 1.7, a = 23 * M_PI / 180, tx = 305.25, ty = -17.5;
    for (int i = 0; i < 6; i++) {
        to[i][0] = s * (cos(a) * from[i][0] - sin(a) * from[i][1]) + tx;
        to[i][1] = s * (sin(a) * from[i][0] + cos(a) * from[i][1]) + ty;
    }
    REQUIRE(fs_similarity_fit(6, (const double(*)[2])from, (const double(*)[2])to, m) == FS_OK);
    CHECK_NEAR(m[0], s * cos(a), 1e-12);
    CHECK_NEAR(m[1], -s * sin(a), 1e-12);
    CHECK_NEAR(m[2], tx, 1e-10);
    CHECK_NEAR(m[3], s * sin(a), 1e-12);
    CHECK_NEAR(m[4], s * cos(a), 1e-12);
    CHECK_NEAR(m[5], ty, 1e-10);
    /* Least squares: moving one target point moves the fit by 1/n of it in
     * translation only when the source is centred -- here, just check the
     * residual of the exact fit is zero and a perturbed one is not. */
    to[2][0] += 3;
    REQUIRE(fs_similarity_fit(6, (const double(*)[2])from, (const double(*)[2])to, m) == FS_OK);
    CHECK(fabs(m[0] - s * cos(a)) > 1e-6);
    /* Degenerate: coincident sources. */
    double same[3][2] = {{5, 5}, {5, 5}, {5, 5}};
    CHECK_INT(fs_similarity_fit(3, (const double(*)[2])same, (const double(*)[2])to, m),
              FS_EUSAGE);
    CHECK_INT(fs_similarity_fit(1, (const double(*)[2])from, (const double(*)[2])to, m),
              FS_EUSAGE);
}

/* Photo pixel index -> chip pixel index for the chip transform m. */
static void to_chip(const double m[6], double x, double y, double *cx, double *cy)
{
    double inv[6];
    fs_affine_invert(m, inv);
    *cx = inv[0] * x + inv[1] * y + inv[2];
    *cy = inv[3] * x + inv[4] * y + inv[5];
}

static void eye(const fs_face *f, int from, double *x, double *y)
{
    *x = *y = 0;
    for (int i = from; i < from + 6; i++) {
        *x += (f->landmarks[i][0] - 0.5) / 6;
        *y += (f->landmarks[i][1] - 0.5) / 6;
    }
}

TEST(face_chip_transform_levels_the_eyes_and_follows_the_face)
{
    /* sample1's second face is tilted by ~29 degrees. */
    fs_image img = sample(1);
    REQUIRE(img.data);
    fs_engine *e = engine_with(NULL);
    REQUIRE(e);
    fs_face f[8];
    int n = faces_of(e, &img, FS_STAGE_LANDMARKS, f, 8);
    REQUIRE(n == 3);
    double m[6], lx, ly, rx, ry, clx, cly, crx, cry;
    REQUIRE(fs_face_chip_transform(&f[1], m) == FS_OK);
    eye(&f[1], 36, &lx, &ly);
    eye(&f[1], 42, &rx, &ry);
    CHECK(fabs(atan2(ry - ly, rx - lx)) > 0.4); /* tilted in the photo */
    to_chip(m, lx, ly, &clx, &cly);
    to_chip(m, rx, ry, &crx, &cry);
    /* Level in the chip, about dlib's eye distance (0.529 of the template's
     * unit square = 52.9 px of the 150 px chip), about a third down. */
    CHECK_MSG(fabs(cry - cly) < 3, "eyes %.1f px apart vertically", cry - cly);
    CHECK_NEAR(crx - clx, 52.9, 6);
    CHECK_NEAR((cly + cry) / 2, 150 * (0.25 + 0.23) / 1.5, 8);
    /* Covariance: moving the landmarks by a similarity S moves the chip
     * transform to S o m, to rounding. */
    const double a = 0.3, s = 0.8, tx = 40, ty = -12;
    fs_face g = f[1];
    for (int i = 0; i < FS_LANDMARKS; i++) {
        double x = f[1].landmarks[i][0] - 0.5, y = f[1].landmarks[i][1] - 0.5;
        g.landmarks[i][0] = s * (cos(a) * x - sin(a) * y) + tx + 0.5;
        g.landmarks[i][1] = s * (sin(a) * x + cos(a) * y) + ty + 0.5;
    }
    double mg[6];
    REQUIRE(fs_face_chip_transform(&g, mg) == FS_OK);
    double sm[6] = {s * cos(a), -s * sin(a), tx, s * sin(a), s * cos(a), ty};
    double want[6] = {sm[0] * m[0] + sm[1] * m[3], sm[0] * m[1] + sm[1] * m[4],
                      sm[0] * m[2] + sm[1] * m[5] + sm[2], sm[3] * m[0] + sm[4] * m[3],
                      sm[3] * m[1] + sm[4] * m[4], sm[3] * m[2] + sm[4] * m[5] + sm[5]};
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(mg[i], want[i], 1e-9 * (1 + fabs(want[i])));
    /* No landmarks, no transform. */
    g.flags = 0;
    CHECK_INT(fs_face_chip_transform(&g, mg), FS_EUSAGE);
    fs_engine_destroy(e);
    fs_image_free(&img);
}

/* The photo rotated by `deg` about its centre (black outside). */
static fs_image rotated(const fs_image *src, double deg)
{
    fs_image out = {0};
    fs_error e = {0};
    float *px = malloc((size_t)src->width * src->height * 3 * sizeof *px);
    if (!px || fs_image_alloc(&out, src->width, src->height, &e) != FS_OK) {
        free(px);
        fs_test_fail(__FILE__, __LINE__, "out of memory");
        return out;
    }
    double a = deg * M_PI / 180, cx = (src->width - 1) / 2.0, cy = (src->height - 1) / 2.0;
    double m[6] = {cos(a), -sin(a), 0, sin(a), cos(a), 0};
    m[2] = cx - m[0] * cx - m[1] * cy;
    m[5] = cy - m[3] * cx - m[4] * cy;
    fs_warp_affine_u8(src, m, px, src->width, src->height, NULL);
    for (size_t i = 0; i < (size_t)src->width * src->height * 3; i++)
        out.data[i] = (uint8_t)lrintf(px[i]);
    free(px);
    return out;
}

/* Distance between the first faces of two photos under opts. */
static double pair_distance(const fs_engine_opts *o, const fs_image *a, const fs_image *b)
{
    fs_engine *e = engine_with(o);
    fs_face fa[4], fb[4];
    double d = INFINITY;
    if (e && faces_of(e, a, FS_STAGE_ALL, fa, 4) >= 1 && faces_of(e, b, FS_STAGE_ALL, fb, 4) >= 1)
        d = sqrt(fmax(0, 2 - 2 * fs_descriptor_similarity(fa[0].descriptor, fb[0].descriptor,
                                                          128))); /* unit vectors */
    fs_engine_destroy(e);
    return d;
}

TEST(face_chip_alignment_undoes_rotation_flip_averaging_undoes_mirroring)
{
    fs_image img = sample(1);
    REQUIRE(img.data);
    /* sample1's first face with room around it */
    fs_image face = crop(&img, 302, 275, 400, 400, 0, 0);
    fs_image_free(&img);
    REQUIRE(face.data);
    fs_image rot = rotated(&face, 25), mir = {0};
    fs_error e = {0};
    REQUIRE(rot.data);
    REQUIRE(fs_image_crop(&face, 0, 0, face.width, face.height, &mir, &e) == FS_OK);
    REQUIRE(fs_image_orient(&mir, 2, &e) == FS_OK); /* mirrored left-right */
    fs_engine_opts o;
    fs_engine_opts_init(&o);
    double ref_rot = pair_distance(&o, &face, &rot), ref_mir = pair_distance(&o, &face, &mir);
    o.align = FS_ALIGN_CHIP;
    double chip_rot = pair_distance(&o, &face, &rot), chip_mir = pair_distance(&o, &face, &mir);
    o.flip = 1;
    double flip_mir = pair_distance(&o, &face, &mir);
    printf("    info: 25 deg rotation: ref %.3f, chip %.3f; mirror: ref %.3f, chip %.3f, "
           "chip+flip %.3f\n",
           ref_rot, chip_rot, ref_mir, chip_mir, flip_mir);
    CHECK(chip_rot < 0.2);
    CHECK(chip_rot < ref_rot * 0.6);
    CHECK(flip_mir < 0.15);
    CHECK(flip_mir < chip_mir * 0.6);
    fs_image_free(&face);
    fs_image_free(&rot);
    fs_image_free(&mir);
}

TEST(face_descriptor_mode_names_alignment_and_flip)
{
    static const struct {
        fs_align_kind align;
        int flip;
        const char *name;
    } cases[] = {{FS_ALIGN_REF, 0, "resnet128/ref"}, {FS_ALIGN_CHIP, 1, "resnet128/chip+flip"}};
    for (int i = 0; i < 2; i++) {
        fs_engine_opts o;
        fs_engine_opts_init(&o);
        o.align = cases[i].align;
        o.flip = cases[i].flip;
        fs_engine *e = engine_with(&o);
        REQUIRE(e);
        CHECK_STR(fs_engine_descriptor_mode(e), cases[i].name);
        fs_engine_destroy(e);
    }
}

TEST(face_fit_input_runs_small_photos_at_their_own_scale)
{
    fs_engine_opts o;
    fs_engine_opts_init(&o);
    o.fit_input = 1;
    fs_engine *fit = engine_with(&o);
    fs_engine *ref = engine_with(NULL);
    REQUIRE(fit && ref);
    /* the plan for a photo's longer side */
    CHECK_INT(fs_engine_det_plan(fit, &fit->det, 250)->size, 256);
    CHECK_INT(fs_engine_det_plan(fit, &fit->det, 480)->size, 480);
    CHECK_INT(fs_engine_det_plan(fit, &fit->det, 60)->size, 128);
    CHECK_INT(fs_engine_det_plan(fit, &fit->det, 1920)->size, 512);
    CHECK_INT(fs_engine_det_plan(ref, &ref->det, 250)->size, 512);
    /* 256 is a quarter of the 512 pass */
    CHECK_NEAR(fs_plan_flops(fs_engine_det_plan(fit, &fit->det, 250)->plan) /
                   fs_plan_flops(fit->det_plan), 0.25, 0.01);
    /* sample2 at 480 px: the same faces either way */
    fs_image img = sample(2);
    fs_image small = crop(&img, 0, 0, img.width, img.height, 480, 342);
    fs_image_free(&img);
    REQUIRE(small.data);
    fs_face a[8], b[8];
    int na = faces_of(fit, &small, FS_STAGE_DETECT, a, 8);
    int nb = faces_of(ref, &small, FS_STAGE_DETECT, b, 8);
    CHECK_INT(na, 3);
    CHECK_INT(nb, 3);
    for (int i = 0; i < na; i++) {
        double best = 0;
        for (int j = 0; j < nb; j++)
            best = fmax(best, iou(&a[i], &b[j]));
        CHECK_MSG(best > 0.7, "face %d: IoU %.2f with the 512 pass", i, best);
    }
    fs_image_free(&small);
    fs_engine_destroy(fit);
    fs_engine_destroy(ref);
}

TEST(face_fallback_finds_a_tight_crop_and_flags_it)
{
    /* A face filling a 1200x1600 photo: the 512 pass finds nothing; the
     * fallback shrinks it by 3 before padding. */
    fs_image img = sample(1);
    fs_image tight = crop(&img, 424, 375, 157, 210, 1200, 1600);
    fs_image_free(&img);
    REQUIRE(tight.data);
    fs_engine_opts o;
    fs_engine_opts_init(&o);
    o.fit_input = 1;
    fs_engine *plain = engine_with(&o);
    o.fallback = 1;
    o.align = FS_ALIGN_CHIP;
    fs_engine *fb = engine_with(&o);
    REQUIRE(plain && fb);
    fs_face f[4];
    CHECK_INT(faces_of(plain, &tight, FS_STAGE_DETECT, f, 4), 0);
    int n = faces_of(fb, &tight, FS_STAGE_ALL, f, 4);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(f[0].flags & (FS_FACE_FALLBACK | FS_FACE_DESCRIPTOR | FS_FACE_EMPTY_CROP),
                  FS_FACE_FALLBACK | FS_FACE_DESCRIPTOR);
        CHECK(f[0].score > 0.5f);
        CHECK(f[0].x >= 0 && f[0].y >= 0 && f[0].x + f[0].w <= 1200 && f[0].y + f[0].h <= 1600);
        CHECK(f[0].w > 800); /* the face, not a detail of it */
    }
    /* a photo with a face found normally carries no flag */
    fs_image s2 = sample(2);
    REQUIRE(s2.data);
    n = faces_of(fb, &s2, FS_STAGE_DETECT, f, 4);
    CHECK_INT(n, 3);
    for (int i = 0; i < n; i++)
        CHECK_INT(f[i].flags & FS_FACE_FALLBACK, 0);
    fs_image_free(&s2);
    fs_image_free(&tight);
    fs_engine_destroy(plain);
    fs_engine_destroy(fb);
}

TEST(face_fallback_rescue_detector_on_lfw_misses)
{
    /* LFW A-M photos where neither SSD pass scores the face above 0.5: the
     * tiny detector's best face (flagged) is the subject, at the centre. */
    const char *shared = fs_test_shared_dir();
    if (!shared)
        SKIP("../shared absent: no LFW photos");
    static const char *names[] = {"Kim_Dae-jung/Kim_Dae-jung_0002.jpg",
                                  "John_Thune/John_Thune_0001.jpg"};
    fs_engine_opts o;
    fs_engine_opts_init(&o);
    o.fit_input = 1;
    fs_engine *plain = engine_with(&o);
    o.fallback = 1;
    fs_engine *fb = engine_with(&o);
    REQUIRE(plain && fb);
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/data/lfw_am/%s", shared, names[i]);
        fs_image img = {0};
        fs_error e = {0};
        CHECK_OK(fs_image_decode_file(path, NULL, &img, NULL, &e), &e);
        if (!img.data)
            continue;
        fs_face f[4];
        CHECK_INT(faces_of(plain, &img, FS_STAGE_DETECT, f, 4), 0);
        CHECK_INT(faces_of(fb, &img, FS_STAGE_DETECT, f, 4), 1);
        CHECK(f[0].flags & FS_FACE_FALLBACK);
        CHECK(f[0].score > 0.3f && f[0].score < 0.5f);
        CHECK(f[0].x < 125 && f[0].x + f[0].w > 125 && f[0].y < 125 && f[0].y + f[0].h > 125);
        fs_image_free(&img);
    }
    fs_engine_destroy(plain);
    fs_engine_destroy(fb);
}

TEST(face_tiles_find_small_faces_in_a_big_photo)
{
    /* sample1 shrunk to 300 px wide (faces ~30 px) on a 1200x800 canvas:
     * the whole-photo pass sees them at 13 px, the 400 px tiles at 38 px. */
    fs_image img = sample(1), canvas = {0};
    fs_error e = {0};
    fs_image small = crop(&img, 0, 0, img.width, img.height, 300, 200);
    fs_image_free(&img);
    REQUIRE(small.data && fs_image_alloc(&canvas, 1200, 800, &e) == FS_OK);
    memset(canvas.data, 110, (size_t)1200 * 800 * 3);
    const int ox = 520, oy = 380; /* across the inner tile edges */
    for (int y = 0; y < small.height; y++)
        memcpy(canvas.data + ((size_t)(oy + y) * 1200 + ox) * 3, small.data + (size_t)y * 300 * 3,
               300 * 3);
    fs_engine_opts o;
    fs_engine_opts_init(&o);
    fs_engine *whole = engine_with(&o);
    o.tile_size = 400;
    fs_engine *tiled = engine_with(&o);
    REQUIRE(whole && tiled);
    fs_face f[16];
    int nw = faces_of(whole, &canvas, FS_STAGE_DETECT, f, 16);
    CHECK_MSG(nw < 3, "the whole-photo pass found %d of the 3 faces", nw);
    int n = faces_of(tiled, &canvas, FS_STAGE_DETECT, f, 16);
    printf("    info: 30 px faces in 1200x800: whole photo %d, with 400 px tiles %d of 3\n", nw, n);
    CHECK_INT(n, 3); /* each face once, though several tiles hold it */
    for (int i = 0; i < n; i++) {
        CHECK(f[i].w > 20 && f[i].w < 45);
        CHECK(f[i].x > ox && f[i].y > oy && f[i].x + f[i].w < ox + 300);
        CHECK_INT(f[i].flags, 0);
    }
    fs_image_free(&small);
    fs_image_free(&canvas);
    fs_engine_destroy(whole);
    fs_engine_destroy(tiled);
}

TEST(face_detection_merge_keeps_the_best_of_overlapping_boxes)
{
    /* x, y, w, h, score, flags, drop, seq, coarse */
    fs_det d[8] = {
        {100, 100, 50, 60, 0.7f, 0, 0, 0, 0},  /* face A, tile */
        {102, 101, 50, 60, 0.9f, 0, 0, 0, 0},  /* face A, tile, better */
        {300, 100, 40, 40, 0.95f, 0, 1, 0, 0}, /* not the tile's to report */
        {400, 400, 30, 30, 0.8f, 0, 0, 0, 0},  /* face B, tile */
        {410, 405, 30, 30, 0.8f, 0, 0, 0, 0},  /* IoU 0.4 with B, same kind: kept */
        {395, 405, 30, 30, 0.99f, 0, 0, 0, 1}, /* whole-photo box of B, IoU 0.49: dropped
                                                  though it scores best */
        {90, 90, 80, 90, 0.6f, 0, 0, 0, 1},    /* A's coarse box, holds A's: dropped */
        {0, 0, 10, 10, 0.6f, FS_FACE_FALLBACK, 0, 0, 1},
    };
    int n = fs_det_merge(d, 8, 10);
    CHECK_INT(n, 4);
    CHECK(d[0].score == 0.9f && d[0].x == 102); /* best score first */
    CHECK(d[1].x == 400 && d[2].x == 410);      /* equal scores keep their order */
    CHECK(d[3].flags == FS_FACE_FALLBACK);
    fs_det e2[2] = {{0, 0, 10, 10, 0.5f, 0, 0, 0, 0}, {50, 0, 10, 10, 0.6f, 0, 0, 0, 0}};
    CHECK_INT(fs_det_merge(e2, 2, 1), 1);
    CHECK(e2[0].score == 0.6f);
}
