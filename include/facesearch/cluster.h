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
    /* Optional cannot-link groups (n entries, or NULL): nodes with the same
     * value — the faces of one photo, who are different people — never end
     * in the same cluster.  A node never takes a label one of its group
     * holds; if that leaves it nothing, it starts a cluster of its own. */
    const uint64_t *group;
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

/*
 * The thresholded k-nearest-neighbour graph of n stored faces, from an index
 * that holds them: for each face (vector vecs[i], face id ids[i]; ids sorted
 * ascending) its k nearest neighbours are searched — in batches, never all
 * pairs — and every neighbour closer than `threshold` that is one of the n
 * faces becomes an edge of weight 1 - d/threshold (near-identical faces weigh
 * ~1, borderline ones ~0).  Self matches are dropped and an edge found from
 * both ends is kept once.  photo (may be NULL) gives each face's photo id:
 * two faces of one photo are two people, so they are never linked.  *edges
 * is malloc'ed (caller frees); node numbers are indices into ids.
 * Errors: FS_EINDEX, FS_ENOMEM.
 */
struct fs_index;
int fs_knn_graph(struct fs_index *ix, const float *vecs, const uint64_t *ids,
                 const uint64_t *photo, size_t n, int k, float threshold, fs_edge **edges,
                 size_t *n_edges, fs_error *err);

/* The index of id in ids[0..n) (ascending), or -1. */
long fs_ids_find(const uint64_t *ids, size_t n, uint64_t id);

/* Sorts edges by their nodes and keeps one edge per pair of nodes (the
 * heaviest; each edge's a < b); returns the new count. */
size_t fs_edges_unique(fs_edge *edges, size_t n);

#endif
