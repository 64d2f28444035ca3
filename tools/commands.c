/* The command table shared by facesearch and facesearch-mpi. */
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
    {"person", cmd_person, "named people: person add NAME PHOTO..., list, show, remove, ..."},
    {"label", cmd_label, "name every stored face after the enrolled people (or unknown)"},
    {"eval", cmd_eval, "accuracy on labelled data: eval lfw, eval detect"},
};

const fs_command *command_find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

void command_list(FILE *f)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}
