/* tools/store_cli.h — how the commands name the descriptor space in the
 * database (the model a database is tied to). */
#ifndef FS_TOOLS_STORE_CLI_H
#define FS_TOOLS_STORE_CLI_H

#include <stddef.h>

#include "facesearch/config.h"
#include "facesearch/face.h"
#include "facesearch/store.h"

/* Fills *m for engine e: id "MODE/cosine/SUMS" -- the descriptor mode
 * (recogniser, crop, flip: fs_engine_descriptor_mode), the metric, and the
 * first 16 hex digits of the recognition weights' sha256.  Only what changes
 * descriptors counts, not the detector, so `ingest --detector tiny` can add
 * to an SSD-built database.  id and checksum text live in buf (cap >= 1024). */
void store_cli_model(const fs_engine *e, fs_db_model *m, char *buf, size_t cap);

/* The recogniser named by a database's model id ("resnet128", "mfn512",
 * "fusion") written to buf, or NULL for ids of an earlier facesearch
 * (before recognisers were named: euclidean, unnormalised 128-D). */
const char *store_cli_recognizer(const char *model_id, char *buf, size_t cap);

/* EXIT_OK when the database's vectors can be searched: no reembed is under
 * way and they are of a current model; else prints why (naming dir and
 * what to run) and returns EXIT_DATA. */
int store_cli_usable(const fs_db_stats *st, const char *dir);

/* Opens dir read-only, starts a snapshot, reads its stats into *st and
 * checks store_cli_usable.  Returns EXIT_OK, or an exit code after printing
 * why; what was opened is in *db / *snap either way (the caller closes them:
 * fs_db_snap_end, fs_db_close take NULL). */
int store_cli_open(const char *dir, fs_db **db, fs_db_snap **snap, fs_db_stats *st);

/* The weight of a fusion database's model id ("fusion@0.50/..."), or -1
 * for any other. */
double store_cli_fusion_weight(const char *model_id);

/* Sets the configuration's descriptor keys (recognizer, fusion weight,
 * alignment, flip) to the descriptor mode of a database's model id, so that
 * new descriptors (query photos) land in the database's space.  Returns
 * EXIT_OK, or prints why and returns EXIT_DATA for an id it cannot read. */
int store_cli_configure(fs_config *cfg, const char *model_id);

/* Every stored face's descriptor (n * dim floats), id (ascending) and photo
 * id, read from snap into malloc'ed arrays the caller frees (also on
 * error); a vector without its face record is skipped.  Errors: FS_ENOMEM,
 * FS_EDB. */
typedef struct stored_faces {
    float *v;
    uint64_t *ids, *photo;
    size_t n, cap;
    int dim;
} stored_faces;
int store_cli_load_faces(fs_db_snap *snap, int dim, stored_faces *out, fs_error *err);
void store_cli_free_faces(stored_faces *f);

#endif
