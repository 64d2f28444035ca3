/* The one FAISS setting search.c needs that the C API does not reach: an
 * IVF's parallel_mode.  This file is the project's only C++ (the design card
 * allows a thin shim where a library has no C entry point); it is compiled
 * against Debian's FAISS headers, the same 1.7.3 source as both libraries we
 * link. */
#include <faiss/IVFlib.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexRefine.h>
#include <faiss/c_api/Index_c.h>

#include "internal.h"

int fs_index_faiss_parallel_mode(FaissIndex *index, int mode)
{
    /* The C API's FaissIndex * is a faiss::Index * under another name.
     * Nothing here throws: pointer dynamic_casts and try_extract_index_ivf
     * return null instead. */
    faiss::Index *ix = reinterpret_cast<faiss::Index *>(index);
    if (auto *refine = dynamic_cast<faiss::IndexRefine *>(ix))
        ix = refine->base_index;
    faiss::IndexIVF *ivf = faiss::ivflib::try_extract_index_ivf(ix);
    if (!ivf)
        return 0;
    ivf->parallel_mode = mode;
    return 1;
}
