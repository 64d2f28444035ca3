/*
 * tests/encode_util.h — encoders the format tests and the fuzzing seeds
 * share, through Debian's own libraries (no test harness needed).
 */
#ifndef FS_TEST_ENCODE_UTIL_H
#define FS_TEST_ENCODE_UTIL_H

#include <libheif/heif.h>
#include <stddef.h>
#include <stdint.h>

#include "facesearch/image.h"

/* Encodes img with libheif's encoder for fmt (heif_compression_HEVC or
 * heif_compression_AV1) at a lossy quality 0..100, with an orientation
 * transform (EXIF numbering, 1 = none) written as irot/imir boxes.  Returns
 * a malloc'ed file image in *buf (*len bytes), or NULL when the encoder is
 * missing or fails. */
uint8_t *tu_heif_encode(const fs_image *img, enum heif_compression_format fmt, int quality,
                        int orientation, size_t *len);

#endif
