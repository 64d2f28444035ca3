/*
 * Every input the fuzzers ever broke a reader with (tests/fuzz/regress/
 * HARNESS/FILE, kept with its fix) goes through the same reader in the
 * ordinary build, and under make test-asan with the sanitizers: each must
 * now be refused with an error message, or read, and never crash.  Inputs
 * made by hand for a reader's limits sit there too.
 */
#include <dirent.h>
#include <stdlib.h>

#include "../src/image/internal.h"
#include "../src/index/internal.h"
#include "facesearch/config.h"
#include "facesearch/nn.h"
#include "harness.h"

typedef int (*reader)(const char *path, const uint8_t *buf, size_t len, fs_error *e);

static int read_image(const char *path, const uint8_t *buf, size_t len, fs_error *e)
{
    (void)path;
    fs_decode_req req = {0, 0, 1, 16u << 20};
    fs_image img = {0};
    fs_image_info info;
    /* The harnesses call a format's decoder whatever the magic says. */
    const char *dir = strstr(path, "regress/image_");
    int st = FS_EINTERNAL;
    if (dir && !strncmp(dir + 14, "heif", 4))
        st = fs_heif_decode(buf, len, &req, &img, &info, e);
    else if (dir && !strncmp(dir + 14, "webp", 4))
        st = fs_webp_decode(buf, len, &req, &img, &info, e);
    else if (dir && !strncmp(dir + 14, "tiff", 4))
        st = fs_tiff_decode(buf, len, &req, &img, &info, e);
    else if (dir && !strncmp(dir + 14, "png", 3))
        st = fs_png_decode(buf, len, &req, &img, &info, e);
    else if (dir && !strncmp(dir + 14, "jpeg", 4))
        st = fs_jpeg_decode(buf, len, &req, &img, &info, e);
    fs_image_free(&img);
    return st;
}

static int read_onnx(const char *path, const uint8_t *buf, size_t len, fs_error *e)
{
    (void)buf, (void)len;
    fs_onnx_model m;
    int st = fs_onnx_load(path, &m, e);
    if (st == FS_OK)
        fs_net_free(m.net);
    return st;
}

static int read_sidecar(const char *path, const uint8_t *buf, size_t len, fs_error *e)
{
    (void)buf, (void)len;
    fs_index_info info;
    return fs_index_sidecar_read(path, &info, e);
}

static int read_config(const char *path, const uint8_t *buf, size_t len, fs_error *e)
{
    (void)buf, (void)len;
    fs_config *cfg = fs_config_create();
    int st = fs_config_load(cfg, path, e);
    fs_config_destroy(cfg);
    return st;
}

static int read_json(const char *path, const uint8_t *buf, size_t len, fs_error *e)
{
    (void)path;
    fs_json *j = NULL;
    int st = fs_json_parse((const char *)buf, len, "regress", &j, e);
    fs_json_free(j);
    return st;
}

TEST(fuzz_findings_stay_fixed)
{
    static const struct {
        const char *prefix;
        reader fn;
    } readers[] = {{"image_", read_image},   {"onnx", read_onnx}, {"sidecar", read_sidecar},
                   {"config", read_config}, {"json", read_json}};
    DIR *top = opendir("tests/fuzz/regress");
    if (!top)
        SKIP("tests/fuzz/regress not found (run from the repository)");
    struct dirent *h;
    int files = 0;
    while ((h = readdir(top))) {
        if (h->d_name[0] == '.')
            continue;
        reader fn = NULL;
        for (size_t i = 0; i < sizeof readers / sizeof *readers; i++)
            if (!strncmp(h->d_name, readers[i].prefix, strlen(readers[i].prefix)))
                fn = readers[i].fn;
        CHECK_MSG(fn, "no reader for the findings of harness %s", h->d_name);
        char dir[512];
        snprintf(dir, sizeof dir, "tests/fuzz/regress/%s", h->d_name);
        DIR *d = opendir(dir);
        struct dirent *f;
        while (fn && d && (f = readdir(d))) {
            if (f->d_name[0] == '.')
                continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, f->d_name);
            uint8_t *buf;
            size_t len;
            fs_error e = {0};
            REQUIRE(fs_read_file(path, 1 << 24, &buf, &len, &e) == FS_OK);
            e.msg[0] = '\0';
            int st = fn(path, buf, len, &e);
            CHECK_MSG(st == FS_OK || (e.msg[0] && !strchr(e.msg, '\n')),
                      "%s: status %d without a one-line message", path, st);
            /* A file's fault must never read as the machine's: FS_ENOMEM
             * stops a whole ingest. */
            CHECK_MSG(st != FS_ENOMEM, "%s: FS_ENOMEM (%s)", path, e.msg);
            free(buf);
            files++;
        }
        if (d)
            closedir(d);
    }
    closedir(top);
    CHECK(files > 0);
}
