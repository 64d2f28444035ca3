/* facesearch embed — 128-D face descriptors of the faces in photos. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "face_cli.h"

static void help(void)
{
    printf("usage: facesearch embed [--json | --tsv] [options] PHOTO...\n"
           "\n"
           "Finds the faces in each photo and computes each one's 128-D descriptor (the\n"
           "face-api ResNet recogniser; not normalised — compare with euclidean distance,\n"
           "as `facesearch verify` does).  A photo that cannot be read is reported on\n"
           "stderr (file and reason) and the others are still processed.\n"
           "\n"
           "  --json               one JSON object per photo per line: path, width, height,\n"
           "                       faces [{score, box {x,y,width,height}, descriptor [128]}], ms\n"
           "  --tsv                one line per face: path, face, score, x, y, width, height,\n"
           "                       then the 128 descriptor values, tab-separated\n");
    face_cli_help_options(stdout);
    printf("\nExit: 0 all photos processed, 2 some photo (or the models) could not be read,\n"
           "1 usage error, 3 internal error.\n");
}

static void print_face(const char *path, int i, const fs_face *f, int tsv)
{
    if (tsv) {
        printf("%s\t%d\t%.6f\t%.3f\t%.3f\t%.3f\t%.3f", path, i, f->score, f->x, f->y, f->w, f->h);
        for (int k = 0; k < FS_DESCRIPTOR_DIM; k++)
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
    for (int k = 0; k < FS_DESCRIPTOR_DIM; k++)
        norm += (double)f->descriptor[k] * f->descriptor[k];
    printf("  [%.4f %.4f %.4f %.4f ...] |d| %.3f\n", f->descriptor[0], f->descriptor[1],
           f->descriptor[2], f->descriptor[3], sqrt(norm));
}

int cmd_embed(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},
        {"json", no_argument, 0, 'j'},
        {"tsv", no_argument, 0, 't'},
        FACE_CLI_LONG_OPTIONS,
        {0, 0, 0, 0},
    };
    int rc, json = 0, tsv = 0;
    fs_config *cfg = cli_config_open(argc, argv, &rc);
    if (!cfg)
        return rc;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
        rc = 0;
        if (c == 'h') {
            help();
            fs_config_destroy(cfg);
            return EXIT_OK;
        } else if (c == 'j') {
            json = 1;
        } else if (c == 't') {
            tsv = 1;
        } else if ((rc = face_cli_option(cfg, c, optarg)) < 0) {
            rc = cli_usage_error("embed", "invalid option");
        }
        if (rc) {
            fs_config_destroy(cfg);
            return rc;
        }
    }
    if (json && tsv)
        rc = cli_usage_error("embed", "--json and --tsv exclude each other");
    else if (optind >= argc)
        rc = cli_usage_error("embed", "no photo given");
    if (rc) {
        fs_config_destroy(cfg);
        return rc;
    }
    face_cli fc;
    rc = face_cli_start(&fc, cfg);
    fs_config_destroy(cfg);
    if (rc)
        return rc;
    int worst = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        fs_image img = {0};
        int n;
        double ms;
        int ec = face_cli_photo(&fc, argv[i], FS_STAGE_ALL, &img, &n, &ms);
        if (ec) {
            worst = ec > worst ? ec : worst;
            continue;
        }
        if (json) {
            face_cli_json_photo(stdout, argv[i], &img, fc.faces, n, ms, 0, 1);
        } else {
            if (!tsv)
                printf("%s: %d face%s (%dx%d, %.0f ms)\n", argv[i], n, n == 1 ? "" : "s",
                       img.width, img.height, ms);
            for (int k = 0; k < n; k++)
                print_face(argv[i], k, &fc.faces[k], tsv);
        }
        fs_image_free(&img);
    }
    face_cli_end(&fc);
    return worst;
}
