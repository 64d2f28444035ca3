/*
 * Moving a database to another recogniser: an old database (an earlier
 * facesearch's model id, 128-D) is refused by query and ingest, `reembed`
 * gives every stored face the new model's descriptor -- equal to what
 * `embed` computes for the same photo -- under the same face id, and a
 * reembed killed at random moments is finished by the next run with the
 * same vectors as an uninterrupted one.
 */
#include <stdlib.h>
#include <unistd.h>

#include "facesearch/hash.h"
#include "facesearch/nn.h"
#include "facesearch/store.h"
#include "golden.h"
#include "harness.h"

static char out[1 << 20];

static int fsr(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", fs_test_bin(), args);
    return fs_test_sh(cmd, out, sizeof out);
}

/* sha256 over every (face id, vector) and every face record's image id, in
 * id order, plus the number of vectors and the dim; "" when unreadable. */
typedef struct digest {
    fs_sha256_ctx h;
    long n;
    int dim;
} digest;

static int hash_vec(void *ctx, uint64_t id, const float *v)
{
    digest *d = ctx;
    fs_sha256_update(&d->h, &id, sizeof id);
    fs_sha256_update(&d->h, v, sizeof(float) * (size_t)d->dim);
    d->n++;
    return 0;
}

static int hash_face(void *ctx, const fs_face_rec *f)
{
    digest *d = ctx;
    fs_sha256_update(&d->h, &f->id, sizeof f->id);
    fs_sha256_update(&d->h, &f->image_id, sizeof f->image_id);
    fs_sha256_update(&d->h, f->box, sizeof f->box);
    return 0;
}

static void db_digest(const char *dir, char hex[65], long *n, int *dim, char *model, size_t cap)
{
    fs_db *db;
    fs_db_snap *s;
    fs_db_options ro = {FS_DB_READONLY, NULL, 0, 0};
    digest d = {.n = 0};
    hex[0] = '\0';
    *n = 0;
    if (fs_db_open(dir, &ro, &db, NULL) != FS_OK)
        return;
    fs_db_stats st;
    if (fs_db_snap_begin(db, &s, NULL) == FS_OK && fs_db_stats_get(s, &st, NULL) == FS_OK) {
        fs_sha256_init(&d.h);
        d.dim = st.dim;
        if (model)
            snprintf(model, cap, "%s", st.model_id);
        if (!st.reembed_model[0] && fs_db_foreach_face(s, 0, hash_face, &d, NULL) == FS_OK &&
            fs_db_foreach_vector(s, 0, hash_vec, &d, NULL) == FS_OK) {
            uint8_t dg[32];
            fs_sha256_final(&d.h, dg);
            fs_sha256_hex(dg, hex);
        }
        fs_db_snap_end(s);
    }
    *n = d.n;
    *dim = st.dim;
    fs_db_close(db);
}

/* The sample photos ingested with the 128-D recogniser, then labelled as an
 * earlier facesearch labelled its databases (before recognisers had names:
 * euclidean 128-D descriptors), which is what reembed must migrate. */
static int make_old_db(const char *dir)
{
    char args[2048];
    snprintf(args, sizeof args, "ingest --db %s --recognizer resnet128 --quiet %s/demo", dir,
             fs_test_models_dir());
    if (fsr(args) != 0)
        return -1;
    fs_db *db;
    fs_db_options rw = {0, NULL, 0, 0};
    fs_error e = {0};
    fs_db_model legacy = {"face-api-1.7.15/face_recognition_model.bin@0123456789abcdef/chip+flip",
                          "face_recognition_model.bin=...", 128};
    if (fs_db_open(dir, &rw, &db, &e) != FS_OK)
        return -1;
    int rc = fs_db_reembed_begin(db, &legacy, NULL, &e) == FS_OK && fs_db_reembed_finish(db, &e) == FS_OK;
    fs_db_close(db);
    return rc ? 0 : -1;
}

TEST(reembed_migrates_an_old_database)
{
    char old[600], args[2048], hex_before[65], hex[65], model[256];
    long n;
    int dim;
    snprintf(old, sizeof old, "%s/re-old", fs_test_tmpdir());
    REQUIRE(make_old_db(old) == 0);
    db_digest(old, hex_before, &n, &dim, model, sizeof model);
    CHECK_INT(n, 22);
    CHECK_INT(dim, 128);
    /* an old database is refused, with the way out named */
    snprintf(args, sizeof args, "query --db %s %s/demo/sample1.jpg", old, fs_test_models_dir());
    CHECK_INT(fsr(args), 2);
    CHECK_MSG(strstr(out, "earlier facesearch") && strstr(out, "facesearch reembed"), "%s", out);
    snprintf(args, sizeof args, "ingest --db %s --quiet %s/demo", old, fs_test_models_dir());
    CHECK(fsr(args) != 0);
    CHECK_MSG(strstr(out, "facesearch reembed"), "%s", out);
    snprintf(args, sizeof args, "stats --db %s --json", old);
    CHECK_INT(fsr(args), 0);
    CHECK_MSG(strstr(out, "\"recognizer\":\"legacy\""), "%s", out);

    snprintf(args, sizeof args, "reembed --db %s --json", old);
    REQUIRE(fsr(args) == 0);
    CHECK_MSG(strstr(out, "\"faces\":22") && strstr(out, "\"already\":false") &&
                  strstr(out, "\"zeroed_faces\":0") && strstr(out, "\"dim\":512"),
              "%s", out);
    db_digest(old, hex, &n, &dim, model, sizeof model);
    CHECK_INT(n, 22); /* the same faces, now of the default recognizer: 512-D */
    CHECK_INT(dim, 512);
    CHECK_MSG(strncmp(model, "mfn512/arcface/cosine/", 22) == 0, "%s", model);
    snprintf(args, sizeof args, "stats --db %s --json", old);
    CHECK_INT(fsr(args), 0);
    CHECK_MSG(strstr(out, "\"recognizer\":\"mfn512\"") && strstr(out, "\"reembed\":null"), "%s",
              out);
    snprintf(args, sizeof args, "reembed --db %s --json", old);
    CHECK_INT(fsr(args), 0);
    CHECK_MSG(strstr(out, "\"already\":true"), "%s", out);

    /* each stored vector is what embed computes for that face of the photo */
    fs_db *db;
    fs_db_snap *s;
    fs_db_options ro = {FS_DB_READONLY, NULL, 0, 0};
    REQUIRE(fs_db_open(old, &ro, &db, NULL) == FS_OK);
    REQUIRE(fs_db_snap_begin(db, &s, NULL) == FS_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/demo/sample1.jpg", fs_test_models_dir());
    fs_image_rec img;
    fs_error e = {0};
    if (fs_db_find_path(s, path, &img, &e) != FS_OK) { /* stored as an absolute path */
        char abs[4096];
        CHECK(realpath(path, abs) != NULL);
        CHECK_OK(fs_db_find_path(s, abs, &img, &e), &e);
    }
    snprintf(args, sizeof args, "embed --json --models %s %s", fs_test_models_dir(), path);
    REQUIRE(fsr(args) == 0);
    fs_json *j = NULL;
    CHECK_OK(fs_json_parse(out, strlen(out), "embed", &j, &e), &e);
    const fs_json *faces = fs_json_get(j, "faces");
    CHECK_INT(fs_json_count(faces), img.n_faces);
    double worst = 0, worst_cos = 1;
    for (uint32_t i = 0; i < img.n_faces && i < fs_json_count(faces); i++) {
        float stored[512];
        double want[512];
        REQUIRE(fs_db_get_vector(s, img.first_face + i, stored, &e) == FS_OK);
        REQUIRE(fs_json_numbers(fs_json_get(fs_json_at(faces, i), "descriptor"), want, 512,
                                "descriptor", &e) == FS_OK);
        double dot = 0;
        for (int k = 0; k < 512; k++) {
            worst = fmax(worst, fabs(stored[k] - want[k]));
            dot += stored[k] * want[k];
        }
        worst_cos = fmin(worst_cos, dot);
    }
    /* The landmarks are stored as float32, so the chips move by ~1e-5 px,
     * and the vectors as float16 (a relative 5e-4): measured max abs 5e-4,
     * cosine 0.99999. */
    CHECK_MSG(worst < 2e-3 && worst_cos > 0.9999, "stored vs embed: max abs %.3g, cosine %.6f",
              worst, worst_cos);
    fs_json_free(j);
    fs_db_snap_end(s);
    fs_db_close(db);

    snprintf(args, sizeof args, "build --db %s", old);
    CHECK_INT(fsr(args), 0);
    snprintf(args, sizeof args, "query --db %s --json %s/demo/sample1.jpg", old,
             fs_test_models_dir());
    CHECK_INT(fsr(args), 0);
    /* each face finds itself (its stored vector from float32 landmarks) */
    CHECK_MSG(strstr(out, "\"rank\":1,\"similarity\":1.0000") ||
                  strstr(out, "\"rank\":1,\"similarity\":0.9999"), "%s", out);
}

TEST(reembed_survives_kill_at_random_moments)
{
    char pristine[600], ref[600], args[4096], want[65], got[65];
    long n, rn;
    int dim;
    snprintf(pristine, sizeof pristine, "%s/re-pristine", fs_test_tmpdir());
    REQUIRE(make_old_db(pristine) == 0);
    snprintf(ref, sizeof ref, "%s/re-ref", fs_test_tmpdir());
    snprintf(args, sizeof args, "cp -r %s %s", pristine, ref);
    REQUIRE(fs_test_sh(args, out, sizeof out) == 0);
    snprintf(args, sizeof args, "reembed --db %s --batch 1 --threads 1 --quiet", ref);
    double t0 = fs_now();
    REQUIRE(fsr(args) == 0);
    double full = fs_now() - t0;
    db_digest(ref, want, &rn, &dim, NULL, 0);
    REQUIRE(rn == 22 && want[0]);

    srand(4242);
    int rounds = fs_test_kill_rounds(), killed = 0, refused = 0;
    for (int r = 0; r < rounds; r++) {
        char db[600];
        snprintf(db, sizeof db, "%s/re-kill-%02d", fs_test_tmpdir(), r);
        snprintf(args, sizeof args, "rm -rf %s && cp -r %s %s", db, pristine, db);
        REQUIRE(fs_test_sh(args, out, sizeof out) == 0);
        snprintf(args, sizeof args, "reembed --db %s --batch 1 --threads 1 --quiet", db);
        double delay = 1.1 * full * (double)rand() / RAND_MAX;
        int hit = fs_test_kill_after(args, delay);
        REQUIRE(hit >= 0);
        killed += hit;
        /* usable at once: stats reads it; a half-done reembed is refused by readers */
        char a2[1024];
        snprintf(a2, sizeof a2, "stats --db %s --json", db);
        CHECK_INT(fsr(a2), 0);
        if (strstr(out, "\"reembed\":{")) {
            snprintf(a2, sizeof a2, "dedup --db %s", db);
            CHECK_INT(fsr(a2), 2);
            refused += strstr(out, "reembed to") != NULL;
            snprintf(a2, sizeof a2, "build --db %s", db);
            CHECK(fsr(a2) != 0);
        }
        CHECK_INT(fsr(args), 0); /* the next run finishes the job */
        db_digest(db, got, &n, &dim, NULL, 0);
        CHECK_MSG(strcmp(got, want) == 0 && n == rn, "round %d (killed after %.3f s): %ld "
                  "vectors, content %s", r, delay, n,
                  strcmp(got, want) ? "differs" : "same");
    }
    CHECK_MSG(killed >= rounds / 2, "only %d of %d kills hit a running reembed", killed, rounds);
    printf("    %d of %d kills hit a running reembed; %d left it half done (refused)\n", killed,
           rounds, refused);
}

/* Photos gone or changed since ingest: their faces get zero vectors (the
 * stored boxes no longer describe the file), the run says so, and the next
 * ingest --prune puts the database right. */
TEST(reembed_reports_gone_and_changed_photos)
{
    char dir[600], db[600], args[4096];
    snprintf(dir, sizeof dir, "%s/re-photos", fs_test_tmpdir());
    snprintf(db, sizeof db, "%s/re-changed", fs_test_tmpdir());
    snprintf(args, sizeof args, "mkdir -p %s && cp %s/demo/sample2.jpg %s/demo/sample3.jpg %s/",
             dir, fs_test_models_dir(), fs_test_models_dir(), dir);
    REQUIRE(fs_test_sh(args, out, sizeof out) == 0);
    snprintf(args, sizeof args, "ingest --db %s --recognizer resnet128 --quiet %s", db, dir);
    REQUIRE(fsr(args) == 0);
    snprintf(args, sizeof args, "rm %s/sample2.jpg && touch -d '2001-01-01' %s/sample3.jpg", dir,
             dir);
    REQUIRE(fs_test_sh(args, out, sizeof out) == 0);
    snprintf(args, sizeof args, "reembed --db %s --json", db);
    CHECK_INT(fsr(args), 0);
    CHECK_MSG(strstr(out, "\"unreadable_photos\":1") && strstr(out, "\"changed_photos\":1") &&
                  strstr(out, "\"zeroed_faces\":6") && strstr(out, "changed since"),
              "%s", out);
    snprintf(args, sizeof args, "ingest --db %s --prune --quiet --json %s", db, dir);
    CHECK_INT(fsr(args), 0);
    snprintf(args, sizeof args, "stats --db %s --json", db);
    CHECK_INT(fsr(args), 0);
    CHECK_MSG(strstr(out, "\"images\":1,") && strstr(out, "\"faces\":3,") &&
                  strstr(out, "\"recognizer\":\"mfn512\""), "%s", out);
}
