/* Helpers of the end-to-end ingest tests (see ingest_util.h). */
#include "ingest_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "facesearch/face.h"
#include "facesearch/hash.h"
#include "facesearch/image.h"
#include "facesearch/store.h"
#include "harness.h"

/* A folder of n photos: crops/rescales of the six samples (real faces). */
const char *make_photos(const char *name, int n)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", fs_test_tmpdir(), name);
    mkdir(dir, 0755);
    fs_error e = {0};
    for (int i = 0; i < n; i++) {
        char src[600], dst[700];
        snprintf(src, sizeof src, "%s/demo/sample%d.jpg", fs_test_models_dir(), i % 6 + 1);
        fs_image img = {0}, small = {0}, crop = {0};
        if (fs_image_decode_file(src, NULL, &img, NULL, &e) != FS_OK)
            return NULL;
        /* Variant i/6: a different window and size, so every photo differs. */
        int v = i / 6;
        int cw = img.width - 160 * v, ch = img.height - 100 * v;
        if (fs_image_crop(&img, 80 * v, 50 * v, cw, ch, &crop, &e) != FS_OK ||
            fs_image_resize(&crop, 480, 480 * ch / cw, &small, &e) != FS_OK)
            return NULL;
        uint8_t *jpeg;
        size_t len;
        if (fs_image_encode_jpeg(&small, 90, &jpeg, &len, &e) != FS_OK)
            return NULL;
        snprintf(dst, sizeof dst, "%s/photo%02d.jpg", dir, i);
        FILE *f = fopen(dst, "wb");
        if (f) {
            fwrite(jpeg, 1, len, f);
            fclose(f);
        }
        free(jpeg);
        fs_image_free(&img);
        fs_image_free(&crop);
        fs_image_free(&small);
    }
    return dir;
}

/* Runs facesearch with args; stdout+stderr into out. */
int fsr(const char *args, char *out, size_t cap)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", fs_test_bin(), args);
    return fs_test_sh(cmd, out, cap);
}

/* The value of "key": in a one-line JSON object, or -1. */
long long json_num(const char *json, const char *key)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":", key);
    const char *p = strstr(json, needle);
    return p ? atoll(p + strlen(needle)) : -1;
}

/* A canonical digest of a database's content, independent of ids and of
 * the order photos were processed in: per photo (sorted by path) its status,
 * size, face count and every face's box, score and descriptor bytes. */
typedef struct digest_ctx {
    fs_db_snap *snap;
    char **lines;
    int n, cap;
    long faces;
} digest_ctx;

static int digest_image(void *vctx, const fs_image_rec *img)
{
    digest_ctx *c = vctx;
    fs_sha256_ctx h;
    fs_sha256_init(&h);
    fs_sha256_update(&h, img->path, strlen(img->path));
    fs_sha256_update(&h, &img->status, 1);
    fs_sha256_update(&h, &img->size, sizeof img->size);
    fs_sha256_update(&h, &img->n_faces, sizeof img->n_faces);
    char path[1024];
    snprintf(path, sizeof path, "%s", img->path);
    uint32_t n = img->n_faces;
    uint64_t first = img->first_face;
    for (uint32_t i = 0; i < n; i++) {
        fs_face_rec f;
        float v[FS_DESCRIPTOR_MAX];
        if (fs_db_get_face(c->snap, first + i, &f, NULL) != FS_OK ||
            fs_db_get_vector(c->snap, first + i, v, NULL) != FS_OK)
            return 1; /* a record pointing at missing faces: corrupt */
        fs_sha256_update(&h, f.box, sizeof f.box);
        fs_sha256_update(&h, &f.score, sizeof f.score);
        fs_sha256_update(&h, v, 128 * sizeof(float));
        c->faces++;
    }
    uint8_t d[32];
    char hex[65];
    fs_sha256_final(&h, d);
    fs_sha256_hex(d, hex);
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->lines = realloc(c->lines, (size_t)c->cap * sizeof *c->lines);
    }
    c->lines[c->n] = malloc(strlen(path) + 70);
    sprintf(c->lines[c->n++], "%s %s", path, hex);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int count_face(void *ctx, const fs_face_rec *f)
{
    (void)f;
    ++*(long *)ctx;
    return 0;
}

/* Digest text of the database in dir ("" when unreadable).  *faces gets the
 * faces reached through photo records, *table the faces in the faces table
 * (orphans would make it larger), *counted the meta counter: all three must
 * agree. */
char *db_digest(const char *dir, long *faces, long *table, long *counted)
{
    fs_db *db;
    fs_db_snap *s;
    fs_db_options ro = {FS_DB_READONLY, NULL, 0, 0};
    digest_ctx c = {0};
    char *out = calloc(1, 1);
    *faces = *table = *counted = 0;
    /* No database yet (killed before creating it) reads as empty. */
    if (fs_db_open(dir, &ro, &db, NULL) != FS_OK)
        return out;
    if (fs_db_snap_begin(db, &s, NULL) == FS_OK) {
        c.snap = s;
        fs_db_stats st;
        int rc = fs_db_foreach_image(s, 0, digest_image, &c, NULL);
        fs_db_stats_get(s, &st, NULL);
        *counted = (long)st.faces;
        *table = 0;
        fs_db_foreach_face(s, 0, count_face, table, NULL);
        fs_db_snap_end(s);
        if (rc != FS_OK)
            c.n = 0;
    }
    fs_db_close(db);
    if (c.n)
        qsort(c.lines, (size_t)c.n, sizeof *c.lines, cmp_str);
    size_t len = 1;
    for (int i = 0; i < c.n; i++)
        len += strlen(c.lines[i]) + 1;
    out = realloc(out, len);
    out[0] = '\0';
    for (int i = 0; i < c.n; i++) {
        strcat(out, c.lines[i]);
        strcat(out, "\n");
        free(c.lines[i]);
    }
    free(c.lines);
    *faces = c.faces;
    return out;
}
