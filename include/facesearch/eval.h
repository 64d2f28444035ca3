/*
 * facesearch/eval.h — accuracy measures for verification, identification and
 * clustering, as used by `facesearch eval` and the benchmarks.
 *
 * Conventions: distances, lower = more similar; a pair is declared "same"
 * when its distance is < threshold.  A pair whose distance is NaN (no face
 * found in one of the photos) is always wrong: it is neither accepted as
 * same nor may it be counted right as different.
 */
#ifndef FACESEARCH_EVAL_H
#define FACESEARCH_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch/common.h"
#include "facesearch/people.h"

/* ---- verification (pairs) ---------------------------------------------- */

/* Accuracy at threshold t of n pairs (dist[i], same[i] in {0,1}); NaN
 * distances count as errors. */
double fs_eval_accuracy(const float *dist, const int *same, size_t n, float t);

/* The threshold maximising accuracy on these pairs (mid-point between the
 * two sorted distances where accuracy peaks).  Returns it; *acc gets the
 * accuracy there (may be NULL). */
float fs_eval_best_threshold(const float *dist, const int *same, size_t n, double *acc);

/* Result of k-fold verification. */
typedef struct fs_kfold {
    double accuracy;     /* mean over folds, 0..1 */
    double std;          /* standard deviation over folds (population, as the
                            LFW protocol reports) */
    double threshold;    /* mean of the per-fold thresholds */
    int folds;
} fs_kfold;

/* LFW protocol: pairs split in file order into `folds` contiguous folds; for
 * each fold the threshold is chosen on the other folds and accuracy measured
 * on it.  Returns 0, or -1 when n < folds. */
int fs_eval_kfold(const float *dist, const int *same, size_t n, int folds, fs_kfold *out);

/* k-fold as above with the folds given: pair i belongs to fold[i] in
 * 0..folds-1 (e.g. LFW's official folds).  Returns 0, or -1 when a fold is
 * empty or an id is out of range. */
int fs_eval_kfold_folds(const float *dist, const int *same, const int *fold, size_t n, int folds,
                        fs_kfold *out);

/* True accept rate at a false accept rate: the largest threshold under which
 * at most far * negatives different-person pairs are accepted, and the share
 * of same-person pairs accepted there.  *thr (may be NULL) gets it.  NaN
 * pairs are never accepted. */
double fs_eval_tar_at_far(const float *dist, const int *same, size_t n, double far,
                          float *thr);

/* Cosine-similarity thresholds at false accept rates far[0..n_far-1] over
 * every different-label pair of n unit vectors (dim floats each): thr[f]
 * is the lowest similarity (to 5e-5) above which at most far[f] of those
 * pairs lie -- a pairs file has too few impostor pairs for FAR 1e-5.
 * *pairs (may be NULL) gets the number of impostor pairs.  O(n^2 dim) in
 * sgemm blocks, O(n) memory; above 30,000 vectors an evenly spread 30,000 of
 * them are used.  Errors: FS_ENOMEM. */
int fs_eval_impostor_thresholds(const float *vecs, int dim, const int *label, size_t n,
                                const double *far, int n_far, float *thr, uint64_t *pairs);

/* ---- LFW pairs files ---------------------------------------------------- */

/* One pair of an LFW pairs file: photo paths relative to the LFW root
 * ("Name/Name_0001.jpg"), same person or not, fold. */
typedef struct fs_lfw_pair {
    char *a, *b;
    int same;
    int fold;
} fs_lfw_pair;

typedef struct fs_lfw_pairs {
    fs_lfw_pair *pairs;
    size_t n;
    int folds;
    const char *fold_source; /* static: "header" (F N: F blocks of N same then N
                                different), "runs" (a fold starts where a same
                                pair follows different ones, as in the official
                                file and its subsets), or "even" (10 contiguous
                                folds of equal size) */
} fs_lfw_pairs;

/*
 * Reads an LFW pairs file: an optional header line "F N", then lines
 * "Name i j" (same person, photos i and j) or "Name1 i Name2 j"
 * (different people); blank lines are skipped.  Names must not contain '/'
 * or start with '.'.  Errors: FS_EIO (unreadable), FS_ECORRUPT ("file:line:
 * reason" for a malformed line, or no pairs), FS_ENOMEM.  *out is empty on
 * error; release it with fs_lfw_pairs_free.
 */
int fs_lfw_pairs_load(const char *path, fs_lfw_pairs *out, fs_error *err);

/* Frees what fs_lfw_pairs_load allocated; safe on a zeroed struct. */
void fs_lfw_pairs_free(fs_lfw_pairs *p);

/* ---- folder-per-identity sets ------------------------------------------ */

/* One photo of an identity (a folder of `eval ident`, `eval cluster`, `eval
 * enrol`): its central face's descriptor (NULL when no face was found) and,
 * when augmentation is evaluated, n_aug descriptors of variants of it
 * (fs_augment_face; n_aug * dim floats, may be 0). */
typedef struct fs_eval_photo {
    int label;
    const float *vec;
    const float *aug;
    int n_aug;
} fs_eval_photo;

/* ---- identification (gallery / probes) -------------------------------- */

/* Open-set identification.  For each probe: the ranked gallery identities of
 * its best matches (rank_ids[p * ranks + r], -1 padding), the distance of its
 * best match (best_dist[p]), and its true identity (truth[p]; -1 when the
 * identity is absent from the gallery: a non-mated probe). */
typedef struct fs_ident_result {
    double rank1, rank5;        /* share of mated probes with the truth in the top 1/5 */
    double tpir_at_fpir;        /* share of mated probes identified at rank 1 with a
                                   best distance under the threshold that lets
                                   through `fpir` of the non-mated probes */
    float threshold;            /* that threshold */
    size_t mated, nonmated;
} fs_ident_result;

void fs_eval_ident(const int *rank_ids, int ranks, const float *best_dist,
                   const int *truth, size_t probes, double fpir, fs_ident_result *out);

/* What fs_eval_ident_folders measured. */
typedef struct fs_ident_run {
    fs_ident_result r;     /* at FPIR 1 % */
    size_t gallery;        /* templates searched */
    size_t probes, no_face;/* probes, of which without a face (misses) */
} fs_ident_run;

/*
 * The protocol of `facesearch eval ident` on n photos grouped by label
 * (each identity's photos contiguous, e.g. sorted by path).  Identities with
 * one photo alternate between gallery distractors and non-mated probes; an
 * identity with several photos, with single = 0 ("archive"), is enrolled
 * from all but its last photo with a face, which is its mated probe; with
 * single = 1, enrolled from its first photo with a face, the others being
 * probes.  Each enrolled identity is one template: the normalised mean of
 * its enrolled descriptors, searched exactly (an IDMap,Flat index).
 * Errors: FS_ENOMEM, FS_EINDEX.
 */
int fs_eval_ident_folders(const fs_eval_photo *ph, size_t n, int dim, int single,
                          fs_ident_run *out, fs_error *err);

/* ---- clustering --------------------------------------------------------- */

/* Pairwise precision/recall/F1 of a clustering against labels: over all
 * pairs of items, a pair is predicted together when cluster[i] == cluster[j]
 * and truly together when label[i] == label[j].  Counted through the
 * contingency table, O(n log n).  Cluster or label -1 = a singleton. */
typedef struct fs_pairwise {
    double precision, recall, f1;
    size_t clusters, identities;  /* distinct non-singleton-counted groups: all
                                     clusters incl. singletons, all labels */
} fs_pairwise;

int fs_eval_pairwise(const int *cluster, const int *label, size_t n, fs_pairwise *out);

/* What fs_eval_cluster_folders measured. */
typedef struct fs_cluster_run {
    fs_pairwise pw;
    size_t faces, edges, clusters;
} fs_cluster_run;

/*
 * `facesearch dedup`'s grouping judged against the folders: the photos'
 * central faces (face_id[i], image_id[i] for ph[i] with a face) are linked
 * to their k nearest neighbours in ix at a cosine similarity of at least
 * sim_thr, grouped by Chinese whispers (faces of one photo kept apart), and
 * the groups compared with the labels over all pairs of photos (a photo
 * without a face is a group of its own).  Errors: FS_ENOMEM, FS_EINDEX.
 */
struct fs_index;
int fs_eval_cluster_folders(struct fs_index *ix, const fs_eval_photo *ph, const uint64_t *face_id,
                            const uint64_t *image_id, size_t n, int dim, int k, float sim_thr,
                            fs_cluster_run *out, fs_error *err);

/* ---- detection ------------------------------------------------------------ */

/* Greedy one-to-one matching of detections against baseline boxes {x, y, w,
 * h}: each baseline box, in order, takes the unmatched tested box it
 * overlaps most, when the IoU is at least min_iou.  Returns the number of
 * matches, or -1 when out of memory. */
int fs_eval_match_boxes(const float (*base)[4], int nb, const float (*test)[4], int nt,
                        double min_iou);

/* ---- enrolment: named people on a folder-per-identity set ----------------- */

typedef struct fs_enrol_opts {
    int shots;             /* K photos enrol each person */
    uint64_t seed;         /* the identity split and the choice of photos */
    fs_label_method method;
    int augment;           /* train on the enrolment photos' variants too */
    double far;            /* the calibrated (label's) threshold's target: label.far */
    float template_threshold; /* as fs_label_opts's */
} fs_enrol_opts;

typedef struct fs_enrol_result {
    size_t identities;     /* with more than K photos with a face */
    size_t enrolled;       /* of those, enrolled (half, seeded) */
    size_t mated, impostor;/* probes: the enrolled people's other photos, and
                              every photo of the identities never enrolled */
    size_t examples;       /* training rows (with augmented copies) */
    double rank1;          /* closed set: mated probes named right */
    double dir_far_1pct, dir_far_0_1pct; /* open set: detection and identification
                              rate (named right and over the threshold that lets
                              1 % / 0.1 % of the impostor probes through) */
    float thr_1pct, thr_0_1pct;
    float threshold;       /* what `label` would use: calibrated on the enrolled
                              people alone at opts.far */
    double rejection;      /* impostor probes it rejects */
    double dir_calibrated; /* mated probes named right over it */
    double train_s;        /* training and calibration */
} fs_enrol_result;

/*
 * The protocol of `facesearch eval enrol`: identities with more than K
 * photos with a face are split in two halves (seeded); each identity of the
 * first is enrolled from K of its photos (seeded) and its other photos are
 * mated probes; every photo of the second half is an impostor probe.
 * Photos without a face take no part.  The classifier is the one `label`
 * trains (fs_classifier_train, fs_classifier_impostors).
 * Errors: FS_EUSAGE (fewer than 4 eligible identities), FS_ENOMEM.
 */
int fs_eval_enrol(const fs_eval_photo *ph, size_t n, int dim, const fs_enrol_opts *o,
                  fs_enrol_result *out, fs_error *err);

/* Marks (enrol[i] = 1) the photos fs_eval_enrol enrols with these shots and
 * seed, so that only they need augmenting (vec must be set; aug is not
 * read).  Errors: FS_ENOMEM. */
int fs_eval_enrol_photos(const fs_eval_photo *ph, size_t n, int shots, uint64_t seed,
                         uint8_t *enrol, fs_error *err);

#endif
