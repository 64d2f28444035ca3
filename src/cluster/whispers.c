/* Chinese whispers clustering (see facesearch/cluster.h). */
#include <stdlib.h>
#include <string.h>

#include "facesearch/cluster.h"

static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Nodes sorted by group, so each node's group is a range of `members`. */
typedef struct groups {
    uint32_t *members;  /* node indices ordered by (group, index) */
    size_t *first, *last; /* per node: its group's range in members */
} groups;

static int by_group(const void *a, const void *b, void *ctx)
{
    const uint64_t *key = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (key[x] != key[y])
        return key[x] < key[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static int make_groups(const uint64_t *key, size_t n, groups *g)
{
    g->members = malloc((n + 1) * sizeof *g->members);
    g->first = malloc((n + 1) * sizeof *g->first);
    g->last = malloc((n + 1) * sizeof *g->last);
    if (!g->members || !g->first || !g->last)
        return -1;
    for (size_t i = 0; i < n; i++)
        g->members[i] = (uint32_t)i;
    qsort_r(g->members, n, sizeof *g->members, by_group, (void *)key);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && key[g->members[j]] == key[g->members[i]]; j++)
            ;
        for (size_t t = i; t < j; t++) {
            g->first[g->members[t]] = i;
            g->last[g->members[t]] = j;
        }
    }
    return 0;
}

/* True if a node of v's group other than v holds label l. */
static int group_holds(const groups *g, const uint32_t *label, uint32_t v, uint32_t l)
{
    for (size_t t = g->first[v]; t < g->last[v]; t++)
        if (g->members[t] != v && label[g->members[t]] == l)
            return 1;
    return 0;
}

int fs_cluster_whispers(size_t n, const fs_edge *edges, size_t n_edges,
                        const fs_cluster_opts *opts, uint32_t *label, size_t *k, uint32_t *rep,
                        fs_error *err)
{
    int rounds = opts && opts->max_rounds > 0 ? opts->max_rounds : 50;
    uint64_t seed = opts && opts->seed ? opts->seed : 1;
    groups g = {0};
    const int constrained = opts && opts->group;
    *k = 0;
    /* Adjacency in CSR form, both directions. */
    size_t *start = calloc(n + 1, sizeof *start);
    uint32_t *nbr = malloc((2 * n_edges + 1) * sizeof *nbr);
    float *wt = malloc((2 * n_edges + 1) * sizeof *wt);
    uint32_t *order = malloc((n + 1) * sizeof *order);
    /* Scratch for one node's label weights: sparse accumulator.  Labels are
     * node indices, or n + v for a node v forced out on its own. */
    float *acc = calloc(2 * n + 1, sizeof *acc);
    uint32_t *touched = malloc((2 * n + 1) * sizeof *touched);
    int rc = FS_OK;
    if (!start || !nbr || !wt || !order || !acc || !touched ||
        (constrained && make_groups(opts->group, n, &g) != 0)) {
        rc = fs_fail(err, FS_ENOMEM, "out of memory clustering %zu faces", n);
        goto out;
    }
    for (size_t e = 0; e < n_edges; e++) {
        if (edges[e].a >= n || edges[e].b >= n) {
            rc = fs_fail(err, FS_EUSAGE, "edge %zu refers to node beyond %zu", e, n);
            goto out;
        }
        start[edges[e].a + 1]++;
        start[edges[e].b + 1]++;
    }
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    {
        size_t *fill = malloc((n + 1) * sizeof *fill);
        if (!fill) {
            rc = fs_fail(err, FS_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(fill, start, (n + 1) * sizeof *fill);
        for (size_t e = 0; e < n_edges; e++) {
            uint32_t a = edges[e].a, b = edges[e].b;
            nbr[fill[a]] = b;
            wt[fill[a]++] = edges[e].w;
            nbr[fill[b]] = a;
            wt[fill[b]++] = edges[e].w;
        }
        free(fill);
    }
    for (size_t i = 0; i < n; i++) {
        label[i] = (uint32_t)i;
        order[i] = (uint32_t)i;
    }
    for (int r = 0; r < rounds; r++) {
        /* Fisher-Yates shuffle of the visiting order. */
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(mix(&seed) % i);
            uint32_t t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        size_t changed = 0;
        for (size_t oi = 0; oi < n; oi++) {
            uint32_t v = order[oi];
            size_t nt = 0;
            for (size_t e = start[v]; e < start[v + 1]; e++) {
                uint32_t l = label[nbr[e]];
                if (acc[l] == 0)
                    touched[nt++] = l;
                acc[l] += wt[e];
            }
            if (!nt)
                continue;
            uint32_t best = label[v];
            float bw = -1;
            for (size_t t = 0; t < nt; t++) {
                uint32_t l = touched[t];
                if (constrained && group_holds(&g, label, v, l))
                    continue;
                /* Ties go to the smaller label: deterministic. */
                if (acc[l] > bw || (acc[l] == bw && l < best)) {
                    bw = acc[l];
                    best = l;
                }
            }
            if (bw < 0 && constrained && group_holds(&g, label, v, best))
                best = (uint32_t)(n + v); /* every option taken by its group */
            for (size_t t = 0; t < nt; t++)
                acc[touched[t]] = 0;
            if (best != label[v]) {
                label[v] = best;
                changed++;
            }
        }
        if (!changed)
            break;
    }
    /* Renumber by first appearance (touched[] reused as the old-to-new map). */
    {
        uint32_t *map = touched;
        for (size_t i = 0; i < 2 * n; i++)
            map[i] = UINT32_MAX;
        size_t next = 0;
        for (size_t i = 0; i < n; i++) {
            if (map[label[i]] == UINT32_MAX)
                map[label[i]] = (uint32_t)next++;
            label[i] = map[label[i]];
        }
        *k = next;
    }
    if (rep) {
        /* Representative: most total weight inside its own cluster. */
        float *best = acc;
        for (size_t c = 0; c < *k; c++) {
            best[c] = -1;
            rep[c] = UINT32_MAX;
        }
        for (size_t v = 0; v < n; v++) {
            float s = 0;
            for (size_t e = start[v]; e < start[v + 1]; e++)
                if (label[nbr[e]] == label[v])
                    s += wt[e];
            if (s > best[label[v]]) {
                best[label[v]] = s;
                rep[label[v]] = (uint32_t)v;
            }
        }
    }
out:
    free(start);
    free(nbr);
    free(wt);
    free(order);
    free(acc);
    free(touched);
    free(g.members);
    free(g.first);
    free(g.last);
    return rc;
}
