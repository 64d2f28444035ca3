/*
 * tests/image_util.h — helpers the image tests share: synthetic pictures,
 * TurboJPEG encoding, JPEG segment surgery, EXIF blocks, comparisons.
 * Every returned buffer is malloc'ed and owned by the caller (free()).
 */
#ifndef FS_TEST_IMAGE_UTIL_H
#define FS_TEST_IMAGE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch/image.h"

/* A smooth but asymmetric w x h RGB picture (no two orientations of it are
 * alike), so JPEG error stays small and any flip or rotation shows. */
void tu_pattern(fs_image *img, int w, int h);

/* Encodes packed pixels (TurboJPEG pixel format pf) to JPEG. */
uint8_t *tu_jpeg_encode(const uint8_t *px, int w, int h, int pf, int subsamp,
                        int quality, int flags, size_t *len);

/* Returns a copy of jpeg with a segment (marker, 2-byte length, payload)
 * inserted right after SOI. */
uint8_t *tu_jpeg_insert(const uint8_t *jpeg, size_t len, int marker,
                        const uint8_t *payload, size_t n, size_t *out_len);

/* Offset of the first segment with the given marker, or 0 if none. */
size_t tu_jpeg_find(const uint8_t *jpeg, size_t len, int marker);

/* A TIFF block holding IFD0 with one Orientation entry (SHORT), in big- or
 * little-endian byte order; "Exif\0\0" prepended when with_header. */
uint8_t *tu_exif_block(int orientation, int big_endian, int with_header, size_t *len);

/* Largest absolute difference of n bytes; mean absolute difference. */
int tu_max_diff(const uint8_t *a, const uint8_t *b, size_t n);
double tu_mean_diff(const uint8_t *a, const uint8_t *b, size_t n);

/* sha256 hex of an image's packed pixels. */
void tu_image_sha256(const fs_image *img, char hex[65]);

/* Reads models/demo/sample<i>.jpg (NULL if missing). */
uint8_t *tu_read_sample(int i, size_t *len);

/* Writes buf to <tmpdir>/name and returns the path (static storage). */
const char *tu_write_tmp(const char *name, const void *buf, size_t len);

#endif
