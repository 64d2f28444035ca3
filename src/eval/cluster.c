/* Pairwise precision / recall / F1 of a clustering against labels. */
#include <stdlib.h>
#include <string.h>

#include "facesearch/cluster.h"
#include "facesearch/eval.h"
#include "facesearch/index.h"

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

static int by_face(const void *a, const void *b, void *ctx)
{
    const uint64_t *id = ctx;
    uint64_t x = id[*(const size_t *)a], y = id[*(const size_t *)b];
    return (x > y) - (x < y);
}

int fs_eval_cluster_folders(fs_index *ix, const fs_eval_photo *ph, const uint64_t *face_id,
                            const uint64_t *image_id, size_t n, int dim, int k, float sim_thr,
                            fs_cluster_run *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    size_t *ord = malloc(sizeof(size_t) * (n + 1)), m = 0;
    uint64_t *ids = malloc(sizeof(uint64_t) * (n + 1)), *photo = malloc(sizeof(uint64_t) * (n + 1));
    float *vecs = malloc(sizeof(float) * (size_t)dim * (n + 1));
    uint32_t *cl = malloc(sizeof(uint32_t) * (n + 1));
    int *cluster = malloc(sizeof(int) * (n + 1)), *label = malloc(sizeof(int) * (n + 1));
    fs_edge *edges = NULL;
    int rc = FS_OK;
    if (!ord || !ids || !photo || !vecs || !cl || !cluster || !label) {
        rc = fs_fail(err, FS_ENOMEM, "out of memory");
        goto done;
    }
    /* The nodes: central faces, in face-id order as fs_knn_graph wants. */
    for (size_t i = 0; i < n; i++)
        if (ph[i].vec)
            ord[m++] = i;
    qsort_r(ord, m, sizeof *ord, by_face, (void *)face_id);
    for (size_t j = 0; j < m; j++) {
        ids[j] = face_id[ord[j]];
        photo[j] = image_id[ord[j]];
        memcpy(vecs + j * (size_t)dim, ph[ord[j]].vec, sizeof(float) * (size_t)dim);
    }
    fs_cluster_opts co = {0, 1, photo};
    /* k + 1: a face finds itself first. */
    if ((rc = fs_knn_graph(ix, vecs, ids, photo, m, k + 1, 1.0f - sim_thr, &edges, &out->edges,
                           err)) != FS_OK ||
        (rc = fs_cluster_whispers(m, edges, out->edges, &co, cl, &out->clusters, NULL, err)) !=
            FS_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        cluster[i] = -1; /* no face: a singleton */
        label[i] = ph[i].label;
    }
    for (size_t j = 0; j < m; j++)
        cluster[ord[j]] = (int)cl[j];
    fs_eval_pairwise(cluster, label, n, &out->pw);
    out->faces = m;
done:
    free(ord);
    free(ids);
    free(photo);
    free(vecs);
    free(cl);
    free(cluster);
    free(label);
    free(edges);
    return rc;
}
