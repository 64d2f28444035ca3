/*
 * facesearch/image.h — photo decoding and pixel operations.
 *
 * Decoding: JPEG through libjpeg-turbo's TurboJPEG API (baseline,
 * progressive, grayscale, CMYK/YCCK), PNG through libpng (8/16-bit,
 * palette, gray, alpha dropped), WebP through libwebp (stills; an
 * animation's first frame), HEIF/HEIC and AVIF through libheif (the primary
 * image) and TIFF through libtiff (the first page), always to packed RGB8.
 * The format is detected from the bytes, never from the file name.  With default options a
 * JPEG decodes bit-identically to libjpeg-turbo's defaults (ISLOW IDCT, fancy
 * upsampling), which is what the reference networks were fed.
 *
 * Every decode failure — unreadable file, unknown format, corrupt or truncated
 * data (including libjpeg's recoverable "corrupt data" warnings, which would
 * otherwise yield a silently grey-padded image), a pixel count over the
 * limit — is returned as a status with a one-line message; nothing aborts.
 * Status mapping:
 *   FS_EFORMAT   not a format read here (the message names a recognised
 *                other format such as GIF or BMP), or a feature the
 *                libraries do not support (e.g. 12-bit JPEG, a HEIF codec
 *                the system's libheif lacks: the message names it)
 *   FS_ECORRUPT  truncated or damaged data, a zero-size image
 *   FS_ELIMIT    width*height over max_pixels, a side over FS_IMAGE_MAX_SIDE,
 *                a file over max_file_bytes
 * Two harmless libjpeg warnings are tolerated because browsers show such
 * files intact: junk bytes after the last scan ("extraneous bytes before
 * marker 0xd9", only when it is the first warning, i.e. every pixel decoded
 * cleanly) and an unknown JFIF major version or Adobe transform code in the
 * header (decoded exactly as libjpeg's fallback would).
 *
 * CMYK/YCCK JPEGs are converted the way libjpeg-turbo's own tools and the
 * browsers do: the samples are taken to be Adobe-inverted (255 = no ink) —
 * Photoshop writes them so, and files without an Adobe marker are treated
 * the same, as Chrome, Firefox and Pillow do — and
 *     R = round(C * K / 255),  G = round(M * K / 255),  B = round(Y * K / 255)
 * on the decoded sample values.  No ICC colour management is done.
 *
 * PNG: 16-bit samples are scaled to 8 bits with rounding (v * 255 / 65535),
 * palette and low-bit-depth gray are expanded, alpha (including tRNS) is
 * dropped without compositing, and no gamma correction is applied.  The
 * orientation of a PNG comes from its eXIf chunk when it precedes IDAT.
 *
 * WebP: alpha dropped; EXIF orientation from its EXIF chunk.  HEIF/AVIF:
 * the file's own transform boxes (irot, imir, clap) stand for orientation
 * and are applied by libheif when apply_orientation is set (info's
 * orientation stays 1; see src/image/heif.c).  TIFF: 1..16-bit samples
 * (16-bit rounded to 8), RGB, grey, palette, CMYK without colour
 * management, YCbCr; the Orientation tag acts as EXIF's.  info.progressive
 * means "animated" for a WebP.
 *
 * All functions are reentrant and thread-safe (no global state).
 */
#ifndef FACESEARCH_IMAGE_H
#define FACESEARCH_IMAGE_H

#include "facesearch/common.h"

#include <stddef.h>
#include <stdint.h>

typedef enum fs_format {
    FS_FORMAT_UNKNOWN = 0,
    FS_FORMAT_JPEG,
    FS_FORMAT_PNG,
    FS_FORMAT_WEBP,
    FS_FORMAT_HEIF, /* HEVC-coded HEIF (.heic) */
    FS_FORMAT_AVIF, /* AV1-coded HEIF */
    FS_FORMAT_TIFF
} fs_format;

/* Default refusal threshold for decompression bombs: 100 megapixels. */
#define FS_DEFAULT_MAX_PIXELS 100000000ULL
/* Default largest photo file fs_image_decode_file reads: 256 MiB. */
#define FS_DEFAULT_MAX_FILE_BYTES (256u << 20)
/* Largest width or height accepted from any format (JPEG's own limit in
 * libjpeg-turbo is 65500); keeps every row and index computation in int. */
#define FS_IMAGE_MAX_SIDE 65535

/* A packed RGB8 image, row-major, 3 bytes per pixel, no row padding.
 * `data` is malloc'ed and owned by the struct; release with fs_image_free. */
typedef struct fs_image {
    int width, height;
    uint8_t *data;
} fs_image;

/* What a header says about a photo, before (or without) decoding. */
typedef struct fs_image_info {
    fs_format format;
    int width, height;   /* stored dimensions, before orientation */
    int orientation;     /* EXIF orientation 1..8 (1 when absent or invalid) */
    int components;      /* 1 gray, 3 colour, 4 CMYK/YCCK (JPEG); PNG: 1..4 */
    int progressive;     /* JPEG: 1 if progressive; PNG: 1 if interlaced */
    int bit_depth;       /* PNG: 1..16; JPEG: 8 */
    const char *colorspace; /* static string: "ycbcr", "gray", "rgb", "cmyk",
                               "ycck", "palette", "gray+alpha", "rgba" */
    /* Decode only: the DCT scale factor used (JPEG; 1/1 for full size and
     * for PNG).  Decoded size = ceil(stored size * scale_num / scale_denom),
     * then swapped for orientations 5..8 when orientation was applied. */
    int scale_num, scale_denom;
} fs_image_info;

typedef struct fs_decode_opts {
    /* DCT-domain downscaling (JPEG only): decode at the smallest libjpeg-turbo
     * scale factor (1/1, 7/8, 3/4, 5/8, 1/2, 3/8, 1/4, 1/8) whose output, in
     * the orientation it is returned in, is still at least min_width x
     * min_height.  0,0 = full size (bit-exact default); a single 0 leaves
     * that axis unconstrained.  An image already smaller decodes at 1/1.
     * Speed: libjpeg-turbo has SIMD IDCTs for 1/1, 1/2, 1/4 and 1/8 only;
     * on a 1920x1280 photo 7/8 took 10 ms against 4 ms for 1/1 and 3/8
     * 3.5 ms against 3 ms for 1/2, so ask for sizes that land on those. */
    int min_width, min_height;
    /* Apply the EXIF orientation (rotate/flip) so the image is upright.
     * Off by default to match the reference pipeline, which ignores EXIF. */
    int apply_orientation;
    /* Refuse images whose stored width*height exceeds this, before any
     * pixel buffer is allocated.  0 means FS_DEFAULT_MAX_PIXELS. */
    uint64_t max_pixels;
    /* fs_image_decode_file only: refuse larger files without reading them.
     * 0 means FS_DEFAULT_MAX_FILE_BYTES. */
    size_t max_file_bytes;
} fs_decode_opts;

/* Detects the format from the first bytes.  Never fails. */
fs_format fs_image_sniff(const uint8_t *buf, size_t len);

/* Short name of a format: "jpeg", "png", "webp", "heif", "avif", "tiff" or
 * "unknown". */
const char *fs_format_name(fs_format f);

/* Reads only the headers of an in-memory photo into *info.
 * Errors: FS_EFORMAT (not a format read here), FS_ECORRUPT (unreadable
 * header). */
int fs_image_probe(const uint8_t *buf, size_t len, fs_image_info *info,
                   fs_error *err);

/* Decodes an in-memory photo to RGB8 into *out (which the caller later
 * releases with fs_image_free; on error *out is left empty).  opts may be
 * NULL for defaults.  info, if not NULL, receives the header facts.
 * Errors: FS_EFORMAT, FS_ECORRUPT, FS_ELIMIT, FS_ENOMEM. */
int fs_image_decode(const uint8_t *buf, size_t len, const fs_decode_opts *opts,
                    fs_image *out, fs_image_info *info, fs_error *err);

/* As fs_image_decode, reading the file at path; messages name the path.
 * Additional error: FS_EIO. */
int fs_image_decode_file(const char *path, const fs_decode_opts *opts,
                         fs_image *out, fs_image_info *info, fs_error *err);

/* As fs_image_decode_file, but in a child process: `helper` is a facesearch
 * binary, run as `helper __decode MAX_PIXELS ORIENT PATH`, which answers
 * through a pipe (fs_image_decode_to_fd).  For decoders that crash or hang
 * on hostile files (libheif 1.15): a crash, an exit without an answer or a
 * minute without one becomes FS_ECORRUPT naming the file, and the caller
 * lives on.  info gets
 * format, orientation and size only.  Errors: those of fs_image_decode_file,
 * FS_ECORRUPT (decoder crashed, hung or gave no answer), FS_ENOMEM or
 * FS_EINTERNAL (cannot spawn). */
int fs_image_decode_isolated(const char *helper, const char *path,
                             const fs_decode_opts *opts, fs_image *out,
                             fs_image_info *info, fs_error *err);

/* The helper's side: decodes the file at path and writes status, size and
 * pixels to fd.  Returns 0, or -1 when fd could not be written. */
int fs_image_decode_to_fd(const char *path, const fs_decode_opts *opts, int fd);

/* Allocates an uninitialised width x height RGB8 image.  Errors: FS_EUSAGE
 * (non-positive size), FS_ENOMEM. */
int fs_image_alloc(fs_image *img, int width, int height, fs_error *err);

/* Frees the pixels and zeroes the struct.  Safe on an empty/zeroed image. */
void fs_image_free(fs_image *img);

/* Applies EXIF orientation o (1..8) to img in place (may reallocate; width
 * and height swap for 5..8).  Errors: FS_ENOMEM. */
int fs_image_orient(fs_image *img, int orientation, fs_error *err);

/* Copies the rectangle [x, x+w) x [y, y+h), clipped to the image, into a new
 * image *out.  Errors: FS_EUSAGE when the clipped rectangle is empty, FS_ENOMEM. */
int fs_image_crop(const fs_image *img, int x, int y, int w, int h,
                  fs_image *out, fs_error *err);

/* Encodes img as a baseline JPEG (quality 1..100, 4:2:0) into a malloc'ed
 * buffer *jpeg of *len bytes, owned by the caller (free()).
 * Errors: FS_EUSAGE, FS_ENOMEM, FS_EINTERNAL. */
int fs_image_encode_jpeg(const fs_image *img, int quality, uint8_t **jpeg,
                         size_t *len, fs_error *err);

/*
 * TensorFlow-legacy bilinear resize (tf.image.resize_bilinear with
 * align_corners=false, half_pixel_centers=false), as the reference nets used:
 * for output row r the source row is sy = r * in_h / out_h (no half-pixel
 * shift), y0 = floor(sy), y1 = min(ceil(sy), in_h-1), fy = sy - y0; columns
 * likewise; top/bottom lerps along x, then along y.  No anti-aliasing.
 * Output is float (values not rounded).  Channels are interleaved (HWC).
 *
 * The source is a window of a larger buffer: `src` points at its top-left
 * element, `src_stride` is the distance between rows in elements.  The window
 * is src_w x src_h; when pad_w/pad_h exceed it, the window is treated as
 * extended with zeros at the right/bottom to pad_w x pad_h (pass pad_w = src_w,
 * pad_h = src_h for no padding).  This is how the detector's bottom/right zero
 * padding to a square is done without materialising the padded image.
 * src_stride must be >= src_w * channels; src_w or src_h may be 0 (all
 * padding).  Arithmetic is float32 in TF's order (see src/image/resize_tf.c),
 * so results are deterministic to the bit.
 * Returns FS_OK, FS_EUSAGE for inconsistent sizes, FS_ENOMEM (it allocates
 * O(dst_w + dst_h) of scratch).
 */
int fs_resize_tf_u8(const uint8_t *src, int src_w, int src_h, int src_stride,
                    int pad_w, int pad_h, int channels,
                    float *dst, int dst_w, int dst_h);
int fs_resize_tf_f32(const float *src, int src_w, int src_h, int src_stride,
                     int pad_w, int pad_h, int channels,
                     float *dst, int dst_w, int dst_h);

/*
 * Affine warp with bilinear sampling: dst(x, y) = src(M * (x, y, 1)) where
 * M = {a, b, c, d, e, f} maps destination pixel coordinates to source pixel
 * coordinates: sx = a*x + b*y + c, sy = d*x + e*y + f (pixel centres at
 * integer coordinates).  Samples outside the source read `border` (per
 * channel, may be NULL for 0): a neighbour outside the image contributes
 * the border value with its bilinear weight.  dst is dst_w x dst_h x 3 float,
 * HWC.  The lerp order is the same as fs_resize_tf_u8's (top, bottom, then
 * vertical), in float32, coordinates in double.
 */
void fs_warp_affine_u8(const fs_image *src, const double m[6],
                       float *dst, int dst_w, int dst_h, const float border[3]);

/* Inverts a 2x3 affine map (as used by fs_warp_affine_u8).  Returns FS_OK, or
 * FS_EUSAGE when it is singular. */
int fs_affine_invert(const double m[6], double inv[6]);

/* Resizes an RGB8 image to w x h with an area-averaging (box) filter for
 * downscaling and bilinear (pixel-centre aligned) for upscaling, per axis,
 * into a new image *out; for thumbnails and previews, not for network
 * inputs.  Errors: FS_EUSAGE (empty source, non-positive or over
 * FS_IMAGE_MAX_SIDE target), FS_ENOMEM. */
int fs_image_resize(const fs_image *img, int w, int h, fs_image *out,
                    fs_error *err);

/* Variants of a photo for enrolment augmentation; each writes a new image
 * *out (released with fs_image_free).  Errors: FS_ENOMEM.
 *   flip     the mirror image (left-right);
 *   rotate   the content turned by `degrees` (counter-clockwise on screen)
 *            about (cx, cy), same size, black outside the source;
 *   blur     Gaussian blur of `sigma` pixels (kernel cut at 3 sigma, at
 *            most 64 px), edges clamped;
 *   levels   v' = contrast * (v - 128) + 128 + brightness, clamped. */
int fs_image_flip(const fs_image *img, fs_image *out, fs_error *err);
int fs_image_rotate(const fs_image *img, double degrees, double cx, double cy, fs_image *out,
                    fs_error *err);
int fs_image_blur(const fs_image *img, double sigma, fs_image *out, fs_error *err);
int fs_image_levels(const fs_image *img, double contrast, double brightness, fs_image *out,
                    fs_error *err);

#endif
