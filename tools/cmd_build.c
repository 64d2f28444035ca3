/* facesearch build — the FAISS index over every stored face. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cluster.h"
#include "commands.h"
#include "facesearch/index.h"

static void help(void)
{
    printf("usage: facesearch build [--db DIR] [--factory STR] [--incremental] [--json|--quiet]\n"
           "                        [--threads N] [--train-size N] [--config FILE]\n"
           "\n"
           "Builds DIR/faces.faiss from every descriptor in the database (read\n"
           "sequentially), training on a uniform random sample when the index type\n"
           "needs it, and writes it atomically with its sidecar faces.faiss.json.\n"
           "On a sharded database (facesearch init --shards), one trained index is\n"
           "filled per shard (shard-NNNN/faces.faiss) and the shards' indexes are\n"
           "merged into DIR/faces.faiss; mpirun facesearch-mpi build spreads that\n"
           "over the ranks.\n"
           "\n"
           "  --db DIR          database directory (paths.db, default 'index')\n"
           "  --factory STR     FAISS index_factory string (index.factory); 'auto'\n"
           "                    picks by collection size: exact 'IDMap,Flat' below 200k\n"
           "                    faces, 'IVFn,SQ8' above (n ~ 4 sqrt(faces), <= 16384);\n"
           "                    an index that cannot take ids gets an IDMap around it\n"
           "  --incremental     only add faces newer than the index, if none were\n"
           "                    removed or replaced since (else a full rebuild)\n"
           "  --train-size N    training sample size (default: 256 per IVF list, <= 1M)\n"
           "  --no-merge        sharded database: keep the shards' indexes only, for\n"
           "                    facesearch-mpi query/dedup (no DIR/faces.faiss, which\n"
           "                    would hold every face in one process's memory)\n"
           "  --threads N       threads (run.threads; 0 = all cores)\n"
           "  --json            print the sidecar as JSON\n"
           "  --quiet           print nothing on success\n"
           "\n"
           "Exit: 0 built, 1 usage, 2 no database or no faces, 3 FAISS/internal error.\n");
}

int cmd_build(int argc, char **argv)
{
    return cmd_build_on(argc, argv, NULL);
}

int cmd_build_on(int argc, char **argv, const index_cluster *cl)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},       {"db", required_argument, 0, 'd'},
        {"factory", required_argument, 0, 'f'}, {"incremental", no_argument, 0, 'i'},
        {"threads", required_argument, 0, 't'}, {"train-size", required_argument, 0, 'T'},
        {"json", no_argument, 0, 'j'},       {"config", required_argument, 0, 'C'},
        {"quiet", no_argument, 0, 'q'},      {"no-merge", no_argument, 0, 'M'},
        {0, 0, 0, 0},
    };
    int rc;
    fs_config *cfg = cli_config_open(argc, argv, &rc);
    if (!cfg)
        return rc;
    fs_index_build_opts o = {0};
    int json = 0, quiet = 0, c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "hjq", opts)) != -1) {
        rc = 0;
        switch (c) {
        case 'h': help(); fs_config_destroy(cfg); return EXIT_OK;
        case 'd': rc = cli_config_set(cfg, "paths.db", optarg, "--db"); break;
        case 'f': rc = cli_config_set(cfg, "index.factory", optarg, "--factory"); break;
        case 'i': o.incremental = 1; break;
        case 'M': o.no_merge = 1; break;
        case 't': rc = cli_config_set(cfg, "run.threads", optarg, "--threads"); break;
        case 'T': rc = cli_config_set(cfg, "index.train_size", optarg, "--train-size"); break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'C': break;
        default: rc = cli_usage_error("build", "invalid option");
        }
        if (rc) {
            fs_config_destroy(cfg);
            return rc;
        }
    }
    if (optind < argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("build", "unexpected argument '%s'", argv[optind]);
    }
    o.factory = fs_config_str(cfg, "index.factory");
    o.train_max = (uint64_t)fs_config_int(cfg, "index.train_size");
    o.threads = (int)fs_config_int(cfg, "run.threads");
    const char *dir = fs_config_str(cfg, "paths.db");
    fs_error e = {0};
    fs_db *db = NULL;
    fs_db_options dbo = {FS_DB_READONLY, NULL, 0, 0};
    fs_index_info info;
    rc = fs_db_open(dir, &dbo, &db, &e);
    /* A cluster builds a sharded database across its ranks; a plain one is
     * built here alone. */
    if (rc == FS_OK && cl && fs_db_shard_count(db))
        rc = cl->build(cl->ctx, db, dir, &o, &info, &e);
    else if (rc == FS_OK)
        rc = fs_index_build(db, dir, &o, &info, &e);
    fs_db_close(db);
    if (rc != FS_OK) {
        fs_config_destroy(cfg);
        return cli_fail(&e);
    }
    if (json) {
        char side[4200];
        snprintf(side, sizeof side, "%s/%s", dir, FS_INDEX_SIDECAR);
        uint8_t *buf;
        size_t len;
        if (fs_read_file(side, 1 << 20, &buf, &len, &e) == FS_OK) {
            fwrite(buf, 1, len, stdout);
            free(buf);
        }
    } else if (!quiet) {
        printf("built %s/%s: %llu faces, factory %s (%s FAISS), %s in %.1f s "
               "(train %.1f s on %llu, add %.1f s), %.1f MiB\n",
               dir, info.fingerprint[0] ? FS_INDEX_FILE : "shard-*/" FS_INDEX_FILE, (unsigned long long)info.count, info.factory,
               info.faiss_build, info.incremental ? "incremental" : "full", info.build_s,
               info.train_s, (unsigned long long)info.train_size, info.add_s,
               (double)info.file_bytes / (1 << 20));
    }
    fs_config_destroy(cfg);
    return EXIT_OK;
}
