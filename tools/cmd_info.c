/* facesearch info — decode photos and report what they are. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "facesearch/image.h"

static void help(void)
{
    printf("usage: facesearch info [--json] [--config FILE] [--max-pixels N]\n"
           "                       [--no-orientation] PHOTO...\n"
           "\n"
           "Decodes each photo and prints its format, stored size, EXIF orientation,\n"
           "upright size and decode time.  A photo that cannot be decoded is reported\n"
           "on stderr (file and reason); the others are still shown.\n"
           "\n"
           "  --json             one JSON object per photo, one per line\n"
           "  --config FILE      read settings from FILE (see configs/default.conf)\n"
           "  --max-pixels N     refuse photos over N pixels (decode.max_pixels)\n"
           "  --no-orientation   ignore the EXIF orientation (decode.apply_orientation)\n"
           "\n"
           "Exit: 0 all decoded, 2 some photo failed, 1 usage error.\n");
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},
        {"json", no_argument, 0, 'j'},
        {"config", required_argument, 0, 'C'},
        {"max-pixels", required_argument, 0, 'P'},
        {"no-orientation", no_argument, 0, 'O'},
        {0, 0, 0, 0},
    };
    int rc, json = 0;
    fs_config *cfg = cli_config_open(argc, argv, &rc);
    if (!cfg)
        return rc;
    int c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "hj", opts)) != -1) {
        switch (c) {
        case 'h': help(); fs_config_destroy(cfg); return EXIT_OK;
        case 'j': json = 1; break;
        case 'C': break; /* read by cli_config_open */
        case 'P': rc = cli_config_set(cfg, "decode.max_pixels", optarg, "--max-pixels"); break;
        case 'O': rc = cli_config_set(cfg, "decode.apply_orientation", "false", "--no-orientation"); break;
        default: rc = cli_usage_error("info", "invalid option");
        }
        if (rc) {
            fs_config_destroy(cfg);
            return rc;
        }
    }
    if (optind >= argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("info", "no photo given");
    }
    fs_decode_opts dopts = {
        .apply_orientation = fs_config_bool(cfg, "decode.apply_orientation"),
        .max_pixels = (uint64_t)fs_config_int(cfg, "decode.max_pixels"),
        .max_file_bytes = (size_t)fs_config_int(cfg, "decode.max_file_bytes"),
    };
    int worst = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        const char *path = argv[i];
        fs_error e = {0};
        fs_image img = {0};
        fs_image_info info = {0};
        double t0 = fs_now();
        int st = cli_decode_file(path, &dopts, &img, &info, &e);
        double ms = (fs_now() - t0) * 1e3;
        if (st != FS_OK) {
            int ec = cli_fail(&e);
            if (ec > worst)
                worst = ec;
            continue;
        }
        if (json) {
            printf("{\"path\":");
            json_str(stdout, path);
            printf(",\"format\":\"%s\",\"width\":%d,\"height\":%d,\"orientation\":%d,"
                   "\"upright_width\":%d,\"upright_height\":%d,\"components\":%d,"
                   "\"colorspace\":\"%s\",\"progressive\":%s,\"decode_ms\":%.2f}\n",
                   fs_format_name(info.format), info.width, info.height, info.orientation,
                   img.width, img.height, info.components, info.colorspace,
                   info.progressive ? "true" : "false", ms);
        } else {
            printf("%s: %s %dx%d, %s%s, orientation %d -> %dx%d, decoded in %.1f ms\n",
                   path, fs_format_name(info.format), info.width, info.height,
                   info.colorspace, info.progressive ? " progressive" : "",
                   info.orientation, img.width, img.height, ms);
        }
        fs_image_free(&img);
    }
    fs_config_destroy(cfg);
    return worst;
}
