/* tools/store_cli.h — how the commands name the descriptor space in the
 * database (the model a database is tied to). */
#ifndef FS_TOOLS_STORE_CLI_H
#define FS_TOOLS_STORE_CLI_H

#include <stddef.h>

#include "facesearch/face.h"
#include "facesearch/store.h"

/* Fills *m for engine e.  Only what changes descriptors counts: the
 * recognition weights (by checksum) and how faces are cropped for them —
 * not the detector, so `ingest --detector tiny` can add to an SSD-built
 * database.  id and checksum text live in buf (cap >= 1024). */
void store_cli_model(const fs_engine *e, fs_db_model *m, char *buf, size_t cap);

#endif
