/*
 * The reference's box, crop, landmark and alignment arithmetic (golden
 * README §4.5, §5.1, §5.3, §6.1), quirks included, in its precision: double
 * where face-api computes in JavaScript numbers, float where it uses tensors.
 */
#include "face_internal.h"

#include <math.h>

void fs_ssd_box_pixels(const float *box, int img_w, int img_h, int side, int input_size,
                       double *x, double *y, double *w, double *h)
{
    double scale = (double)input_size / side;
    double rw = round((double)img_w * scale), rh = round((double)img_h * scale);
    double pad_x = input_size / rw, pad_y = input_size / rh;
    double top = fmax(0.0, box[0]) * pad_y, bottom = fmin(1.0, box[2]) * pad_y;
    double left = fmax(0.0, box[1]) * pad_x, right = fmin(1.0, box[3]) * pad_x;
    *x = left * img_w;
    *y = top * img_h;
    *w = (right - left) * img_w;
    *h = (bottom - top) * img_h;
}

fs_rect fs_box_crop(double x, double y, double w, double h, int img_w, int img_h)
{
    double x0 = fmax(x, 0.0), y0 = fmax(y, 0.0);
    double cw = fmin(x + w - x0, img_w - x0), ch = fmin(y + h - y0, img_h - y0);
    return (fs_rect){(int)floor(x0), (int)floor(y0), (int)floor(cw), (int)floor(ch)};
}

const int fs_landmark_mirror[FS_LANDMARKS] = {
    16, 15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,  0,  /* jaw */
    26, 25, 24, 23, 22, 21, 20, 19, 18, 17,                          /* brows */
    27, 28, 29, 30, 35, 34, 33, 32, 31,                              /* nose */
    45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,                  /* eyes */
    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,                  /* outer lips */
    64, 63, 62, 61, 60, 67, 66, 65};                                 /* inner lips */

void fs_landmarks_place(const float *raw, int crop_w, int crop_h, double shift_x,
                        double shift_y, double pts[FS_LANDMARKS][2])
{
    const double in = FS_LANDMARK_INPUT;
    double scale = in / (crop_w > crop_h ? crop_w : crop_h);
    double sw = crop_w * scale, sh = crop_h * scale;
    /* face-api builds these as float32 tensors */
    float fw = (float)sw, fh = (float)sh;
    float px = (float)(sw < sh ? fabs(sw - sh) / 2 : 0.0);
    float py = (float)(sh < sw ? fabs(sw - sh) / 2 : 0.0);
    for (int i = 0; i < FS_LANDMARKS; i++) {
        float rx = (raw[2 * i] * (float)in - px) / fw;
        float ry = (raw[2 * i + 1] * (float)in - py) / fh;
        pts[i][0] = (double)rx * crop_w + shift_x;
        pts[i][1] = (double)ry * crop_h + shift_y;
    }
}

/* Mean of points [from, to) summed left to right, as face-api's reduce. */
static void centre(const double pts[][2], int from, int to, double *cx, double *cy)
{
    double sx = 0, sy = 0;
    for (int i = from; i < to; i++) {
        sx += pts[i][0];
        sy += pts[i][1];
    }
    *cx = sx / (to - from);
    *cy = sy / (to - from);
}

fs_rect fs_align_rect(const double pts[FS_LANDMARKS][2], int crop_w, int crop_h)
{
    double c[3][2];
    centre(pts, 36, 42, &c[0][0], &c[0][1]); /* left eye */
    centre(pts, 42, 48, &c[1][0], &c[1][1]); /* right eye */
    centre(pts, 48, 68, &c[2][0], &c[2][1]); /* mouth */
    double d0 = sqrt((c[2][0] - c[0][0]) * (c[2][0] - c[0][0]) +
                     (c[2][1] - c[0][1]) * (c[2][1] - c[0][1]));
    double d1 = sqrt((c[2][0] - c[1][0]) * (c[2][0] - c[1][0]) +
                     (c[2][1] - c[1][1]) * (c[2][1] - c[1][1]));
    double size = floor((d0 + d1) / 2 / 0.45);
    double rx, ry;
    centre(c, 0, 3, &rx, &ry);
    double x = floor(fmax(0.0, rx - 0.5 * size)), y = floor(fmax(0.0, ry - 0.43 * size));
    /* width/height capped by the landmark crop's size plus x, y: face-api */
    double w = fmin(size, crop_w + x), h = fmin(size, crop_h + y);
    return (fs_rect){(int)x, (int)y, (int)w, (int)h};
}
