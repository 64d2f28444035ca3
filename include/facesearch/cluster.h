/*
 * facesearch/cluster.h — grouping faces into identities.
 *
 * Chinese whispers (Biemann 2006; the method dlib uses for face clustering):
 * label propagation on a similarity graph.  Every node starts in its own
 * cluster; in each round, visiting nodes in a fresh pseudo-random order, a
 * node takes the label carrying the largest total edge weight among its
 * neighbours.  Unlike connected components, one weak bridge between two
 * people does not merge them: a node follows the majority of its weighted
 * neighbourhood.  Linear in the number of edges per round.
 */
#ifndef FACESEARCH_CLUSTER_H
#define FACESEARCH_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch/common.h"

typedef struct fs_edge {
    uint32_t a, b;   /* node indices; each undirected edge given once (either order) */
    float w;         /* weight > 0, larger = more similar */
} fs_edge;

typedef struct fs_cluster_opts {
    int max_rounds;  /* stop after this many rounds (default 50) */
    uint64_t seed;   /* visiting order; same seed, same result */
} fs_cluster_opts;

/*
 * Clusters n nodes.  label[i] (caller-allocated, n entries) receives a
 * cluster id in 0..k-1, numbered by first appearance; *k the count; rep[c]
 * (optional, caller-allocated with n entries) the representative node of
 * cluster c: the member with the largest total weight to its own cluster.
 * Duplicate edges add up.  Errors: FS_ENOMEM, FS_EUSAGE (node out of range).
 */
int fs_cluster_whispers(size_t n, const fs_edge *edges, size_t n_edges,
                        const fs_cluster_opts *opts, uint32_t *label, size_t *k,
                        uint32_t *rep, fs_error *err);

#endif
