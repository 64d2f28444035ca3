/* The one FAISS setting search.c needs that the C API does not reach: how an
 * IVF spreads a search over threads.  This file is the project's only C++
 * (the design card allows a thin shim where a library has no C entry point);
 * it is compiled against Debian's FAISS headers, the same 1.7.3 source as
 * both libraries we link. */
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFastScan.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/MetaIndexes.h>
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
