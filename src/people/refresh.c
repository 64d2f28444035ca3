/*
 * Keeping examples true to the face database: a re-ingested photo's face is
 * found again by path and box, a model change re-derives descriptors from
 * the stored faces (reembed keeps face ids), a removed photo's face is
 * marked gone but keeps its last descriptor.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The face of the photo at path whose box overlaps box most (IoU >= 0.5);
 * FS_ENOTFOUND when none. */
static int find_again(fs_db_snap *snap, const char *path, const float box[4], uint64_t *face_id,
                      fs_face_rec *out)
{
    fs_image_rec img;
    if (fs_db_find_path(snap, path, &img, NULL) != FS_OK || img.status != FS_IMG_OK)
        return FS_ENOTFOUND;
    double best = 0.5;
    int found = 0;
    for (uint32_t i = 0; i < img.n_faces; i++) {
        fs_face_rec f;
        if (fs_db_get_face(snap, img.first_face + i, &f, NULL) != FS_OK)
            continue;
        double o = fs_box_iou(box, f.box);
        if (o >= best) {
            best = o;
            *face_id = img.first_face + i;
            *out = f;
            found = 1;
        }
    }
    return found ? FS_OK : FS_ENOTFOUND;
}

int fs_people_refresh(fs_people *p, fs_db_snap *snap, const char *model_id, int dim,
                      fs_refresh_report *rep, fs_error *err)
{
    memset(rep, 0, sizeof *rep);
    const uint64_t tag = fs_people_model_tag(model_id);
    fs_example_list all = {0}, changed = {0};
    int rc = fs_people_examples(p, 0, &all, err);
    float *vec = malloc(sizeof(float) * FS_DESCRIPTOR_MAX);
    if (rc == FS_OK && !vec)
        rc = fs_fail(err, FS_ENOMEM, "out of memory");
    for (size_t i = 0; rc == FS_OK && i < all.n; i++) {
        fs_example *ex = &all.v[i];
        int current = ex->model_tag == tag && ex->dim == dim;
        if (ex->aug || ex->face_id == FS_NO_FACE) {
            rep->stale += !current;
            continue;
        }
        rep->examples++;
        fs_face_rec f;
        int dirty = 0;
        if (fs_db_get_face(snap, ex->face_id, &f, NULL) == FS_OK) {
            /* Ids are never reused: the same face. */
            dirty = ex->gone;
            ex->gone = 0;
        } else if (find_again(snap, ex->path, ex->box, &ex->face_id, &f) == FS_OK) {
            memcpy(ex->box, f.box, sizeof ex->box);
            ex->gone = 0;
            dirty = 1;
            current = 0; /* its new descriptor */
            rep->moved++;
        } else {
            rep->gone++;
            rep->stale += !current; /* gone before the model changed: unusable */
            dirty = !ex->gone;
            ex->gone = 1;
        }
        if (!ex->gone && !current) {
            if ((rc = fs_db_get_vector(snap, ex->face_id, vec, err)) != FS_OK)
                break;
            if (ex->model_tag != tag || ex->dim != dim)
                rep->rederived++;
            float *v = realloc(ex->vec, sizeof(float) * (size_t)dim);
            if (!v) {
                rc = fs_fail(err, FS_ENOMEM, "out of memory");
                break;
            }
            ex->vec = v;
            memcpy(v, vec, sizeof(float) * (size_t)dim);
            ex->dim = dim;
            ex->model_tag = tag;
            dirty = 1;
        }
        if (dirty)
            rc = fs_example_list_push(&changed, ex, err);
    }
    if (rc == FS_OK && changed.n)
        rc = fs_people_update(p, changed.v, changed.n, err);
    free(vec);
    fs_example_list_free(&all);
    fs_example_list_free(&changed);
    return rc;
}
