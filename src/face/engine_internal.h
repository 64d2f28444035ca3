/* Private to the engine and its workers (engine.c, detect.c, worker.c,
 * align.c). */
#ifndef FS_ENGINE_INTERNAL_H
#define FS_ENGINE_INTERNAL_H

#include "face_internal.h"

#define FS_ENGINE_MAX_FILES 10
#define FS_MFN512_FILE "fr_feature.onnx" /* in the models directory */
#define FS_FIT_MIN 128      /* smallest detector input of the fit mode */
#define FS_MAX_DET_SIZES 32 /* main size + fit sizes (multiples of 32 below it) */

/* A detector planned for one input side. */
typedef struct fs_det_plan {
    fs_detector_kind kind;
    int size;
    fs_plan *plan;
    const float *anchors;  /* SSD: n_anchors boxes (the stored table at 512) */
    float *own_anchors;    /* generated ones (other sizes), owned */
    int n_anchors;         /* SSD anchors; tiny: grid cells x 5 */
} fs_det_plan;

/* A detector with its plans: [0] at the main input size, then (fit_input)
 * the multiples of 32 below it, ascending. */
typedef struct fs_detector {
    fs_detector_kind kind;
    fs_det_plan plans[FS_MAX_DET_SIZES];
    int n;
} fs_detector;

struct fs_engine {
    fs_engine_opts opts;
    fs_ssd_net *ssd;       /* SSD net (NULL unless a detector uses it) */
    fs_simple_net tiny;    /* tiny detector net (net NULL unless used) */
    fs_simple_net lm, rec; /* rec.net NULL unless the recogniser uses it */
    fs_simple_net mfn;     /* the 512-D ONNX net (net NULL unless used) */
    fs_detector det;       /* opts.detector */
    fs_detector rescue;    /* with fallback: the other detector, tried last
                              (n = 0 without fallback) */
    int max_anchors;       /* SSD anchors of the largest SSD plan */
    int max_cells;         /* tiny boxes (cells x 5) of the largest tiny plan */
    fs_plan *det_plan;     /* det.plans[0].plan */
    fs_plan *lm_plan, *rec_plan, *mfn_plan;
    size_t ws_bytes;       /* largest plan workspace */
    int n_files;
    struct {
        char name[128];
        char sha256[65];
    } files[FS_ENGINE_MAX_FILES];
    char model_id[128];
    char desc_mode[64];
};

/* One detection before merging (detect.c). */
typedef struct fs_det {
    double x, y, w, h;
    float score;
    int flags;
    int drop;  /* not this tile's to report (see detect.c) */
    int seq;   /* order found (ties in the merge) */
    int coarse; /* from a whole-photo pass (vs a tile) */
} fs_det;

/* Merges the detections of several passes in place: drops those marked
 * `drop`, then greedy NMS, tile (fine) boxes before whole-photo (coarse)
 * ones, best score first, ties in order found; a box is suppressed by a
 * kept one it overlaps at IoU > 0.5 (> 0.3 across fine and coarse) or lies
 * 70 % inside.  Writes the kept ones best score first; returns how many (at
 * most max_out). */
int fs_det_merge(fs_det *d, int n, int max_out);

struct fs_worker {
    const fs_engine *e;
    void *ws;                    /* one workspace for all plans */
    float *enc, *logits, *boxes, *scores;  /* SSD, per anchor */
    uint64_t *order;
    int *picked;                 /* anchors the last SSD pass kept */
    fs_tiny_box *cand, *tiny_res;          /* tiny detector */
    fs_det *dets;                /* detections of all passes of a photo */
    int dets_cap;
    fs_image padded;             /* grow-only: the fallback's padded photo */
    size_t padded_cap;
    uint8_t *crop;               /* grow-only padded face crop */
    size_t crop_cap;
    fs_image chip_src;           /* grow-only: a big face shrunk before warping */
    float *mirror;               /* flip, landmark_flip: a mirrored net input */
    size_t chip_src_cap;
    fs_stage_times t;
};

/* d's plan for a photo region whose longer side is `side`: plans[0] unless
 * fit_input picks a smaller one. */
const fs_det_plan *fs_engine_det_plan(const fs_engine *e, const fs_detector *d, int side);

/* A recognition net's input (size x size x 3, 0..255) for a chip transform
 * m (fs_face_chip_transform, fs_face_arcface_transform), into dst; *bounds
 * gets the chip's bounding rectangle in the photo, clipped (empty when it
 * misses the photo).  Errors: FS_ENOMEM. */
int fs_chip_input(fs_worker *w, const fs_image *img, const double m[6], int size, float *dst,
                  fs_rect *bounds, fs_error *err);

#endif
