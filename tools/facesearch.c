/*
 * facesearch — offline face search over photo archives.
 * The git-style front door: `facesearch [--version|--help] <command> [args]`.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

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
    const fs_command *c = command_find(name);
    if (c)
        return c->run(argc - 1, argv + 1);
    cli_error("'%s' is not a facesearch command. See 'facesearch --help'.", name);
    return EXIT_USAGE;
}
