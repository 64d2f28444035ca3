/*
 * facesearch — offline face search over photo archives.
 * The git-style front door: `facesearch [--version|--help] <command> [args]`.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "commands.h"
#include "facesearch/image.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: facesearch [--version] [--help] <command> [<args>]\n"
            "\n"
            "Offline face search over photo archives.\n"
            "\n"
            "Commands:\n");
    command_list(f);
    fprintf(f,
            "\n"
            "'facesearch <command> --help' describes a command.\n"
            "Exit codes: 0 ok, 1 usage error, 2 bad input or data, 3 internal error.\n");
}

int main(int argc, char **argv)
{
    /* Photos need multi-MB pixel buffers, one after another.  glibc would
     * mmap each and hand it back on free, paying ~20 ms of page faults per
     * 1920 px photo; keeping such buffers in the heap avoids that. */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("facesearch %s\n", FS_VERSION);
        return EXIT_OK;
    }
    /* Not a user command: the child that decodes one photo for
     * fs_image_decode_isolated (MAX_PIXELS ORIENT PATH), answering on
     * stdout. */
    if (strcmp(name, "__decode") == 0 && argc == 5) {
        /* A crash here is expected of hostile files: no core dump; and a
         * decoder fooled into huge allocations fails them instead of
         * waking the OOM killer (4 GiB: a 100 Mpx photo needs ~1.5; ASan
         * builds reserve far more address space, so not there). */
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore);
#ifndef __SANITIZE_ADDRESS__
        struct rlimit as = {4ull << 30, 4ull << 30};
        setrlimit(RLIMIT_AS, &as);
#endif
        fs_decode_opts o = {0};
        o.max_pixels = strtoull(argv[2], NULL, 10);
        o.apply_orientation = atoi(argv[3]);
        return fs_image_decode_to_fd(argv[4], &o, 1) == 0 ? EXIT_OK : EXIT_INTERNAL;
    }
    const fs_command *c = command_find(name);
    if (c)
        return c->run(argc - 1, argv + 1);
    cli_error("'%s' is not a facesearch command. See 'facesearch --help'.", name);
    return EXIT_USAGE;
}
