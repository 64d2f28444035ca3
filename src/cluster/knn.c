/* The thresholded k-NN graph of stored faces (see facesearch/cluster.h). */
#include <stdlib.h>
#include <string.h>

#include "facesearch/cluster.h"
#include "facesearch/index.h"

#define BATCH 4096

long fs_ids_find(const uint64_t *ids, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo] == id ? (long)lo : -1;
}

static int by_nodes(const void *a, const void *b)
{
    const fs_edge *x = a, *y = b;
    if (x->a != y->a)
        return (x->a > y->a) - (x->a < y->a);
    return (x->b > y->b) - (x->b < y->b);
}

int fs_knn_graph(fs_index *ix, const float *vecs, const uint64_t *ids,
                 const uint64_t *photo, size_t n, int k, float threshold, fs_edge **edges,
                 size_t *n_edges, fs_error *err)
{
    *edges = NULL;
    *n_edges = 0;
    int dim = fs_index_get_info(ix)->dim;
    float *dist = malloc(sizeof(float) * BATCH * (size_t)k);
    int64_t *hit = malloc(sizeof(int64_t) * BATCH * (size_t)k);
    size_t cap = n ? n * 4 : 1, m = 0;
    fs_edge *e = malloc(cap * sizeof *e);
    int rc = FS_OK;
    if (!dist || !hit || !e)
        rc = fs_fail(err, FS_ENOMEM, "out of memory for the k-NN graph of %zu faces", n);
    for (size_t start = 0; rc == FS_OK && start < n; start += BATCH) {
        int nb = n - start < BATCH ? (int)(n - start) : BATCH;
        rc = fs_index_search(ix, vecs + start * (size_t)dim, nb, k, dist, hit, err);
        for (int q = 0; rc == FS_OK && q < nb; q++) {
            uint32_t a = (uint32_t)(start + (size_t)q);
            for (int j = 0; j < k; j++) {
                float d = dist[(size_t)q * k + j];
                int64_t id = hit[(size_t)q * k + j];
                if (id < 0 || !(d < threshold))
                    continue;
                long b = fs_ids_find(ids, n, (uint64_t)id);
                if (b < 0 || (uint32_t)b == a || (photo && photo[b] == photo[a]))
                    continue;
                if (m == cap) {
                    fs_edge *p = realloc(e, 2 * cap * sizeof *e);
                    if (!p) {
                        rc = fs_fail(err, FS_ENOMEM, "out of memory for the k-NN graph");
                        break;
                    }
                    e = p;
                    cap *= 2;
                }
                uint32_t lo = a < (uint32_t)b ? a : (uint32_t)b, hi = a ^ (uint32_t)b ^ lo;
                e[m++] = (fs_edge){lo, hi, 1.0f - d / threshold};
            }
        }
    }
    free(dist);
    free(hit);
    if (rc != FS_OK) {
        free(e);
        return rc;
    }
    *edges = e;
    *n_edges = fs_edges_unique(e, m); /* found from both ends: keep one */
    return FS_OK;
}

size_t fs_edges_unique(fs_edge *e, size_t m)
{
    qsort(e, m, sizeof *e, by_nodes);
    size_t w = 0;
    for (size_t i = 0; i < m; i++) {
        if (w && e[w - 1].a == e[i].a && e[w - 1].b == e[i].b) {
            if (e[i].w > e[w - 1].w)
                e[w - 1].w = e[i].w;
            continue;
        }
        e[w++] = e[i];
    }
    return w;
}
