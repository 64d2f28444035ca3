/*
 * EXIF orientation from a TIFF structure.  Photos in the wild carry broken
 * EXIF (truncated by editors, bad offsets, wrong types), so every read is
 * bounds-checked and anything unexpected means "no orientation" (1).
 */
#include "internal.h"

#define TAG_ORIENTATION 0x0112
#define TYPE_SHORT 3
#define TYPE_LONG 4

typedef struct tiff {
    const uint8_t *p;
    size_t len;
    int big; /* "MM" byte order */
} tiff;

static unsigned u16(const tiff *t, size_t off)
{
    const uint8_t *q = t->p + off;
    return t->big ? (unsigned)(q[0] << 8 | q[1]) : (unsigned)(q[1] << 8 | q[0]);
}

static uint32_t u32(const tiff *t, size_t off)
{
    const uint8_t *q = t->p + off;
    return t->big ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
                  : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
}

int fs_exif_orientation(const uint8_t *buf, size_t len)
{
    if (!buf || len < 8)
        return 1;
    tiff t = {buf, len, 0};
    if (buf[0] == 'M' && buf[1] == 'M')
        t.big = 1;
    else if (!(buf[0] == 'I' && buf[1] == 'I'))
        return 1;
    if (u16(&t, 2) != 42)
        return 1;
    /* IFD0: a 2-byte count, then 12-byte entries (tag, type, count, value). */
    uint32_t ifd = u32(&t, 4);
    if (ifd < 8 || ifd > len - 2)
        return 1;
    unsigned n = u16(&t, ifd);
    for (unsigned i = 0; i < n; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > len)
            return 1;
        if (u16(&t, e) != TAG_ORIENTATION)
            continue;
        unsigned type = u16(&t, e + 2);
        uint32_t count = u32(&t, e + 4);
        unsigned v;
        /* The value fits in the entry's 4-byte field: no offset to chase. */
        if (type == TYPE_SHORT && count >= 1 && count <= 2)
            v = u16(&t, e + 8);
        else if (type == TYPE_LONG && count == 1)
            v = u32(&t, e + 8) > 8 ? 0 : (unsigned)u32(&t, e + 8);
        else
            return 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}
