/*
 * tools/face_cli.h — what the face commands (detect, embed, verify) share:
 * the engine options as flags over the configuration, engine and worker
 * set-up, decoding and running one photo, JSON for a face.
 */
#ifndef FS_TOOLS_FACE_CLI_H
#define FS_TOOLS_FACE_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "facesearch/face.h"

/* Long options every face command accepts; splice into its option table. */
#define FACE_CLI_LONG_OPTIONS                                  \
    {"config", required_argument, 0, 'C'},                     \
    {"models", required_argument, 0, 'm'},                     \
    {"detector", required_argument, 0, 'D'},                   \
    {"min-score", required_argument, 0, 'S'},                  \
    {"max-faces", required_argument, 0, 'M'},                  \
    {"input-size", required_argument, 0, 'I'},                 \
    {"no-orientation", no_argument, 0, 'O'},                   \
    {"threads", required_argument, 0, 'T'}

/* Help lines for FACE_CLI_LONG_OPTIONS. */
void face_cli_help_options(FILE *f);

/* Applies one of FACE_CLI_LONG_OPTIONS (getopt code c, value arg) to cfg.
 * Returns 0 when applied, an exit code when the value is bad (message
 * printed), or -1 when c is not one of them. */
int face_cli_option(fs_config *cfg, int c, const char *arg);

typedef struct face_cli {
    fs_engine *engine;
    fs_worker *worker;
    fs_decode_opts dopts;
    fs_face *faces;  /* max_faces entries */
    int cap;
} face_cli;

/* Creates the engine (models from paths.models) and one worker from cfg.
 * Returns 0, or an exit code after printing the error. */
int face_cli_start(face_cli *fc, const fs_config *cfg);

/* Releases what face_cli_start made; safe on a zeroed struct. */
void face_cli_end(face_cli *fc);

/* Decodes path into *img (released by the caller with fs_image_free) and
 * runs `stages`; faces land in fc->faces, their count in *n, the time spent
 * (decode excluded) in *ms.  Returns 0 or an exit code after printing an
 * error that names the file. */
int face_cli_photo(face_cli *fc, const char *path, int stages, fs_image *img, int *n,
                   double *ms);

/* Writes a face as a JSON object: score, box {x,y,width,height}, and the
 * landmarks ([[x,y],...]) and/or the descriptor when asked and present
 * (the golden files' layout, so tools/compare.mjs can diff them). */
void face_cli_json_face(FILE *f, const fs_face *face, int landmarks, int descriptor);

/* Writes {"path":...,"width":...,"height":...,"faces":[...],"ms":...} on
 * one line. */
void face_cli_json_photo(FILE *f, const char *path, const fs_image *img,
                         const fs_face *faces, int n, double ms, int landmarks,
                         int descriptor);

#endif
