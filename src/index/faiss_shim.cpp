/* What the C API does not reach: how an IVF spreads a search over threads
 * (search.c), and merging indexes whose refine stage FAISS cannot merge
 * (shards.c).  This file is the project's only C++
 * (the design card allows a thin shim where a library has no C entry point);
 * it is compiled against Debian's FAISS headers, the same 1.7.3 source as
 * both libraries we link. */
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFastScan.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/MetaIndexes.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/pq4_fast_scan.h>
#include <faiss/invlists/BlockInvertedLists.h>

#include <exception>
#include <stdio.h>
#include <faiss/c_api/Index_c.h>

#include "internal.h"

int fs_index_faiss_parallel_mode(FaissIndex *index, int mode)
{
    /* The C API's FaissIndex * is a faiss::Index * under another name.
     * Nothing here throws: pointer dynamic_casts return null instead. */
    faiss::Index *ix = reinterpret_cast<faiss::Index *>(index);
    for (;;) { /* down through id maps, transforms and refine stages */
        if (auto *m = dynamic_cast<faiss::IndexIDMap *>(ix))
            ix = m->index;
        else if (auto *t = dynamic_cast<faiss::IndexPreTransform *>(ix))
            ix = t->index;
        else if (auto *r = dynamic_cast<faiss::IndexRefine *>(ix))
            ix = r->base_index;
        else
            break;
    }
    /* Fast-scan IVFs ignore parallel_mode: their implementation 14 is the
     * one that spreads a query's lists over threads (0 picks per batch). */
    if (auto *fs = dynamic_cast<faiss::IndexIVFFastScan *>(ix)) {
        fs->implem = mode ? 14 : 0;
        return 1;
    }
    auto *ivf = dynamic_cast<faiss::IndexIVF *>(ix);
    if (!ivf)
        return 0;
    ivf->parallel_mode = mode;
    return 1;
}

/* A fast-scan IVF's lists pack 4-bit codes in blocks of bbs vectors, and
 * FAISS's list merge throws on them from inside an OpenMP region, which no
 * handler can catch: move src's codes one by one into dst's blocks. */
static void merge_fast_scan(faiss::IndexIVFFastScan *d, faiss::IndexIVFFastScan *s,
                            faiss::Index::idx_t add_id)
{
    d->check_compatible_for_merge(*s); /* same lists, quantizer, code size */
    auto *dl = dynamic_cast<faiss::BlockInvertedLists *>(d->invlists);
    auto *sl = dynamic_cast<faiss::BlockInvertedLists *>(s->invlists);
    FAISS_THROW_IF_NOT_MSG(dl && sl && d->bbs == s->bbs && d->M2 == s->M2,
                           "fast-scan indexes of different layouts");
    for (size_t l = 0; l < d->nlist; l++) {
        size_t n0 = dl->list_size(l), n1 = sl->list_size(l);
        if (!n1)
            continue;
        dl->resize(l, n0 + n1);
        uint8_t *to = dl->codes[l].get();
        const uint8_t *from = sl->codes[l].get();
        for (size_t i = 0; i < n1; i++) {
            dl->ids[l][n0 + i] = sl->ids[l][i] + add_id;
            for (size_t m = 0; m < d->M; m++)
                faiss::pq4_set_packed_element(
                    to, faiss::pq4_get_packed_element(from, d->bbs, d->M2, i, m), d->bbs,
                    d->M2, n0 + i, m);
        }
    }
    d->ntotal += s->ntotal;
}

/* Merges src into dst, walking both structures side by side.  FAISS's own
 * merge_from covers id maps, transforms, flat codes and IVFs, but not a
 * refine stage, and an id map's merge_from would hand a refine stage's base
 * index its own numbers twice: a refine stage's base numbers its vectors
 * 0..n-1 (the refine codes are looked up by that number), so src's base
 * numbers move up by dst's count. */
static void merge(faiss::Index *dst, faiss::Index *src, faiss::Index::idx_t add_id)
{
    if (auto *m = dynamic_cast<faiss::IndexIDMap *>(dst)) {
        auto *o = dynamic_cast<faiss::IndexIDMap *>(src);
        FAISS_THROW_IF_NOT_MSG(o, "indexes of different types");
        merge(m->index, o->index, 0);
        for (faiss::Index::idx_t id : o->id_map)
            m->id_map.push_back(id + add_id);
        m->ntotal = m->index->ntotal;
    } else if (auto *t = dynamic_cast<faiss::IndexPreTransform *>(dst)) {
        auto *o = dynamic_cast<faiss::IndexPreTransform *>(src);
        FAISS_THROW_IF_NOT_MSG(o && o->chain.size() == t->chain.size(),
                               "indexes of different types");
        for (size_t i = 0; i < t->chain.size(); i++)
            t->chain[i]->check_identical(*o->chain[i]);
        merge(t->index, o->index, add_id);
        t->ntotal = t->index->ntotal;
    } else if (auto *r = dynamic_cast<faiss::IndexRefine *>(dst)) {
        auto *o = dynamic_cast<faiss::IndexRefine *>(src);
        FAISS_THROW_IF_NOT_MSG(o, "indexes of different types");
        merge(r->base_index, o->base_index, r->ntotal);
        merge(r->refine_index, o->refine_index, 0);
        r->ntotal = r->base_index->ntotal;
    } else if (auto *f = dynamic_cast<faiss::IndexIVFFastScan *>(dst)) {
        auto *o = dynamic_cast<faiss::IndexIVFFastScan *>(src);
        FAISS_THROW_IF_NOT_MSG(o, "indexes of different types");
        merge_fast_scan(f, o, add_id);
    } else {
        dst->merge_from(*src, add_id);
    }
}

int fs_index_faiss_merge(FaissIndex *dst, FaissIndex *src, char *why, size_t cap)
{
    try {
        merge(reinterpret_cast<faiss::Index *>(dst), reinterpret_cast<faiss::Index *>(src), 0);
        return 0;
    } catch (const std::exception &e) {
        snprintf(why, cap, "%s", e.what());
        return -1;
    }
}
