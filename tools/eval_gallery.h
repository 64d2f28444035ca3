/* tools/eval_gallery.h — `eval ident`, `eval cluster` and `eval enrol`
 * (folder-per-identity trees through ingest, then search or classifiers). */
#ifndef FS_TOOLS_EVAL_GALLERY_H
#define FS_TOOLS_EVAL_GALLERY_H

/* Faces considered per photo when picking its central face. */
#define FS_MAX_EVAL_FACES 1000

#include <stddef.h>
#include <stdint.h>

#include "facesearch/config.h"
#include "facesearch/face.h"
#include "facesearch/store.h"

typedef struct photo {
    char *path;
    int label;            /* identity index (folder, sorted by name) */
    int has_face;
    uint64_t face_id, image_id;
    float box[4];         /* the face's box, upright-photo pixels */
    float vec[FS_DESCRIPTOR_MAX];
} photo;

typedef struct tree {
    photo *p;
    size_t n, cap;
    char **names;         /* identity names, sorted */
    size_t n_names;
    char root[4096];      /* normalised --root */
    fs_db_snap *snap;
    char mode[256];       /* descriptor mode of the database's model */
    int dim;
} tree;

typedef struct gal_opts {
    const char *root, *db;
    int json, keep;
    int single;           /* eval ident --protocol single */
    double reweight;      /* --reweight W of a fusion database; < 0: none */
} gal_opts;

/* The options the gallery kinds share (ident, cluster, enrol): --root,
 * --db, --json, --threshold, --protocol, --reweight, as codes r d j t p w. */
int gallery_flag(void *ctx, fs_config *cfg, int c, const char *arg);

/* Ingests o->root into a database (a temporary one in dbdir unless o->db)
 * and reads back every photo under it with its label (identity folder, in
 * name order) and central face into *t.  Returns an exit code (printed). */
int gallery_prepare(const gal_opts *o, fs_config *cfg, const char *cmd, char *dbdir, size_t cap,
                    tree *t, double *ingest_s);

/* The photos as the library's evaluations take them (malloc'ed; NULL when
 * out of memory). */
struct fs_eval_photo;
struct fs_eval_photo *gallery_photos(const tree *t);

/* Frees what gallery_prepare read. */
void gallery_free(tree *t);

/* Removes the temporary database (none when o->db was given). */
void gallery_remove_tmp(const gal_opts *o, const char *dbdir);

int eval_ident(int argc, char **argv);
int eval_enrol(int argc, char **argv);
int eval_cluster(int argc, char **argv);

#endif
