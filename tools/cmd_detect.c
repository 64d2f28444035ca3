/* facesearch detect — faces in photos: boxes, scores, 68 landmarks. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "face_cli.h"

static void help(void)
{
    printf("usage: facesearch detect [--json] [options] PHOTO...\n"
           "\n"
           "Finds the faces in each photo and prints, per face, the detection score, the\n"
           "box (x,y width x height in pixels) and key points (eye centres, nose tip, mouth\n"
           "corners); --json gives all 68 landmarks.  Faces are listed best score first.\n"
           "A photo that cannot be read is reported on stderr (file and reason) and the\n"
           "others are still processed.\n"
           "\n"
           "  --json               one JSON object per photo per line: path, width, height,\n"
           "                       faces [{score, box {x,y,width,height}, landmarks [[x,y]x68]}],\n"
           "                       ms (detection + landmarks, decoding excluded)\n");
    face_cli_help_options(stdout);
    printf("\nExit: 0 all photos processed, 2 some photo (or the models) could not be read,\n"
           "1 usage error, 3 internal error.\n");
}

static void centre(const fs_face *f, int from, int to, double *x, double *y)
{
    *x = *y = 0;
    for (int i = from; i < to; i++) {
        *x += f->landmarks[i][0] / (to - from);
        *y += f->landmarks[i][1] / (to - from);
    }
}

static void print_face(int i, const fs_face *f)
{
    printf("  #%d score %.3f  box %.0f,%.0f %.0fx%.0f", i, f->score, f->x, f->y, f->w, f->h);
    if (f->flags & FS_FACE_LANDMARKS) {
        double lx, ly, rx, ry;
        centre(f, 36, 42, &lx, &ly);
        centre(f, 42, 48, &rx, &ry);
        printf("  eyes (%.0f,%.0f) (%.0f,%.0f)  nose (%.0f,%.0f)  mouth (%.0f,%.0f)-(%.0f,%.0f)",
               lx, ly, rx, ry, f->landmarks[30][0], f->landmarks[30][1], f->landmarks[48][0],
               f->landmarks[48][1], f->landmarks[54][0], f->landmarks[54][1]);
    }
    printf("\n");
}

int cmd_detect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},
        {"json", no_argument, 0, 'j'},
        FACE_CLI_LONG_OPTIONS,
        {0, 0, 0, 0},
    };
    int rc, json = 0;
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
        } else if ((rc = face_cli_option(cfg, c, optarg)) < 0) {
            rc = cli_usage_error("detect", "invalid option");
        }
        if (rc) {
            fs_config_destroy(cfg);
            return rc;
        }
    }
    if (optind >= argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("detect", "no photo given");
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
        int ec = face_cli_photo(&fc, argv[i], FS_STAGE_DETECT | FS_STAGE_LANDMARKS, &img, &n, &ms);
        if (ec) {
            worst = ec > worst ? ec : worst;
            continue;
        }
        if (json) {
            face_cli_json_photo(stdout, argv[i], &img, fc.faces, n, ms, 1, 0);
        } else {
            printf("%s: %d face%s (%dx%d, %.0f ms)\n", argv[i], n, n == 1 ? "" : "s", img.width,
                   img.height, ms);
            for (int k = 0; k < n; k++)
                print_face(k, &fc.faces[k]);
        }
        fs_image_free(&img);
    }
    face_cli_end(&fc);
    return worst;
}
