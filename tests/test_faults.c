/*
 * Faults the database must survive (docs/operations.md, "Fault guarantees"):
 *   disk full:   ingest and build on a full tmpfs end with exit 2 and a
 *                message naming the file, what it needed and what was free;
 *                committed photos and the old index stay; after space is
 *                freed the next run finishes the job (needs root to mount);
 *   SIGKILL:     20 kills at random moments of build, plain and sharded
 *                (ingest and reembed: test_ingest.c, test_reembed.c), each
 *                leaving an index that opens or none, and a rerun that gives
 *                the uninterrupted build's file;
 *   readers:     stats, query and dedup in a loop while an ingest and then
 *                a build run never fail and never see a half-written state;
 *   limits:      out of file descriptors (ulimit -n) and of address space
 *                (ulimit -v): a clear one-line error, no crash, nothing
 *                recorded against the photos, and the next run finishes.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "facesearch/hash.h"
#include "facesearch/store.h"
#include "harness.h"
#include "ingest_util.h"

static char out[1 << 16];

/* A database of n random unit vectors (dim 128) as one-face photos, plain
 * (shards 0) or sharded; for index builds that take long enough to kill. */
static int synth_db(const char *dir, int n, int shards)
{
    static const fs_db_model m = {"resnet128/synthetic/cosine", "", 128};
    fs_error e = {0};
    fs_db *db;
    fs_db_options o = {FS_DB_CREATE, &m, 0, 0};
    if ((shards && fs_db_create_sharded(dir, shards, &m, &e) != FS_OK) ||
        fs_db_open(dir, &o, &db, &e) != FS_OK)
        return -1;
    uint64_t rng = 777;
    int rc = FS_OK;
    for (int s = 0; s < n && rc == FS_OK; s += 1000) {
        static char paths[1000][40];
        static fs_db_item items[1000];
        static fs_face_rec faces[1000];
        static float vecs[1000][128];
        int k = n - s < 1000 ? n - s : 1000;
        for (int i = 0; i < k; i++) {
            double norm = 0;
            for (int d = 0; d < 128; d++) {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                vecs[i][d] = (float)((double)(rng >> 11) / 9007199254740992.0 - 0.5);
                norm += (double)vecs[i][d] * vecs[i][d];
            }
            for (int d = 0; d < 128; d++)
                vecs[i][d] /= (float)sqrt(norm);
            snprintf(paths[i], sizeof paths[i], "/archive/%d.jpg", s + i);
            memset(&items[i], 0, sizeof items[i]);
            memset(&faces[i], 0, sizeof faces[i]);
            faces[i].box[2] = faces[i].box[3] = 100;
            faces[i].score = 0.9f;
            items[i].img.path = paths[i];
            items[i].img.error = "";
            items[i].img.n_faces = 1;
            items[i].faces = &faces[i];
            items[i].vectors = vecs[i];
        }
        rc = fs_db_commit(db, items, k, NULL, 0, &e);
    }
    fs_db_close(db);
    return rc == FS_OK ? 0 : -1;
}

/* sha256 hex of a file, "" when it cannot be read. */
static void file_sha(const char *path, char hex[65])
{
    uint8_t *buf, d[32];
    size_t len;
    fs_error e = {0};
    hex[0] = '\0';
    if (fs_read_file(path, 1u << 30, &buf, &len, &e) != FS_OK)
        return;
    fs_sha256(buf, len, d);
    fs_sha256_hex(d, hex);
    free(buf);
}

/* ---- disk full ------------------------------------------------------- */

/* Mounts a tmpfs of mb MiB on dir; 0 when done, else the reason in why. */
static int mount_tmpfs(const char *dir, int mb, char *why, size_t cap)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && mount -t tmpfs -o size=%dm tmpfs %s 2>&1", dir, mb,
             dir);
    int rc = fs_test_sh(cmd, why, cap);
    why[strcspn(why, "\n")] = '\0';
    return rc;
}

/* Fills the filesystem of dir up to `leave` KiB with dir/filler. */
static int fill(const char *dir, int leave)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "a=$(df --output=avail -B1 %s | tail -1); "
             "head -c $((a - %d * 1024)) /dev/zero > %s/filler", dir, leave, dir);
    return fs_test_sh(cmd, out, sizeof out);
}

TEST(faults_disk_full_keeps_committed_work_and_the_old_index)
{
    char mnt[600], why[512];
    snprintf(mnt, sizeof mnt, "%s/small-disk", fs_test_tmpdir());
    if (geteuid() != 0 || mount_tmpfs(mnt, 32, why, sizeof why) != 0)
        SKIP("mounting a small tmpfs needs root (and a system that allows it)");
    const char *photos = make_photos("full-photos", 12);
    REQUIRE(photos);
    char conf[700], ref[700], db[700], args[4096], cmd[1024];
    snprintf(conf, sizeof conf, "%s/full.conf", fs_test_tmpdir());
    FILE *f = fopen(conf, "w");
    REQUIRE(f);
    fputs("[ingest]\nbatch_photos = 1\nbatch_seconds = 0.05\n[run]\nthreads = 1\n", f);
    fclose(f);
    snprintf(ref, sizeof ref, "%s/full-ref", fs_test_tmpdir());
    snprintf(args, sizeof args, "ingest --config %s --db %s --quiet %s", conf, ref, photos);
    REQUIRE(fsr(args, out, sizeof out) == 0);
    long rf, rt, rc;
    char *want = db_digest(ref, &rf, &rt, &rc);

    /* Ingest with ~100 KiB left: a few batches fit, then the disk is full. */
    snprintf(db, sizeof db, "%s/db", mnt);
    REQUIRE(fill(mnt, 100) == 0);
    snprintf(args, sizeof args, "ingest --config %s --db %s --quiet %s", conf, db, photos);
    CHECK_INT(fsr(args, out, sizeof out), 2);
    CHECK_MSG(strstr(out, "disk full") && strstr(out, "faces.mdb") &&
                  strstr(out, "it needed about") && strstr(out, "free"),
              "the message names the file, the need and the free space: %s", out);
    long f1, t1, c1;
    free(db_digest(db, &f1, &t1, &c1));
    CHECK_MSG(f1 == t1 && t1 == c1, "after the full disk: %ld/%ld/%ld faces", f1, t1, c1);
    snprintf(cmd, sizeof cmd, "stats --db %s --json", db);
    CHECK_INT(fsr(cmd, out, sizeof out), 0);
    long kept = json_num(out, "images");
    CHECK_MSG(kept >= 1 && kept < 12, "committed before the disk filled: %ld of 12", kept);
    /* Space freed: the next run finishes the job, as if never interrupted. */
    snprintf(cmd, sizeof cmd, "rm -f %s/filler", mnt);
    REQUIRE(fs_test_sh(cmd, out, sizeof out) == 0);
    CHECK_INT(fsr(args, out, sizeof out), 0);
    char *got = db_digest(db, &f1, &t1, &c1);
    CHECK_MSG(strcmp(got, want) == 0, "after freeing space the content differs from the "
              "uninterrupted run's");
    free(got);
    free(want);

    /* build: the old index stays in place when the new one does not fit. */
    snprintf(cmd, sizeof cmd, "build --db %s --quiet", db);
    REQUIRE(fsr(cmd, out, sizeof out) == 0);
    char idx[800], before[65], after[65];
    snprintf(idx, sizeof idx, "%s/faces.faiss", db);
    file_sha(idx, before);
    REQUIRE(fill(mnt, 8) == 0);
    snprintf(cmd, sizeof cmd, "build --db %s --quiet --factory Flat", db);
    CHECK_INT(fsr(cmd, out, sizeof out), 2);
    CHECK_MSG(strstr(out, "disk full") && strstr(out, "faces.faiss"), "build: %s", out);
    file_sha(idx, after);
    CHECK_MSG(before[0] && strcmp(before, after) == 0, "the old index changed");
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp", db);
    fs_test_sh(cmd, out, sizeof out);
    CHECK_MSG(atoi(out) == 0, "temporary files left behind: %s", out);
    snprintf(cmd, sizeof cmd, "query --db %s --face-id 0 -k 3 --json", db);
    CHECK_INT(fsr(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "rm -f %s/filler", mnt);
    REQUIRE(fs_test_sh(cmd, out, sizeof out) == 0);
    snprintf(cmd, sizeof cmd, "build --db %s --quiet --factory Flat", db);
    CHECK_INT(fsr(cmd, out, sizeof out), 0);

    snprintf(cmd, sizeof cmd, "umount %s", mnt);
    fs_test_sh(cmd, out, sizeof out);
}

/* ---- SIGKILL during build ---------------------------------------------- */

static void build_kill_rounds(const char *name, int shards)
{
    int n = getenv("FS_TEST_SANITIZED") ? 8000 : 30000;
    char pristine[600], cmd[2048], args[1024];
    snprintf(pristine, sizeof pristine, "%s/%s-pristine", fs_test_tmpdir(), name);
    REQUIRE(synth_db(pristine, n, shards) == 0);
    /* The uninterrupted build, its file and its time. */
    char ref[600], want[65], idx[700];
    snprintf(ref, sizeof ref, "%s/%s-ref", fs_test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "cp -r %s %s", pristine, ref);
    REQUIRE(fs_test_sh(cmd, out, sizeof out) == 0);
    const char *factory = "IVF64,SQ8";
    snprintf(args, sizeof args, "build --db %s --factory %s --threads 1 --quiet", ref, factory);
    double t0 = fs_now();
    REQUIRE(fsr(args, out, sizeof out) == 0);
    double full = fs_now() - t0;
    snprintf(idx, sizeof idx, "%s/faces.faiss", ref);
    file_sha(idx, want);
    REQUIRE(want[0]);

    srand(777);
    int rounds = fs_test_kill_rounds(), hit = 0;
    for (int r = 0; r < rounds; r++) {
        char db[600], got[65];
        snprintf(db, sizeof db, "%s/%s-%02d", fs_test_tmpdir(), name, r);
        snprintf(cmd, sizeof cmd, "rm -rf %s && cp -r %s %s", db, pristine, db);
        REQUIRE(fs_test_sh(cmd, out, sizeof out) == 0);
        snprintf(args, sizeof args, "build --db %s --factory %s --threads 1 --quiet", db,
                 factory);
        double delay = 1.1 * full * (double)rand() / RAND_MAX;
        int k = fs_test_kill_after(args, delay);
        REQUIRE(k >= 0);
        hit += k;
        /* Right after the kill: either no index (query says to build) or a
         * whole one; never a torn file. */
        snprintf(cmd, sizeof cmd, "query --db %s --face-id 1 -k 3 --json", db);
        int q = fsr(cmd, out, sizeof out);
        CHECK_MSG(q == 0 || (q == 2 && strstr(out, "build")),
                  "round %d (killed after %.2f s): query -> %d: %.300s", r, delay, q, out);
        CHECK_INT(fsr(args, out, sizeof out), 0);
        snprintf(idx, sizeof idx, "%s/faces.faiss", db);
        file_sha(idx, got);
        CHECK_MSG(strcmp(got, want) == 0, "round %d (killed after %.2f s): the rebuilt index "
                  "differs from the uninterrupted build's", r, delay);
    }
    CHECK_MSG(hit >= rounds / 2, "only %d of %d kills hit a running build", hit, rounds);
    printf("    %d of %d kills hit a running build (%.2f s uninterrupted)\n", hit, rounds, full);
}

TEST(faults_build_survives_kill_at_random_moments)
{
    build_kill_rounds("bkill", 0);
}

TEST(faults_sharded_build_survives_kill_at_random_moments)
{
    build_kill_rounds("bkill-sharded", 3);
}

/* ---- readers while writing ---------------------------------------------- */

/* Runs stats, query and dedup in turn until the writer (pid) exits; every
 * reader must succeed (query and dedup may say the index is missing or old,
 * exit 2, before the first build) and stats must add up.  Returns the
 * number of reader runs. */
static int read_while(pid_t pid, const char *db, int index_expected)
{
    int runs = 0, st;
    char cmd[1024];
    while (waitpid(pid, &st, WNOHANG) == 0) {
        snprintf(cmd, sizeof cmd, "stats --db %s --json", db);
        int rc = fsr(cmd, out, sizeof out);
        if (rc == 2 && strstr(out, "no facesearch database"))
            continue; /* not created yet */
        CHECK_MSG(rc == 0, "stats during a write -> %d: %.300s", rc, out);
        long images = json_num(out, "images"), ok = json_num(out, "images_ok"),
             errors = json_num(out, "errors");
        CHECK_MSG(images == ok + errors, "stats saw a half-written state: %.300s", out);
        snprintf(cmd, sizeof cmd, "query --db %s --face-id 0 -k 3 --json", db);
        rc = fsr(cmd, out, sizeof out);
        CHECK_MSG(rc == 0 || (!index_expected && rc == 2),
                  "query during a write -> %d: %.300s", rc, out);
        snprintf(cmd, sizeof cmd, "dedup --db %s --json", db);
        rc = fsr(cmd, out, sizeof out);
        CHECK_MSG(rc == 0 || (!index_expected && rc == 2),
                  "dedup during a write -> %d: %.300s", rc, out);
        runs++;
    }
    CHECK_INT(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
    return runs;
}

TEST(faults_readers_during_ingest_and_build_never_fail)
{
    const char *photos = make_photos("read-photos", 24);
    REQUIRE(photos);
    char db[600], args[2048];
    snprintf(db, sizeof db, "%s/read-db", fs_test_tmpdir());
    snprintf(args, sizeof args, "ingest --db %s --quiet --threads 1 %s", db, photos);
    pid_t pid = fs_test_spawn(args);
    REQUIRE(pid > 0);
    int during_ingest = read_while(pid, db, 0);

    char big[600];
    snprintf(big, sizeof big, "%s/read-big", fs_test_tmpdir());
    REQUIRE(synth_db(big, getenv("FS_TEST_SANITIZED") ? 8000 : 30000, 0) == 0);
    snprintf(args, sizeof args, "build --db %s --factory Flat --quiet", big);
    REQUIRE(fsr(args, out, sizeof out) == 0);
    snprintf(args, sizeof args, "build --db %s --factory IVF64,SQ8 --threads 1 --quiet", big);
    pid = fs_test_spawn(args);
    REQUIRE(pid > 0);
    int during_build = read_while(pid, big, 1);
    printf("    reader rounds: %d during the ingest, %d during the build\n", during_ingest,
           during_build);
    CHECK(during_ingest >= 1 && during_build >= 1);
}

/* ---- descriptors and memory ------------------------------------------- */

TEST(faults_out_of_descriptors_or_memory_is_a_clear_error)
{
    const char *photos = make_photos("limit-photos", 6);
    REQUIRE(photos);
    char db[600], cmd[4096];
    snprintf(db, sizeof db, "%s/limit-db", fs_test_tmpdir());
    /* 7 descriptors: the database opens, the folder cannot be read. */
    const char *limits[] = {"ulimit -n 7", "ulimit -v 400000"};
    for (int i = 0; i < 2; i++) {
        if (getenv("FS_TEST_SANITIZED") && i == 1)
            continue; /* ASan reserves terabytes of address space */
        /* stderr is joined before the limit: the shell needs descriptors
         * of its own for a redirection. */
        snprintf(cmd, sizeof cmd, "exec 2>&1; %s; exec %s ingest --db %s --quiet %s", limits[i],
                 fs_test_bin(), db, photos);
        int rc = fs_test_sh(cmd, out, sizeof out);
        CHECK_MSG(rc == 2 || rc == 3, "%s: exit %d (a crash is -1): %s", limits[i], rc, out);
        CHECK_MSG(strstr(out, i ? "out of memory" : "out of file descriptors") &&
                      strchr(out, '\n') == out + strlen(out) - 1,
                  "%s: one clear line expected: %s", limits[i], out);
        snprintf(cmd, sizeof cmd, "stats --db %s --json", db);
        if (fsr(cmd, out, sizeof out) == 0)
            CHECK_MSG(json_num(out, "errors") == 0, "%s: photos recorded as bad: %s", limits[i],
                      out);
    }
    snprintf(cmd, sizeof cmd, "ingest --db %s --quiet --json %s", db, photos);
    CHECK_INT(fsr(cmd, out, sizeof out), 0);
    CHECK_INT(json_num(out, "processed"), 6);
    CHECK_INT(json_num(out, "errors"), 0);
}
