/* Byte layouts of the stored records (documented in docs/formats.md). */
#include <math.h>
#include <string.h>

#include "internal.h"

static void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_f32(uint8_t *p, float f) { uint32_t u; memcpy(&u, &f, 4); put_u32(p, u); }
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }
static float get_f32(const uint8_t *p) { uint32_t u = get_u32(p); float f; memcpy(&f, &u, 4); return f; }

void fs_key_u64(uint64_t v, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t fs_key_u64_get(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

/* Paths and messages are capped so a record always fits a u16 length. */
static size_t cap16(const char *s) { size_t n = s ? strlen(s) : 0; return n > 65535 ? 65535 : n; }

size_t fs_rec_image_size(const fs_image_rec *r)
{
    return FS_IMG_FIXED + cap16(r->path) + cap16(r->error);
}

void fs_rec_image_encode(const fs_image_rec *r, uint8_t *o)
{
    size_t pl = cap16(r->path), el = cap16(r->error);
    o[0] = 1; /* record version */
    o[1] = r->status;
    o[2] = r->error_code;
    o[3] = r->has_hash ? 1 : 0;
    put_u32(o + 4, r->n_faces);
    put_u64(o + 8, r->first_face);
    put_u64(o + 16, r->size);
    put_u64(o + 24, (uint64_t)r->mtime_ns);
    put_u64(o + 32, (uint64_t)r->processed_ns);
    put_u32(o + 40, (uint32_t)r->width);
    put_u32(o + 44, (uint32_t)r->height);
    memcpy(o + 48, r->sha256, 32);
    put_u16(o + 80, (uint16_t)pl);
    put_u16(o + 82, (uint16_t)el);
    memcpy(o + FS_IMG_FIXED, r->path ? r->path : "", pl);
    memcpy(o + FS_IMG_FIXED + pl, r->error ? r->error : "", el);
}

int fs_rec_image_decode(const uint8_t *b, size_t len, fs_image_rec *r,
                        size_t *path_len, size_t *err_len)
{
    if (len < FS_IMG_FIXED || b[0] != 1)
        return -1;
    size_t pl = get_u16(b + 80), el = get_u16(b + 82);
    if (FS_IMG_FIXED + pl + el != len)
        return -1;
    memset(r, 0, sizeof *r);
    r->status = b[1];
    r->error_code = b[2];
    r->has_hash = b[3] & 1;
    r->n_faces = get_u32(b + 4);
    r->first_face = get_u64(b + 8);
    r->size = get_u64(b + 16);
    r->mtime_ns = (int64_t)get_u64(b + 24);
    r->processed_ns = (int64_t)get_u64(b + 32);
    r->width = (int32_t)get_u32(b + 40);
    r->height = (int32_t)get_u32(b + 44);
    memcpy(r->sha256, b + 48, 32);
    r->path = (const char *)b + FS_IMG_FIXED;
    r->error = (const char *)b + FS_IMG_FIXED + pl;
    *path_len = pl;
    *err_len = el;
    return 0;
}

void fs_rec_face_encode(const fs_face_rec *f, uint8_t o[FS_FACE_BYTES])
{
    put_u64(o, f->image_id);
    for (int i = 0; i < 4; i++)
        put_f32(o + 8 + 4 * i, f->box[i]);
    put_f32(o + 24, f->score);
    put_u32(o + 28, f->flags);
    put_f32(o + 32, f->face_size);
    put_f32(o + 36, f->sharpness);
    for (int i = 0; i < FS_LANDMARKS; i++) {
        put_f32(o + 40 + 8 * i, f->landmarks[i][0]);
        put_f32(o + 44 + 8 * i, f->landmarks[i][1]);
    }
}

int fs_rec_face_decode(const uint8_t *b, size_t len, fs_face_rec *f)
{
    if (len != FS_FACE_BYTES)
        return -1;
    f->image_id = get_u64(b);
    for (int i = 0; i < 4; i++)
        f->box[i] = get_f32(b + 8 + 4 * i);
    f->score = get_f32(b + 24);
    f->flags = get_u32(b + 28);
    f->face_size = get_f32(b + 32);
    f->sharpness = get_f32(b + 36);
    for (int i = 0; i < FS_LANDMARKS; i++) {
        f->landmarks[i][0] = get_f32(b + 40 + 8 * i);
        f->landmarks[i][1] = get_f32(b + 44 + 8 * i);
    }
    return 0;
}

/* IEEE half precision, rounded to nearest even: GCC's _Float16, or F16C's
 * conversions for clang 14 (the fuzzing build), which has no _Float16 on
 * x86; both give the same bits. */
#if defined(__clang__) && defined(__F16C__)
#include <immintrin.h>
static uint16_t to_half(float f) { return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }
static float from_half(uint16_t h) { return _cvtsh_ss(h); }
#else
static uint16_t to_half(float f)
{
    _Float16 h = (_Float16)f;
    uint16_t u;
    memcpy(&u, &h, 2);
    return u;
}
static float from_half(uint16_t u)
{
    _Float16 h;
    memcpy(&h, &u, 2);
    return (float)h;
}
#endif

size_t fs_vec_bytes(int dim, int f16)
{
    return (size_t)dim * (f16 ? 2 : sizeof(float));
}

void fs_vec_encode(const float *v, int dim, int f16, void *dst)
{
    if (!f16) {
        memcpy(dst, v, sizeof(float) * (size_t)dim);
        return;
    }
    for (int i = 0; i < dim; i++) {
        uint16_t h = to_half(v[i]);
        memcpy((char *)dst + 2 * (size_t)i, &h, 2);
    }
}

void fs_vec_decode(const void *src, int dim, int f16, float *v)
{
    if (!f16) {
        memcpy(v, src, sizeof(float) * (size_t)dim);
        return;
    }
    double ss = 0;
    for (int i = 0; i < dim; i++) {
        uint16_t h;
        memcpy(&h, (const char *)src + 2 * (size_t)i, 2);
        v[i] = from_half(h);
        ss += (double)v[i] * v[i];
    }
    /* Stored descriptors are unit vectors: give back the unit length the
     * rounding moved by up to ~5e-4, so a face's similarity to itself is 1. */
    if (ss > 0) {
        double k = 1.0 / sqrt(ss);
        for (int i = 0; i < dim; i++)
            v[i] = (float)(v[i] * k);
    }
}
