/*
 * libFuzzer harness for the database's record decoders: image records
 * (fixed part, then path and error text), face records and stored vectors
 * (float32 or float16, the dimension taken from the first input byte).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/store/internal.h"

static volatile char sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    fs_image_rec r;
    size_t pl, el;
    if (fs_rec_image_decode(data, len, &r, &pl, &el) == 0) {
        /* Both texts must lie inside the record. */
        if (pl)
            sink ^= r.path[pl - 1];
        if (el)
            sink ^= r.error[el - 1];
    }
    fs_face_rec f;
    if (fs_rec_face_decode(data, len, &f) == 0 && len != FS_FACE_BYTES)
        __builtin_trap();
    if (len >= 1) {
        int dim = 1 + data[0], f16 = data[0] & 1;
        if (len - 1 >= fs_vec_bytes(dim, f16)) {
            float v[256];
            fs_vec_decode(data + 1, dim, f16, v);
        }
    }
    return 0;
}
