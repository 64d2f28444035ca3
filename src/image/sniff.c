/* Format detection from the leading bytes ("magic numbers"). */
#include <string.h>

#include "internal.h"

static int has(const uint8_t *buf, size_t len, size_t off, const char *magic, size_t n)
{
    return len >= off + n && memcmp(buf + off, magic, n) == 0;
}

/* String literals may hold NULs, so take their length from sizeof. */
#define HAS(off, lit) has(buf, len, (off), (lit), sizeof(lit) - 1)

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An ISO base media file (ftyp box first) that holds a still image: HEVC
 * brands make it HEIF, AV1 ones AVIF; the generic image brands (mif1,
 * msf1) defer to the compatible brands that follow.  0 when it is some
 * other ISO media file (MP4, MOV, ...). */
static fs_format iso_image(const uint8_t *buf, size_t len)
{
    static const char *const hevc[] = {"heic", "heix", "heim", "heis", "hevc", "hevx",
                                       "hevm", "hevs"};
    size_t box = be32(buf);
    if (box > len)
        box = len;
    int generic = 0;
    /* Major brand at 8, minor version at 12, compatible brands from 16. */
    for (size_t off = 8; off + 4 <= box; off += off == 8 ? 8 : 4) {
        const uint8_t *b = buf + off;
        if (!memcmp(b, "avif", 4) || !memcmp(b, "avis", 4))
            return FS_FORMAT_AVIF;
        for (size_t i = 0; i < sizeof hevc / sizeof *hevc; i++)
            if (!memcmp(b, hevc[i], 4))
                return FS_FORMAT_HEIF;
        if (!memcmp(b, "mif1", 4) || !memcmp(b, "msf1", 4))
            generic = 1;
    }
    return generic ? FS_FORMAT_HEIF : FS_FORMAT_UNKNOWN;
}

fs_format fs_image_sniff(const uint8_t *buf, size_t len)
{
    /* SOI followed by the 0xFF of the next marker. */
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return FS_FORMAT_JPEG;
    if (HAS(0, "\x89PNG\r\n\x1a\n"))
        return FS_FORMAT_PNG;
    if (HAS(0, "RIFF") && HAS(8, "WEBP"))
        return FS_FORMAT_WEBP;
    if (HAS(4, "ftyp") && len >= 12)
        return iso_image(buf, len);
    /* Classic TIFF (42) and BigTIFF (43), either byte order. */
    if (HAS(0, "II*\0") || HAS(0, "MM\0*") || HAS(0, "II+\0") || HAS(0, "MM\0+"))
        return FS_FORMAT_TIFF;
    return FS_FORMAT_UNKNOWN;
}

const char *fs_sniff_other(const uint8_t *buf, size_t len)
{
    if (HAS(0, "GIF87a") || HAS(0, "GIF89a"))
        return "GIF";
    if (HAS(4, "ftyp"))
        return "ISO media (MP4/MOV)";
    if (HAS(0, "BM"))
        return "BMP";
    if (HAS(0, "\xFF\x0A") || HAS(0, "\0\0\0\x0CJXL "))
        return "JPEG XL";
    if (HAS(4, "jP  "))
        return "JPEG 2000";
    if (HAS(0, "%PDF"))
        return "PDF";
    return NULL;
}
