/*
 * facesearch ingest end to end: the built binary on real photos (crops of the
 * model package's samples), checked through the store API.
 *   incremental: unchanged -> 0 processed; touched -> re-done; deleted +
 *                --prune -> removed; --verify-hash catches same-size edits
 *   errors:      corrupt, non-image, over-limit files recorded, run goes on
 *   kill test:   SIGKILL at 20 random moments, rerun to completion each time:
 *                same images/faces/vectors as an uninterrupted run
 *   concurrency: stats during an ingest; a second ingest is refused
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "facesearch/face.h"
#include "facesearch/hash.h"
#include "facesearch/image.h"
#include "facesearch/store.h"
#include "harness.h"

/* A folder of n photos: crops/rescales of the six samples (real faces). */
static const char *make_photos(const char *name, int n)
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
static int fsr(const char *args, char *out, size_t cap)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", fs_test_bin(), args);
    return fs_test_sh(cmd, out, cap);
}

/* The value of "key": in a one-line JSON object, or -1. */
static long long json_num(const char *json, const char *key)
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
static char *db_digest(const char *dir, long *faces, long *table, long *counted)
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

/* Sets a file's mtime to t seconds since the epoch. */
static void set_mtime(const char *path, time_t t)
{
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    utimensat(AT_FDCWD, path, ts, 0);
}

TEST(ingest_incremental)
{
    const char *photos = make_photos("inc-photos", 6);
    REQUIRE(photos);
    char db[600], args[2048];
    static char out[65536];
    snprintf(db, sizeof db, "%s/inc-db", fs_test_tmpdir());
    snprintf(args, sizeof args, "ingest --db %s --quiet --json %s", db, photos);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "processed"), 6);
    CHECK_MSG(json_num(out, "faces") >= 12, "faces: %s", out);
    long f0, t0, c0;
    char *d0 = db_digest(db, &f0, &t0, &c0);
    CHECK(f0 == t0 && t0 == c0 && f0 >= 12);

    /* Unchanged: nothing processed, content identical. */
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "processed"), 0);
    CHECK_INT(json_num(out, "unchanged"), 6);
    long f1, t1, c1;
    char *d1 = db_digest(db, &f1, &t1, &c1);
    CHECK_STR(d1, d0);
    free(d1);

    /* Touched: re-done, old faces replaced (same content, no duplicates). */
    char p2[700];
    snprintf(p2, sizeof p2, "%s/photo02.jpg", photos);
    set_mtime(p2, 1600000000);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "processed"), 1);
    d1 = db_digest(db, &f1, &t1, &c1);
    CHECK_STR(d1, d0);
    CHECK(f1 == f0 && t1 == f0 && c1 == f0);
    free(d1);

    /* Same size and mtime, other content: only --verify-hash notices. */
    uint8_t *a, *b;
    size_t la, lb;
    char p3[700];
    snprintf(p3, sizeof p3, "%s/photo03.jpg", photos);
    fs_error e = {0};
    REQUIRE(fs_read_file(p3, 0, &a, &la, &e) == FS_OK);
    REQUIRE(fs_read_file(p2, 0, &b, &lb, &e) == FS_OK);
    struct stat st3;
    stat(p3, &st3);
    FILE *f = fopen(p3, "wb");
    REQUIRE(f);
    for (size_t i = 0; i < la; i++)
        fputc(b[i % lb], f); /* another photo's bytes, same length */
    fclose(f);
    struct timespec ts[2] = {st3.st_mtim, st3.st_mtim};
    utimensat(AT_FDCWD, p3, ts, 0);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "processed"), 0);
    snprintf(args, sizeof args, "ingest --db %s --quiet --json --verify-hash %s", db, photos);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "processed"), 1);
    CHECK_INT(json_num(out, "unchanged"), 5);
    free(a);
    free(b);

    /* Deleted + --prune: its record, faces and vectors go; others stay. */
    char p5[700];
    snprintf(p5, sizeof p5, "%s/photo05.jpg", photos);
    unlink(p5);
    snprintf(args, sizeof args, "ingest --db %s --quiet --json %s", db, photos);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "pruned"), 0); /* not without --prune */
    snprintf(args, sizeof args, "ingest --db %s --quiet --json --prune %s", db, photos);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "pruned"), 1);
    snprintf(args, sizeof args, "stats --db %s --json", db);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "images"), 5);
    d1 = db_digest(db, &f1, &t1, &c1);
    CHECK(strstr(d1, "photo05.jpg") == NULL && strstr(d1, "photo04.jpg") != NULL);
    CHECK(f1 == t1 && t1 == c1 && f1 < f0);
    free(d1);
    free(d0);
}

TEST(ingest_errors_are_recorded_and_isolated)
{
    const char *photos = make_photos("err-photos", 2);
    REQUIRE(photos);
    char p[700];
    snprintf(p, sizeof p, "%s/notes.jpg", photos);
    FILE *f = fopen(p, "w");
    REQUIRE(f);
    fputs("not a photo\n", f);
    fclose(f);
    /* A truncated copy of a real photo. */
    uint8_t *buf;
    size_t len;
    fs_error e = {0};
    snprintf(p, sizeof p, "%s/photo00.jpg", photos);
    REQUIRE(fs_read_file(p, 0, &buf, &len, &e) == FS_OK);
    snprintf(p, sizeof p, "%s/cut.jpg", photos);
    f = fopen(p, "wb");
    REQUIRE(f);
    fwrite(buf, 1, len / 2, f);
    fclose(f);
    free(buf);
    /* A "photo" over the pixel limit set below: a valid PNG header claiming
     * 5000x5000 (refused before any pixel is read). */
    snprintf(p, sizeof p, "%s/huge.png", photos);
    f = fopen(p, "wb");
    REQUIRE(f);
    /* Signature, IHDR, then an empty IDAT and IEND: libpng reads the header
     * up to the first IDAT. */
    uint8_t png[57] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                       0, 0, 0x13, 0x88, 0, 0, 0x13, 0x88, 8, 2, 0, 0, 0, 0, 0, 0, 0,
                       0, 0, 0, 0, 'I', 'D', 'A', 'T', 0, 0, 0, 0,
                       0, 0, 0, 0, 'I', 'E', 'N', 'D', 0, 0, 0, 0};
    const int chunk[3][2] = {{12, 17}, {37, 4}, {49, 4}}; /* type offset, type+data length */
    for (int c = 0; c < 3; c++) {
        uLong crc = crc32(0L, png + chunk[c][0], (uInt)chunk[c][1]);
        for (int i = 0; i < 4; i++)
            png[chunk[c][0] + chunk[c][1] + i] = (uint8_t)(crc >> (24 - 8 * i));
    }
    fwrite(png, 1, sizeof png, f);
    fclose(f);
    char conf[700];
    snprintf(conf, sizeof conf, "%s/limit.conf", fs_test_tmpdir());
    f = fopen(conf, "w");
    REQUIRE(f);
    fputs("[decode]\nmax_pixels = 10000000\n", f);
    fclose(f);

    char db[600], args[2048];
    static char out[65536];
    snprintf(db, sizeof db, "%s/err-db", fs_test_tmpdir());
    snprintf(args, sizeof args, "ingest --config %s --db %s --quiet --json %s", conf, db, photos);
    CHECK_INT(fsr(args, out, sizeof out), 0); /* bad files do not fail the run */
    CHECK_INT(json_num(out, "processed"), 5);
    CHECK_INT(json_num(out, "errors"), 3);
    snprintf(args, sizeof args, "stats --db %s --json", db);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "images"), 5);
    CHECK_INT(json_num(out, "errors"), 3);
    CHECK(strstr(out, "\"format\":1") && strstr(out, "\"corrupt\":1") && strstr(out, "\"limit\":1"));
    snprintf(args, sizeof args, "stats --db %s --errors", db);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_MSG(strstr(out, "notes.jpg\tformat\t") && strstr(out, "cut.jpg\tcorrupt\t") &&
                  strstr(out, "huge.png\tlimit\t"),
              "stats --errors: %s", out);
    /* Unchanged bad files are not retried... unless asked. */
    snprintf(args, sizeof args, "ingest --config %s --db %s --quiet --json %s", conf, db, photos);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "processed"), 0);
    snprintf(args, sizeof args, "ingest --config %s --db %s --quiet --json --retry-errors %s",
             conf, db, photos);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "processed"), 3);
    /* A missing path is an error record too, the others still go in. */
    snprintf(args, sizeof args, "ingest --db %s --quiet --json %s/nope.jpg", db, photos);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "errors"), 1);
}

TEST(ingest_survives_kill_at_random_moments)
{
    /* Fewer photos under the sanitizers (each run is ~5x slower there); the
     * number of kill rounds stays 20 either way. */
    const char *photos = make_photos("kill-photos", getenv("FS_TEST_SANITIZED") ? 4 : 8);
    REQUIRE(photos);
    /* Small batches so kills land between, inside and around commits. */
    char conf[700];
    snprintf(conf, sizeof conf, "%s/kill.conf", fs_test_tmpdir());
    FILE *f = fopen(conf, "w");
    REQUIRE(f);
    fputs("[ingest]\nbatch_photos = 2\nbatch_seconds = 0.05\n", f);
    fclose(f);
    char ref[600], args[2048];
    static char out[65536];
    snprintf(ref, sizeof ref, "%s/kill-ref", fs_test_tmpdir());
    snprintf(args, sizeof args, "ingest --config %s --db %s --quiet %s", conf, ref, photos);
    double t0 = fs_now();
    REQUIRE(fsr(args, out, sizeof out) == 0);
    double full = fs_now() - t0;
    long rf, rt, rc;
    char *want = db_digest(ref, &rf, &rt, &rc);
    REQUIRE(rf > 0 && rf == rt && rt == rc);

    srand(12345);
    int rounds = 20, killed_midway = 0;
    for (int r = 0; r < rounds; r++) {
        char db[600];
        snprintf(db, sizeof db, "%s/kill-%02d", fs_test_tmpdir(), r);
        snprintf(args, sizeof args, "ingest --config %s --db %s --quiet %s", conf, db, photos);
        /* Kill somewhere in [0, 1.1 x the uninterrupted run time). */
        double delay = 1.1 * full * (double)rand() / RAND_MAX;
        int hit = fs_test_kill_after(args, delay);
        REQUIRE(hit >= 0);
        killed_midway += hit;
        /* The database is usable right away ... */
        long f1, t1, c1;
        char *mid = db_digest(db, &f1, &t1, &c1);
        CHECK_MSG(f1 == t1 && t1 == c1, "round %d: after the kill %ld/%ld/%ld faces", r, f1,
                  t1, c1);
        free(mid);
        /* ... and the next run finishes the job. */
        CHECK_INT(fsr(args, out, sizeof out), 0);
        char *got = db_digest(db, &f1, &t1, &c1);
        CHECK_MSG(strcmp(got, want) == 0, "round %d (killed after %.3f s): content differs", r,
                  delay);
        CHECK(f1 == rf && t1 == rf && c1 == rf);
        free(got);
    }
    /* Most kills must have hit a running ingest, or the test proves little. */
    CHECK_MSG(killed_midway >= rounds / 2, "only %d of %d kills hit a running ingest",
              killed_midway, rounds);
    free(want);
}

TEST(ingest_sigint_saves_work_and_concurrency_rules)
{
    /* Enough photos that the checks below run while the ingest is busy. */
    const char *photos = make_photos("int-photos", 30);
    REQUIRE(photos);
    char conf[700], db[600], args[2048];
    static char out[65536];
    snprintf(conf, sizeof conf, "%s/int.conf", fs_test_tmpdir());
    FILE *f = fopen(conf, "w");
    REQUIRE(f);
    fputs("[ingest]\nbatch_photos = 1\nbatch_seconds = 0.05\n[run]\nthreads = 1\n", f);
    fclose(f);
    snprintf(db, sizeof db, "%s/int-db", fs_test_tmpdir());
    snprintf(args, sizeof args, "ingest --config %s --db %s --quiet %s", conf, db, photos);
    pid_t pid = fs_test_spawn(args);
    REQUIRE(pid > 0);
    /* Wait until some photos are committed, then check the rules while the
     * ingest is still running. */
    char sargs[700];
    snprintf(sargs, sizeof sargs, "stats --db %s --json", db);
    int seen = 0;
    for (int i = 0; i < 400 && seen < 2; i++) {
        usleep(25000);
        if (fsr(sargs, out, sizeof out) == 0)
            seen = (int)json_num(out, "images");
    }
    CHECK_MSG(seen >= 2, "stats during the ingest: %s", out);
    int st;
    if (waitpid(pid, &st, WNOHANG) == 0) {
        /* A second writer is refused, clearly, while the first runs. */
        CHECK_INT(fsr(args, out, sizeof out), 2);
        CHECK_MSG(strstr(out, "another facesearch process") != NULL, "second ingest: %s", out);
        kill(pid, SIGINT);
        waitpid(pid, &st, 0);
        /* Interrupted: exit 2, finished photos kept. */
        CHECK_INT(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 2);
    } else {
        fs_test_skip("the ingest finished before the checks (machine too fast)");
    }
    CHECK_INT(fsr(sargs, out, sizeof out), 0);
    long kept = json_num(out, "images");
    CHECK(kept >= 2);
    snprintf(args, sizeof args, "ingest --config %s --db %s --quiet --json %s", conf, db, photos);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    CHECK_INT(json_num(out, "processed") + json_num(out, "unchanged"), 30);
    CHECK(json_num(out, "unchanged") >= kept);
}
