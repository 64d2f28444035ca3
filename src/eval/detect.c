/* Detection against a baseline: matching boxes (facesearch/eval.h). */
#include <stdlib.h>

#include "facesearch/eval.h"
#include "facesearch/face.h"

int fs_eval_match_boxes(const float (*base)[4], int nb, const float (*test)[4], int nt,
                        double min_iou)
{
    char *used = calloc((size_t)nt + 1, 1);
    if (!used)
        return -1;
    int m = 0;
    for (int i = 0; i < nb; i++) {
        int best = -1;
        double bi = min_iou;
        for (int j = 0; j < nt; j++) {
            double v = used[j] ? 0 : fs_box_iou(base[i], test[j]);
            if (v >= bi) {
                bi = v;
                best = j;
            }
        }
        if (best >= 0) {
            used[best] = 1;
            m++;
        }
    }
    free(used);
    return m;
}
