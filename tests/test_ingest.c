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
#include "ingest_util.h"

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

/* 20 SIGKILLs at random moments of an ingest into a plain database, or a
 * sharded one (shards > 0): after each the database opens with consistent
 * counts, and a rerun gives exactly the uninterrupted run's content. */
static void kill_rounds(const char *name, int shards)
{
    /* Fewer photos and kill rounds under the sanitizers (each run is ~5x
     * slower there). */
    const char *photos = make_photos("kill-photos", getenv("FS_TEST_SANITIZED") ? 4 : 8);
    REQUIRE(photos);
    /* Small batches so kills land between, inside and around commits. */
    char conf[700];
    snprintf(conf, sizeof conf, "%s/kill.conf", fs_test_tmpdir());
    FILE *f = fopen(conf, "w");
    REQUIRE(f);
    fputs("[ingest]\nbatch_photos = 2\nbatch_seconds = 0.05\n", f);
    fclose(f);
    char ref[600], args[2048], init[2048];
    static char out[65536];
    snprintf(ref, sizeof ref, "%s/%s-ref", fs_test_tmpdir(), name);
    if (shards) {
        snprintf(init, sizeof init, "init --db %s --shards %d", ref, shards);
        REQUIRE(fsr(init, out, sizeof out) == 0);
    }
    snprintf(args, sizeof args, "ingest --config %s --db %s --quiet %s", conf, ref, photos);
    double t0 = fs_now();
    REQUIRE(fsr(args, out, sizeof out) == 0);
    double full = fs_now() - t0;
    long rf, rt, rc;
    char *want = db_digest(ref, &rf, &rt, &rc);
    REQUIRE(rf > 0 && rf == rt && rt == rc);

    srand(12345);
    int rounds = fs_test_kill_rounds(), killed_midway = 0;
    for (int r = 0; r < rounds; r++) {
        char db[600];
        snprintf(db, sizeof db, "%s/%s-%02d", fs_test_tmpdir(), name, r);
        if (shards) {
            snprintf(init, sizeof init, "init --db %s --shards %d", db, shards);
            REQUIRE(fsr(init, out, sizeof out) == 0);
        }
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

TEST(ingest_survives_kill_at_random_moments)
{
    kill_rounds("kill", 0);
}

TEST(ingest_sharded_survives_kill_at_random_moments)
{
    kill_rounds("kill-sharded", 3);
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
        char by[64];
        snprintf(by, sizeof by, "(pid %d)", (int)pid);
        CHECK_MSG(strstr(out, by) != NULL, "the refusal names the running ingest %s: %s", by,
                  out);
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
