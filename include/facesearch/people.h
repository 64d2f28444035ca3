/*
 * facesearch/people.h — named people: enrolment, a classifier trained on the
 * enrolled faces' descriptors, and the label of every stored face.
 *
 * People live beside the face database, in DIR/people.mdb (an LMDB
 * environment of its own, 0600; byte layouts in docs/formats.md), so that a
 * sharded database has one set of people and editing people never waits for
 * an ingest.  Named databases inside it:
 *
 *   meta      schema, id counters, the people generation (bumped by every
 *             edit), what the last `label` run was trained on
 *   names     name          -> person id
 *   persons   person id     -> person record (name, creation time)
 *   examples  person id + example id -> example (the face, where it came
 *             from, its descriptor)
 *   labels    face id       -> label (person id or 0 = unknown, scores, the
 *             fingerprint of the training that produced it)
 *
 * An example is a face id *and* its descriptor, with the photo's path and the
 * face's box: a re-ingested photo's face is found again by path and box, a
 * model change (reembed keeps face ids) re-derives the descriptor from the
 * stored face, and a face whose photo is gone keeps its last descriptor and
 * is reported.  Augmented examples (fs_augment_face) hang off the example
 * they were made from.
 *
 * Every edit is one LMDB transaction: a killed command leaves the people as
 * they were before it or after it.  Handles are not shared between threads.
 */
#ifndef FACESEARCH_PEOPLE_H
#define FACESEARCH_PEOPLE_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch/common.h"
#include "facesearch/face.h"
#include "facesearch/image.h"
#include "facesearch/store.h"

#define FS_PEOPLE_FILE "people.mdb"
#define FS_PERSON_NAME_MAX 128
/* face_id of an example taken from a photo that is not in the database. */
#define FS_NO_FACE UINT64_MAX

typedef struct fs_people fs_people;

/*
 * Opens dir's people (dir is a database directory, plain or sharded).  flags:
 * FS_DB_CREATE creates people.mdb when missing, FS_DB_READONLY opens for
 * reading only.  Errors: FS_ENOTFOUND (no people.mdb and no FS_DB_CREATE),
 * FS_EDB (another schema, LMDB failure), FS_EIO.
 */
int fs_people_open(const char *dir, int flags, fs_people **out, fs_error *err);

/* Closes; NULL is a no-op. */
void fs_people_close(fs_people *p);

/* FS_OK when name can name a person: 1..FS_PERSON_NAME_MAX bytes, no control
 * characters, no leading or trailing space, not all digits (digits name face
 * ids on the command line).  Else FS_EUSAGE saying why. */
int fs_person_name_check(const char *name, fs_error *err);

typedef struct fs_person {
    uint64_t id;
    char name[FS_PERSON_NAME_MAX + 1];
    int64_t created_ns;
    uint32_t examples;   /* enrolled faces */
    uint32_t augmented;  /* augmented descriptors of them */
} fs_person;

/* One example of a person. */
typedef struct fs_example {
    uint64_t id;         /* unique in the people database; set by fs_people_add */
    uint64_t person;
    uint64_t face_id;    /* the stored face, or FS_NO_FACE */
    uint64_t parent;     /* augmented: the example it was made from; else 0 */
    int aug;             /* 0: the face itself; else the FS_AUG_* variant */
    int gone;            /* the face is no longer in the database */
    float box[4];        /* x, y, w, h in upright-photo pixels */
    uint64_t model_tag;  /* fs_people_model_tag of the descriptor's model */
    int64_t created_ns;
    char *path;          /* the photo (owned) */
    int dim;
    float *vec;          /* dim floats, unit length (owned) */
} fs_example;

typedef struct fs_example_list {
    fs_example *v;
    size_t n, cap;
} fs_example_list;

/* Frees the list's paths and vectors and the list; safe on a zeroed one. */
void fs_example_list_free(fs_example_list *l);

/* Appends a copy of ex (path and vec duplicated) to l.  Errors: FS_ENOMEM. */
int fs_example_list_push(fs_example_list *l, const fs_example *ex, fs_error *err);

/* The tag of a database model id (the first 8 bytes of its sha256). */
uint64_t fs_people_model_tag(const char *model_id);

/*
 * Enrols ex[0..n) as examples of `name`, creating the person when absent.
 * An augmented entry (aug > 0) names its original by parent = 1 + its index
 * in ex.  A stored face already enrolled for this person, or given twice, is
 * enrolled once (the later entries skipped with their augmented ones); one enrolled for someone else refuses the whole
 * call with FS_EUSAGE naming both.  Sets ex[i].id and person.  *added (may be
 * NULL) gets the number of faces newly enrolled.  All or nothing.
 * Errors: FS_EUSAGE (bad name, face of another person), FS_EDB, FS_ENOSPC.
 */
int fs_people_add(fs_people *p, const char *name, fs_example *ex, size_t n, size_t *added,
                  fs_error *err);

/* Finds a person by name.  Errors: FS_ENOTFOUND ("no person 'NAME'"), FS_EDB. */
int fs_people_find(fs_people *p, const char *name, fs_person *out, fs_error *err);

/* Every person, by name (malloc'ed array the caller frees).  Errors: FS_EDB,
 * FS_ENOMEM. */
int fs_people_list(fs_people *p, fs_person **out, size_t *n, fs_error *err);

/* The examples of person `id` (0: of everyone), by person then example id,
 * appended to *out.  Errors: FS_EDB, FS_ENOMEM. */
int fs_people_examples(fs_people *p, uint64_t id, fs_example_list *out, fs_error *err);

/* Removes a person, their examples and every label naming them.
 * Errors: FS_ENOTFOUND, FS_EDB. */
int fs_people_remove(fs_people *p, const char *name, fs_error *err);

/* Renames a person (labels follow: they hold the id).  Errors: FS_ENOTFOUND,
 * FS_EUSAGE (bad new name, or it is taken), FS_EDB. */
int fs_people_rename(fs_people *p, const char *old_name, const char *new_name, fs_error *err);

/* Removes face_id from name's examples, with its augmented examples.
 * Errors: FS_ENOTFOUND (no such person, or the face is not theirs), FS_EDB. */
int fs_people_unassign(fs_people *p, const char *name, uint64_t face_id, fs_error *err);

/* Rewrites examples in place (same ids; e.g. after fs_people_refresh moved
 * them to new face ids or descriptors).  Errors: FS_EDB, FS_ENOTFOUND (an
 * example vanished meanwhile: nothing written). */
int fs_people_update(fs_people *p, const fs_example *ex, size_t n, fs_error *err);

/* The people generation: +1 per edit (add, remove, rename, unassign, update). */
int fs_people_generation(fs_people *p, uint64_t *gen, fs_error *err);

/* What fs_people_refresh found. */
typedef struct fs_refresh_report {
    size_t examples;  /* examples of stored faces looked at */
    size_t moved;     /* found again under a new face id (photo re-ingested) */
    size_t rederived; /* descriptor taken anew from the stored face (model change) */
    size_t gone;      /* face no longer in the database: last descriptor kept */
    size_t stale;     /* descriptors of another model that cannot be re-derived
                         here (augmented, photos outside the database, faces
                         gone before the change): left out of training */
} fs_refresh_report;

/*
 * Brings every example up to date with the database seen by snap, whose
 * model is model_id / dim: a face id that no longer exists is looked for
 * again by the photo's path and the box (IoU >= 0.5; else the example is
 * gone), and a descriptor of another model is re-derived from the stored
 * face.  Augmented and outside examples of another model are left stale
 * (fs_augment_face makes them anew).  Writes only when something changed.
 * Errors: FS_EDB, FS_ENOMEM.
 */
int fs_people_refresh(fs_people *p, fs_db_snap *snap, const char *model_id, int dim,
                      fs_refresh_report *rep, fs_error *err);

/* ---- labels -------------------------------------------------------------- */

/* The label of a stored face. */
typedef struct fs_label {
    uint64_t face_id;
    uint64_t person;      /* 0: unknown */
    float score;          /* calibrated: the share of calibration impostors
                             scoring below the winner (known iff >= 1 - far) */
    float raw;            /* the method's own score of the winner */
    uint64_t fingerprint; /* of the training that produced it */
} fs_label;

/* Writes labels and deletes the labels of face ids drop[0..n_drop), in one
 * transaction.  Errors: FS_EDB, FS_ENOSPC. */
int fs_people_labels_put(fs_people *p, const fs_label *l, size_t n, const uint64_t *drop,
                         size_t n_drop, fs_error *err);

/* Reads the labels of face_ids[0..n) into out (face_id set, person 0 and
 * fingerprint 0 where a face has none).  Errors: FS_EDB. */
int fs_people_labels_get(fs_people *p, const uint64_t *face_ids, size_t n, fs_label *out,
                         fs_error *err);

/* Calls cb for every label in face id order (non-zero from cb stops and is
 * returned).  Errors: FS_EDB. */
int fs_people_foreach_label(fs_people *p, int (*cb)(void *ctx, const fs_label *l), void *ctx,
                            fs_error *err);

/* The person's name for id into out ("" when there is none). */
int fs_people_name_of(fs_people *p, uint64_t id, char out[FS_PERSON_NAME_MAX + 1],
                      fs_error *err);

/* Summary of the last finished `label` run, kept in meta. */
typedef struct fs_label_summary {
    char method[16];
    double far;
    float threshold;      /* raw-score threshold it used */
    uint64_t fingerprint; /* 0 when label never finished */
    uint64_t faces, known, unknown;
    int64_t finished_ns;
    int augment;
} fs_label_summary;

int fs_people_label_summary(fs_people *p, fs_label_summary *s, fs_error *err);
int fs_people_set_label_summary(fs_people *p, const fs_label_summary *s, fs_error *err);

/* ---- classifiers --------------------------------------------------------- */

typedef enum fs_label_method {
    FS_LABEL_TEMPLATE = 0, /* nearest person: max similarity to their examples */
    FS_LABEL_SVM,          /* one-vs-rest linear SVM (liblinear) */
    FS_LABEL_SOFTMAX       /* multinomial logistic regression */
} fs_label_method;

/* "template", "svm", "softmax".  Parse errors: FS_EUSAGE. */
const char *fs_label_method_name(fs_label_method m);
int fs_label_method_parse(const char *s, fs_label_method *m, fs_error *err);

typedef struct fs_classifier fs_classifier;

/*
 * Trains method m on n unit descriptors x (n * dim floats) of classes
 * y[i] in 0..classes-1 (every class at least one example; svm and softmax
 * need classes >= 2).  x and y are copied as needed.  Deterministic.
 * Errors: FS_EUSAGE (too few classes, a class without examples), FS_ENOMEM.
 */
int fs_classifier_train(fs_label_method m, const float *x, const int *y, size_t n, int dim,
                        int classes, fs_classifier **out, fs_error *err);

/* Frees; NULL is a no-op. */
void fs_classifier_destroy(fs_classifier *c);

int fs_classifier_classes(const fs_classifier *c);

/* Scores of every class for n descriptors: scores[i * classes + c], higher =
 * more likely (template: the best cosine similarity to the class's examples;
 * svm: decision value; softmax: the logit, which separates strangers better
 * than the probability does).  Errors: FS_ENOMEM. */
int fs_classifier_scores(const fs_classifier *c, const float *x, size_t n, float *scores,
                         fs_error *err);

/*
 * Open-set calibration: the winning scores of faces of people the classifier
 * was not trained on.  The classes are split into `folds` groups (seeded);
 * for each, a classifier trained on the other classes scores that group's
 * original examples (orig[i] != 0; augmented copies are only trained on).
 * With folds = 0, leave-one-class-out for the template method and 5
 * otherwise.  *imp (malloc'ed, sorted ascending) gets them.
 * Errors: FS_EUSAGE (fewer than 2 classes; fewer than 3 for svm and
 * softmax, whose folds must train on two), FS_ENOMEM.
 */
int fs_classifier_impostors(fs_label_method m, const float *x, const int *y, const uint8_t *orig,
                            size_t n, int dim, int classes, int folds, uint64_t seed, float **imp,
                            size_t *n_imp, fs_error *err);

/* The raw threshold at false-accept rate far over sorted impostor scores:
 * the lowest score above which at most far of them lie (just above the
 * highest when there are fewer than 1 / far). */
float fs_threshold_at_far(const float *imp, size_t n, double far);

/* A raw score's calibrated score: the share of the sorted impostor scores
 * below it (0..1). */
float fs_calibrated_score(const float *imp, size_t n, float raw);

/* ---- augmentation -------------------------------------------------------- */

/* Augmented variants (fs_example.aug). */
enum {
    FS_AUG_FLIP = 1,      /* mirror image */
    FS_AUG_ROT_POS,       /* rotated +10 degrees about the face */
    FS_AUG_ROT_NEG,       /* rotated -10 degrees */
    FS_AUG_HALF,          /* the photo at half resolution */
    FS_AUG_BLUR,          /* Gaussian blur, sigma 2 % of the face width */
    FS_AUG_BRIGHT,        /* brighter, lower contrast */
    FS_AUG_DARK,          /* darker, higher contrast */
    FS_AUG_COUNT = FS_AUG_DARK
};

/* "flip", "rot+10", ... for 1..FS_AUG_COUNT. */
const char *fs_aug_name(int variant);

/* Parses a comma-separated list of variant names into a mask (bit v for
 * variant v).  Errors: FS_EUSAGE naming an unknown or empty list. */
int fs_aug_parse(const char *list, unsigned *mask, fs_error *err);

/*
 * The descriptor of the face at box (upright-photo pixels) of photo after
 * transforming the photo by `variant`, through the engine's whole chain
 * (detection, landmarks, descriptor): the face found whose box overlaps the
 * transformed box most (IoU >= 0.3).  desc gets dim floats (the engine's
 * descriptor length).
 * Errors: FS_ENOTFOUND (the face is not found again in the variant),
 * FS_EUSAGE (bad variant), FS_ENOMEM.
 */
int fs_augment_face(fs_worker *w, int dim, const fs_image *photo, const float box[4], int variant,
                    float *desc, fs_error *err);

/* ---- labelling the database ---------------------------------------------- */

typedef struct fs_label_opts {
    fs_label_method method;
    double far;          /* target false-accept rate of the open set (0.01) */
    int augment;         /* train on augmented examples too... */
    unsigned variants;   /* ...of these variants (fs_aug_parse mask; 0 = all) */
    int full;            /* relabel every face, not only the new ones */
    uint64_t seed;       /* calibration folds */
    /* The template method's similarity threshold while there are too few
     * calibration impostors for opts.far (fewer than 1 / far: one or a few
     * people): the recogniser's own match threshold (query.NAME). */
    float template_threshold;
} fs_label_opts;

typedef struct fs_label_stats {
    fs_label_method method; /* the one used: template when svm or softmax
                               was asked for fewer than three people */
    size_t people, examples, augmented, impostors;
    float threshold;       /* raw threshold at opts.far */
    uint64_t faces;        /* faces in the database */
    uint64_t labelled;     /* faces (re)labelled by this run */
    uint64_t known, unknown; /* of all faces after the run */
    uint64_t dropped;      /* labels of faces gone from the database */
    int incremental;       /* only new faces were labelled */
    fs_refresh_report refresh;
    double train_s, label_s;
} fs_label_stats;

/*
 * Trains opts->method on the people's examples (refreshed first, see
 * fs_people_refresh), calibrates the open-set threshold and labels every
 * face of db whose label is missing or from another training (all of them
 * when opts->full or the people, the model or the options changed), in
 * batches of one transaction each: a killed run keeps what it labelled and
 * the next run finishes.  Labels of faces gone from db are deleted.  svm
 * and softmax need three people (their threshold is measured on
 * classifiers trained without some of them): with fewer, the template
 * method is used (st->method says which).
 * Errors: FS_EUSAGE (no people), FS_EDB, FS_ENOMEM, FS_ENOSPC.
 */
int fs_label_run(fs_db *db, fs_people *p, const fs_label_opts *opts, fs_label_stats *st,
                 fs_error *err);

#endif
