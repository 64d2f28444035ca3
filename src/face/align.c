/*
 * Face chips: the recognition net's input warped upright from the landmarks
 * (fs_engine_opts.align = FS_ALIGN_CHIP), the way dlib cuts the chips its
 * ResNet -- the network face-api ported -- was trained on.
 *
 * Facts taken from dlib (get_face_chip_details): the template is dlib's mean
 * face shape of points 17-67 in a unit square; the chip is 150 px with a
 * padding of 0.25 (template point p lands at (p + 0.25) / 1.5 * 150); the fit
 * uses points 27-54 and 60-64 (nose, eyes, outer mouth and upper inner lip:
 * no jaw, no eyebrows, no lower lip, which move with expression); and the
 * transform is the least-squares similarity from template to landmarks.
 *
 * Coordinates: the warp (fs_warp_affine_u8) works in pixel indices (pixel
 * centres at integers); landmarks have the top-left pixel's corner at (0,0),
 * so they are moved by -0.5 first.  A face much larger than the chip is
 * first shrunk by an integer box filter so the bilinear warp does not alias
 * (dlib does the same with an image pyramid).
 *
 * The 512-D net's chip is InsightFace's ArcFace alignment: five points made
 * from the 68 (eye centres, nose tip, outer mouth corners; the variants
 * measured are in docs/accuracy.md) fitted onto its 112 px template, warped
 * the same way.
 */
#include "engine_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHIP FS_DESCRIPTOR_INPUT
#define CHIP_PADDING 0.25

/* dlib's mean face shape, points 17..67, unit square. */
static const double mean_x[51] = {
    0.000213256, 0.0752622, 0.18113,  0.29077,  0.393397, 0.586856, 0.689483, 0.799124,
    0.904991,    0.98004,   0.490127, 0.490127, 0.490127, 0.490127, 0.36688,  0.426036,
    0.490127,    0.554217,  0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
    0.182743,    0.645647,  0.714428, 0.793132, 0.858516, 0.79751,  0.719335, 0.254149,
    0.340985,    0.428858,  0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127,    0.423532,  0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
    0.553364,    0.490127,  0.42689};
static const double mean_y[51] = {
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482,
    0.038915, 0.106454, 0.203352,  0.307009,  0.409805,  0.515625,  0.587326,  0.609345,
    0.628106, 0.609345, 0.587326,  0.216423,  0.178758,  0.179852,  0.231733,  0.245099,
    0.244077, 0.231733, 0.179852,  0.178758,  0.216423,  0.244077,  0.245099,  0.780233,
    0.745405, 0.727388, 0.742578,  0.727388,  0.745405,  0.780233,  0.864805,  0.902192,
    0.909281, 0.902192, 0.864805,  0.784792,  0.778746,  0.785343,  0.778746,  0.784792,
    0.824182, 0.831803, 0.824182};

static int used(int i) { return (i >= 27 && i <= 54) || (i >= 60 && i <= 64); }

int fs_similarity_fit(int n, const double (*from)[2], const double (*to)[2], double m[6])
{
    if (n < 2)
        return FS_EUSAGE;
    double fx = 0, fy = 0, tx = 0, ty = 0;
    for (int i = 0; i < n; i++) {
        fx += from[i][0];
        fy += from[i][1];
        tx += to[i][0];
        ty += to[i][1];
    }
    fx /= n;
    fy /= n;
    tx /= n;
    ty /= n;
    /* With centred points u (from) and v (to), the least-squares
     * v ~ [a -b; b a] u has a = sum(u.v) / sum|u|^2 and
     * b = sum(u x v) / sum|u|^2 (Umeyama's solution in 2-D, no reflection). */
    double var = 0, dot = 0, cross = 0;
    for (int i = 0; i < n; i++) {
        double ux = from[i][0] - fx, uy = from[i][1] - fy;
        double vx = to[i][0] - tx, vy = to[i][1] - ty;
        var += ux * ux + uy * uy;
        dot += ux * vx + uy * vy;
        cross += ux * vy - uy * vx;
    }
    if (!(var > 0) || !isfinite(dot) || !isfinite(cross))
        return FS_EUSAGE;
    double a = dot / var, b = cross / var;
    if (!(a * a + b * b > 0))
        return FS_EUSAGE;
    m[0] = a;
    m[1] = -b;
    m[2] = tx - (a * fx - b * fy);
    m[3] = b;
    m[4] = a;
    m[5] = ty - (b * fx + a * fy);
    return FS_OK;
}

int fs_face_chip_transform(const fs_face *face, double m[6])
{
    if (!(face->flags & FS_FACE_LANDMARKS))
        return FS_EUSAGE;
    double from[51][2], to[51][2];
    int n = 0;
    for (int i = 17; i < FS_LANDMARKS; i++) {
        if (!used(i))
            continue;
        from[n][0] = (CHIP_PADDING + mean_x[i - 17]) / (1 + 2 * CHIP_PADDING) * CHIP;
        from[n][1] = (CHIP_PADDING + mean_y[i - 17]) / (1 + 2 * CHIP_PADDING) * CHIP;
        to[n][0] = face->landmarks[i][0] - 0.5;
        to[n][1] = face->landmarks[i][1] - 0.5;
        n++;
    }
    return fs_similarity_fit(n, (const double(*)[2])from, (const double(*)[2])to, m);
}

/* InsightFace's ArcFace template for 112x112 chips, pixel indices: left
 * eye, right eye, nose tip, left and right mouth corner (as seen). */
static const double arcface_template[5][2] = {{38.2946, 51.6963}, {73.5318, 51.5014},
                                              {56.0252, 71.7366}, {41.5493, 92.3655},
                                              {70.7299, 92.2041}};

void fs_face_five_points(const double lm[FS_LANDMARKS][2], double pts[5][2])
{
    memset(pts, 0, 5 * sizeof pts[0]);
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 2; k++) {
            pts[0][k] += lm[36 + i][k] / 6; /* the eye on the photo's left */
            pts[1][k] += lm[42 + i][k] / 6;
        }
    for (int k = 0; k < 2; k++) {
        pts[2][k] = lm[30][k];
        pts[3][k] = lm[48][k];
        pts[4][k] = lm[54][k];
    }
}

int fs_face_arcface_transform(const fs_face *face, double m[6])
{
    if (!(face->flags & FS_FACE_LANDMARKS))
        return FS_EUSAGE;
    double to[5][2];
    fs_face_five_points(face->landmarks, to);
    for (int i = 0; i < 5; i++) {
        to[i][0] -= 0.5; /* corner-based landmarks to pixel indices */
        to[i][1] -= 0.5;
    }
    return fs_similarity_fit(5, arcface_template, (const double(*)[2])to, m);
}

/* The photo's bounding rectangle of a size x size chip mapped by m, grown
 * by `grow` pixels and clipped; w or h <= 0 when it misses the photo. */
static fs_rect chip_bounds(const double m[6], int size, int grow, int img_w, int img_h)
{
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int k = 0; k < 4; k++) {
        double cx = (k & 1) ? size - 1 : 0, cy = (k & 2) ? size - 1 : 0;
        double sx = m[0] * cx + m[1] * cy + m[2], sy = m[3] * cx + m[4] * cy + m[5];
        x0 = fmin(x0, sx);
        y0 = fmin(y0, sy);
        x1 = fmax(x1, sx);
        y1 = fmax(y1, sy);
    }
    double l = fmax(floor(x0) - grow, 0), t = fmax(floor(y0) - grow, 0);
    double r = fmin(ceil(x1) + 1 + grow, img_w), b = fmin(ceil(y1) + 1 + grow, img_h);
    if (!(r > l && b > t))
        return (fs_rect){0, 0, 0, 0};
    return (fs_rect){(int)l, (int)t, (int)(r - l), (int)(b - t)};
}

/* The rectangle r of img shrunk by k (block means) into the worker's chip
 * source buffer. */
static int shrink(fs_worker *w, const fs_image *img, fs_rect r, int k, fs_error *err)
{
    int ow = (r.w + k - 1) / k, oh = (r.h + k - 1) / k;
    size_t need = (size_t)ow * oh * 3;
    if (need > w->chip_src_cap) {
        uint8_t *b = realloc(w->chip_src.data, need);
        if (!b)
            return fs_fail(err, FS_ENOMEM, "out of memory for a face chip");
        w->chip_src.data = b;
        w->chip_src_cap = need;
    }
    w->chip_src.width = ow;
    w->chip_src.height = oh;
    fs_block_mean(img, r, k, w->chip_src.data, ow * 3);
    return FS_OK;
}

int fs_chip_input(fs_worker *w, const fs_image *img, const double m[6], int size, float *dst,
                  fs_rect *bounds, fs_error *err)
{
    *bounds = chip_bounds(m, size, 0, img->width, img->height);
    double scale = sqrt(fabs(m[0] * m[4] - m[1] * m[3])); /* photo px per chip px */
    int k = scale >= 2 ? (int)scale : 1;
    if (k == 1 || bounds->w <= 0) {
        fs_warp_affine_u8(img, m, dst, size, size, NULL);
        return FS_OK;
    }
    fs_rect r = chip_bounds(m, size, k, img->width, img->height);
    int st = shrink(w, img, r, k, err);
    if (st != FS_OK)
        return st;
    /* Shrunk pixel X covers photo pixels r.x + kX .. r.x + kX + k - 1:
     * its centre is photo index r.x + kX + (k - 1) / 2. */
    double off = (k - 1) / 2.0;
    double ms[6] = {m[0] / k, m[1] / k, (m[2] - r.x - off) / k,
                    m[3] / k, m[4] / k, (m[5] - r.y - off) / k};
    fs_warp_affine_u8(&w->chip_src, ms, dst, size, size, NULL);
    return FS_OK;
}
