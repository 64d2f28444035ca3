/* Accuracy measures on hand-made cases whose answers are known. */
#include <math.h>

#include <stdlib.h>

#include "facesearch/eval.h"
#include "facesearch/face.h"
#include "facesearch/index.h"
#include "harness.h"

TEST(eval_verification)
{
    /* Same pairs at 0.1..0.4, different at 0.5..0.8 except one at 0.35. */
    float d[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.35f, 0.8f};
    int s[8] = {1, 1, 1, 1, 0, 0, 0, 0};
    CHECK_NEAR(fs_eval_accuracy(d, s, 8, 0.45f), 7.0 / 8, 1e-12);
    double acc;
    float t = fs_eval_best_threshold(d, s, 8, &acc);
    CHECK_NEAR(acc, 7.0 / 8, 1e-12);
    CHECK(t > 0.3f && t < 0.5f);
    /* A NaN (no face) pair is wrong whatever the threshold. */
    float dn[4] = {0.1f, NAN, 0.9f, NAN};
    int sn[4] = {1, 1, 0, 0};
    CHECK_NEAR(fs_eval_accuracy(dn, sn, 4, 0.5f), 0.5, 1e-12);
    fs_eval_best_threshold(dn, sn, 4, &acc);
    CHECK_NEAR(acc, 0.5, 1e-12);
    /* TAR at FAR: with 4 negatives and FAR 0.25 one false accept is allowed:
     * threshold = the 2nd smallest negative (0.5), accepting 4/4 positives. */
    float thr;
    CHECK_NEAR(fs_eval_tar_at_far(d, s, 8, 0.25, &thr), 1.0, 1e-12);
    CHECK_NEAR(thr, 0.5, 1e-6);
    /* FAR 0: threshold = smallest negative 0.35: positives 0.1, 0.2, 0.3. */
    CHECK_NEAR(fs_eval_tar_at_far(d, s, 8, 0.0, &thr), 0.75, 1e-12);
}

TEST(eval_kfold)
{
    /* Perfectly separable data: every fold 100 %. */
    float d[40];
    int s[40];
    for (int i = 0; i < 40; i++) {
        s[i] = i % 2;
        d[i] = s[i] ? 0.2f + 0.001f * (float)i : 0.7f + 0.001f * (float)i;
    }
    fs_kfold k;
    REQUIRE(fs_eval_kfold(d, s, 40, 10, &k) == 0);
    CHECK_NEAR(k.accuracy, 1.0, 1e-12);
    CHECK_NEAR(k.std, 0.0, 1e-12);
    CHECK(k.threshold > 0.24 && k.threshold < 0.7);
    /* One flipped pair in fold 0 (items 0..3): that fold scores 3/4. */
    d[1] = 0.9f;
    REQUIRE(fs_eval_kfold(d, s, 40, 10, &k) == 0);
    CHECK_NEAR(k.accuracy, (9 + 0.75) / 10, 1e-12);
    CHECK_NEAR(k.std, sqrt(0.1 * (0.75 * 0.75) + 0.9 - k.accuracy * k.accuracy), 1e-9);
    CHECK(fs_eval_kfold(d, s, 5, 10, &k) == -1);
}

TEST(eval_identification)
{
    /* 4 mated probes (identity 1..4), 2 non-mated. */
    int ranks[6 * 5] = {
        1, 2, 3, 4, 5,  /* rank 1 hit */
        9, 2, 3, 4, 5,  /* rank 2 hit */
        9, 8, 7, 6, 3,  /* rank 5 hit */
        9, 8, 7, 6, 5,  /* miss */
        1, 2, 3, 4, 5,  /* non-mated */
        2, 3, 4, 5, 6,  /* non-mated */
    };
    int truth[6] = {1, 2, 3, 4, -1, -1};
    float best[6] = {0.3f, 0.4f, 0.5f, 0.6f, 0.45f, 0.55f};
    fs_ident_result r;
    fs_eval_ident(ranks, 5, best, truth, 6, 0.5, &r);
    CHECK_INT(r.mated, 4);
    CHECK_INT(r.nonmated, 2);
    CHECK_NEAR(r.rank1, 0.25, 1e-12);
    CHECK_NEAR(r.rank5, 0.75, 1e-12);
    /* FPIR 0.5 of 2 non-mated allows one through: threshold 0.55; the rank-1
     * hit at 0.3 is under it. */
    CHECK_NEAR(r.threshold, 0.55, 1e-6);
    CHECK_NEAR(r.tpir_at_fpir, 0.25, 1e-12);
}

TEST(eval_pairwise_clustering)
{
    int label[6] = {0, 0, 0, 1, 1, 2};
    int perfect[6] = {5, 5, 5, 7, 7, 9};
    fs_pairwise p;
    REQUIRE(fs_eval_pairwise(perfect, label, 6, &p) == 0);
    CHECK_NEAR(p.precision, 1, 1e-12);
    CHECK_NEAR(p.recall, 1, 1e-12);
    CHECK_INT(p.clusters, 3);
    CHECK_INT(p.identities, 3);
    /* Everything in one cluster: 4 true pairs of 15 predicted. */
    int one[6] = {0, 0, 0, 0, 0, 0};
    fs_eval_pairwise(one, label, 6, &p);
    CHECK_NEAR(p.precision, 4.0 / 15, 1e-12);
    CHECK_NEAR(p.recall, 1, 1e-12);
    /* All singletons (-1): nothing predicted together. */
    int none[6] = {-1, -1, -1, -1, -1, -1};
    fs_eval_pairwise(none, label, 6, &p);
    CHECK_NEAR(p.recall, 0, 1e-12);
    CHECK_INT(p.clusters, 6);
    /* Split identity 0 into {0,1} and {2}: 1 of 4 true pairs lost... */
    int split[6] = {0, 0, 1, 2, 2, 3};
    fs_eval_pairwise(split, label, 6, &p);
    CHECK_NEAR(p.precision, 1, 1e-12);
    CHECK_NEAR(p.recall, 2.0 / 4, 1e-12);
    CHECK_NEAR(p.f1, 2 * 0.5 / 1.5, 1e-12);
}

/* n unit vectors of dim in `ids` tight groups (label = group), photos of one
 * group contiguous. */
static float *groups(size_t n, int dim, int ids, fs_eval_photo *ph, unsigned seed)
{
    float *x = malloc(sizeof(float) * n * (size_t)dim), *c = malloc(sizeof(float) * ids * dim);
    srand(seed);
    for (int i = 0; i < ids * dim; i++)
        c[i] = (float)rand() / RAND_MAX - 0.5f;
    for (size_t i = 0; i < n; i++) {
        int g = (int)(i * (size_t)ids / n);
        double norm = 0;
        for (int j = 0; j < dim; j++) {
            x[i * dim + j] = c[g * dim + j] + 0.1f * ((float)rand() / RAND_MAX - 0.5f);
            norm += x[i * dim + j] * x[i * dim + j];
        }
        for (int j = 0; j < dim; j++)
            x[i * dim + j] /= (float)sqrt(norm);
        ph[i] = (fs_eval_photo){g, x + i * dim, NULL, 0};
    }
    free(c);
    return x;
}

TEST(eval_ident_and_cluster_protocols_on_folders)
{
    enum { N = 60, D = 16, IDS = 12 }; /* 5 photos per identity */
    fs_eval_photo ph[N + 2];
    float *x = groups(N, D, IDS, ph, 9);
    /* Two identities of one photo each: a distractor and a non-mated probe. */
    float extra[2][D];
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < D; j++)
            extra[k][j] = j == k ? 1.0f : 0.0f;
        ph[N + k] = (fs_eval_photo){IDS + k, extra[k], NULL, 0};
    }
    fs_ident_run r;
    fs_error e = {0};
    CHECK_OK(fs_eval_ident_folders(ph, N + 2, D, 0, &r, &e), &e);
    CHECK_INT(r.gallery, IDS + 1);  /* a template per identity + the distractor */
    CHECK_INT(r.r.mated, IDS);      /* archive: one probe per identity */
    CHECK_INT(r.r.nonmated, 1);
    CHECK_NEAR(r.r.rank1, 1.0, 1e-9);
    CHECK_OK(fs_eval_ident_folders(ph, N + 2, D, 1, &r, &e), &e);
    CHECK_INT(r.r.mated, IDS * 4);  /* single: one enrolled, four probes */
    CHECK_NEAR(r.r.rank1, 1.0, 1e-9);
    /* A photo without a face is a miss. */
    ph[4].vec = NULL;
    CHECK_OK(fs_eval_ident_folders(ph, N + 2, D, 0, &r, &e), &e);
    CHECK_INT(r.no_face, 0); /* the last photo with a face becomes the probe */
    ph[3].vec = ph[2].vec = ph[1].vec = NULL;
    CHECK_OK(fs_eval_ident_folders(ph, N + 2, D, 1, &r, &e), &e);
    CHECK_INT(r.no_face, 4); /* photos 1-4 of identity 0: probes without a face */

    /* Clustering: every group found, the faceless photos singletons. */
    uint64_t fid[N + 2], img[N + 2];
    int64_t xid[N];
    for (int i = 0; i < N + 2; i++) {
        fid[i] = (uint64_t)i;
        img[i] = (uint64_t)i + 1;
    }
    for (int i = 0; i < N; i++)
        xid[i] = i;
    fs_index *ix = NULL;
    REQUIRE(fs_index_from_vectors(NULL, D, x, xid, N, &ix, &e) == FS_OK);
    fs_cluster_run c;
    CHECK_OK(fs_eval_cluster_folders(ix, ph, fid, img, N, D, 10, 0.8f, &c, &e), &e);
    CHECK_INT(c.faces, N - 4);
    CHECK_NEAR(c.pw.precision, 1.0, 1e-9);
    CHECK(c.pw.recall < 1.0 && c.pw.recall > 0.8); /* the faceless photos lose their pairs */
    CHECK_INT(c.clusters, IDS);
    fs_index_close(ix);
    free(x);
}

TEST(eval_match_boxes_one_to_one)
{
    const float base[3][4] = {{0, 0, 10, 10}, {20, 0, 10, 10}, {40, 0, 10, 10}};
    const float test[3][4] = {{1, 1, 10, 10}, {0, 0, 10, 10}, {100, 0, 5, 5}};
    /* Both tested boxes near the first baseline box: it takes the exact
     * one, the other matches nothing else. */
    CHECK_INT(fs_eval_match_boxes(base, 3, test, 3, 0.3), 1);
    CHECK_INT(fs_eval_match_boxes(base, 3, test, 0, 0.3), 0);
    CHECK_INT(fs_eval_match_boxes(test, 2, base, 1, 0.3), 1);
    CHECK_NEAR(fs_box_iou(base[0], test[1]), 1.0, 1e-9);
    CHECK_NEAR(fs_box_iou(base[0], base[1]), 0.0, 1e-9);
}
