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
           "                       faces [{score, box {x,y,width,height}, landmarks [[x,y]x68],\n"
           "                       fallback (true when found by the tight-crop fallback)}],\n"
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
    printf("%s\n", f->flags & FS_FACE_FALLBACK ? "  (fallback)" : "");
}

static void print_photo(void *ctx, const fs_engine *e, const char *path, const fs_image *img,
                        const fs_face *faces, int n, double ms)
{
    if (*(int *)ctx) {
        face_cli_json_photo(stdout, e, path, img, faces, n, ms, 1, 0);
        return;
    }
    printf("%s: %d face%s (%dx%d, %.0f ms)\n", path, n, n == 1 ? "" : "s", img->width,
           img->height, ms);
    for (int k = 0; k < n; k++)
        print_face(k, &faces[k]);
}

static int detect_flag(void *ctx, fs_config *cfg, int c, const char *arg)
{
    *(int *)ctx = 1; /* --json, the only own option */
    return 0;
}

int cmd_detect(int argc, char **argv)
{
    static const struct option own[] = {{"json", no_argument, 0, 'j'}, {0, 0, 0, 0}};
    int json = 0;
    fs_config *cfg;
    int rc = face_cli_parse(argc, argv, "detect", help, own, detect_flag, &json, &cfg);
    if (rc >= 0)
        return rc;
    if (optind >= argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("detect", "no photo given");
    }
    return face_cli_each_photo(cfg, argc, argv, optind, FS_STAGE_DETECT | FS_STAGE_LANDMARKS,
                               print_photo, &json);
}
