/* tools/eval_gallery.h — `eval ident` and `eval cluster` (folder-per-identity
 * trees through ingest, build and search). */
#ifndef FS_TOOLS_EVAL_GALLERY_H
#define FS_TOOLS_EVAL_GALLERY_H

/* Faces considered per photo when picking its central face. */
#define FS_MAX_EVAL_FACES 1000

int eval_ident(int argc, char **argv);
int eval_cluster(int argc, char **argv);

#endif
