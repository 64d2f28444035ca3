/*
 * fuzz-seeds OUT_DIR MODELS_DIR — writes the fuzzers' seed corpora, one
 * folder per harness, from the test images: a face cut from the model
 * package's sample1.jpg, small, encoded in every layout the decoders take
 * (JPEG baseline/progressive/grey/CMYK/EXIF-tagged; PNG RGB/grey+alpha/
 * palette/16-bit; WebP lossy/lossless; HEIF and AVIF, plain and rotated;
 * TIFF strips/tiles, 8/16-bit, grey, palette, CMYK, oriented), plus EXIF
 * blocks, the default configuration, the models' JSON manifests, a small
 * weights manifest with its shard, a one-node ONNX graph, an ingest
 * manifest, database records and an index sidecar.  Built by make fuzz
 * with the ordinary compiler; written by the same libraries the tests use.
 */
#include <dirent.h>
#include <libheif/heif.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <turbojpeg.h>
#include <webp/encode.h>

#include "../../src/index/internal.h"
#include "../../src/store/internal.h"
#include "../encode_util.h"
#include "../onnx_util.h"
#include "facesearch/image.h"

static const char *out_dir;

static void put(const char *harness, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, harness);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, harness, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz-seeds: cannot write %s\n", path);
        exit(1);
    }
}

static const char *seed_path(const char *harness, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, harness);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, harness, name);
    return path;
}

/* An EXIF TIFF block with one Orientation entry. */
static size_t exif_block(uint8_t *b, int orientation, int big)
{
    static const uint8_t le[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 1, 3, 0, 1, 0, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t be[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 1, 0x12, 0, 3, 0, 0, 0, 1,
                                 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(b, big ? be : le, sizeof le);
    b[big ? 19 : 18] = (uint8_t)orientation;
    return sizeof le;
}

static void jpeg_seeds(const fs_image *img)
{
    tjhandle tj = tjInitCompress();
    const struct {
        const char *name;
        int subsamp, flags;
    } kinds[] = {{"baseline.jpg", TJSAMP_420, 0}, {"progressive.jpg", TJSAMP_444,
                  TJFLAG_PROGRESSIVE}, {"grey.jpg", TJSAMP_GRAY, 0}};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        unsigned char *buf = NULL;
        unsigned long len = 0;
        if (tjCompress2(tj, img->data, img->width, 0, img->height, TJPF_RGB, &buf, &len,
                        kinds[i].subsamp, 75, kinds[i].flags) == 0) {
            put("image_jpeg", kinds[i].name, buf, len);
            if (i == 0) {
                /* The same with an Exif APP1 (orientation 6) after SOI. */
                uint8_t seg[64] = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
                size_t n = 10 + exif_block(seg + 10, 6, 0);
                seg[2] = (uint8_t)((n - 2) >> 8);
                seg[3] = (uint8_t)(n - 2);
                uint8_t *with = malloc(len + n);
                memcpy(with, buf, 2);
                memcpy(with + 2, seg, n);
                memcpy(with + 2 + n, buf + 2, len - 2);
                put("image_jpeg", "exif6.jpg", with, len + n);
                put("exif", "jpeg-header", with, len + n < 400 ? len + n : 400);
                free(with);
            }
        }
        tjFree(buf);
    }
    /* CMYK: TurboJPEG takes CMYK pixels directly. */
    size_t n = (size_t)img->width * img->height;
    uint8_t *cmyk = malloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < 3; c++)
            cmyk[4 * i + c] = img->data[3 * i + c];
        cmyk[4 * i + 3] = 200;
    }
    unsigned char *buf = NULL;
    unsigned long len = 0;
    if (tjCompress2(tj, cmyk, img->width, 0, img->height, TJPF_CMYK, &buf, &len, TJSAMP_444, 75,
                    0) == 0)
        put("image_jpeg", "cmyk.jpg", buf, len);
    tjFree(buf);
    free(cmyk);
    tjDestroy(tj);
}

static void png_seed(const char *name, const fs_image *img, png_uint_32 format, int depth)
{
    png_image p;
    memset(&p, 0, sizeof p);
    p.version = PNG_IMAGE_VERSION;
    p.width = (png_uint_32)img->width;
    p.height = (png_uint_32)img->height;
    p.format = format;
    size_t n = (size_t)img->width * img->height;
    int ch = (int)PNG_IMAGE_SAMPLE_CHANNELS(format);
    size_t bytes = n * ch * (depth == 16 ? 2 : 1);
    uint8_t *px = malloc(bytes);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) {
            unsigned v = img->data[3 * i + (c < 3 ? c : 0)];
            if (depth == 16)
                ((uint16_t *)(void *)px)[i * ch + c] = (uint16_t)(v * 257);
            else
                px[i * ch + c] = (uint8_t)v;
        }
    png_alloc_size_t len = 0;
    if (png_image_write_get_memory_size(p, len, 0, px, 0, NULL)) {
        void *buf = malloc(len);
        if (png_image_write_to_memory(&p, buf, &len, 0, px, 0, NULL))
            put("image_png", name, buf, len);
        free(buf);
    }
    free(px);
}

static void webp_seeds(const fs_image *img)
{
    uint8_t *out = NULL;
    size_t len = WebPEncodeRGB(img->data, img->width, img->height, img->width * 3, 70, &out);
    if (len)
        put("image_webp", "lossy.webp", out, len);
    WebPFree(out);
    len = WebPEncodeLosslessRGB(img->data, img->width, img->height, img->width * 3, &out);
    if (len)
        put("image_webp", "lossless.webp", out, len);
    WebPFree(out);
}

static void heif_seed(const fs_image *img, enum heif_compression_format fmt, int orientation,
                      const char *name)
{
    size_t len;
    uint8_t *buf = tu_heif_encode(img, fmt, 50, orientation, &len);
    if (buf)
        put("image_heif", name, buf, len);
    free(buf);
}

/* A TIFF of the image: spp 1 (grey from red) or 3, or 4 (CMYK); 8 or 16
 * bits; palette when cmap; strips or 16x16 tiles; LZW. */
static void tiff_seed(const char *name, const fs_image *img, int spp, int bps, uint16_t photo,
                      int tiled, int orientation)
{
    TIFF *t = TIFFOpen(seed_path("image_tiff", name), "w");
    if (!t)
        return;
    int w = img->width, h = img->height;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bps);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photo);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    TIFFSetField(t, TIFFTAG_ORIENTATION, orientation);
    static uint16_t cmap[3 * 256];
    if (photo == PHOTOMETRIC_PALETTE) {
        for (int i = 0; i < 256; i++)
            cmap[i] = cmap[256 + i] = cmap[512 + i] = (uint16_t)(i * 257);
        TIFFSetField(t, TIFFTAG_COLORMAP, cmap, cmap + 256, cmap + 512);
    }
    size_t bpp = (size_t)spp * bps / 8;
    if (tiled) {
        TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
        TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
    } else {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8);
    }
    uint8_t *plane = calloc((size_t)w * h, bpp);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < spp; c++) {
                unsigned v = img->data[((size_t)y * w + x) * 3 + (c < 3 ? c : 0)];
                size_t k = ((size_t)y * w + x) * spp + c;
                if (bps == 16)
                    ((uint16_t *)(void *)plane)[k] = (uint16_t)(v * 257);
                else
                    plane[k] = (uint8_t)v;
            }
    if (tiled) {
        uint8_t *tile = malloc(16 * 16 * bpp);
        for (int ty = 0; ty < h; ty += 16)
            for (int tx = 0; tx < w; tx += 16) {
                memset(tile, 0, 16 * 16 * bpp);
                for (int y = 0; y < 16 && ty + y < h; y++)
                    for (int x = 0; x < 16 && tx + x < w; x++)
                        memcpy(tile + ((size_t)y * 16 + x) * bpp,
                               plane + ((size_t)(ty + y) * w + tx + x) * bpp, bpp);
                TIFFWriteTile(t, tile, (uint32_t)tx, (uint32_t)ty, 0, 0);
            }
        free(tile);
    } else {
        for (int y = 0; y < h; y++)
            TIFFWriteScanline(t, plane + (size_t)y * w * bpp, (uint32_t)y, 0);
    }
    free(plane);
    TIFFClose(t);
}

/* Copies the files of src whose names end in suffix into harness's seeds. */
static void copy_files(const char *src, const char *suffix, const char *harness)
{
    DIR *d = opendir(src);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name), k = strlen(suffix);
        if (n < k || strcmp(e->d_name + n - k, suffix) != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", src, e->d_name);
        uint8_t *buf;
        size_t len;
        fs_error err = {0};
        if (fs_read_file(path, 1 << 20, &buf, &len, &err) == FS_OK) {
            put(harness, e->d_name, buf, len);
            free(buf);
        }
    }
    if (d)
        closedir(d);
}

static void data_seeds(const char *models)
{
    uint8_t b[64];
    for (int big = 0; big < 2; big++) {
        size_t n = exif_block(b, big ? 8 : 3, big);
        put("exif", big ? "be.tiff" : "le.tiff", b, n);
    }
    copy_files("configs", ".conf", "config");
    copy_files(models, ".json", "json");
    copy_files(models, ".json", "weights");

    /* A manifest with a quantised and a raw float tensor, NUL, its shard. */
    static const char man[] =
        "[{\"weights\":[{\"name\":\"conv/weights\",\"shape\":[1],\"dtype\":\"float32\"},"
        "{\"name\":\"q\",\"shape\":[2,2],\"dtype\":\"float32\",\"quantization\":"
        "{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1}},"
        "{\"name\":\"c\",\"shape\":[2],\"dtype\":\"int32\"}],\"paths\":[\"fuzz-shard1\"]}]";
    uint8_t wbuf[sizeof man + 16];
    memcpy(wbuf, man, sizeof man); /* with its NUL */
    float one = 1.0f;
    memcpy(wbuf + sizeof man, &one, 4);
    memcpy(wbuf + sizeof man + 4, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", 12);
    put("weights", "small", wbuf, sizeof wbuf);

    const int64_t sym[4] = {1, 1, 1, 1};
    tu_onnx_tiny(seed_path("onnx", "conv.onnx"), "Conv", sym, 1);
    tu_onnx_tiny(seed_path("onnx", "sigmoid.onnx"), "Sigmoid", sym, 1);

    static const char lines[] = "# photos\n/srv/photos/a.jpg\n\nrelative/b.png\r\n"
                                "/srv/photos/../c d.heic\n";
    put("manifest", "paths", lines, sizeof lines - 1);

    fs_image_rec r;
    memset(&r, 0, sizeof r);
    r.status = 1;
    r.n_faces = 3;
    r.width = 640;
    r.height = 480;
    r.path = "/srv/photos/a.jpg";
    r.error = "corrupt JPEG: premature end of data";
    uint8_t rec[1024];
    fs_rec_image_encode(&r, rec);
    put("records", "image", rec, fs_rec_image_size(&r));
    fs_face_rec f;
    memset(&f, 0, sizeof f);
    f.image_id = 7;
    f.box[2] = f.box[3] = 100;
    f.score = 0.99f;
    fs_rec_face_encode(&f, rec);
    put("records", "face", rec, FS_FACE_BYTES);

    fs_index_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.factory, sizeof info.factory, "IVF64,SQ8");
    snprintf(info.model_id, sizeof info.model_id, "mfn512");
    info.dim = 512;
    info.count = 1000;
    fs_error err = {0};
    fs_index_sidecar_write(seed_path("sidecar", "faces.faiss.json"), &info, &err);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fuzz-seeds OUT_DIR MODELS_DIR\n");
        return 1;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    char sample[4096];
    snprintf(sample, sizeof sample, "%s/demo/sample1.jpg", argv[2]);
    fs_image full = {0}, face = {0}, img = {0};
    fs_error err = {0};
    /* The first face of sample1 (box 414,355 177x240), at 48x64. */
    if (fs_image_decode_file(sample, NULL, &full, NULL, &err) != FS_OK ||
        fs_image_crop(&full, 400, 340, 210, 280, &face, &err) != FS_OK ||
        fs_image_resize(&face, 48, 64, &img, &err) != FS_OK) {
        fprintf(stderr, "fuzz-seeds: %s\n", err.msg);
        return 1;
    }
    jpeg_seeds(&img);
    png_seed("rgb.png", &img, PNG_FORMAT_RGB, 8);
    png_seed("ga.png", &img, PNG_FORMAT_GA, 8);
    png_seed("rgba16.png", &img, PNG_FORMAT_LINEAR_RGB_ALPHA, 16);
    webp_seeds(&img);
    heif_seed(&img, heif_compression_HEVC, 1, "plain.heic");
    heif_seed(&img, heif_compression_AV1, 1, "plain.avif");
    heif_seed(&img, heif_compression_AV1, 6, "rotated.avif");
    tiff_seed("rgb.tif", &img, 3, 8, PHOTOMETRIC_RGB, 0, 1);
    tiff_seed("rgb16-tiled.tif", &img, 3, 16, PHOTOMETRIC_RGB, 1, 1);
    tiff_seed("grey-o6.tif", &img, 1, 8, PHOTOMETRIC_MINISBLACK, 0, 6);
    tiff_seed("palette.tif", &img, 1, 8, PHOTOMETRIC_PALETTE, 0, 1);
    tiff_seed("cmyk.tif", &img, 4, 8, PHOTOMETRIC_SEPARATED, 1, 1);
    data_seeds(argv[2]);
    fs_image_free(&full);
    fs_image_free(&face);
    fs_image_free(&img);
    return 0;
}
