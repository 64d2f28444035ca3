/*
 * Named people: the classifiers on synthetic descriptors, the open-set
 * threshold, augmentation through the real engine, and end to end on photos
 * of the samples: enrolment, labelling (incremental after an ingest), search
 * by person, a model change and a re-ingest that people survive, bad input
 * that changes nothing, SIGKILLs during edits, eval enrol on LFW.
 */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facesearch/eval.h"
#include "facesearch/people.h"
#include "harness.h"
#include "ingest_util.h"

static char out[1 << 20];

/* ---- library: classifiers on synthetic data ------------------------------ */

/* n unit vectors of dim around `classes` random centres (spread s). */
static void clusters(float *x, int *y, size_t n, int dim, int classes, float s, unsigned seed)
{
    float *c = malloc(sizeof(float) * (size_t)classes * dim);
    srand(seed);
    for (int i = 0; i < classes * dim; i++)
        c[i] = (float)rand() / RAND_MAX - 0.5f;
    for (size_t i = 0; i < n; i++) {
        y[i] = (int)(i % (size_t)classes);
        double norm = 0;
        for (int j = 0; j < dim; j++) {
            float v = c[y[i] * dim + j] + s * ((float)rand() / RAND_MAX - 0.5f);
            x[i * dim + j] = v;
            norm += v * v;
        }
        for (int j = 0; j < dim; j++)
            x[i * dim + j] /= (float)sqrt(norm);
    }
    free(c);
}

TEST(people_classifiers_separate_clusters)
{
    enum { N = 240, D = 32, C = 6 };
    float *x = malloc(sizeof(float) * N * D), *sc = malloc(sizeof(float) * N * C);
    int y[N];
    clusters(x, y, N, D, C, 0.3f, 7);
    for (int m = FS_LABEL_TEMPLATE; m <= FS_LABEL_SOFTMAX; m++) {
        fs_classifier *c = NULL;
        fs_error e = {0};
        /* Train on the first half, score the second. */
        CHECK_OK(fs_classifier_train((fs_label_method)m, x, y, N / 2, D, C, &c, &e), &e);
        if (!c)
            continue;
        CHECK_INT(fs_classifier_classes(c), C);
        CHECK_OK(fs_classifier_scores(c, x + (N / 2) * D, N / 2, sc, &e), &e);
        int right = 0;
        for (int i = 0; i < N / 2; i++) {
            int b = 0;
            for (int k = 1; k < C; k++)
                b = sc[i * C + k] > sc[i * C + b] ? k : b;
            right += b == y[N / 2 + i];
        }
        CHECK_MSG(right == N / 2, "%s: %d of %d right", fs_label_method_name((fs_label_method)m),
                  right, N / 2);
        fs_classifier_destroy(c);
    }
    free(x);
    free(sc);
}

TEST(people_classifier_refuses_bad_training_sets)
{
    float x[4 * 8] = {0};
    int y[4] = {0, 0, 1, 1}, gap[4] = {0, 0, 2, 2};
    fs_classifier *c = NULL;
    fs_error e = {0};
    CHECK_INT(fs_classifier_train(FS_LABEL_SVM, x, (int[]){0, 0, 0, 0}, 4, 8, 1, &c, &e), FS_EUSAGE);
    CHECK(strstr(e.msg, "two people") != NULL);
    CHECK_INT(fs_classifier_train(FS_LABEL_TEMPLATE, x, gap, 4, 8, 3, &c, &e), FS_EUSAGE);
    CHECK_INT(fs_classifier_train(FS_LABEL_TEMPLATE, x, y, 4, 8, 2, &c, &e), FS_OK);
    fs_classifier_destroy(c);
    float *imp = NULL;
    size_t n_imp = 0;
    uint8_t orig[4] = {1, 1, 1, 1};
    CHECK_INT(fs_classifier_impostors(FS_LABEL_SVM, x, y, orig, 4, 8, 2, 0, 1, &imp, &n_imp, &e),
              FS_EUSAGE);
    CHECK(strstr(e.msg, "three people") != NULL);
}

TEST(people_threshold_and_calibrated_score)
{
    float imp[100];
    for (int i = 0; i < 100; i++)
        imp[i] = (float)i / 100; /* 0.00 .. 0.99 */
    /* FAR 1 %: at most one impostor at or above: just above 0.98. */
    float t = fs_threshold_at_far(imp, 100, 0.01);
    CHECK(t > 0.98f && t < 0.981f);
    CHECK(t > fs_threshold_at_far(imp, 100, 0.1));
    /* Fewer than 1 / far scores: above the highest. */
    CHECK(fs_threshold_at_far(imp, 50, 0.001) > 0.49f);
    CHECK_NEAR(fs_calibrated_score(imp, 100, 0.505f), 0.51, 1e-6);
    CHECK_NEAR(fs_calibrated_score(imp, 100, 2.0f), 1.0, 1e-6);
    CHECK_NEAR(fs_calibrated_score(imp, 100, -1.0f), 0.0, 1e-6);
    /* A face scoring the threshold is known: its calibrated score >= 1 - far. */
    CHECK(fs_calibrated_score(imp, 100, t) >= 0.99f);
    fs_label_method m;
    CHECK_INT(fs_label_method_parse("softmax", &m, NULL), FS_OK);
    CHECK_INT(m, FS_LABEL_SOFTMAX);
    CHECK_INT(fs_label_method_parse("knn", &m, NULL), FS_EUSAGE);
    unsigned mask;
    CHECK_INT(fs_aug_parse("flip,dark", &mask, NULL), FS_OK);
    CHECK_INT(mask, (1u << FS_AUG_FLIP) | (1u << FS_AUG_DARK));
    CHECK_INT(fs_aug_parse("flip,sepia", &mask, NULL), FS_EUSAGE);
    CHECK_INT(fs_aug_parse("", &mask, NULL), FS_EUSAGE);
}

TEST(people_impostor_calibration_is_identity_disjoint)
{
    /* Well separated people: a classifier never trained on a person scores
     * them well below the scores of people it knows. */
    enum { N = 300, D = 32, C = 10 };
    float *x = malloc(sizeof(float) * N * D);
    int y[N];
    uint8_t orig[N];
    memset(orig, 1, sizeof orig);
    clusters(x, y, N, D, C, 0.2f, 3);
    fs_error e = {0};
    for (int m = FS_LABEL_TEMPLATE; m <= FS_LABEL_SOFTMAX; m++) {
        float *imp = NULL;
        size_t n_imp = 0;
        CHECK_OK(fs_classifier_impostors((fs_label_method)m, x, y, orig, N, D, C, 0, 1, &imp,
                                         &n_imp, &e),
                 &e);
        CHECK_INT(n_imp, N); /* every example scored once, by a fold without its person */
        for (size_t i = 1; i < n_imp; i++)
            CHECK(imp[i - 1] <= imp[i]);
        fs_classifier *c = NULL;
        float *sc = malloc(sizeof(float) * N * C);
        CHECK_OK(fs_classifier_train((fs_label_method)m, x, y, N, D, C, &c, &e), &e);
        CHECK_OK(fs_classifier_scores(c, x, N, sc, &e), &e);
        float thr = fs_threshold_at_far(imp, n_imp, 0.01);
        int known = 0;
        for (int i = 0; i < N; i++)
            known += sc[i * C + y[i]] >= thr;
        CHECK_MSG(known > N * 9 / 10, "%s: %d of %d known over %.3f",
                  fs_label_method_name((fs_label_method)m), known, N, (double)thr);
        fs_classifier_destroy(c);
        free(sc);
        free(imp);
    }
    free(x);
}

TEST(people_eval_enrol_protocol)
{
    enum { N = 400, D = 32, C = 40 };
    float *x = malloc(sizeof(float) * N * D);
    int y[N];
    clusters(x, y, N, D, C, 0.25f, 11);
    fs_eval_photo ph[N];
    for (int i = 0; i < N; i++)
        ph[i] = (fs_eval_photo){y[i], x + i * D, NULL, 0};
    ph[5].vec = NULL; /* a photo without a face takes no part */
    fs_enrol_opts o = {.shots = 3, .seed = 5, .method = FS_LABEL_TEMPLATE, .far = 0.01,
                       .template_threshold = 0.5f};
    fs_enrol_result r;
    fs_error e = {0};
    CHECK_OK(fs_eval_enrol(ph, N, D, &o, &r, &e), &e);
    CHECK_INT(r.identities, C);
    CHECK_INT(r.enrolled, C / 2);
    CHECK_INT(r.mated + r.impostor, N - 1 - (C / 2) * 3);
    CHECK_INT(r.examples, (C / 2) * 3);
    CHECK_NEAR(r.rank1, 1.0, 1e-9);
    CHECK(r.dir_far_1pct > 0.9 && r.dir_far_0_1pct <= r.dir_far_1pct);
    CHECK(r.rejection > 0.9);
    /* The enrolment photos are the ones fs_eval_enrol_photos marks. */
    uint8_t enrol[N];
    CHECK_OK(fs_eval_enrol_photos(ph, N, 3, 5, enrol, &e), &e);
    int marked = 0;
    for (int i = 0; i < N; i++)
        marked += enrol[i];
    CHECK_INT(marked, (C / 2) * 3);
    /* Same seed, same figures; K larger than every identity: refused. */
    fs_enrol_result r2;
    CHECK_OK(fs_eval_enrol(ph, N, D, &o, &r2, &e), &e);
    CHECK(r2.dir_far_1pct == r.dir_far_1pct && r2.threshold == r.threshold);
    o.shots = 10;
    CHECK_INT(fs_eval_enrol(ph, N, D, &o, &r, &e), FS_EUSAGE);
    free(x);
}

/* ---- augmentation through the engine ------------------------------------- */

TEST(people_augmented_variants_describe_the_same_face)
{
    char path[600];
    snprintf(path, sizeof path, "%s/demo/sample1.jpg", fs_test_models_dir());
    fs_error e = {0};
    fs_engine *eng = NULL;
    fs_worker *w = NULL;
    fs_image img = {0};
    REQUIRE(fs_engine_create(fs_test_models_dir(), NULL, &eng, &e) == FS_OK);
    REQUIRE(fs_worker_create(eng, &w, &e) == FS_OK);
    REQUIRE(fs_image_decode_file(path, NULL, &img, NULL, &e) == FS_OK);
    fs_face faces[16];
    int n = 0;
    REQUIRE(fs_worker_faces(w, &img, FS_STAGE_ALL, faces, 16, &n, &e) == FS_OK && n > 0);
    const int dim = fs_engine_descriptor_dim(eng);
    float box[4] = {(float)faces[0].x, (float)faces[0].y, (float)faces[0].w, (float)faces[0].h};
    float d[FS_DESCRIPTOR_MAX];
    int found = 0;
    for (int v = 1; v <= FS_AUG_COUNT; v++) {
        if (fs_augment_face(w, dim, &img, box, v, d, &e) != FS_OK) {
            CHECK_MSG(e.code == FS_ENOTFOUND, "%s: %s", fs_aug_name(v), e.msg);
            continue;
        }
        found++;
        float sim = fs_descriptor_similarity(d, faces[0].descriptor, dim);
        /* The same face under a mild change: far above any stranger (the
         * match threshold is about 0.5), yet not the identical vector. */
        CHECK_MSG(sim > 0.6f && sim < 0.9999f, "%s: similarity %.3f", fs_aug_name(v), (double)sim);
    }
    CHECK_MSG(found >= FS_AUG_COUNT - 1, "%d variants found the face", found);
    CHECK_INT(fs_augment_face(w, dim, &img, box, 99, d, &e), FS_EUSAGE);
    fs_image_free(&img);
    fs_worker_destroy(w);
    fs_engine_destroy(eng);
}

/* ---- end to end ---------------------------------------------------------- */

static char db[600], photos[600];

/* 12 photos (two crops of each sample: the same people twice), ingested
 * and indexed; a fresh database per test (name). */
static int setup(const char *name)
{
    const char *dir = make_photos(name, 12);
    if (!dir)
        return 0;
    snprintf(photos, sizeof photos, "%s", dir);
    snprintf(db, sizeof db, "%s/%s-db", fs_test_tmpdir(), name);
    char args[2048];
    snprintf(args, sizeof args, "ingest --db %s --quiet %s", db, photos);
    if (fsr(args, out, sizeof out) != 0)
        return 0;
    snprintf(args, sizeof args, "build --db %s", db);
    return fsr(args, out, sizeof out) == 0;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return fsr(args, out, sizeof out);
}

/* The first "face_id" in the last output. */
static long long first_face_id(void)
{
    const char *p = strstr(out, "\"face_id\":");
    return p ? atoll(p + 10) : -1;
}

TEST(people_enrol_label_and_find_a_person)
{
    REQUIRE(setup("people-e2e"));
    /* photo00 and photo06 are two crops of sample1: the same people. */
    CHECK_INT(run("person add --db %s --json Anna %s/photo00.jpg", db, photos), 0);
    CHECK(json_num(out, "added") == 1 && json_num(out, "examples") == 1);
    long long anna = first_face_id();
    CHECK(anna >= 0);
    CHECK_INT(run("person add --db %s Bob %s/photo01.jpg", db, photos), 0);
    CHECK_INT(run("person add --db %s Carl %s/photo02.jpg", db, photos), 0);
    CHECK_INT(run("person add --db %s Dora %s/photo03.jpg", db, photos), 0);
    /* Enrolling the same face again adds nothing. */
    CHECK_INT(run("person add --db %s --json Anna %s/photo00.jpg", db, photos), 0);
    CHECK_INT(json_num(out, "added"), 0);
    CHECK_INT(run("person list --db %s --json", db), 0);
    CHECK(strstr(out, "{\"name\":\"Anna\",\"id\":1,\"examples\":1,") != NULL);

    for (int m = 0; m < 3; m++) {
        const char *method = m == 0 ? "template" : m == 1 ? "svm" : "softmax";
        CHECK_INT(run("label --db %s --json --method %s", db, method), 0);
        CHECK_MSG(json_num(out, "faces") == json_num(out, "labelled") && json_num(out, "faces") > 12,
                  "%s: %s", method, out);
        CHECK_INT(json_num(out, "people"), 4);
        /* Anna's other crop is named Anna by every method. */
        CHECK_INT(run("query --db %s --person Anna -k 3 --json", db), 0);
        CHECK_MSG(strstr(out, "\"person\":\"Anna\",\"examples\":1") != NULL, "%s", out);
        const char *m1 = strstr(out, "\"rank\":1,\"similarity\":1.0");
        const char *m2 = strstr(out, "\"rank\":2,");
        CHECK_MSG(m1 && m2, "%s", out);
        if (m2)
            CHECK_MSG(strstr(m2, "photo06.jpg") && strstr(m2, "\"person\":\"Anna\""), "%s: %s",
                      method, m2);
    }
    /* The HTML report: a row for the person, thumbnails of the matches. */
    char html[700];
    snprintf(html, sizeof html, "%s/people-anna.html", fs_test_tmpdir());
    CHECK_INT(run("query --db %s --person Anna -k 3 --html %s", db, html), 0);
    FILE *hf = fopen(html, "r");
    REQUIRE(hf);
    size_t hn = fread(out, 1, sizeof out - 1, hf);
    out[hn] = '\0';
    fclose(hf);
    CHECK(strstr(out, "Person: Anna (1 examples)") != NULL);
    CHECK(strstr(out, "  Anna") != NULL); /* a match's title names the label */
    /* Best face per photo: no photo twice. */
    CHECK_INT(run("query --db %s --person Anna -k 12 --tsv", db), 0);
    CHECK(strstr(out, "\tperson\n") != NULL);
    int rows = 0;
    for (char *l = strchr(out, '\n'); l && l[1]; l = strchr(l + 1, '\n'))
        rows++;
    CHECK_INT(rows, 12);
    /* --unlabelled leaves out every enrolled face. */
    CHECK_INT(run("query --db %s --person Anna -k 12 --unlabelled --json", db), 0);
    char needle[64];
    snprintf(needle, sizeof needle, "\"face_id\":%lld,", anna);
    CHECK(strstr(out, needle) == NULL);
    CHECK(strstr(out, "photo06.jpg") != NULL);
    /* Names in ordinary queries and the person's examples. */
    CHECK_INT(run("query --db %s -k 1 %s/photo06.jpg", db, photos), 0);
    CHECK(strstr(out, "  Anna\n") != NULL);
    CHECK_INT(run("person show --db %s --json Anna", db), 0);
    CHECK(strstr(out, "\"state\":\"stored\"") && strstr(out, "photo00.jpg"));
    /* Rename, unassign, remove. */
    CHECK_INT(run("person rename --db %s Dora Dorothea", db), 0);
    CHECK_INT(run("person show --db %s Dorothea", db), 0);
    CHECK_INT(run("person unassign --db %s Anna --face-id %lld", db, anna), 0);
    CHECK_INT(run("person show --db %s --json Anna", db), 0);
    CHECK(strstr(out, "\"examples\":[]") != NULL);
    CHECK_INT(run("person remove --db %s Anna", db), 0);
    CHECK_INT(run("person list --db %s --json", db), 0);
    CHECK(strstr(out, "Anna") == NULL && strstr(out, "Dorothea") != NULL);
    /* A dedup group named at once: every face of it enrolled (the group of
     * Anna's face, no longer anyone's). */
    CHECK_INT(run("dedup --db %s --json", db), 0);
    snprintf(needle, sizeof needle, "{\"face_id\":%lld,", anna);
    const char *face = strstr(out, needle), *grp = face;
    while (grp && grp > out && strncmp(grp, "{\"group\":", 9) != 0)
        grp--;
    REQUIRE(face && grp > out);
    long long size = json_num(grp, "size"), rep = json_num(grp, "representative");
    CHECK(size >= 2);
    /* sample3's largest face (Carl's photo02) is the same woman: the group
     * holds it, and a face cannot be two people. */
    CHECK_INT(run("person from-group --db %s --json Anna --face-id %lld", db, rep), 1);
    CHECK(strstr(out, "already enrolled as 'Carl'") != NULL);
    CHECK_INT(run("person remove --db %s Carl", db), 0);
    CHECK_MSG(run("person from-group --db %s --json Anna --face-id %lld", db, rep) == 0, "%s", out);
    CHECK_INT(json_num(out, "added"), size);
    CHECK_INT(run("person from-group --db %s Eve --face-id 999999", db), 2);
}

TEST(people_bad_input_changes_nothing)
{
    REQUIRE(setup("people-bad"));
    CHECK_INT(run("person add --db %s Anna %s/photo00.jpg", db, photos), 0);
    CHECK_INT(run("person list --db %s --json", db), 0);
    char *before = strdup(out);
    /* A photo without a face: a flat grey picture. */
    fs_image grey = {0};
    fs_error e = {0};
    REQUIRE(fs_image_alloc(&grey, 200, 160, &e) == FS_OK);
    memset(grey.data, 128, 200 * 160 * 3);
    uint8_t *jpeg;
    size_t len;
    REQUIRE(fs_image_encode_jpeg(&grey, 90, &jpeg, &len, &e) == FS_OK);
    char blank[700];
    snprintf(blank, sizeof blank, "%s/blank.jpg", fs_test_tmpdir());
    FILE *f = fopen(blank, "wb");
    REQUIRE(f);
    fwrite(jpeg, 1, len, f);
    fclose(f);
    free(jpeg);
    fs_image_free(&grey);
    struct {
        int code;
        char args[2600];
        const char *says;
    } bad[] = {
        {2, "", "no face found"},
        {2, "", "no face 999999"},
        {2, "", "no person 'Nobody'"},
        {2, "", "no person 'Nobody'"},
        {2, "", "no person 'Nobody'"},
        {2, "", "no person 'Nobody'"},
        {1, "", "already enrolled as 'Anna'"},
        {1, "", "all digits"},
        {2, "", "is not one of 'Anna'"},
    };
    /* Both photos together: the good one is not enrolled either. */
    snprintf(bad[0].args, sizeof bad[0].args, "person add --db %s Bob %s/photo01.jpg %s", db,
             photos, blank);
    snprintf(bad[1].args, sizeof bad[1].args, "person add --db %s Bob --face-id 999999", db);
    snprintf(bad[2].args, sizeof bad[2].args, "person show --db %s Nobody", db);
    snprintf(bad[3].args, sizeof bad[3].args, "person remove --db %s Nobody", db);
    snprintf(bad[4].args, sizeof bad[4].args, "person rename --db %s Nobody Somebody", db);
    snprintf(bad[5].args, sizeof bad[5].args, "query --db %s --person Nobody", db);
    snprintf(bad[6].args, sizeof bad[6].args, "person add --db %s Bob %s/photo00.jpg", db, photos);
    snprintf(bad[7].args, sizeof bad[7].args, "person add --db %s 42 %s/photo01.jpg", db, photos);
    snprintf(bad[8].args, sizeof bad[8].args, "person unassign --db %s Anna --face-id 3", db);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = fsr(bad[i].args, out, sizeof out);
        const char *nl = strchr(out, '\n');
        CHECK_MSG(rc == bad[i].code && strstr(out, bad[i].says) && nl && !nl[1],
                  "%s -> %d: %s", bad[i].args, rc, out);
    }
    CHECK_INT(run("person list --db %s --json", db), 0);
    CHECK_STR(out, before);
    free(before);
    /* No people yet in another database: label says how to start. */
    char other[700];
    snprintf(other, sizeof other, "%s/people-bad-empty", fs_test_tmpdir());
    CHECK_INT(run("ingest --db %s --quiet %s/photo00.jpg", other, photos), 0);
    CHECK_INT(run("label --db %s", other), 2);
    CHECK(strstr(out, "person add") != NULL);
}

TEST(people_relabel_only_new_faces_after_an_ingest)
{
    const char *dir = make_photos("people-inc", 12);
    REQUIRE(dir);
    snprintf(photos, sizeof photos, "%s", dir);
    snprintf(db, sizeof db, "%s/people-inc-db", fs_test_tmpdir());
    /* First half, then the rest. */
    CHECK_INT(run("ingest --db %s --quiet %s/photo00.jpg %s/photo01.jpg %s/photo02.jpg", db,
                  photos, photos, photos), 0);
    CHECK_INT(run("person add --db %s Anna %s/photo00.jpg", db, photos), 0);
    CHECK_INT(run("label --db %s --json", db), 0);
    /* One person: softmax (the default) needs three, template stands in. */
    CHECK(strstr(out, "\"method\":\"template\"") && strstr(out, "softmax needs at least three"));
    long long first = json_num(out, "faces");
    CHECK(first > 3 && json_num(out, "labelled") == first);
    CHECK_INT(run("label --db %s --json", db), 0);
    CHECK_INT(json_num(out, "labelled"), 0);
    CHECK(strstr(out, "\"incremental\":true") != NULL);
    /* Enrolling a face again changes nothing, so labels stay valid. */
    CHECK_INT(run("person add --db %s Anna %s/photo00.jpg", db, photos), 0);
    CHECK_INT(run("label --db %s --json", db), 0);
    CHECK_INT(json_num(out, "labelled"), 0);
    CHECK_INT(run("ingest --db %s --quiet %s", db, photos), 0);
    CHECK_INT(run("label --db %s --json", db), 0);
    long long all = json_num(out, "faces");
    CHECK(all > first);
    CHECK_INT(json_num(out, "labelled"), all - first);
    CHECK_INT(json_num(out, "known") + json_num(out, "unknown"), all);
    /* The people changed: everything again.  (A photo given twice is
     * enrolled once.) */
    CHECK_INT(run("person add --db %s --json Bob %s/photo01.jpg %s/photo01.jpg", db, photos,
                  photos), 0);
    CHECK_INT(json_num(out, "added"), 1);
    CHECK_INT(run("label --db %s --json", db), 0);
    CHECK_INT(json_num(out, "labelled"), all);
    CHECK(strstr(out, "\"incremental\":false") != NULL);
}

TEST(people_survive_a_model_change_and_a_reingest)
{
    REQUIRE(setup("people-model"));
    CHECK_INT(run("person add --db %s --augment --json Anna %s/photo00.jpg", db, photos), 0);
    CHECK_MSG(json_num(out, "augmented") >= FS_AUG_COUNT - 1, "%s", out);
    CHECK_INT(run("person add --db %s Bob %s/photo01.jpg", db, photos), 0);
    /* label.augment_variants: the mirror image only, by default. */
    CHECK_INT(run("label --db %s --augment --json", db), 0);
    CHECK_MSG(json_num(out, "augmented") == 1 && json_num(out, "examples") == 2, "%s", out);
    /* Another recognizer: face ids kept, descriptors re-derived from the
     * stored faces; the augmented ones are left out until made again. */
    CHECK_INT(run("reembed --db %s --quiet --recognizer resnet128", db), 0);
    CHECK_INT(run("build --db %s", db), 0);
    CHECK_INT(run("label --db %s --augment --json", db), 0);
    CHECK_MSG(json_num(out, "rederived") == 2 && json_num(out, "stale") >= FS_AUG_COUNT - 1 &&
                  json_num(out, "augmented") == 0,
              "%s", out);
    CHECK(strstr(out, "of another model") != NULL);
    CHECK_INT(run("query --db %s --person Anna -k 2 --json", db), 0);
    CHECK_MSG(strstr(out, "\"rank\":1,\"similarity\":1.0") && strstr(out, "photo06.jpg"), "%s",
              out);
    /* A changed photo is ingested again under new face ids: found again by
     * path and box. */
    char path[700];
    snprintf(path, sizeof path, "%s/photo00.jpg", photos);
    FILE *f = fopen(path, "ab");
    REQUIRE(f);
    fputs("trailing bytes", f); /* new size and content, same pixels */
    fclose(f);
    CHECK_INT(run("ingest --db %s --quiet --recognizer resnet128 %s", db, photos), 0);
    CHECK_INT(run("label --db %s --json", db), 0);
    CHECK_MSG(json_num(out, "moved") == 1 && json_num(out, "gone") == 0, "%s", out);
    CHECK_INT(run("person show --db %s --json Anna", db), 0);
    CHECK(strstr(out, "\"state\":\"stored\"") != NULL);
    /* A removed photo: its face is gone, reported, its descriptor kept. */
    unlink(path);
    CHECK_INT(run("ingest --db %s --quiet --prune --recognizer resnet128 %s", db, photos), 0);
    CHECK_INT(run("label --db %s --json", db), 0);
    CHECK(json_num(out, "gone") == 1 && strstr(out, "no longer in the database"));
    CHECK_INT(run("person show --db %s Anna", db), 0);
    CHECK(strstr(out, " gone ") != NULL);
}

TEST(people_edits_survive_sigkill)
{
    REQUIRE(setup("people-kill"));
    const int rounds = fs_test_kill_rounds();
    int hits = 0;
    srand(17);
    for (int r = 0; r < rounds; r++) {
        char args[2048];
        const char *name = r % 2 ? "Anna" : "Bob";
        snprintf(args, sizeof args, "person add --db %s --augment %s %s/photo%02d.jpg", db, name,
                 photos, r % 2 ? 0 : 1);
        hits += fs_test_kill_after(args, 0.05 + (double)(rand() % 100) / 100.0) == 1;
        snprintf(args, sizeof args, "label --db %s", db);
        hits += fs_test_kill_after(args, (double)(rand() % 20) / 100.0) == 1;
        /* Whatever the moment, the people open and hold whole edits. */
        CHECK_INT(run("person list --db %s --json", db), 0);
    }
    CHECK_MSG(hits > 0, "no kill landed while a command ran");
    /* Finishing: the reruns complete the job without duplicates. */
    CHECK_INT(run("person add --db %s --augment Anna %s/photo00.jpg", db, photos), 0);
    CHECK_INT(run("person add --db %s --augment Bob %s/photo01.jpg", db, photos), 0);
    CHECK_INT(run("person list --db %s --json", db), 0);
    CHECK(strstr(out, "\"name\":\"Anna\"") && strstr(out, "\"name\":\"Bob\""));
    CHECK_MSG(strstr(out, "\"examples\":1,\"augmented\":") != NULL, "%s", out);
    CHECK_INT(run("label --db %s --json", db), 0);
    CHECK_INT(json_num(out, "known") + json_num(out, "unknown"), json_num(out, "faces"));
}

/* ---- eval enrol on LFW ---------------------------------------------------- */

TEST(people_eval_enrol_on_lfw)
{
    const char *shared = fs_test_shared_dir();
    if (!shared)
        SKIP("../shared absent");
    /* A subset: the first 40 identities with more than 5 photos (their
     * photos linked, not copied). */
    char root[700], sh[4096];
    snprintf(root, sizeof root, "%s/enrol-lfw", fs_test_tmpdir());
    snprintf(sh, sizeof sh,
             "mkdir -p '%s' && cd '%s/data/lfw_am' && n=0; for d in */; do d=\"${d%%/}\"; "
             "if [ $n -lt 40 ] && [ $(ls \"$d\" | wc -l) -gt 5 ]; then "
             "mkdir '%s/'\"$d\" && ln -s \"$PWD/$d\"/* '%s/'\"$d\"; n=$((n+1)); fi; done; "
             "ls '%s' | wc -l",
             root, shared, root, root, root);
    REQUIRE(fs_test_sh(sh, out, sizeof out) == 0 && atoi(out) == 40);
    CHECK_INT(run("eval enrol --root %s --shots 5 --json", root), 0);
    CHECK_INT(json_num(out, "identities"), 40);
    CHECK_INT(json_num(out, "enrolled"), 20);
    CHECK(strstr(out, "\"method\":\"softmax\",\"augment\":true,\"rank1\":") != NULL);
    const char *keys[] = {"\"rank1\":", "\"dir_at_far_1pct\":", "\"dir_at_far_0_1pct\":",
                          "\"methods\":[", "\"method\":\"svm\",\"augment\":true",
                          "\"method\":\"softmax\",\"augment\":false"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        CHECK_MSG(strstr(out, keys[i]) != NULL, "%s missing: %.300s", keys[i], out);
    /* Real faces, five photos each: nearly every probe named right. */
    const char *r1 = strstr(out, "\"rank1\":");
    CHECK(r1 && atof(r1 + 8) > 95);
}

TEST(people_on_a_sharded_database)
{
    const char *dir = make_photos("people-shards", 12);
    REQUIRE(dir);
    snprintf(photos, sizeof photos, "%s", dir);
    snprintf(db, sizeof db, "%s/people-shards-db", fs_test_tmpdir());
    CHECK_INT(run("init --db %s --shards 3", db), 0);
    CHECK_INT(run("ingest --db %s --quiet %s", db, photos), 0);
    CHECK_INT(run("build --db %s", db), 0);
    /* One set of people beside the shards; faces of every shard labelled. */
    CHECK_INT(run("person add --db %s Anna %s/photo00.jpg", db, photos), 0);
    CHECK_INT(run("person add --db %s Bob %s/photo01.jpg", db, photos), 0);
    CHECK_INT(run("person add --db %s Dora %s/photo03.jpg", db, photos), 0);
    CHECK_INT(run("label --db %s --json", db), 0);
    long long faces = json_num(out, "faces");
    CHECK(faces > 12 && json_num(out, "labelled") == faces);
    CHECK(strstr(out, "\"method\":\"softmax\"") != NULL);
    CHECK_INT(run("query --db %s --person Anna -k 2 --json", db), 0);
    CHECK_MSG(strstr(out, "photo06.jpg") && strstr(out, "\"person\":\"Anna\""), "%s", out);
    char path[700];
    snprintf(path, sizeof path, "%s/people.mdb", db);
    CHECK(access(path, F_OK) == 0);
}
