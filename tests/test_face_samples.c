/*
 * Parity of the face engine on the six sample photos against the golden
 * reference (golden README §8): same faces and NMS anchors, boxes, scores,
 * integer crops, landmarks, descriptors — for the full chain and for each
 * stage fed the golden crop, so an upstream difference cannot hide a
 * downstream one.  Also the network inputs (padding + resize) via the
 * golden input probes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../src/face/engine_internal.h"
#include "facesearch/hash.h"
#include "golden.h"
#include "harness.h"

#define N_SAMPLES 6

typedef struct worst {
    double score, box, landmarks, descriptor, probe;
    double iso_landmarks, iso_descriptor;
    int faces;
} worst;

static worst W; /* across the samples, printed at the end */

static fs_rect rect_of(const fs_json *j)
{
    return (fs_rect){(int)fs_json_number(fs_json_get(j, "x"), -1),
                     (int)fs_json_number(fs_json_get(j, "y"), -1),
                     (int)fs_json_number(fs_json_get(j, "width"), -1),
                     (int)fs_json_number(fs_json_get(j, "height"), -1)};
}

static int same_rect(fs_rect a, fs_rect b)
{
    return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h;
}

static double landmark_err(const double pts[FS_LANDMARKS][2], const fs_json *golden)
{
    double m = 0;
    for (int i = 0; i < FS_LANDMARKS; i++) {
        const fs_json *p = fs_json_at(golden, (size_t)i);
        m = fmax(m, fabs(pts[i][0] - fs_json_number(fs_json_at(p, 0), NAN)));
        m = fmax(m, fabs(pts[i][1] - fs_json_number(fs_json_at(p, 1), NAN)));
    }
    return isnan(m) ? INFINITY : m;
}

static double descriptor_err(const float *d, const fs_json *golden)
{
    /* the engine's descriptors are unit length: the golden one divided by
     * its norm; the euclidean distance between the two */
    float g[128];
    if (golden_floats(golden, g, 128) != 0)
        return INFINITY;
    fs_descriptor_normalize(g, 128);
    double s = 0;
    for (int i = 0; i < 128; i++)
        s += ((double)d[i] - g[i]) * ((double)d[i] - g[i]);
    return sqrt(s);
}

static fs_engine *engine(void)
{
    fs_engine *e = NULL;
    fs_error err = {0};
    if (fs_engine_create(fs_test_models_dir(), NULL, &e, &err) != FS_OK)
        fs_test_fail(__FILE__, __LINE__, "%s", err.msg);
    return e;
}

static void check_sample(const fs_engine *eng, int s)
{
    char name[64], path[512];
    snprintf(name, sizeof name, "sample%d.json", s);
    fs_json *g = golden_load(name);
    snprintf(path, sizeof path, "%s/demo/sample%d.jpg", fs_test_models_dir(), s);
    fs_image img = {0};
    fs_error e = {0};
    fs_worker *w = NULL;
    fs_face *faces = calloc(100, sizeof *faces);
    float *in = malloc(512 * 512 * 3 * sizeof *in);
    if (!g || !faces || !in || !eng) {
        CHECK(0);
        goto out;
    }
    CHECK_OK(fs_image_decode_file(path, NULL, &img, NULL, &e), &e);
    CHECK_OK(fs_worker_create(eng, &w, &e), &e);
    if (!img.data || !w)
        goto out;
    uint8_t digest[32];
    char hex[65];
    fs_sha256(img.data, (size_t)img.width * img.height * 3, digest);
    fs_sha256_hex(digest, hex);
    CHECK_STR(hex, fs_json_string(fs_json_get(g, "rgb_sha256")));

    /* detector input (padding + resize), before normalisation */
    probe_stats ps = {0};
    CHECK_OK(fs_prep_square(&img, 512, in, &e), &e);
    golden_check_probe(fs_json_get(fs_json_get(g, "ssd"), "input_probe"), in, 512 * 512 * 3, &ps);

    /* full chain */
    int n = 0;
    CHECK_OK(fs_worker_faces(w, &img, FS_STAGE_ALL, faces, 100, &n, &e), &e);
    const fs_json *gf = fs_json_get(g, "faces");
    const fs_json *nms = fs_json_get(fs_json_get(g, "ssd"), "nms_selected_anchors");
    CHECK_MSG((size_t)n == fs_json_count(gf), "sample%d: %d faces, golden %zu", s, n,
              fs_json_count(gf));
    for (int i = 0; i < n && (size_t)i < fs_json_count(gf); i++) {
        const fs_json *f = fs_json_at(gf, (size_t)i);
        fs_face *ff = &faces[i];
        CHECK_INT(w->picked[i], fs_json_number(fs_json_at(nms, (size_t)i), -1));
        double ds = fabs(ff->score - fs_json_number(fs_json_get(f, "score"), NAN));
        const fs_json *box = fs_json_get(f, "box");
        double db = fmax(fmax(fabs(ff->x - fs_json_number(fs_json_get(box, "x"), NAN)),
                              fabs(ff->y - fs_json_number(fs_json_get(box, "y"), NAN))),
                         fmax(fabs(ff->w - fs_json_number(fs_json_get(box, "width"), NAN)),
                              fabs(ff->h - fs_json_number(fs_json_get(box, "height"), NAN))));
        CHECK_MSG(ds <= 1e-5, "sample%d face %d: score off by %.3g", s, i, ds);
        CHECK_MSG(db <= 1e-3, "sample%d face %d: box off by %.3g px", s, i, db);
        CHECK_MSG(ff->flags == (FS_FACE_LANDMARKS | FS_FACE_DESCRIPTOR),
                  "sample%d face %d: flags %d", s, i, ff->flags);
        CHECK(same_rect(ff->landmark_crop, rect_of(fs_json_get(f, "landmark_crop"))));
        CHECK(same_rect(ff->descriptor_crop, rect_of(fs_json_get(f, "descriptor_crop"))));
        double dl = landmark_err(ff->landmarks, fs_json_get(f, "landmarks"));
        double dd = descriptor_err(ff->descriptor, fs_json_get(f, "descriptor"));
        CHECK_MSG(dl <= 1e-2, "sample%d face %d: landmarks off by %.3g px", s, i, dl);
        CHECK_MSG(dd <= 1e-4, "sample%d face %d: descriptor off by %.3g", s, i, dd);
        W.score = fmax(W.score, ds);
        W.box = fmax(W.box, db);
        W.landmarks = fmax(W.landmarks, dl);
        W.descriptor = fmax(W.descriptor, dd);
        W.faces++;

        /* stages fed the golden crops */
        fs_face iso = {0};
        iso.x = fs_json_number(fs_json_get(box, "x"), NAN);
        iso.y = fs_json_number(fs_json_get(box, "y"), NAN);
        fs_rect lc = rect_of(fs_json_get(f, "landmark_crop"));
        fs_rect dc = rect_of(fs_json_get(f, "descriptor_crop"));
        CHECK_OK(fs_prep_crop(&img, lc, 112, &w->crop, &w->crop_cap, in, &e), &e);
        golden_check_probe(fs_json_get(f, "landmark_input_probe"), in, 112 * 112 * 3, &ps);
        CHECK_OK(fs_prep_crop(&img, dc, 150, &w->crop, &w->crop_cap, in, &e), &e);
        golden_check_probe(fs_json_get(f, "descriptor_input_probe"), in, 150 * 150 * 3, &ps);
        CHECK_OK(fs_worker_landmarks_in(w, &img, lc, &iso, &e), &e);
        CHECK_OK(fs_worker_descriptor_in(w, &img, dc, &iso, &e), &e);
        dl = landmark_err(iso.landmarks, fs_json_get(f, "landmarks"));
        dd = descriptor_err(iso.descriptor, fs_json_get(f, "descriptor"));
        CHECK_MSG(dl <= 1e-2, "sample%d face %d: golden-crop landmarks off by %.3g", s, i, dl);
        CHECK_MSG(dd <= 1e-4, "sample%d face %d: golden-crop descriptor off by %.3g", s, i, dd);
        W.iso_landmarks = fmax(W.iso_landmarks, dl);
        W.iso_descriptor = fmax(W.iso_descriptor, dd);
    }
    W.probe = fmax(W.probe, ps.max_sample_rel);
out:
    fs_worker_destroy(w);
    fs_image_free(&img);
    free(faces);
    free(in);
    fs_json_free(g);
}

TEST(face_samples_match_golden)
{
    memset(&W, 0, sizeof W);
    fs_engine *eng = engine();
    REQUIRE(eng);
    for (int s = 1; s <= N_SAMPLES; s++)
        check_sample(eng, s);
    fs_engine_destroy(eng);
    printf("    info: %d samples, %d faces: max |d| score %.2g, box %.2g px, landmarks %.2g px, "
           "descriptor %.2g (euclidean); golden crops: landmarks %.2g px, descriptor %.2g; "
           "input probes %.2g\n",
           N_SAMPLES, W.faces, W.score, W.box, W.landmarks, W.descriptor, W.iso_landmarks,
           W.iso_descriptor, W.probe);
    CHECK(W.faces > 0);
}

/* The bf16 engine on the samples against golden.  Each net fed the golden
 * crop: landmarks within 0.5 px, descriptors within 0.015 (bf16 arithmetic
 * alone).  The chain: the same faces, scores within 0.02 and boxes within
 * 1.5 px; a sub-pixel box change can move an integer crop by a pixel, which
 * moves landmarks by several pixels, so landmarks and descriptors are held to
 * what a different JPEG decoder does to the reference itself (golden README
 * §8: 10.4 px, 0.134).  Measured: docs/benchmarks.md. */
TEST(face_samples_bf16_close_to_golden)
{
    if (!fs_nn_cpu_bf16())
        SKIP("this CPU has no AVX-512 BF16");
    fs_engine_opts o;
    fs_engine_opts_init(&o);
    o.precision = FS_PREC_BF16;
    fs_engine *eng = NULL;
    fs_worker *w = NULL;
    fs_error e = {0};
    CHECK_OK(fs_engine_create(fs_test_models_dir(), &o, &eng, &e), &e);
    REQUIRE(eng && fs_engine_precision(eng) == FS_PREC_BF16);
    CHECK_OK(fs_worker_create(eng, &w, &e), &e);
    fs_face *faces = calloc(100, sizeof *faces);
    worst m = {0};
    for (int s = 1; w && faces && s <= N_SAMPLES; s++) {
        char name[64], path[512];
        snprintf(name, sizeof name, "sample%d.json", s);
        snprintf(path, sizeof path, "%s/demo/sample%d.jpg", fs_test_models_dir(), s);
        fs_json *g = golden_load(name);
        fs_image img = {0};
        int n = 0;
        CHECK_OK(fs_image_decode_file(path, NULL, &img, NULL, &e), &e);
        CHECK_OK(fs_worker_faces(w, &img, FS_STAGE_ALL, faces, 100, &n, &e), &e);
        const fs_json *gf = fs_json_get(g, "faces");
        CHECK_MSG((size_t)n == fs_json_count(gf), "sample%d bf16: %d faces, golden %zu", s, n,
                  fs_json_count(gf));
        for (int i = 0; i < n && (size_t)i < fs_json_count(gf); i++, m.faces++) {
            const fs_json *f = fs_json_at(gf, (size_t)i), *box = fs_json_get(f, "box");
            fs_face *ff = &faces[i], iso = {0};
            m.score = fmax(m.score, fabs(ff->score - fs_json_number(fs_json_get(f, "score"), NAN)));
            iso.x = fs_json_number(fs_json_get(box, "x"), NAN);
            iso.y = fs_json_number(fs_json_get(box, "y"), NAN);
            double wd = fs_json_number(fs_json_get(box, "width"), NAN);
            double ht = fs_json_number(fs_json_get(box, "height"), NAN);
            m.box = fmax(m.box, fmax(fmax(fabs(ff->x - iso.x), fabs(ff->y - iso.y)),
                                     fmax(fabs(ff->w - wd), fabs(ff->h - ht))));
            m.landmarks = fmax(m.landmarks, landmark_err(ff->landmarks, fs_json_get(f, "landmarks")));
            m.descriptor = fmax(m.descriptor, descriptor_err(ff->descriptor, fs_json_get(f, "descriptor")));
            CHECK_OK(fs_worker_landmarks_in(w, &img, rect_of(fs_json_get(f, "landmark_crop")), &iso,
                                            &e), &e);
            CHECK_OK(fs_worker_descriptor_in(w, &img, rect_of(fs_json_get(f, "descriptor_crop")),
                                             &iso, &e), &e);
            m.iso_landmarks = fmax(m.iso_landmarks, landmark_err(iso.landmarks, fs_json_get(f, "landmarks")));
            m.iso_descriptor = fmax(m.iso_descriptor, descriptor_err(iso.descriptor, fs_json_get(f, "descriptor")));
        }
        fs_image_free(&img);
        fs_json_free(g);
    }
    CHECK(m.faces == 22);
    CHECK_MSG(m.iso_landmarks <= 0.5, "bf16 golden-crop landmarks off by %.3g px", m.iso_landmarks);
    CHECK_MSG(m.iso_descriptor <= 0.015, "bf16 golden-crop descriptor off by %.3g", m.iso_descriptor);
    CHECK_MSG(m.score <= 0.02, "bf16 scores off by %.3g", m.score);
    CHECK_MSG(m.box <= 1.5, "bf16 boxes off by %.3g px", m.box);
    CHECK_MSG(m.landmarks <= 10.4, "bf16 landmarks off by %.3g px", m.landmarks);
    CHECK_MSG(m.descriptor <= 0.134, "bf16 descriptors off by %.3g", m.descriptor);
    printf("    info: bf16, %d faces: max |d| score %.2g, box %.2g px, landmarks %.2g px, "
           "descriptor %.2g; golden crops: landmarks %.2g px, descriptor %.2g\n", m.faces,
           m.score, m.box, m.landmarks, m.descriptor, m.iso_landmarks, m.iso_descriptor);
    free(faces);
    fs_worker_destroy(w);
    fs_engine_destroy(eng);
}

TEST(face_engine_rejects_bad_options_and_models)
{
    fs_engine *e = NULL;
    fs_error err = {0};
    fs_engine_opts o;
    fs_engine_opts_init(&o);
    o.input_size = 300;
    CHECK_INT(fs_engine_create(fs_test_models_dir(), &o, &e, &err), FS_EUSAGE);
    CHECK(strstr(err.msg, "512") != NULL);
    fs_engine_opts_init(&o);
    o.min_score = 1.5f;
    CHECK_INT(fs_engine_create(fs_test_models_dir(), &o, &e, &err), FS_EUSAGE);
    CHECK_INT(fs_engine_create("/nonexistent-models", NULL, &e, &err), FS_EMODEL);
    CHECK(strstr(err.msg, "/nonexistent-models/ssd_mobilenetv1_model-weights_manifest.json") !=
          NULL);
    CHECK(e == NULL);
}

TEST(face_engine_empty_image_is_usage_error)
{
    fs_worker *w = NULL;
    fs_error err = {0};
    fs_engine *eng = engine();
    REQUIRE(eng);
    REQUIRE(fs_worker_create(eng, &w, &err) == FS_OK);
    fs_image img = {0};
    fs_face f[4];
    int n = -1;
    CHECK_INT(fs_worker_faces(w, &img, FS_STAGE_ALL, f, 4, &n, &err), FS_EUSAGE);
    CHECK_INT(n, 0);
    fs_worker_destroy(w);
    fs_engine_destroy(eng);
}

/* The tiny detector against reference detections at two input sizes. */
TEST(tiny_detector_samples_match_golden)
{
    fs_json *g = golden_load("tiny_face_detector.json");
    REQUIRE(g);
    const fs_json *images = fs_json_get(g, "images");
    double max_score = 0, max_box = 0;
    int faces = 0;
    for (int k = 0; k < 2; k++) {
        int size = k == 0 ? 416 : 320;
        char key[32];
        snprintf(key, sizeof key, "faces_%d", size);
        fs_engine_opts o;
        fs_engine_opts_init(&o);
        o.detector = FS_DETECTOR_TINY;
        o.input_size = size;
        fs_engine *eng = NULL;
        fs_worker *w = NULL;
        fs_error e = {0};
        CHECK_OK(fs_engine_create(fs_test_models_dir(), &o, &eng, &e), &e);
        if (eng)
            CHECK_OK(fs_worker_create(eng, &w, &e), &e);
        for (size_t i = 0; w && i < fs_json_count(images) && (int)i < N_SAMPLES; i++) {
            const fs_json *im = fs_json_at(images, i);
            char path[512];
            snprintf(path, sizeof path, "%s/demo/%s", fs_test_models_dir(),
                     fs_json_string(fs_json_get(im, "image")));
            fs_image img = {0};
            fs_face f[32];
            int n = 0;
            CHECK_OK(fs_image_decode_file(path, NULL, &img, NULL, &e), &e);
            CHECK_OK(fs_worker_detect(w, &img, f, 32, &n, &e), &e);
            const fs_json *gf = fs_json_get(im, key);
            CHECK_MSG((size_t)n == fs_json_count(gf), "%s @%d: %d faces, golden %zu", path, size,
                      n, fs_json_count(gf));
            for (int j = 0; j < n && (size_t)j < fs_json_count(gf); j++) {
                const fs_json *a = fs_json_at(gf, (size_t)j), *b = fs_json_get(a, "box");
                max_score = fmax(max_score,
                                 fabs(f[j].score - fs_json_number(fs_json_get(a, "score"), NAN)));
                double d[4] = {f[j].x - fs_json_number(fs_json_get(b, "x"), NAN),
                               f[j].y - fs_json_number(fs_json_get(b, "y"), NAN),
                               f[j].w - fs_json_number(fs_json_get(b, "width"), NAN),
                               f[j].h - fs_json_number(fs_json_get(b, "height"), NAN)};
                for (int c = 0; c < 4; c++)
                    max_box = fmax(max_box, isnan(d[c]) ? INFINITY : fabs(d[c]));
                faces++;
            }
            fs_image_free(&img);
        }
        fs_worker_destroy(w);
        fs_engine_destroy(eng);
    }
    CHECK_MSG(max_score <= 1e-5, "tiny scores max |diff| %.3g > 1e-5", max_score);
    CHECK_MSG(max_box <= 1e-3, "tiny boxes max |diff| %.3g px > 1e-3", max_box);
    CHECK(faces > 0);
    printf("    info: tiny detector, %d faces at 416 and 320: max |d| score %.2g, box %.2g px\n",
           faces, max_score, max_box);
    fs_json_free(g);
}

/* Copies models/NAME into dir, keeping the first `keep` bytes (0 = all) and
 * replacing `from` by `to` once in the text (NULL: none). */
static int copy_model_file(const char *dir, const char *name, size_t keep, const char *from,
                           const char *to)
{
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/%s", fs_test_models_dir(), name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    uint8_t *buf;
    size_t len;
    fs_error e = {0};
    if (fs_read_file(src, 0, &buf, &len, &e) != FS_OK)
        return -1;
    if (keep && keep < len)
        len = keep;
    FILE *f = fopen(dst, "wb");
    if (!f) {
        free(buf);
        return -1;
    }
    char *hit = from ? memmem(buf, len, from, strlen(from)) : NULL;
    if (hit && strlen(to) == strlen(from))
        memcpy(hit, to, strlen(to));
    size_t ok = fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
    return ok == len && (!from || hit) ? 0 : -1;
}

TEST(face_engine_names_a_damaged_model_file)
{
    static const char *files[] = {
        "ssd_mobilenetv1_model-weights_manifest.json", "ssd_mobilenetv1_model.bin",
        "face_landmark_68_model-weights_manifest.json", "face_landmark_68_model.bin",
        "face_recognition_model-weights_manifest.json", "face_recognition_model.bin"};
    char dir[512];
    snprintf(dir, sizeof dir, "%s/models-bad", fs_test_tmpdir());
    REQUIRE(mkdir(dir, 0700) == 0);
    for (int i = 0; i < 6; i++)
        REQUIRE(copy_model_file(dir, files[i], 0, NULL, NULL) == 0);
    fs_engine *e = NULL;
    fs_error err = {0};
    /* intact copy works and reports six checksums */
    CHECK_OK(fs_engine_create(dir, NULL, &e, &err), &err);
    if (e) {
        const char *file, *sha;
        CHECK_INT(fs_engine_weight_files(e, 1, &file, &sha), 6);
        CHECK_STR(file, "ssd_mobilenetv1_model.bin");
        CHECK_INT(strlen(sha), 64);
        fs_engine_destroy(e);
        e = NULL;
    }
    /* truncated recogniser weights */
    REQUIRE(copy_model_file(dir, "face_recognition_model.bin", 6000000, NULL, NULL) == 0);
    CHECK_INT(fs_engine_create(dir, NULL, &e, &err), FS_EMODEL);
    CHECK(strstr(err.msg, "face_recognition_model-weights_manifest.json: weight file is "
                          "truncated") != NULL);
    REQUIRE(copy_model_file(dir, "face_recognition_model.bin", 0, NULL, NULL) == 0);
    /* a tensor renamed in the landmark manifest */
    REQUIRE(copy_model_file(dir, "face_landmark_68_model-weights_manifest.json", 0,
                            "dense2/conv1/bias", "dense2/conv1/bxas") == 0);
    CHECK_INT(fs_engine_create(dir, NULL, &e, &err), FS_EMODEL);
    CHECK(strstr(err.msg, "face_landmark_68_model: tensor 'dense2/conv1/bias' missing") != NULL);
    /* a shape changed in the SSD manifest (same byte count) */
    REQUIRE(copy_model_file(dir, "ssd_mobilenetv1_model-weights_manifest.json", 0,
                            "[3,3,3,32]", "[3,3,32,3]") == 0);
    CHECK_INT(fs_engine_create(dir, NULL, &e, &err), FS_EMODEL);
    CHECK(strstr(err.msg, "has shape [3,3,32,3], expected [3,3,3,32]") != NULL);
    CHECK(e == NULL);
}

/* The ingest contract: one engine shared read-only by OpenMP threads, one
 * worker each; every photo gives bit-identical faces to a sequential run. */
TEST(face_engine_shared_by_threads_gives_identical_results)
{
    fs_engine *eng = engine();
    REQUIRE(eng);
    enum { PHOTOS = 12, CAP = 16 };
    fs_image img[6] = {{0}};
    fs_error e = {0};
    for (int s = 0; s < 6; s++) {
        char path[512];
        snprintf(path, sizeof path, "%s/demo/sample%d.jpg", fs_test_models_dir(), s + 1);
        CHECK_OK(fs_image_decode_file(path, NULL, &img[s], NULL, &e), &e);
    }
    static fs_face seq[PHOTOS][CAP], par[PHOTOS][CAP];
    int nseq[PHOTOS] = {0}, npar[PHOTOS] = {0}, fails = 0;
    fs_worker *w = NULL;
    REQUIRE(fs_worker_create(eng, &w, &e) == FS_OK);
    for (int i = 0; i < PHOTOS; i++)
        fails += fs_worker_faces(w, &img[i % 6], FS_STAGE_ALL, seq[i], CAP, &nseq[i], &e) != 0;
    fs_worker_destroy(w);
#pragma omp parallel num_threads(2) reduction(+ : fails)
    {
        fs_worker *tw = NULL;
        fs_error te = {0};
        if (fs_worker_create(eng, &tw, &te) != FS_OK) {
            fails++;
        } else {
#pragma omp for schedule(dynamic, 1)
            for (int i = 0; i < PHOTOS; i++)
                fails += fs_worker_faces(tw, &img[i % 6], FS_STAGE_ALL, par[i], CAP, &npar[i],
                                         &te) != 0;
            fs_worker_destroy(tw);
        }
    }
    CHECK_INT(fails, 0);
    for (int i = 0; i < PHOTOS; i++) {
        CHECK_INT(npar[i], nseq[i]);
        CHECK_MSG(memcmp(par[i], seq[i], (size_t)nseq[i] * sizeof(fs_face)) == 0,
                  "photo %d: threaded result differs", i);
    }
    for (int s = 0; s < 6; s++)
        fs_image_free(&img[s]);
    fs_engine_destroy(eng);
}
