/* tools/commands.h — one entry point per command, each in tools/cmd_<name>.c. */
#ifndef FS_TOOLS_COMMANDS_H
#define FS_TOOLS_COMMANDS_H

#include <stdio.h>

#include "cli.h"

/* The command called name, or NULL (tools/commands.c). */
const fs_command *command_find(const char *name);
/* Prints "  name   summary" for every command. */
void command_list(FILE *f);

int cmd_info(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_dedup(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_reembed(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_person(int argc, char **argv);
int cmd_label(int argc, char **argv);

#endif
