/* Format detection from the leading bytes ("magic numbers"). */
#include <string.h>

#include "internal.h"

fs_format fs_image_sniff(const uint8_t *buf, size_t len)
{
    /* SOI followed by the 0xFF of the next marker. */
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return FS_FORMAT_JPEG;
    if (len >= 8 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0)
        return FS_FORMAT_PNG;
    return FS_FORMAT_UNKNOWN;
}

static int has(const uint8_t *buf, size_t len, size_t off, const char *magic, size_t n)
{
    return len >= off + n && memcmp(buf + off, magic, n) == 0;
}

/* String literals may hold NULs, so take their length from sizeof. */
#define HAS(off, lit) has(buf, len, (off), (lit), sizeof(lit) - 1)

const char *fs_sniff_other(const uint8_t *buf, size_t len)
{
    if (HAS(0, "GIF87a") || HAS(0, "GIF89a"))
        return "GIF";
    if (HAS(0, "RIFF") && HAS(8, "WEBP"))
        return "WebP";
    if (HAS(4, "ftyp")) {
        if (HAS(8, "avif") || HAS(8, "avis"))
            return "AVIF";
        if (HAS(8, "heic") || HAS(8, "heix") || HAS(8, "mif1") || HAS(8, "msf1") ||
            HAS(8, "hevc"))
            return "HEIF/HEIC";
        return "ISO media (MP4/MOV)";
    }
    if (HAS(0, "II*\0") || HAS(0, "MM\0*"))
        return "TIFF";
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
