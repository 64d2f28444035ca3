/* facesearch init — an empty database, plain or sharded. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "face_cli.h"
#include "store_cli.h"

static void help(void)
{
    printf("usage: facesearch init [--db DIR] [--shards S] [options]\n"
           "\n"
           "Creates an empty database for the configured recogniser.  With --shards S,\n"
           "DIR holds S databases (DIR/shard-0000 ...) and a manifest: a photo goes to\n"
           "the shard given by a hash of its path, whatever the number of processes\n"
           "that later ingest it (facesearch-mpi runs one or more shards per rank).\n"
           "Every command takes the sharded DIR as --db; each shard is also a database\n"
           "of its own.  The count is fixed at creation.  Re-running with the same\n"
           "count does nothing; ingest creates a plain database by itself, so init is\n"
           "only needed for a sharded one.\n"
           "\n"
           "  --db DIR       database directory (paths.db, default 'index')\n"
           "  --shards S     number of shards, 1..%d (0 = a plain database)\n",
           FS_SHARDS_MAX);
    face_cli_help_options(stdout);
    printf("\nExit: 0 created (or already so), 1 usage, 2 DIR holds another database.\n");
}

static int init_flag(void *ctx, fs_config *cfg, int c, const char *arg)
{
    int *shards = ctx;
    char *end;
    switch (c) {
    case 'd': return cli_config_set(cfg, "paths.db", arg, "--db");
    case 's':
        *shards = (int)strtol(arg, &end, 10);
        if (*end || *shards < 0 || *shards > FS_SHARDS_MAX)
            return cli_usage_error("init", "--shards takes 0..%d, not '%s'", FS_SHARDS_MAX, arg);
        return 0;
    }
    return EXIT_USAGE;
}

int cmd_init(int argc, char **argv)
{
    static const struct option own[] = {{"db", required_argument, 0, 'd'},
                                        {"shards", required_argument, 0, 's'},
                                        {0, 0, 0, 0}};
    int shards = 0;
    fs_config *cfg;
    int rc = face_cli_parse(argc, argv, "init", help, own, init_flag, &shards, &cfg);
    if (rc >= 0)
        return rc;
    if (optind < argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("init", "unexpected argument '%s'", argv[optind]);
    }
    const char *dir = fs_config_str(cfg, "paths.db");
    fs_engine_opts eo;
    fs_decode_opts dopts;
    fs_engine *engine = NULL;
    fs_error e = {0};
    /* The engine names the model the shards are tied to. */
    if ((rc = face_cli_options(cfg, &eo, &dopts)) == EXIT_OK &&
        cli_engine_create(cfg, &eo, &engine, &e) != FS_OK)
        rc = cli_fail(&e);
    if (rc == EXIT_OK) {
        fs_db_model model;
        char mbuf[2048];
        store_cli_model(engine, &model, mbuf, sizeof mbuf);
        fs_db *db = NULL;
        fs_db_options o = {FS_DB_CREATE, &model, 0, 0};
        if (shards ? fs_db_create_sharded(dir, shards, &model, &e) != FS_OK
                   : fs_db_open(dir, &o, &db, &e) != FS_OK)
            rc = cli_fail(&e);
        else if (shards)
            printf("%s: %d shards for model %s\n", dir, shards, model.id);
        else
            printf("%s: %s database for model %s\n", dir,
                   fs_db_shard_count(db) ? "a sharded" : "a plain", model.id);
        fs_db_close(db);
    }
    fs_engine_destroy(engine);
    fs_config_destroy(cfg);
    return rc;
}
