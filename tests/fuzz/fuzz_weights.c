/*
 * libFuzzer harness for a model's weights: a face-api weights manifest
 * (JSON) and the weight file it names.  The input is split at its first NUL
 * byte: before it the manifest, written as fuzz-weights_manifest.json, after
 * it the bytes of fuzz-shard1 (the name the seeds' manifests use).  Every
 * tensor the manifest declares is then looked up by its own name.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "facesearch/nn.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const uint8_t *nul = memchr(data, 0, len);
    size_t mlen = nul ? (size_t)(nul - data) : len;
    fuzz_write("fuzz-weights_manifest.json", data, mlen);
    fuzz_write("fuzz-shard1", nul ? nul + 1 : data + len, nul ? len - mlen - 1 : 0);
    fs_weights *w = NULL;
    fs_error err = {0};
    if (fs_weights_load(fuzz_dir(), "fuzz", &w, &err) == FS_OK) {
        const float *p;
        int shape[1] = {1};
        fs_weights_get(w, "conv/weights", 1, shape, &p, &err);
        fs_weights_check_used(w, &err);
    }
    fs_weights_free(w);
    return 0;
}
