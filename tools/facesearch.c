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

/* Only implemented commands are listed. */
static const fs_command commands[] = {
    {"info", cmd_info, "show format, size, orientation and decode time of photos"},
    {"detect", cmd_detect, "find faces: boxes, scores, 68 landmarks"},
    {"embed", cmd_embed, "face descriptors of the faces in photos"},
    {"verify", cmd_verify, "are the faces in two photos the same person?"},
    {"init", cmd_init, "create an empty database, plain or sharded (--shards S)"},
    {"ingest", cmd_ingest, "find and store every face of a photo archive (incremental)"},
    {"stats", cmd_stats, "what a database holds: photos, faces, errors, model"},
    {"reembed", cmd_reembed, "move a database to the configured recognizer, in place"},
    {"build", cmd_build, "build the FAISS index over every stored face"},
    {"query", cmd_query, "find a person: the nearest stored faces to the faces of a photo"},
    {"dedup", cmd_dedup, "group all stored faces into identities (duplicate enrolments)"},
    {"eval", cmd_eval, "accuracy on labelled data: eval lfw, eval detect"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
            "usage: facesearch [--version] [--help] <command> [<args>]\n"
            "\n"
            "Offline face search over photo archives.\n"
            "\n"
            "Commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
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
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    cli_error("'%s' is not a facesearch command. See 'facesearch --help'.", name);
    return EXIT_USAGE;
}
