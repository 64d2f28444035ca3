/*
 * Parity of the three reference networks on the golden fixed inputs (no
 * decoding, padding or resizing involved): every probed layer and the final
 * outputs against TF.js (golden README §7-8).
 */
#include <math.h>
#include <stdlib.h>

#include "../src/face/face_internal.h"
#include "facesearch/hash.h"
#include "golden.h"
#include "harness.h"

typedef struct fixed_run {
    fs_weights *w;
    fs_plan *plan;
    void *ws;
    fs_json *golden;
} fixed_run;

static void fixed_free(fixed_run *r)
{
    fs_plan_free(r->plan);
    free(r->ws);
    fs_weights_free(r->w);
    fs_json_free(r->golden);
}

/* Loads `model` and the golden file. */
static int fixed_load(fixed_run *r, const char *model, const char *golden)
{
    fs_error e = {0};
    if (!(r->golden = golden_load(golden)))
        return -1;
    if (fs_weights_load(fs_test_models_dir(), model, &r->w, &e) != FS_OK) {
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
        return -1;
    }
    return 0;
}

/* Plans net for size^2 keeping every layer, writes the golden fixed pattern
 * (checked against its sha256) normalised as the net expects, runs it. */
static int fixed_run_net(fixed_run *r, const fs_net *net, int size, int salt)
{
    fs_error e = {0};
    if (fs_plan_create(net, size, size, FS_PLAN_KEEP_ALL, &r->plan, &e) != FS_OK) {
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
        return -1;
    }
    if (!(r->ws = fs_nn_alloc(fs_plan_workspace(r->plan))))
        return -1;
    size_t n = (size_t)size * size * 3;
    uint8_t *px = malloc(n);
    if (!px)
        return -1;
    golden_fixed_pattern(px, size, salt);
    uint8_t digest[32];
    char hex[65];
    fs_sha256(px, n, digest);
    fs_sha256_hex(digest, hex);
    CHECK_STR(hex, fs_json_string(fs_json_get(r->golden, "input_sha256_u8")));
    float *in = fs_plan_input(r->plan, r->ws);
    for (size_t i = 0; i < n; i++)
        in[i] = px[i];
    free(px);
    if (salt == 3)
        fs_norm_ssd(in, n);
    else
        fs_norm_mean(in, n / 3, fs_face_mean);
    fs_plan_run(r->plan, r->ws, NULL);
    return 0;
}

/* Loads, builds with `build`, runs: 0 when ready to compare. */
#define FIXED_SETUP(r, model, golden, build, m, net, size, salt)                 \
    (fixed_load(r, model, golden) == 0 && build_ok(build((r)->w, m, &e), &e) && \
     fixed_run_net(r, net, size, salt) == 0)

static int build_ok(int st, const fs_error *e)
{
    if (st != FS_OK)
        fs_test_fail(__FILE__, __LINE__, "%s", e->msg);
    return st == FS_OK;
}

/* Node named like the probe ("input_normalized" is the input node). */
static int node_of(const fs_net *net, const char *name)
{
    if (strcmp(name, "input_normalized") == 0)
        return 0;
    for (int i = 0; i < fs_net_nodes(net); i++)
        if (strcmp(fs_net_node_name(net, i), name) == 0)
            return i;
    return -1;
}

/* Compares every golden layer probe with a node of the same name; returns
 * how many were matched.  Probes named in `skip` are the caller's. */
static int check_layers(const fixed_run *r, const fs_net *net, const char *skip, probe_stats *st)
{
    const fs_json *layers = fs_json_get(r->golden, "layers");
    int matched = 0;
    for (size_t i = 0; i < fs_json_count(layers); i++) {
        const fs_json *p = fs_json_at(layers, i);
        const char *name = fs_json_string(fs_json_get(p, "name"));
        if (skip && strstr(skip, name))
            continue;
        int node = node_of(net, name);
        CHECK_MSG(node >= 0, "no node for golden layer '%s'", name);
        if (node < 0)
            continue;
        fs_tensor t = fs_plan_tensor(r->plan, r->ws, node);
        golden_check_probe(p, t.data, fs_tensor_count(t), st);
        matched++;
    }
    return matched;
}

/* A one-output net on its golden fixed input: every probe, and the output
 * (n values under `key`) within 1e-5. */
static void check_simple_net(const char *model, const char *golden,
                             int (*build)(fs_weights *, fs_simple_net *, fs_error *), int size,
                             int salt, int layers, const char *key, int n, const char *label)
{
    fixed_run r = {0};
    fs_simple_net m = {0};
    fs_error e = {0};
    if (FIXED_SETUP(&r, model, golden, build, &m, m.net, size, salt)) {
        probe_stats st = {0};
        CHECK_INT(check_layers(&r, m.net, NULL, &st), layers);
        float want[256];
        REQUIRE(n <= 256 && golden_floats(fs_json_get(r.golden, key), want, (size_t)n) == 0);
        fs_tensor out = fs_plan_tensor(r.plan, r.ws, m.out);
        double max = 0;
        for (int i = 0; i < n; i++)
            max = fmax(max, fabs(out.data[i] - want[i]));
        CHECK_MSG(max <= 1e-5, "%s max |diff| %.3g > 1e-5", label, max);
        printf("    info: %s fixed: output max|d| %.2g, probes %d, max sample rel %.2g, "
               "max abs_sum rel %.2g\n", label, max, st.layers, st.max_sample_rel,
               st.max_abs_sum_rel);
    }
    fs_net_free(m.net);
    fixed_free(&r);
}

TEST(fixed_recognition_net_matches_golden)
{
    check_simple_net("face_recognition_model", "fixed_recognition_150.json", fs_recognition_build,
                     150, 1, 19, "output_descriptor", 128, "recognition");
}

TEST(fixed_landmark_net_matches_golden)
{
    check_simple_net("face_landmark_68_model", "fixed_landmark_112.json", fs_landmark_build, 112,
                     2, 23, "output_raw_136", 136, "landmark");
}

TEST(fixed_ssd_net_matches_golden)
{
    fixed_run r = {0};
    fs_ssd_net *m = calloc(1, sizeof *m);
    REQUIRE(m);
    fs_error e = {0};
    if (FIXED_SETUP(&r, "ssd_mobilenetv1_model", "fixed_ssd_512.json", fs_ssd_build, m, m->net,
                    512, 3)) {
        probe_stats st = {0};
        CHECK_INT(check_layers(&r, m->net, "box_encodings_all class_logits_all", &st), 48);
        float *enc = malloc(FS_SSD_ANCHORS * 4 * sizeof *enc);
        float *logits = malloc(FS_SSD_ANCHORS * 3 * sizeof *logits);
        float *boxes = malloc(FS_SSD_ANCHORS * 4 * sizeof *boxes);
        float *scores = malloc(FS_SSD_ANCHORS * sizeof *scores);
        float *want = malloc(FS_SSD_ANCHORS * sizeof *want);
        REQUIRE(enc && logits && boxes && scores && want);
        fs_ssd_gather(m, r.plan, r.ws, enc, logits);
        fs_ssd_decode(m->anchors, enc, logits, FS_SSD_ANCHORS, boxes, scores);
        const fs_json *layers = fs_json_get(r.golden, "layers");
        for (size_t i = 0; i < fs_json_count(layers); i++) {
            const fs_json *p = fs_json_at(layers, i);
            const char *name = fs_json_string(fs_json_get(p, "name"));
            if (strcmp(name, "box_encodings_all") == 0)
                golden_check_probe(p, enc, FS_SSD_ANCHORS * 4, &st);
            if (strcmp(name, "class_logits_all") == 0)
                golden_check_probe(p, logits, FS_SSD_ANCHORS * 3, &st);
        }
        /* every score */
        uint8_t *raw;
        size_t len;
        REQUIRE(fs_read_file("tests/data/golden/fixed_ssd_512_scores.f32", 0, &raw, &len, &e) ==
                FS_OK);
        REQUIRE(len == FS_SSD_ANCHORS * 4);
        memcpy(want, raw, len);
        free(raw);
        double max_score = 0, max_box = 0, max_enc = 0;
        for (int i = 0; i < FS_SSD_ANCHORS; i++)
            max_score = fmax(max_score, fabs(scores[i] - want[i]));
        /* the 20 best anchors in full */
        const fs_json *top = fs_json_get(r.golden, "top20_by_score");
        CHECK_INT(fs_json_count(top), 20);
        for (size_t k = 0; k < fs_json_count(top); k++) {
            const fs_json *t = fs_json_at(top, k);
            int a = (int)fs_json_number(fs_json_get(t, "anchor"), -1);
            REQUIRE(a >= 0 && a < FS_SSD_ANCHORS);
            float gb[4], ge[4], ga[4];
            REQUIRE(golden_floats(fs_json_get(t, "box_decoded"), gb, 4) == 0);
            REQUIRE(golden_floats(fs_json_get(t, "box_encoding"), ge, 4) == 0);
            REQUIRE(golden_floats(fs_json_get(t, "anchor_box"), ga, 4) == 0);
            for (int j = 0; j < 4; j++) {
                max_box = fmax(max_box, fabs(boxes[a * 4 + j] - gb[j]));
                max_enc = fmax(max_enc, fabs(enc[a * 4 + j] - ge[j]));
                CHECK(m->anchors[a * 4 + j] == ga[j]);
            }
        }
        CHECK_MSG(max_score <= 1e-5, "scores max |diff| %.3g > 1e-5", max_score);
        CHECK_MSG(max_box <= 1e-5, "top-20 boxes max |diff| %.3g > 1e-5", max_box);
        CHECK_MSG(max_enc <= 1e-4, "top-20 encodings max |diff| %.3g > 1e-4", max_enc);
        printf("    info: ssd fixed: scores max|d| %.2g (all 5118), top20 boxes %.2g, encodings "
               "%.2g, probes %d, max sample rel %.2g, max abs_sum rel %.2g\n",
               max_score, max_box, max_enc, st.layers, st.max_sample_rel, st.max_abs_sum_rel);
        free(enc);
        free(logits);
        free(boxes);
        free(scores);
        free(want);
    }
    fs_net_free(m->net);
    free(m);
    fixed_free(&r);
}

TEST(fixed_tiny_detector_matches_golden)
{
    fixed_run r = {0};
    fs_simple_net m = {0};
    fs_error e = {0};
    const fs_json *fixed = NULL;
    if (fixed_load(&r, "tiny_face_detector_model", "tiny_face_detector.json") == 0 &&
        build_ok(fs_tiny_build(r.w, &m, &e), &e) &&
        fs_plan_create(m.net, 416, 416, 0, &r.plan, &e) == FS_OK &&
        (r.ws = fs_nn_alloc(fs_plan_workspace(r.plan))) != NULL &&
        (fixed = fs_json_get(r.golden, "fixed_416")) != NULL) {
        uint8_t *px = malloc(416 * 416 * 3);
        REQUIRE(px);
        golden_fixed_pattern(px, 416, 4);
        float *in = fs_plan_input(r.plan, r.ws);
        for (size_t i = 0; i < 416 * 416 * 3; i++)
            in[i] = px[i];
        free(px);
        fs_norm_mean(in, 416 * 416, fs_tiny_mean);
        fs_plan_run(r.plan, r.ws, NULL);
        fs_tensor out = fs_plan_tensor(r.plan, r.ws, m.out);
        CHECK(out.h == 13 && out.w == 13 && out.c == 25);
        probe_stats st = {0};
        golden_check_probe(fs_json_get(fixed, "probe"), out.data, fs_tensor_count(out), &st);
        const fs_json *logits = fs_json_get(fixed, "score_logits");
        REQUIRE(fs_json_count(logits) == 13 * 13 * 5);
        double max = 0;
        for (size_t i = 0; i < 13 * 13 * 5; i++)
            max = fmax(max, fabs(out.data[5 * i + 4] - fs_json_number(fs_json_at(logits, i), NAN)));
        CHECK_MSG(max <= 1e-4, "score logits max |diff| %.3g > 1e-4", max);
        printf("    info: tiny fixed: score logits max|d| %.2g (all 845), output probe max sample "
               "rel %.2g, abs_sum rel %.2g\n", max, st.max_sample_rel, st.max_abs_sum_rel);
    } else {
        CHECK_MSG(0, "setup failed: %s", e.msg);
    }
    fs_net_free(m.net);
    fixed_free(&r);
}
