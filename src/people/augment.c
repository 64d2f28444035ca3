/*
 * Enrolment augmentation: a face's descriptor computed again on variants of
 * its photo (mirrored, turned, smaller, blurred, lit differently), through
 * detection, landmarks and the recogniser, as the method this product comes
 * from enlarges its training set.  The variant's face is the detection that
 * overlaps the original box (moved by the same transform) the most.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const names[FS_AUG_COUNT + 1] = {
    "none", "flip", "rot+10", "rot-10", "half", "blur", "bright", "dark"};

const char *fs_aug_name(int variant)
{
    return variant >= 1 && variant <= FS_AUG_COUNT ? names[variant] : "?";
}

int fs_aug_parse(const char *list, unsigned *mask, fs_error *err)
{
    *mask = 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        int v = 1;
        while (v <= FS_AUG_COUNT && (strlen(names[v]) != n || strncmp(p, names[v], n) != 0))
            v++;
        if (v > FS_AUG_COUNT)
            return fs_fail(err, FS_EUSAGE, "unknown augmentation variant '%.*s' (flip, rot+10, "
                                           "rot-10, half, blur, bright, dark)",
                           (int)n, p);
        *mask |= 1u << v;
        p += n + (p[n] == ',');
    }
    if (!*mask)
        return fs_fail(err, FS_EUSAGE, "no augmentation variant listed");
    return FS_OK;
}

/* Faces looked for in a variant: a photo rarely has more near the box. */
#define AUG_FACES 64

int fs_augment_face(fs_worker *w, int dim, const fs_image *photo, const float box[4], int variant,
                    float *desc, fs_error *err)
{
    fs_image v = {0};
    float tb[4] = {box[0], box[1], box[2], box[3]}; /* the box in the variant */
    double cx = box[0] + box[2] / 2, cy = box[1] + box[3] / 2;
    int rc;
    switch (variant) {
    case FS_AUG_FLIP:
        rc = fs_image_flip(photo, &v, err);
        tb[0] = (float)photo->width - box[0] - box[2];
        break;
    case FS_AUG_ROT_POS:
    case FS_AUG_ROT_NEG:
        rc = fs_image_rotate(photo, variant == FS_AUG_ROT_POS ? 10 : -10, cx, cy, &v, err);
        break;
    case FS_AUG_HALF: {
        int hw = (photo->width + 1) / 2, hh = (photo->height + 1) / 2;
        rc = fs_image_resize(photo, hw, hh, &v, err);
        for (int i = 0; i < 4; i++)
            tb[i] = box[i] * (float)hw / (float)photo->width;
        break;
    }
    case FS_AUG_BLUR:
        rc = fs_image_blur(photo, fmax(1.0, 0.02 * box[2]), &v, err);
        break;
    case FS_AUG_BRIGHT:
        rc = fs_image_levels(photo, 0.75, 40, &v, err);
        break;
    case FS_AUG_DARK:
        rc = fs_image_levels(photo, 1.25, -40, &v, err);
        break;
    default:
        return fs_fail(err, FS_EUSAGE, "no augmentation variant %d", variant);
    }
    if (rc != FS_OK)
        return rc;
    fs_face *faces = malloc(AUG_FACES * sizeof *faces);
    int n = 0;
    rc = faces ? fs_worker_faces(w, &v, FS_STAGE_ALL, faces, AUG_FACES, &n, err)
               : fs_fail(err, FS_ENOMEM, "out of memory");
    int best = -1;
    double best_iou = 0.3;
    for (int i = 0; rc == FS_OK && i < n; i++) {
        const float fb[4] = {(float)faces[i].x, (float)faces[i].y, (float)faces[i].w,
                             (float)faces[i].h};
        double o = fs_box_iou(tb, fb);
        if (o >= best_iou && (faces[i].flags & FS_FACE_DESCRIPTOR) &&
            !(faces[i].flags & FS_FACE_EMPTY_CROP)) {
            best_iou = o;
            best = i;
        }
    }
    if (rc == FS_OK && best < 0)
        rc = fs_fail(err, FS_ENOTFOUND, "the face is not found again in the %s variant",
                     fs_aug_name(variant));
    if (rc == FS_OK)
        memcpy(desc, faces[best].descriptor, sizeof(float) * (size_t)dim);
    free(faces);
    fs_image_free(&v);
    return rc;
}
