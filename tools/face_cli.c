/* Shared plumbing of the face commands (see tools/face_cli.h). */
#include "face_cli.h"

#include <stdlib.h>
#include <string.h>

void openblas_set_num_threads(int);

void face_cli_help_options(FILE *f)
{
    fprintf(f,
            "  --config FILE        read settings from FILE (see configs/default.conf)\n"
            "  --models DIR         model weights directory (paths.models; make models)\n"
            "  --detector NAME      ssd (the reference, default) or tiny (detect.detector)\n"
            "  --min-score S        keep detections scoring above S (detect.min_score, 0.5)\n"
            "  --max-faces N        at most N faces per photo (detect.max_faces, 1000)\n"
            "  --input-size N       detector input side, a multiple of 32 (detect.input_size;\n"
            "                       0 = default: ssd 512, tiny 416)\n"
            "  --fit, --no-fit      run photos smaller than the input at their own scale\n"
            "                       (detect.fit_input)\n"
            "  --tile N             also search overlapping N px tiles of big photos for small\n"
            "                       faces (detect.tile_size; 0 = off)\n"
            "  --fallback, --no-fallback\n"
            "                       no face found: retry on the photo padded on every side,\n"
            "                       for tightly cropped faces (detect.fallback)\n"
            "  --landmark-flip, --no-landmark-flip\n"
            "                       average the landmarks with the mirror image's\n"
            "                       (detect.landmark_flip)\n"
            "  --recognizer NAME    mfn512 (the 512-D ArcFace MobileFaceNet, default),\n"
            "                       resnet128 (face-api's 128-D ResNet) or fusion (both)\n"
            "                       (descriptor.recognizer)\n"
            "  --fusion-weight W    the 512-D net's share of a fused similarity, 0 < W < 1\n"
            "                       (descriptor.fusion_weight, 0.5)\n"
            "  --align ref|chip     the 128-D net's input: face-api's crop or dlib's aligned\n"
            "                       chip (descriptor.align)\n"
            "  --flip, --no-flip    average descriptors with the mirror image's (descriptor.flip)\n"
            "  --reference          the reference pipeline exactly (face-api): ssd at 512,\n"
            "                       score > 0.5, at most 100 faces, no fit, tiles or\n"
            "                       fallback, resnet128 on the ref alignment, no flip\n"
            "  --no-orientation     ignore EXIF orientation (decode.apply_orientation)\n"
            "  --threads N          threads (run.threads; 0 = all cores)\n"
            "  --precision P        conv arithmetic: fp32, bf16 or auto (nn.precision)\n");
}

int face_cli_option(fs_config *cfg, int c, const char *arg)
{
    switch (c) {
    case 'C': return 0; /* read by cli_config_open */
    case 'm': return cli_config_set(cfg, "paths.models", arg, "--models");
    case 'D': return cli_config_set(cfg, "detect.detector", arg, "--detector");
    case 'S': return cli_config_set(cfg, "detect.min_score", arg, "--min-score");
    case 'M': return cli_config_set(cfg, "detect.max_faces", arg, "--max-faces");
    case 'I': return cli_config_set(cfg, "detect.input_size", arg, "--input-size");
    case 'O': return cli_config_set(cfg, "decode.apply_orientation", "false", "--no-orientation");
    case 'T': return cli_config_set(cfg, "run.threads", arg, "--threads");
    case 'P': return cli_config_set(cfg, "nn.precision", arg, "--precision");
    case FACE_OPT_FIT: return cli_config_set(cfg, "detect.fit_input", "true", "--fit");
    case FACE_OPT_NO_FIT: return cli_config_set(cfg, "detect.fit_input", "false", "--no-fit");
    case FACE_OPT_TILE: return cli_config_set(cfg, "detect.tile_size", arg, "--tile");
    case FACE_OPT_FALLBACK: return cli_config_set(cfg, "detect.fallback", "true", "--fallback");
    case FACE_OPT_NO_FALLBACK:
        return cli_config_set(cfg, "detect.fallback", "false", "--no-fallback");
    case FACE_OPT_ALIGN: return cli_config_set(cfg, "descriptor.align", arg, "--align");
    case FACE_OPT_LM_FLIP:
        return cli_config_set(cfg, "detect.landmark_flip", "true", "--landmark-flip");
    case FACE_OPT_NO_LM_FLIP:
        return cli_config_set(cfg, "detect.landmark_flip", "false", "--no-landmark-flip");
    case FACE_OPT_RECOGNIZER:
        return cli_config_set(cfg, "descriptor.recognizer", arg, "--recognizer");
    case FACE_OPT_FUSION_WEIGHT:
        return cli_config_set(cfg, "descriptor.fusion_weight", arg, "--fusion-weight");
    case FACE_OPT_FLIP: return cli_config_set(cfg, "descriptor.flip", "true", "--flip");
    case FACE_OPT_NO_FLIP: return cli_config_set(cfg, "descriptor.flip", "false", "--no-flip");
    case FACE_OPT_REFERENCE: {
        static const char *ref[][2] = {
            {"detect.detector", "ssd"},    {"detect.input_size", "512"},
            {"detect.min_score", "0.5"},   {"detect.max_faces", "100"},
            {"detect.fit_input", "false"}, {"detect.tile_size", "0"},
            {"detect.fallback", "false"},  {"descriptor.align", "ref"},
            {"descriptor.flip", "false"},  {"nn.precision", "fp32"},
            {"descriptor.recognizer", "resnet128"}, {"detect.landmark_flip", "false"}};
        for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
            if (cli_config_set(cfg, ref[i][0], ref[i][1], "--reference"))
                return EXIT_USAGE;
        return 0;
    }
    default: return -1;
    }
}

int face_cli_parse(int argc, char **argv, const char *cmd, void (*help)(void),
                   const struct option *extra, face_cli_flag_fn flag, void *ctx,
                   fs_config **cfg)
{
    static const struct option common[] = {{"help", no_argument, 0, 'h'}, FACE_CLI_LONG_OPTIONS};
    const int n_common = (int)(sizeof common / sizeof common[0]);
    struct option opts[48];
    int n = 0;
    while (extra[n].name)
        n++;
    if (n + n_common + 1 > (int)(sizeof opts / sizeof *opts)) {
        cli_error("internal error: %s has more options than the parser's table holds", cmd);
        return EXIT_INTERNAL;
    }
    memcpy(opts, extra, (size_t)n * sizeof *opts);
    memcpy(opts + n, common, sizeof common);
    memset(&opts[n + n_common], 0, sizeof opts[0]);
    int rc;
    *cfg = cli_config_open(argc, argv, &rc);
    if (!*cfg)
        return rc;
    int c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
        if (c == 'h') {
            help();
            rc = EXIT_OK;
        } else if ((rc = face_cli_option(*cfg, c, optarg)) < 0) {
            int own = 0;
            for (int i = 0; i < n; i++)
                own |= extra[i].val == c;
            rc = own ? flag(ctx, *cfg, c, optarg) : cli_usage_error(cmd, "invalid option");
        }
        if (rc != 0 || c == 'h') {
            fs_config_destroy(*cfg);
            *cfg = NULL;
            return rc;
        }
    }
    return -1;
}

int face_cli_options(const fs_config *cfg, fs_engine_opts *o, fs_decode_opts *d)
{
    fs_error e = {0};
    fs_engine_opts_init(o);
    if (fs_detector_parse(fs_config_str(cfg, "detect.detector"), &o->detector, &e) != FS_OK)
        return cli_fail(&e);
    o->min_score = (float)fs_config_real(cfg, "detect.min_score");
    o->max_faces = (int)fs_config_int(cfg, "detect.max_faces");
    o->input_size = (int)fs_config_int(cfg, "detect.input_size");
    o->fit_input = fs_config_bool(cfg, "detect.fit_input");
    o->tile_size = (int)fs_config_int(cfg, "detect.tile_size");
    o->fallback = fs_config_bool(cfg, "detect.fallback");
    o->landmark_flip = fs_config_bool(cfg, "detect.landmark_flip");
    o->align = strcmp(fs_config_str(cfg, "descriptor.align"), "chip") == 0 ? FS_ALIGN_CHIP
                                                                            : FS_ALIGN_REF;
    o->flip = fs_config_bool(cfg, "descriptor.flip");
    if (fs_recognizer_parse(fs_config_str(cfg, "descriptor.recognizer"), &o->recognizer, &e) !=
        FS_OK)
        return cli_fail(&e);
    o->fusion_weight = (float)fs_config_real(cfg, "descriptor.fusion_weight");
    if (fs_precision_parse(fs_config_str(cfg, "nn.precision"), &o->precision, &e) != FS_OK)
        return cli_fail(&e);
    memset(d, 0, sizeof *d);
    d->apply_orientation = fs_config_bool(cfg, "decode.apply_orientation");
    d->max_pixels = (uint64_t)fs_config_int(cfg, "decode.max_pixels");
    d->max_file_bytes = (size_t)fs_config_int(cfg, "decode.max_file_bytes");
    return 0;
}

int face_cli_start(face_cli *fc, const fs_config *cfg)
{
    memset(fc, 0, sizeof *fc);
    fs_error e = {0};
    fs_engine_opts o;
    int rc = face_cli_options(cfg, &o, &fc->dopts);
    if (rc)
        return rc;
    /* One photo at a time: BLAS may use the cores (run.threads; 0 leaves
     * OpenBLAS's default, all of them). */
    if (fs_config_int(cfg, "run.threads") > 0)
        openblas_set_num_threads((int)fs_config_int(cfg, "run.threads"));
    if (cli_engine_create(cfg, &o, &fc->engine, &e) != FS_OK ||
        fs_worker_create(fc->engine, &fc->worker, &e) != FS_OK) {
        face_cli_end(fc);
        return cli_fail(&e);
    }
    fc->cap = o.max_faces;
    if (!(fc->faces = calloc((size_t)fc->cap, sizeof *fc->faces))) {
        face_cli_end(fc);
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    return 0;
}

void face_cli_end(face_cli *fc)
{
    fs_worker_destroy(fc->worker);
    fs_engine_destroy(fc->engine);
    free(fc->faces);
    memset(fc, 0, sizeof *fc);
}

int face_cli_photo(face_cli *fc, const char *path, int stages, fs_image *img, int *n, double *ms)
{
    fs_error e = {0};
    *n = 0;
    if (cli_decode_file(path, &fc->dopts, img, NULL, &e) != FS_OK)
        return cli_fail(&e);
    double t0 = fs_now();
    if (fs_worker_faces(fc->worker, img, stages, fc->faces, fc->cap, n, &e) != FS_OK) {
        fs_error_prefix(&e, path);
        fs_image_free(img);
        return cli_fail(&e);
    }
    *ms = (fs_now() - t0) * 1e3;
    return 0;
}

int face_cli_each_photo(fs_config *cfg, int argc, char **argv, int first, int stages,
                        face_cli_print_fn print, void *ctx)
{
    face_cli fc;
    int rc = face_cli_start(&fc, cfg);
    fs_config_destroy(cfg);
    if (rc)
        return rc;
    int worst = EXIT_OK;
    for (int i = first; i < argc; i++) {
        fs_image img = {0};
        int n;
        double ms;
        int ec = face_cli_photo(&fc, argv[i], stages, &img, &n, &ms);
        if (ec) {
            worst = ec > worst ? ec : worst;
            continue;
        }
        print(ctx, fc.engine, argv[i], &img, fc.faces, n, ms);
        fs_image_free(&img);
    }
    face_cli_end(&fc);
    return worst;
}

void face_cli_json_face(FILE *f, const fs_face *face, int landmarks, int descriptor)
{
    fprintf(f, "{\"score\":%.9g,\"box\":{\"x\":%.6f,\"y\":%.6f,\"width\":%.6f,\"height\":%.6f}",
            face->score, face->x, face->y, face->w, face->h);
    if (landmarks && (face->flags & FS_FACE_LANDMARKS)) {
        fprintf(f, ",\"landmarks\":[");
        for (int i = 0; i < FS_LANDMARKS; i++)
            fprintf(f, "%s[%.6f,%.6f]", i ? "," : "", face->landmarks[i][0],
                    face->landmarks[i][1]);
        fprintf(f, "]");
    }
    if (descriptor && (face->flags & FS_FACE_DESCRIPTOR)) {
        fprintf(f, ",\"descriptor\":[");
        for (int i = 0; i < descriptor; i++)
            fprintf(f, "%s%.9g", i ? "," : "", face->descriptor[i]);
        fprintf(f, "]");
        if (face->flags & FS_FACE_EMPTY_CROP)
            fprintf(f, ",\"empty_crop\":true");
    }
    if (face->flags & FS_FACE_FALLBACK)
        fprintf(f, ",\"fallback\":true");
    fprintf(f, "}");
}

void face_cli_json_photo(FILE *f, const fs_engine *e, const char *path, const fs_image *img,
                         const fs_face *faces, int n, double ms, int landmarks, int descriptor)
{
    fprintf(f, "{\"path\":");
    json_str(f, path);
    fprintf(f, ",\"width\":%d,\"height\":%d,\"faces\":[", img->width, img->height);
    for (int i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        face_cli_json_face(f, &faces[i], landmarks, descriptor ? fs_engine_descriptor_dim(e) : 0);
    }
    fprintf(f, "]");
    if (descriptor)
        fprintf(f, ",\"descriptor_mode\":\"%s\"", fs_engine_descriptor_mode(e));
    fprintf(f, ",\"ms\":%.2f}\n", ms);
}
