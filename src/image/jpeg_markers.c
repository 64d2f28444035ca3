/*
 * A walk over the marker segments of a JPEG header (SOI .. SOS), for what the
 * TurboJPEG API does not report: the EXIF orientation, the SOF type
 * (progressive or not) and the Adobe APP14 colour transform.
 */
#include <string.h>

#include "internal.h"

#define M_SOF0 0xC0
#define M_SOF15 0xCF
#define M_DHT 0xC4
#define M_JPG 0xC8
#define M_DAC 0xCC
#define M_SOI 0xD8
#define M_EOI 0xD9
#define M_SOS 0xDA
#define M_APP0 0xE0
#define M_APP1 0xE1
#define M_APP14 0xEE

static void note_quirk(fs_jpeg_markers *m, size_t off, uint8_t val)
{
    for (int i = 0; i < 2; i++)
        if (!m->quirk_off[i]) {
            m->quirk_off[i] = off;
            m->quirk_val[i] = val;
            return;
        }
}

static void segment(fs_jpeg_markers *m, int marker, const uint8_t *seg, size_t n, size_t off,
                    size_t *adobe_at)
{
    if (marker == M_APP1 && m->orientation == 0 && n >= 6 && memcmp(seg, "Exif\0", 5) == 0) {
        /* The sixth byte should be 0 but some writers put 0xFF there. */
        m->orientation = fs_exif_orientation(seg + 6, n - 6);
    } else if (marker == M_APP0 && n >= 14 && memcmp(seg, "JFIF\0", 5) == 0) {
        /* libjpeg warns on a JFIF major version other than 1 and then
         * ignores the version: patching it to 1 decodes identically. */
        if (seg[5] != 1)
            note_quirk(m, off + 5, 1);
    } else if (marker == M_APP14 && n >= 12 && memcmp(seg, "Adobe", 5) == 0) {
        m->adobe_transform = seg[11];
        *adobe_at = off + 11;
    } else if (marker >= M_SOF0 && marker <= M_SOF15 && marker != M_DHT &&
               marker != M_JPG && marker != M_DAC && m->sof == 0 && n >= 6) {
        m->sof = marker;
        m->components = seg[5];
    }
}

void fs_jpeg_scan_markers(const uint8_t *buf, size_t len, fs_jpeg_markers *m)
{
    memset(m, 0, sizeof *m);
    m->adobe_transform = -1;
    if (len < 2 || buf[0] != 0xFF || buf[1] != M_SOI)
        goto done;
    size_t pos = 2;
    size_t adobe_at = 0; /* whether it is a quirk depends on the SOF, maybe later */
    for (;;) {
        /* A marker is 0xFF (any number of fill bytes) and a code. */
        if (pos >= len || buf[pos] != 0xFF)
            break;
        while (pos < len && buf[pos] == 0xFF)
            pos++;
        if (pos >= len)
            break;
        int marker = buf[pos++];
        if (marker == M_SOS || marker == M_EOI || marker == 0)
            break;
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
            continue; /* no length field */
        if (pos + 2 > len)
            break;
        size_t seglen = (size_t)buf[pos] << 8 | buf[pos + 1];
        if (seglen < 2 || pos + seglen > len)
            break;
        segment(m, marker, buf + pos + 2, seglen - 2, pos + 2, &adobe_at);
        pos += seglen;
    }
    /* libjpeg warns on a transform it does not know for the component count
     * and then assumes YCbCr (3 components, transform 1) or YCCK (4,
     * transform 2): writing that value decodes identically, silently. */
    int t = m->adobe_transform;
    if (adobe_at && m->components == 3 && t != 0 && t != 1)
        note_quirk(m, adobe_at, 1);
    else if (adobe_at && m->components == 4 && t != 0 && t != 2)
        note_quirk(m, adobe_at, 2);
done:
    if (m->orientation == 0)
        m->orientation = 1;
}
