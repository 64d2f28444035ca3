/*
 * src/image/internal.h — what the files of the image module share and no one
 * else sees: the per-format decoders, header parsing helpers and checks.
 */
#ifndef FS_IMAGE_INTERNAL_H
#define FS_IMAGE_INTERNAL_H

#include "facesearch/image.h"

/* Decode options with every default filled in. */
typedef struct fs_decode_req {
    int min_width, min_height;
    int apply_orientation;
    uint64_t max_pixels;
} fs_decode_req;

/* Checks stored dimensions before anything is allocated: FS_ECORRUPT for a
 * zero or negative side, FS_ELIMIT for a side over FS_IMAGE_MAX_SIDE or
 * more than max_pixels pixels.  what names the format ("JPEG", "PNG"). */
int fs_check_dims(const char *what, long long w, long long h,
                  uint64_t max_pixels, fs_error *err);

/* Names a recognised but unsupported format ("GIF", "WebP", ...) or returns
 * NULL. */
const char *fs_sniff_other(const uint8_t *buf, size_t len);

/* EXIF orientation 1..8 from a TIFF structure (the APP1 payload after
 * "Exif\0\0", or a PNG eXIf chunk); 1 when absent, malformed or invalid. */
int fs_exif_orientation(const uint8_t *tiff, size_t len);

/* What a walk over a JPEG's marker segments (SOI up to SOS) found.  The walk
 * never fails: on malformed structure it stops and keeps what it has. */
typedef struct fs_jpeg_markers {
    int orientation;    /* from the first Exif APP1, else 1 */
    int sof;            /* SOFn marker code (0xC0..0xCF), 0 if none seen */
    int components;     /* from SOF, 0 if none seen */
    int adobe_transform;/* APP14 Adobe transform byte, -1 if no Adobe marker */
    /* Offsets of header bytes libjpeg would warn about though the image is
     * fine (JFIF major version != 1; Adobe transform it does not know), and
     * the byte that silences the warning with the same decoding; 0 = none. */
    size_t quirk_off[2];
    uint8_t quirk_val[2];
} fs_jpeg_markers;

void fs_jpeg_scan_markers(const uint8_t *buf, size_t len, fs_jpeg_markers *m);

/* Per-format probe and decode.  decode fills *info completely and returns the
 * image in stored orientation (the caller orients it). */
int fs_jpeg_probe(const uint8_t *buf, size_t len, fs_image_info *info,
                  fs_error *err);
int fs_jpeg_decode(const uint8_t *buf, size_t len, const fs_decode_req *req,
                   fs_image *out, fs_image_info *info, fs_error *err);
int fs_png_probe(const uint8_t *buf, size_t len, fs_image_info *info,
                 fs_error *err);
int fs_png_decode(const uint8_t *buf, size_t len, const fs_decode_req *req,
                  fs_image *out, fs_image_info *info, fs_error *err);

int fs_webp_probe(const uint8_t *buf, size_t len, fs_image_info *info,
                  fs_error *err);
int fs_webp_decode(const uint8_t *buf, size_t len, const fs_decode_req *req,
                   fs_image *out, fs_image_info *info, fs_error *err);
/* HEIF and AVIF: decode applies the file's own transforms itself when
 * req->apply_orientation (see heif.c); the caller must not orient again. */
/* 1 when a HEIF's derived-image references ('dimg' in 'iref') form a cycle
 * or exceed 65536, which libheif 1.15 follows until its stack overflows
 * (heif_refs.c); 0 otherwise, including for files it cannot walk. */
int fs_heif_ref_cycle(const uint8_t *buf, size_t len);
int fs_heif_probe(const uint8_t *buf, size_t len, fs_image_info *info,
                  fs_error *err);
int fs_heif_decode(const uint8_t *buf, size_t len, const fs_decode_req *req,
                   fs_image *out, fs_image_info *info, fs_error *err);
int fs_tiff_probe(const uint8_t *buf, size_t len, fs_image_info *info,
                  fs_error *err);
int fs_tiff_decode(const uint8_t *buf, size_t len, const fs_decode_req *req,
                   fs_image *out, fs_image_info *info, fs_error *err);

/* Converts n Adobe-inverted CMYK pixels (4 bytes each) at px to RGB (3 bytes
 * each) in place: R = round(C*K/255) etc.  px then holds 3n valid bytes. */
void fs_cmyk_to_rgb_inplace(uint8_t *px, size_t n);

#endif
