/*
 * libFuzzer harness for the EXIF reader (a TIFF structure from a JPEG APP1,
 * a PNG eXIf chunk or a WebP EXIF chunk) and the JPEG marker walk that finds
 * it: both take any bytes and must never read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "../../src/image/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    int o = fs_exif_orientation(data, len);
    if (o < 1 || o > 8)
        __builtin_trap();
    fs_jpeg_markers m;
    fs_jpeg_scan_markers(data, len, &m);
    if (m.orientation < 1 || m.orientation > 8)
        __builtin_trap();
    return 0;
}
