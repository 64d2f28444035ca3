/* Pairwise precision / recall / F1 of a clustering against labels. */
#include <stdlib.h>
#include <string.h>

#include "facesearch/eval.h"

typedef struct cell {
    long c, l; /* cluster, label; singletons get unique negative ids */
} cell;

static int by_cl(const void *a, const void *b)
{
    const cell *x = a, *y = b;
    if (x->c != y->c)
        return (x->c > y->c) - (x->c < y->c);
    return (x->l > y->l) - (x->l < y->l);
}

static int by_l(const void *a, const void *b)
{
    const cell *x = a, *y = b;
    return (x->l > y->l) - (x->l < y->l);
}

static double pairs(size_t k) { return (double)k * (double)(k - 1) / 2; }

int fs_eval_pairwise(const int *cluster, const int *label, size_t n, fs_pairwise *out)
{
    memset(out, 0, sizeof *out);
    cell *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        v[i].c = cluster[i] >= 0 ? cluster[i] : -1 - (long)i;
        v[i].l = label[i] >= 0 ? label[i] : -1 - (long)i;
    }
    /* Pairs together in both = sum over (cluster, label) cells of C(k,2);
     * predicted pairs = sum over clusters; true pairs = sum over labels. */
    double both = 0, pred = 0, truth = 0;
    qsort(v, n, sizeof *v, by_cl);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && v[j].c == v[i].c; j++)
            ;
        pred += pairs(j - i);
        out->clusters++;
        for (size_t a = i, b; a < j; a = b) {
            for (b = a; b < j && v[b].l == v[a].l; b++)
                ;
            both += pairs(b - a);
        }
    }
    qsort(v, n, sizeof *v, by_l);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && v[j].l == v[i].l; j++)
            ;
        truth += pairs(j - i);
        out->identities++;
    }
    free(v);
    out->precision = pred > 0 ? both / pred : 1;
    out->recall = truth > 0 ? both / truth : 1;
    double s = out->precision + out->recall;
    out->f1 = s > 0 ? 2 * out->precision * out->recall / s : 0;
    return 0;
}
