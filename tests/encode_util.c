/* Encoders shared by the format tests and the fuzzing seeds (see
 * encode_util.h). */
#include "encode_util.h"

#include <stdlib.h>
#include <string.h>

typedef struct membuf {
    uint8_t *p;
    size_t n;
} membuf;

static struct heif_error append(struct heif_context *ctx, const void *data, size_t size,
                                void *user)
{
    (void)ctx;
    membuf *m = user;
    struct heif_error ok = {heif_error_Ok, heif_suberror_Unspecified, "ok"};
    struct heif_error bad = {heif_error_Memory_allocation_error, heif_suberror_Unspecified,
                             "out of memory"};
    uint8_t *q = realloc(m->p, m->n + size);
    if (!q)
        return bad;
    memcpy(q + m->n, data, size);
    m->p = q;
    m->n += size;
    return ok;
}

uint8_t *tu_heif_encode(const fs_image *img, enum heif_compression_format fmt, int quality,
                        int orientation, size_t *len)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    struct heif_image *him = NULL;
    struct heif_encoding_options *opt = heif_encoding_options_alloc();
    membuf m = {NULL, 0};
    int ok = 0;
    if (heif_context_get_encoder_for_format(ctx, fmt, &enc).code == heif_error_Ok &&
        heif_image_create(img->width, img->height, heif_colorspace_RGB,
                          heif_chroma_interleaved_RGB, &him).code == heif_error_Ok &&
        heif_image_add_plane(him, heif_channel_interleaved, img->width, img->height, 8).code ==
            heif_error_Ok) {
        int stride;
        uint8_t *p = heif_image_get_plane(him, heif_channel_interleaved, &stride);
        for (int y = 0; y < img->height; y++)
            memcpy(p + (size_t)y * stride, img->data + (size_t)y * img->width * 3,
                   (size_t)img->width * 3);
        heif_encoder_set_lossy_quality(enc, quality);
        opt->image_orientation = (enum heif_orientation)orientation;
        struct heif_writer w = {1, append};
        ok = heif_context_encode_image(ctx, him, enc, opt, NULL).code == heif_error_Ok &&
             heif_context_write(ctx, &w, &m).code == heif_error_Ok;
    }
    heif_encoding_options_free(opt);
    heif_image_release(him);
    if (enc)
        heif_encoder_release(enc);
    heif_context_free(ctx);
    if (!ok) {
        free(m.p);
        return NULL;
    }
    *len = m.n;
    return m.p;
}
