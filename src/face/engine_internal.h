/* Private to the engine and its workers (engine.c, worker.c). */
#ifndef FS_ENGINE_INTERNAL_H
#define FS_ENGINE_INTERNAL_H

#include "face_internal.h"

#define FS_ENGINE_MAX_FILES 8

struct fs_engine {
    fs_engine_opts opts;
    fs_ssd_net *ssd;       /* SSD detector (NULL with the tiny one) */
    fs_simple_net tiny;    /* tiny detector (net NULL with the SSD) */
    fs_simple_net lm, rec;
    fs_plan *det_plan, *lm_plan, *rec_plan;
    size_t ws_bytes;       /* largest plan workspace */
    int n_files;
    struct {
        char name[128];
        char sha256[65];
    } files[FS_ENGINE_MAX_FILES];
    char model_id[128];
};

struct fs_worker {
    const fs_engine *e;
    void *ws;                    /* one workspace for all three plans */
    float *enc, *logits, *boxes, *scores;  /* SSD, per anchor */
    uint64_t *order;
    int *picked;
    fs_tiny_box *cand, *tiny_res;          /* tiny detector */
    uint8_t *crop;               /* grow-only padded face crop */
    size_t crop_cap;
    fs_stage_times t;
};

#endif
