/* Which face a single-subject photo is about (see fs_face_central), and how
 * much two boxes overlap. */
#include <math.h>

#include "facesearch/face.h"

int fs_face_central(const float (*box)[4], int n, int width, int height)
{
    double cx = width / 2.0, cy = height / 2.0, best = INFINITY;
    int pick = -1, inside = 0;
    for (int i = 0; i < n; i++) {
        const float *b = box[i];
        int in = cx >= b[0] && cx < b[0] + b[2] && cy >= b[1] && cy < b[1] + b[3];
        /* Containing boxes rank by size, the others by distance. */
        double key = in ? -(double)b[2] * b[3] : hypot(b[0] + b[2] / 2 - cx, b[1] + b[3] / 2 - cy);
        if ((in && !inside) || (in == inside && key < best)) {
            best = key;
            pick = i;
            inside = in;
        }
    }
    return pick;
}

double fs_box_iou(const float a[4], const float b[4])
{
    double iw = fmin(a[0] + a[2], b[0] + b[2]) - fmax(a[0], b[0]);
    double ih = fmin(a[1] + a[3], b[1] + b[3]) - fmax(a[1], b[1]);
    if (iw <= 0 || ih <= 0)
        return 0;
    return iw * ih / ((double)a[2] * a[3] + (double)b[2] * b[3] - iw * ih);
}
