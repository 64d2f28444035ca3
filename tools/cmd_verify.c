/* facesearch verify — are the faces in two photos the same person? */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "face_cli.h"

static void help(void)
{
    printf("usage: facesearch verify [--json] [--threshold T] [options] PHOTO_A PHOTO_B\n"
           "\n"
           "Compares the most confident face of each photo: prints the cosine similarity\n"
           "of their descriptors and 'same' when it reaches the threshold, else\n"
           "'different'.  By default (verify.threshold 0) the threshold is the\n"
           "recognizer's own, verify.NAME: its mean 10-fold threshold on LFW A-M\n"
           "(docs/accuracy.md); the output says whether that calibrated one is in use.\n"
           "\n"
           "  --json               one JSON object: a, b, similarity, threshold,\n"
           "                       threshold_calibrated, recognizer, descriptor_mode, same,\n"
           "                       faces_a, faces_b\n"
           "  --threshold T        decision threshold, a cosine similarity (verify.threshold)\n");
    face_cli_help_options(stdout);
    printf("\nExit: 0 compared (whatever the answer), 2 a photo could not be read or has no\n"
           "face, 1 usage error, 3 internal error.\n");
}

static int verify_flag(void *ctx, fs_config *cfg, int c, const char *arg)
{
    if (c == 'j') {
        *(int *)ctx = 1;
        return 0;
    }
    return cli_config_set(cfg, "verify.threshold", arg, "--threshold");
}

int cmd_verify(int argc, char **argv)
{
    static const struct option own[] = {{"json", no_argument, 0, 'j'},
                                        {"threshold", required_argument, 0, 't'},
                                        {0, 0, 0, 0}};
    int json = 0;
    fs_config *cfg;
    int rc = face_cli_parse(argc, argv, "verify", help, own, verify_flag, &json, &cfg);
    if (rc >= 0)
        return rc;
    if (argc - optind != 2) {
        fs_config_destroy(cfg);
        return cli_usage_error("verify", "expected two photos, got %d", argc - optind);
    }
    const int calibrated = fs_config_real(cfg, "verify.threshold") == 0;
    const double threshold =
        cli_threshold(cfg, "verify", fs_config_str(cfg, "descriptor.recognizer"));
    face_cli fc;
    rc = face_cli_start(&fc, cfg);
    fs_config_destroy(cfg);
    if (rc)
        return rc;
    fs_face best[2];
    int count[2];
    for (int k = 0; k < 2 && !rc; k++) {
        const char *path = argv[optind + k];
        fs_image img = {0};
        double ms;
        rc = face_cli_photo(&fc, path, FS_STAGE_ALL, &img, &count[k], &ms);
        fs_image_free(&img);
        if (rc)
            break;
        /* faces come best score first; take the first with a descriptor */
        int i = 0;
        while (i < count[k] && (fc.faces[i].flags & (FS_FACE_DESCRIPTOR | FS_FACE_EMPTY_CROP)) !=
                                   FS_FACE_DESCRIPTOR)
            i++;
        if (i == count[k]) {
            cli_error("%s: no face found", path);
            rc = EXIT_DATA;
            break;
        }
        best[k] = fc.faces[i];
    }
    char mode[64];
    snprintf(mode, sizeof mode, "%s", fs_engine_descriptor_mode(fc.engine));
    const char *rec = fs_recognizer_name(fs_engine_options(fc.engine)->recognizer);
    double d = fs_descriptor_similarity(best[0].descriptor, best[1].descriptor,
                                        fs_engine_descriptor_dim(fc.engine));
    face_cli_end(&fc);
    if (rc)
        return rc;
    int same = d >= threshold;
    if (json) {
        printf("{\"a\":");
        json_str(stdout, argv[optind]);
        printf(",\"b\":");
        json_str(stdout, argv[optind + 1]);
        printf(",\"similarity\":%.6f,\"threshold\":%g,\"threshold_calibrated\":%s,"
               "\"recognizer\":\"%s\",\"descriptor_mode\":\"%s\",\"same\":%s,\"faces_a\":%d,"
               "\"faces_b\":%d}\n",
               d, threshold, calibrated ? "true" : "false", rec, mode, same ? "true" : "false",
               count[0], count[1]);
    } else {
        printf("%s: similarity %.4f -> %s (threshold %g", same ? "same" : "different", d,
               same ? "same person" : "different people", threshold);
        if (calibrated)
            printf(", calibrated on LFW for %s)\n", rec);
        else
            printf(", set by hand; %s's calibrated one is verify.%s)\n", rec, rec);
        for (int k = 0; k < 2; k++)
            if (count[k] > 1)
                printf("note: %s has %d faces; compared the most confident (score %.3f)\n",
                       argv[optind + k], count[k], best[k].score);
    }
    return EXIT_OK;
}
