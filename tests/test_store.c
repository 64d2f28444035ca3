/* The LMDB face database: records, replacement, removal, counters, growth,
 * refusal of other models, the writer lock and concurrent readers. */
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "facesearch/store.h"
#include "harness.h"

#define DIM 8

static const fs_db_model model = {"test-model/v1", "sha256:abc", DIM};

/* A database directory under the run's scratch dir; the string stays valid
 * for the next 15 calls. */
static const char *fresh_dir(const char *name)
{
    static char dirs[16][512];
    static int next;
    char *dir = dirs[next++ % 16];
    snprintf(dir, 512, "%s/%s", fs_test_tmpdir(), name);
    return dir;
}

static int open_rw(const char *dir, fs_db **db, fs_error *e)
{
    fs_db_options o = {FS_DB_CREATE, &model, 0, 0};
    return fs_db_open(dir, &o, db, e);
}

/* Builds a photo item with n faces whose values derive from seed. */
typedef struct photo {
    fs_db_item item;
    fs_face_rec faces[4];
    float vecs[4 * DIM];
} photo;

static void make_photo(photo *p, const char *path, int n, float seed)
{
    memset(p, 0, sizeof *p);
    p->item.img.path = path;
    p->item.img.size = 1000 + (uint64_t)seed;
    p->item.img.mtime_ns = 1700000000000000000LL + (int64_t)seed;
    p->item.img.width = 640;
    p->item.img.height = 480;
    p->item.img.n_faces = (uint32_t)n;
    p->item.img.error = "";
    for (int i = 0; i < n; i++) {
        p->faces[i].box[0] = seed + i;
        p->faces[i].box[2] = 50;
        p->faces[i].score = 0.9f;
        p->faces[i].landmarks[67][1] = seed * 2;
        for (int d = 0; d < DIM; d++)
            p->vecs[i * DIM + d] = seed + (float)i + (float)d / 100;
    }
    p->item.faces = p->faces;
    p->item.vectors = p->vecs;
}

static int count_cb(void *ctx, const fs_face_rec *f)
{
    (void)f;
    ++*(int *)ctx;
    return 0;
}

/* The counters as a fresh snapshot sees them (zeroed when it fails). */
static fs_db_stats stats_now(fs_db *db)
{
    fs_db_stats st = {0};
    fs_db_snap *s;
    fs_error e = {0};
    if (fs_db_snap_begin(db, &s, &e) == FS_OK) {
        fs_db_stats_get(s, &st, &e);
        fs_db_snap_end(s);
    }
    return st;
}

TEST(store_roundtrip_replace_remove)
{
    fs_error e = {0};
    fs_db *db;
    const char *dir = fresh_dir("db1");
    REQUIRE(open_rw(dir, &db, &e) == FS_OK);
    struct stat st;
    REQUIRE(stat(dir, &st) == 0);
    char f[600];
    snprintf(f, sizeof f, "%s/faces.mdb", dir);
    REQUIRE(stat(f, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0600);

    photo a, b, c;
    make_photo(&a, "/photos/a.jpg", 2, 1);
    make_photo(&b, "/photos/b.jpg", 3, 10);
    make_photo(&c, "/photos/c.jpg", 0, 20);
    c.item.img.status = FS_IMG_ERROR;
    c.item.img.error_code = FS_ECORRUPT;
    c.item.img.error = "/photos/c.jpg: truncated JPEG";
    fs_db_item items[3] = {a.item, b.item, c.item};
    CHECK_OK(fs_db_commit(db, items, 3, NULL, 0, &e), &e);
    CHECK_INT(items[0].img.first_face, 0);
    CHECK_INT(items[1].img.first_face, 2);

    fs_db_snap *s;
    REQUIRE(fs_db_snap_begin(db, &s, &e) == FS_OK);
    fs_image_rec r;
    CHECK_OK(fs_db_find_path(s, "/photos/b.jpg", &r, &e), &e);
    CHECK_STR(r.path, "/photos/b.jpg");
    CHECK_INT(r.n_faces, 3);
    CHECK_INT(r.size, 1010);
    CHECK_INT(fs_db_find_path(s, "/photos/zzz.jpg", &r, &e), FS_ENOTFOUND);
    CHECK_OK(fs_db_find_path(s, "/photos/c.jpg", &r, &e), &e);
    CHECK_INT(r.status, FS_IMG_ERROR);
    CHECK_STR(r.error, "/photos/c.jpg: truncated JPEG");
    fs_face_rec fr;
    CHECK_OK(fs_db_get_face(s, 3, &fr, &e), &e);
    CHECK_INT(fr.image_id, items[1].img.id);
    CHECK_NEAR(fr.box[0], 11, 0);
    CHECK_NEAR(fr.landmarks[67][1], 20, 0);
    float vec[DIM];
    CHECK_OK(fs_db_get_vector(s, 4, vec, &e), &e);
    /* stored as float16 (11 significant bits), read back at unit length:
     * the vector was 12.00, 12.01, ..., 12.07 */
    double norm = 0;
    for (int d = 0; d < DIM; d++)
        norm += (double)vec[d] * vec[d];
    CHECK_NEAR(norm, 1.0, 1e-6);
    CHECK_NEAR(vec[3] / vec[0], 12.03 / 12.00, 2e-3);
    fs_db_stats stt;
    CHECK_OK(fs_db_stats_get(s, &stt, &e), &e);
    CHECK_INT(stt.images, 3);
    CHECK_INT(stt.faces, 5);
    CHECK_INT(stt.errors, 1);
    CHECK_INT(stt.errors_by_code[FS_ECORRUPT], 1);
    CHECK_STR(stt.model_id, "test-model/v1");
    fs_db_snap_end(s);

    /* Re-processing b with one face: same image id, old faces gone. */
    photo b2;
    make_photo(&b2, "/photos/b.jpg", 1, 30);
    uint64_t b_id = items[1].img.id;
    CHECK_OK(fs_db_commit(db, &b2.item, 1, NULL, 0, &e), &e);
    CHECK_INT(b2.item.img.id, b_id);
    CHECK_INT(b2.item.img.first_face, 5);
    REQUIRE(fs_db_snap_begin(db, &s, &e) == FS_OK);
    CHECK_INT(fs_db_get_face(s, 3, &fr, &e), FS_ENOTFOUND);
    CHECK_INT(fs_db_get_vector(s, 3, vec, &e), FS_ENOTFOUND);
    int n = 0;
    CHECK_OK(fs_db_foreach_face(s, 0, count_cb, &n, &e), &e);
    CHECK_INT(n, 3);
    CHECK_OK(fs_db_stats_get(s, &stt, &e), &e);
    CHECK_INT(stt.images, 3);
    CHECK_INT(stt.faces, 3);
    CHECK_INT(stt.faces_removed, 3);
    CHECK_INT(stt.next_face_id, 6);
    fs_db_snap_end(s);

    /* Pruning a: its path, record, faces and vectors all go. */
    uint64_t rm = items[0].img.id;
    CHECK_OK(fs_db_commit(db, NULL, 0, &rm, 1, &e), &e);
    REQUIRE(fs_db_snap_begin(db, &s, &e) == FS_OK);
    CHECK_INT(fs_db_find_path(s, "/photos/a.jpg", &r, &e), FS_ENOTFOUND);
    CHECK_INT(fs_db_get_image(s, rm, &r, &e), FS_ENOTFOUND);
    n = 0;
    CHECK_OK(fs_db_foreach_face(s, 0, count_cb, &n, &e), &e);
    CHECK_INT(n, 1);
    CHECK_OK(fs_db_stats_get(s, &stt, &e), &e);
    CHECK_INT(stt.images, 2);
    CHECK_INT(stt.faces, 1);
    CHECK_INT(stt.errors, 1);
    CHECK_INT(stt.images_no_face, 0);
    fs_db_snap_end(s);

    /* A photo read fine without a face is counted as such until it has one. */
    photo d, d2;
    make_photo(&d, "/photos/d.jpg", 0, 40);
    CHECK_OK(fs_db_commit(db, &d.item, 1, NULL, 0, &e), &e);
    stt = stats_now(db);
    CHECK_INT(stt.images_no_face, 1);
    CHECK_INT(stt.images_ok, 2);
    make_photo(&d2, "/photos/d.jpg", 2, 50);
    CHECK_OK(fs_db_commit(db, &d2.item, 1, NULL, 0, &e), &e);
    stt = stats_now(db);
    CHECK_INT(stt.images_no_face, 0);
    CHECK_INT(stt.faces, 3);
    fs_db_close(db);
}

TEST(store_long_paths)
{
    fs_error e = {0};
    fs_db *db;
    REQUIRE(open_rw(fresh_dir("db-long"), &db, &e) == FS_OK);
    /* Two 1000-byte paths that share their first 600 bytes. */
    char p1[1001], p2[1001];
    memset(p1, 'x', 1000);
    p1[0] = '/';
    p1[1000] = '\0';
    memcpy(p2, p1, sizeof p1);
    p2[900] = 'y';
    photo a, b;
    make_photo(&a, p1, 1, 1);
    make_photo(&b, p2, 2, 2);
    fs_db_item items[2] = {a.item, b.item};
    CHECK_OK(fs_db_commit(db, items, 2, NULL, 0, &e), &e);
    fs_db_snap *s;
    REQUIRE(fs_db_snap_begin(db, &s, &e) == FS_OK);
    fs_image_rec r;
    CHECK_OK(fs_db_find_path(s, p1, &r, &e), &e);
    CHECK_INT(r.n_faces, 1);
    CHECK_OK(fs_db_find_path(s, p2, &r, &e), &e);
    CHECK_INT(r.n_faces, 2);
    CHECK(strcmp(r.path, p2) == 0);
    fs_db_snap_end(s);
    fs_db_close(db);
}

TEST(store_map_grows_by_itself)
{
    fs_error e = {0};
    fs_db *db;
    fs_db_options o = {FS_DB_CREATE, &model, 1 << 20, 0}; /* 1 MiB map */
    REQUIRE(fs_db_open(fresh_dir("db-grow"), &o, &db, &e) == FS_OK);
    /* ~4000 faces with records of ~600 bytes: several MiB, many doublings. */
    static photo ph[1000];
    static fs_db_item items[1000];
    static char paths[1000][32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 1000; i++) {
            snprintf(paths[i], sizeof paths[i], "/p/%d/%d.jpg", round, i);
            make_photo(&ph[i], paths[i], 4, (float)i);
            items[i] = ph[i].item;
        }
        CHECK_OK(fs_db_commit(db, items, 1000, NULL, 0, &e), &e);
    }
    fs_db_snap *s;
    REQUIRE(fs_db_snap_begin(db, &s, &e) == FS_OK);
    fs_db_stats st;
    CHECK_OK(fs_db_stats_get(s, &st, &e), &e);
    CHECK_INT(st.faces, 8000);
    CHECK(st.map_bytes > (1u << 22));
    fs_db_snap_end(s);
    fs_db_close(db);
}

TEST(store_refuses_other_model_and_missing_db)
{
    fs_error e = {0};
    fs_db *db;
    const char *dir = fresh_dir("db-model");
    REQUIRE(open_rw(dir, &db, &e) == FS_OK);
    fs_db_close(db);
    fs_db_model other = {"other-model/v2", "", DIM};
    fs_db_options o = {FS_DB_CREATE, &other, 0, 0};
    CHECK_INT(fs_db_open(dir, &o, &db, &e), FS_EDB);
    CHECK(strstr(e.msg, "test-model/v1") && strstr(e.msg, "other-model/v2"));
    fs_db_options ro = {FS_DB_READONLY, NULL, 0, 0};
    CHECK_INT(fs_db_open(fresh_dir("db-none"), &ro, &db, &e), FS_ENOTFOUND);
    CHECK(strstr(e.msg, "db-none") != NULL);
    CHECK_OK(fs_db_open(dir, &ro, &db, &e), &e);
    fs_db_close(db);
    /* An environment nothing was committed to yet -- an ingest creating it
     * this moment, or one killed before its first commit -- is no database
     * yet to a reader (a loop of stats during an ingest once failed here);
     * a writer finishes creating it. */
    const char *empty = fresh_dir("db-empty");
    mkdir(empty, 0700);
    char file[600];
    snprintf(file, sizeof file, "%s/%s", empty, FS_DB_FILE);
    MDB_env *env;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_open(env, file, MDB_NOSUBDIR, 0600) == 0);
    mdb_env_close(env);
    CHECK_INT(fs_db_open(empty, &ro, &db, &e), FS_ENOTFOUND);
    CHECK(strstr(e.msg, "no facesearch database here yet") != NULL);
    CHECK_OK(open_rw(empty, &db, &e), &e);
    fs_db_close(db);
    CHECK_OK(fs_db_open(empty, &ro, &db, &e), &e);
    fs_db_close(db);
}

TEST(store_single_writer_concurrent_readers)
{
    fs_error e = {0};
    fs_db *db;
    const char *dir = fresh_dir("db-lock");
    REQUIRE(open_rw(dir, &db, &e) == FS_OK);
    photo a;
    make_photo(&a, "/x.jpg", 2, 5);
    CHECK_OK(fs_db_commit(db, &a.item, 1, NULL, 0, &e), &e);
    /* Another process: a second writer is refused, a reader works. */
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        fs_db *w, *r;
        fs_error ce = {0};
        fs_db_options wo = {FS_DB_CREATE, &model, 0, 0}, ro = {FS_DB_READONLY, NULL, 0, 0};
        int code = 0;
        if (fs_db_open(dir, &wo, &w, &ce) != FS_EBUSY || !strstr(ce.msg, "another facesearch"))
            code |= 1;
        if (fs_db_open(dir, &ro, &r, &ce) != FS_OK)
            code |= 2;
        else {
            fs_db_snap *s;
            fs_db_stats st;
            if (fs_db_snap_begin(r, &s, &ce) != FS_OK || fs_db_stats_get(s, &st, &ce) != FS_OK ||
                st.faces != 2)
                code |= 4;
            else
                fs_db_snap_end(s);
            fs_db_close(r);
        }
        _exit(code);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK_INT(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
    fs_db_close(db);
    /* Once the writer is gone, another may open. */
    CHECK_OK(open_rw(dir, &db, &e), &e);
    fs_db_close(db);
}
