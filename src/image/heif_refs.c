/*
 * A guard in front of libheif 1.15 (Debian 12): a derived image (a grid, an
 * overlay, an identity transform) whose 'dimg' references lead back to
 * itself sends libheif into unbounded recursion and the process dies of a
 * stack overflow (found by make fuzz: tests/fuzz/regress/image_heif/).
 * libheif parses the file; this only walks the boxes that lead to the item
 * reference box (top level -> 'meta' -> 'iref', ISO/IEC 14496-12 8.11.12)
 * and looks for a cycle among the 'dimg' references, so that such a file is
 * refused as corrupt before libheif sees it.  Every read is bounds-checked.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Enough for any real grid (Apple's are 8x6 tiles); more is refused. */
#define MAX_REFS 65536

typedef struct box {
    const uint8_t *body; /* after the size/type header */
    size_t len;
    char type[4];
} box;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The next box in [*p, end); 0 at the end or on a malformed header. */
static int next_box(const uint8_t **p, const uint8_t *end, box *b)
{
    size_t left = (size_t)(end - *p);
    if (left < 8)
        return 0;
    uint64_t size = be32(*p), hdr = 8;
    memcpy(b->type, *p + 4, 4);
    if (size == 1) {
        if (left < 16)
            return 0;
        size = (uint64_t)be32(*p + 8) << 32 | be32(*p + 12);
        hdr = 16;
    } else if (size == 0) {
        size = left;
    }
    if (size < hdr || size > left)
        return 0;
    b->body = *p + hdr;
    b->len = (size_t)(size - hdr);
    *p += size;
    return 1;
}

static int find_child(const uint8_t *p, const uint8_t *end, const char *type, box *out)
{
    box b;
    while (next_box(&p, end, &b))
        if (memcmp(b.type, type, 4) == 0) {
            *out = b;
            return 1;
        }
    return 0;
}

typedef struct edge {
    uint32_t from, to;
} edge;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static size_t index_of(const uint32_t *ids, size_t n, uint32_t id)
{
    const uint32_t *hit = bsearch(&id, ids, n, sizeof *ids, cmp_u32);
    return (size_t)(hit - ids);
}

static int cmp_edge(const void *a, const void *b)
{
    return cmp_u32(&((const edge *)a)->from, &((const edge *)b)->from);
}

/* 1 when the edges hold a cycle (Kahn: some node is never freed of its
 * incoming edges), 0 when not, -1 when out of memory.  Sorts e by source so
 * that a node's edges are one run: O(n log n), even for a hostile file's
 * 65536 references. */
static int cyclic(edge *e, size_t n)
{
    uint32_t *ids = malloc(2 * n * sizeof *ids);
    size_t *indeg = calloc(2 * n, sizeof *indeg), *queue = malloc(2 * n * sizeof *queue);
    int rc = -1;
    if (!ids || !indeg || !queue)
        goto done;
    qsort(e, n, sizeof *e, cmp_edge);
    for (size_t i = 0; i < n; i++) {
        ids[2 * i] = e[i].from;
        ids[2 * i + 1] = e[i].to;
    }
    qsort(ids, 2 * n, sizeof *ids, cmp_u32);
    size_t m = 0;
    for (size_t i = 0; i < 2 * n; i++)
        if (m == 0 || ids[m - 1] != ids[i])
            ids[m++] = ids[i];
    for (size_t i = 0; i < n; i++)
        indeg[index_of(ids, m, e[i].to)]++;
    size_t head = 0, tail = 0, freed = 0;
    for (size_t v = 0; v < m; v++)
        if (!indeg[v])
            queue[tail++] = v;
    while (head < tail) {
        uint32_t v = ids[queue[head++]];
        freed++;
        /* v's edges: the run of e whose source is v. */
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (e[mid].from < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < n && e[i].from == v; i++) {
            size_t t = index_of(ids, m, e[i].to);
            if (--indeg[t] == 0)
                queue[tail++] = t;
        }
    }
    rc = freed < m;
done:
    free(ids);
    free(indeg);
    free(queue);
    return rc;
}

int fs_heif_ref_cycle(const uint8_t *buf, size_t len)
{
    box meta, iref;
    /* 'meta' and 'iref' are full boxes: a version byte and 3 flag bytes. */
    if (!find_child(buf, buf + len, "meta", &meta) || meta.len < 4 ||
        !find_child(meta.body + 4, meta.body + meta.len, "iref", &iref) || iref.len < 4)
        return 0;
    size_t idsz = iref.body[0] == 0 ? 2 : 4;
    edge *edges = NULL;
    size_t n = 0, cap = 0;
    const uint8_t *p = iref.body + 4, *end = iref.body + iref.len;
    box ref;
    int rc = 0;
    while (rc == 0 && next_box(&p, end, &ref)) {
        if (memcmp(ref.type, "dimg", 4) != 0 || ref.len < idsz + 2)
            continue;
        const uint8_t *q = ref.body;
        uint32_t from = idsz == 2 ? (uint32_t)(q[0] << 8 | q[1]) : be32(q);
        size_t count = (size_t)(q[idsz] << 8 | q[idsz + 1]);
        q += idsz + 2;
        if (count > (ref.len - idsz - 2) / idsz)
            count = (ref.len - idsz - 2) / idsz; /* a short entry: what is there */
        for (size_t i = 0; i < count && rc == 0; i++, q += idsz) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                edge *grown = cap <= MAX_REFS ? realloc(edges, cap * sizeof *edges) : NULL;
                if (!grown) {
                    rc = 1; /* over MAX_REFS (or out of memory): refuse */
                    break;
                }
                edges = grown;
            }
            edges[n].from = from;
            edges[n++].to = idsz == 2 ? (uint32_t)(q[0] << 8 | q[1]) : be32(q);
        }
    }
    if (rc == 0 && n)
        rc = cyclic(edges, n) != 0;
    free(edges);
    return rc;
}
