/* facesearch ingest — photos into the face database. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cluster.h"
#include "commands.h"
#include "face_cli.h"
#include "facesearch/ingest.h"
#include "store_cli.h"

static void help(void)
{
    printf("usage: facesearch ingest [--db DIR] [options] PATH...\n"
           "       facesearch ingest [--db DIR] [options] --manifest FILE|-\n"
           "\n"
           "Finds every face in the photos under PATH (files or folders, walked\n"
           "recursively) or listed in FILE ('-' = stdin, one path per line) and stores\n"
           "boxes, landmarks, quality and descriptors in the database in DIR.\n"
           "\n"
           "Incremental: a photo whose size and mtime match its record is skipped, a\n"
           "changed one is re-done (its old faces replaced).  Safe to kill at any\n"
           "moment: the next run finishes the job.  Ctrl-C stops after saving the\n"
           "photos already processed.  A photo that cannot be read or decoded is\n"
           "recorded with its reason ('facesearch stats --errors') and the run goes on.\n"
           "\n"
           "  --db DIR            database directory (paths.db, default 'index')\n"
           "  --manifest FILE     read paths from FILE, '-' for stdin\n"
           "  --verify-hash       also compare content hashes of unchanged-looking files\n"
           "  --retry-errors      try again photos that failed before, even if unchanged\n"
           "  --prune             remove records of files that are gone (under PATH, or\n"
           "                      all records with --manifest); skipped if a PATH is missing\n"
           "  --hidden            include hidden files and folders\n"
           "  --all-files         in folders, try every file, not only those named as photos\n"
           "                      (scan.extensions: .jpg .png .webp .heic .avif .tif ...)\n"
           "  --follow-symlinks   enter symlinked folders (loops are detected)\n"
           "  --quiet             no progress line and no summary\n"
           "  --json              print the final summary as one JSON object\n");
    face_cli_help_options(stdout);
    printf("\n"
           "Exit: 0 the run completed (even if some photos were bad), 1 usage,\n"
           "2 interrupted or unusable input/database, 3 internal error.\n");
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    if (stop_flag) {
        /* Second signal: leave now.  LMDB keeps the database consistent. */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    stop_flag = 1;
}

static void fmt_eta(double s, char *out, size_t cap)
{
    if (s < 0 || s > 1e7)
        snprintf(out, cap, "?");
    else if (s >= 3600)
        snprintf(out, cap, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else
        snprintf(out, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

typedef struct progress_ctx {
    int tty, quiet;
    const ingest_cluster *cl;
    double last_line;
} progress_ctx;

static void on_progress(void *ctx, const fs_ingest_stats *s, int final)
{
    progress_ctx *p = ctx;
    if (p->quiet || !p->tty)
        return;
    double dt = s->elapsed_s > 0 ? s->elapsed_s : 1e-9;
    long long done = s->processed + s->unchanged;
    char eta[32] = "?", total[32] = "?";
    if (s->total >= 0) {
        snprintf(total, sizeof total, "%lld", s->total);
        double rate = (double)done / dt;
        fmt_eta(rate > 0 ? (double)(s->total - done) / rate : -1, eta, sizeof eta);
    }
    fprintf(stderr, "\r\033[Kingest: %lld/%s photos, %.1f photos/s, %.1f faces/s, %lld errors, ETA %s",
            done, total, (double)s->processed / dt, (double)s->faces / dt, s->errors, eta);
    if (final)
        fputc('\n', stderr);
}

/* Under facesearch-mpi: rank 0 prints the whole job's progress, a line at a
 * time (its output is a log, not a terminal). */
static void on_cluster_progress(void *ctx, const fs_ingest_stats *s, int final)
{
    progress_ctx *p = ctx;
    fs_ingest_stats job;
    if (!p->cl->progress(p->cl->ctx, s, &job) || p->quiet || final)
        return;
    double dt = job.elapsed_s > 0 ? job.elapsed_s : 1e-9;
    fprintf(stderr, "ingest: %lld photos done (%lld unchanged), %.1f photos/s, %lld faces, "
                    "%lld errors, %d ranks\n",
            job.processed + job.unchanged, job.unchanged, (double)job.processed / dt, job.faces,
            job.errors, p->cl->size);
}

static void print_summary(const fs_ingest_stats *s, const char *db, int json, int rc)
{
    double dt = s->elapsed_s > 0 ? s->elapsed_s : 1e-9;
    if (json) {
        printf("{\"db\":");
        json_str(stdout, db);
        printf(",\"status\":\"%s\",\"seen\":%lld,\"processed\":%lld,\"unchanged\":%lld,"
               "\"errors\":%lld,\"faces\":%lld,\"pruned\":%lld,\"batches\":%lld,"
               "\"threads\":%d,\"elapsed_s\":%.3f,\"photos_per_s\":%.2f,\"faces_per_s\":%.2f,"
               "\"stage_s\":{\"read\":%.3f,\"decode\":%.3f,\"detect\":%.3f,"
               "\"landmarks\":%.3f,\"descriptor\":%.3f,\"commit\":%.3f},"
               "\"writer_share\":%.4f,\"peak_rss_kb\":%ld}\n",
               rc == FS_OK ? "complete" : s->interrupted ? "interrupted" : "failed", s->seen,
               s->processed, s->unchanged, s->errors, s->faces, s->pruned, s->batches, s->threads,
               s->elapsed_s, (double)s->processed / dt, (double)s->faces / dt, s->read_s,
               s->decode_s, s->detect_s, s->landmarks_s, s->descriptor_s, s->commit_s,
               s->commit_s / dt, s->peak_rss_kb);
        return;
    }
    printf("ingest %s: %lld photos processed (%lld failed), %lld unchanged, %lld faces stored, "
           "%lld pruned\n",
           rc == FS_OK ? "complete" : s->interrupted ? "interrupted" : "failed", s->processed,
           s->errors, s->unchanged, s->faces, s->pruned);
    printf("  %.1f s on %d threads: %.1f photos/s, %.1f faces/s; writer busy %.1f%% of the time\n",
           s->elapsed_s, s->threads, (double)s->processed / dt, (double)s->faces / dt,
           100 * s->commit_s / dt);
    if (s->errors)
        printf("  see the failures with: facesearch stats --errors --db %s\n", db);
}

int cmd_ingest(int argc, char **argv)
{
    return cmd_ingest_on(argc, argv, NULL);
}

int cmd_ingest_on(int argc, char **argv, const ingest_cluster *cl)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},
        {"db", required_argument, 0, 'd'},
        {"manifest", required_argument, 0, 'f'},
        {"verify-hash", no_argument, 0, 'V'},
        {"retry-errors", no_argument, 0, 'R'},
        {"prune", no_argument, 0, 'p'},
        {"hidden", no_argument, 0, 'H'},
        {"all-files", no_argument, 0, 'A'},
        {"follow-symlinks", no_argument, 0, 'L'},
        {"quiet", no_argument, 0, 'q'},
        {"json", no_argument, 0, 'j'},
        FACE_CLI_LONG_OPTIONS,
        {0, 0, 0, 0},
    };
    int rc;
    fs_config *cfg = cli_config_open(argc, argv, &rc);
    if (!cfg)
        return rc;
    fs_ingest_opts o;
    fs_ingest_opts_init(&o);
    int quiet = 0, json = 0, c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "hqj", opts)) != -1) {
        rc = 0;
        switch (c) {
        case 'h': help(); fs_config_destroy(cfg); return EXIT_OK;
        case 'd': rc = cli_config_set(cfg, "paths.db", optarg, "--db"); break;
        case 'f': o.manifest = optarg; break;
        case 'V': o.verify_hash = 1; break;
        case 'R': o.retry_errors = 1; break;
        case 'p': o.prune = 1; break;
        case 'H': o.scan.include_hidden = 1; break;
        case 'A': o.scan.all_files = 1; break;
        case 'L': o.scan.follow_links = 1; break;
        case 'q': quiet = 1; break;
        case 'j': json = 1; break;
        default:
            rc = face_cli_option(cfg, c, optarg);
            if (rc == -1)
                rc = cli_usage_error("ingest", "invalid option");
        }
        if (rc) {
            fs_config_destroy(cfg);
            return rc;
        }
    }
    o.roots = argv + optind;
    o.n_roots = argc - optind;
    if (!o.manifest == !o.n_roots) {
        fs_config_destroy(cfg);
        return cli_usage_error("ingest", o.manifest ? "give PATHs or --manifest, not both"
                                                    : "no PATH and no --manifest given");
    }
    o.threads = (int)fs_config_int(cfg, "run.threads");
    o.scan.extensions = fs_config_str(cfg, "scan.extensions");
    char helper[4200];
    o.decode_helper = cli_decode_helper(helper, sizeof helper);
    o.batch_photos = (int)fs_config_int(cfg, "ingest.batch_photos");
    o.batch_seconds = fs_config_real(cfg, "ingest.batch_seconds");
    o.max_file_bytes = (uint64_t)fs_config_int(cfg, "decode.max_file_bytes");
    progress_ctx pc = {isatty(2), quiet, cl, 0};
    o.progress = cl ? on_cluster_progress : on_progress;
    o.progress_ctx = &pc;
    o.progress_seconds = cl ? 5 : pc.tty && !quiet ? 0.5 : 0;
    o.stop = &stop_flag;
    if (cl && cl->rank != 0)
        quiet = 1, json = 0; /* rank 0 speaks for the job */

    fs_error e = {0};
    face_cli fc;
    fs_db *db = NULL;
    const char *dbdir = fs_config_str(cfg, "paths.db");
    if ((rc = face_cli_start(&fc, cfg)) != EXIT_OK) {
        fs_config_destroy(cfg);
        return rc;
    }
    o.decode = fc.dopts;
    fs_db_model model;
    char model_buf[2048];
    store_cli_model(fc.engine, &model, model_buf, sizeof model_buf);
    fs_db_options dbo = {FS_DB_CREATE, &model, 0, 0};
    if (!cl) {
        rc = fs_db_open(dbdir, &dbo, &db, &e);
    } else {
        /* Each process writes the shards s with s % size == rank. */
        rc = fs_db_open_shards(dbdir, &dbo, cl->size, cl->rank, &db, &e);
        if (rc == FS_OK && !fs_db_shard_count(db))
            rc = fs_fail(&e, FS_EUSAGE, "%s: facesearch-mpi ingests into a sharded database; "
                         "create it with: facesearch init --db %s --shards S", dbdir, dbdir);
        if (rc != FS_OK)
            cli_fail(&e); /* every rank says why it cannot start */
        rc = cl->start(cl->ctx, rc == FS_OK ? fs_db_shard_count(db) : 0, &o, &e);
    }
    if (rc != FS_OK) {
        fs_db_close(db);
        face_cli_end(&fc);
        fs_config_destroy(cfg);
        return cl ? EXIT_DATA : cli_fail(&e);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    fs_ingest_stats st;
    rc = fs_ingest_run(db, fc.engine, &o, &st, &e);
    if (cl)
        rc = cl->finish(cl->ctx, &st, rc, &e);
    if (!quiet || json)
        print_summary(&st, dbdir, json, rc);
    fs_db_close(db);
    face_cli_end(&fc);
    fs_config_destroy(cfg);
    if (rc == FS_OK)
        return EXIT_OK;
    /* Under MPI rank 0 reports the job's failure; the others exit alike. */
    return cl && cl->rank != 0 ? fs_exit_code(rc) : cli_fail(&e);
}
