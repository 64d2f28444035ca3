/*
 * libFuzzer harness for one photo decoder, chosen at compile time
 * (-DFUZZ_FORMAT=jpeg|png|webp|heif|tiff): its probe, then a full decode
 * with orientation applied, exactly as fs_image_decode runs them but without
 * the dispatch on magic bytes, so every input reaches that decoder.  JPEG
 * inputs of odd length also take the DCT-scaled path.  The pixel limit is
 * lowered to 16 Mpx so that a forged header costs time, not the machine.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../src/image/internal.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define PROBE CAT(CAT(fs_, FUZZ_FORMAT), _probe)
#define DECODE CAT(CAT(fs_, FUZZ_FORMAT), _decode)

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    fs_image_info info;
    fs_error err = {0};
    PROBE(data, len, &info, &err);
    fs_decode_req req = {0, 0, 1, 16u << 20};
    if (len & 1) {
        req.min_width = 200;
        req.min_height = 150;
    }
    fs_image img = {0};
    if (DECODE(data, len, &req, &img, &info, &err) == FS_OK) {
        /* Every pixel must be readable (ASan checks the buffer's size). */
        for (size_t i = 0; i < (size_t)img.width * img.height * 3; i += 4093)
            sink ^= img.data[i];
        sink ^= img.data[(size_t)img.width * img.height * 3 - 1];
        if (info.orientation != 1 && info.format != FS_FORMAT_HEIF &&
            info.format != FS_FORMAT_AVIF)
            fs_image_orient(&img, info.orientation, &err);
    }
    fs_image_free(&img);
    return 0;
}
