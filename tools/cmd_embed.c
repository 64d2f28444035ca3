/* facesearch embed — face descriptors of the faces in photos. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "face_cli.h"

static void help(void)
{
    printf("usage: facesearch embed [--json | --tsv] [options] PHOTO...\n"
           "\n"
           "Finds the faces in each photo and computes each one's descriptor with the\n"
           "configured recogniser (--recognizer: 128-D resnet128, 512-D mfn512, or their\n"
           "640-D fusion), L2-normalised: compare two with their dot product (cosine\n"
           "similarity), as `facesearch verify` does.  A photo that cannot be read is\n"
           "reported on stderr (file and reason) and the others are still processed.\n"
           "\n"
           "  --json               one JSON object per photo per line: path, width, height,\n"
           "                       faces [{score, box {x,y,width,height}, descriptor [dim],\n"
           "                       fallback (true when found by the tight-crop fallback)}],\n"
           "                       descriptor_mode, ms\n"
           "  --tsv                one line per face: path, face, score, x, y, width, height,\n"
           "                       then the descriptor's values, tab-separated\n");
    face_cli_help_options(stdout);
    printf("\nExit: 0 all photos processed, 2 some photo (or the models) could not be read,\n"
           "1 usage error, 3 internal error.\n");
}

static void print_face(const char *path, int i, const fs_face *f, int dim, int tsv)
{
    if (tsv) {
        printf("%s\t%d\t%.6f\t%.3f\t%.3f\t%.3f\t%.3f", path, i, f->score, f->x, f->y, f->w, f->h);
        for (int k = 0; k < dim; k++)
            if (f->flags & FS_FACE_DESCRIPTOR)
                printf("\t%.9g", f->descriptor[k]);
        printf("\n");
        return;
    }
    printf("  #%d score %.3f  box %.0f,%.0f %.0fx%.0f", i, f->score, f->x, f->y, f->w, f->h);
    if (!(f->flags & FS_FACE_DESCRIPTOR)) {
        printf("  no descriptor (face crop outside the photo)\n");
        return;
    }
    double norm = 0;
    for (int k = 0; k < dim; k++)
        norm += (double)f->descriptor[k] * f->descriptor[k];
    printf("  [%.4f %.4f %.4f %.4f ...] |d| %.3f%s\n", f->descriptor[0], f->descriptor[1],
           f->descriptor[2], f->descriptor[3], sqrt(norm),
           f->flags & FS_FACE_FALLBACK ? "  (fallback)" : "");
}

typedef struct embed_flags {
    int json, tsv;
} embed_flags;

static void print_photo(void *ctx, const fs_engine *e, const char *path, const fs_image *img,
                        const fs_face *faces, int n, double ms)
{
    const embed_flags *f = ctx;
    if (f->json) {
        face_cli_json_photo(stdout, e, path, img, faces, n, ms, 0, 1);
        return;
    }
    if (!f->tsv)
        printf("%s: %d face%s (%dx%d, %.0f ms)\n", path, n, n == 1 ? "" : "s", img->width,
               img->height, ms);
    for (int k = 0; k < n; k++)
        print_face(path, k, &faces[k], fs_engine_descriptor_dim(e), f->tsv);
}

static int embed_flag(void *ctx, fs_config *cfg, int c, const char *arg)
{
    embed_flags *f = ctx;
    if (c == 'j')
        f->json = 1;
    else
        f->tsv = 1;
    return 0;
}

int cmd_embed(int argc, char **argv)
{
    static const struct option own[] = {
        {"json", no_argument, 0, 'j'}, {"tsv", no_argument, 0, 't'}, {0, 0, 0, 0}};
    embed_flags fl = {0, 0};
    fs_config *cfg;
    int rc = face_cli_parse(argc, argv, "embed", help, own, embed_flag, &fl, &cfg);
    if (rc >= 0)
        return rc;
    rc = 0;
    if (fl.json && fl.tsv)
        rc = cli_usage_error("embed", "--json and --tsv exclude each other");
    else if (optind >= argc)
        rc = cli_usage_error("embed", "no photo given");
    if (rc) {
        fs_config_destroy(cfg);
        return rc;
    }
    return face_cli_each_photo(cfg, argc, argv, optind, FS_STAGE_ALL, print_photo, &fl);
}
