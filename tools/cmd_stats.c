/* facesearch stats — what a database holds. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "facesearch/people.h"
#include "facesearch/store.h"
#include "store_cli.h"

static void help(void)
{
    printf("usage: facesearch stats [--db DIR] [--json] [--errors] [--shards] [--config FILE]\n"
           "\n"
           "Prints what the database in DIR (default: paths.db, 'index') holds: photos,\n"
           "faces, errors by kind, model, schema, size on disk, the last ingest, and\n"
           "the named people and how many faces the last facesearch label named.\n"
           "Works while an ingest is running (it reads a consistent snapshot).  On a\n"
           "sharded database (facesearch init --shards) the figures are summed over\n"
           "the shards.\n"
           "\n"
           "  --db DIR      database directory\n"
           "  --json        one JSON object (keys: images, faces, errors, errors_by_kind,\n"
           "                images_ok, images_no_face, model, schema, dim, db_bytes, last_ingest_start,\n"
           "                last_ingest_end, created, shards: the shard count, 0 when\n"
           "                not sharded, people: named people, label: the last facesearch\n"
           "                label run's method, known and unknown faces, or null)\n"
           "  --errors      list every photo that failed, one per line: path<TAB>kind<TAB>reason\n"
           "                (with --json: an \"error_list\" array)\n"
           "  --shards      also list each shard: photos, faces, errors, size (with\n"
           "                --json: a \"shard_list\" array)\n"
           "\n"
           "Exit: 0 ok, 1 usage, 2 no database or unreadable.\n");
}

static void fmt_time(int64_t ns, char *out, size_t cap)
{
    if (ns <= 0) {
        snprintf(out, cap, "never");
        return;
    }
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

typedef struct err_list {
    int json, first;
} err_list;

static int print_error(void *ctx, const fs_image_rec *img)
{
    err_list *l = ctx;
    if (img->status == FS_IMG_OK)
        return 0;
    if (l->json) {
        printf("%s{\"path\":", l->first ? "" : ",");
        json_str(stdout, img->path);
        printf(",\"kind\":\"%s\",\"reason\":", fs_status_name(img->error_code));
        json_str(stdout, img->error);
        printf("}");
    } else {
        /* TSV: keep each record on one line whatever the path holds. */
        for (const char *p = img->path; *p; p++)
            putchar(*p == '\t' || *p == '\n' ? ' ' : *p);
        printf("\t%s\t", fs_status_name(img->error_code));
        for (const char *p = img->error; *p; p++)
            putchar(*p == '\t' || *p == '\n' ? ' ' : *p);
        putchar('\n');
    }
    l->first = 0;
    return 0;
}

/* --shards: one line (or JSON object) per shard of a sharded database. */
static int list_shards(fs_db *db, int json, fs_error *e)
{
    if (json)
        printf(",\"shard_list\":[");
    for (int i = 0; i < fs_db_shard_count(db); i++) {
        fs_db_snap *s;
        fs_db_stats st;
        int rc = fs_db_snap_begin(fs_db_shard(db, i), &s, e);
        if (rc == FS_OK)
            rc = fs_db_stats_get(s, &st, e);
        fs_db_snap_end(s);
        if (rc != FS_OK)
            return rc;
        if (json)
            printf("%s{\"shard\":%d,\"images\":%llu,\"faces\":%llu,\"errors\":%llu,"
                   "\"db_bytes\":%llu}", i ? "," : "", i, (unsigned long long)st.images,
                   (unsigned long long)st.faces, (unsigned long long)st.errors,
                   (unsigned long long)st.db_bytes);
        else
            printf("  shard-%04d  %llu photos, %llu faces, %llu failed, %.1f MiB\n", i,
                   (unsigned long long)st.images, (unsigned long long)st.faces,
                   (unsigned long long)st.errors, (double)st.db_bytes / (1 << 20));
    }
    if (json)
        printf("]");
    return FS_OK;
}

/* The people beside the database: how many, and the last label run (none
 * when people.mdb is absent). */
typedef struct people_facts {
    int present;
    size_t people;
    fs_label_summary label;
} people_facts;

static void people_facts_get(const char *dir, people_facts *pf)
{
    memset(pf, 0, sizeof *pf);
    fs_people *p = NULL;
    fs_person *v = NULL;
    if (fs_people_open(dir, FS_DB_READONLY, &p, NULL) == FS_OK &&
        fs_people_list(p, &v, &pf->people, NULL) == FS_OK &&
        fs_people_label_summary(p, &pf->label, NULL) == FS_OK)
        pf->present = 1;
    free(v);
    fs_people_close(p);
}

int cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},   {"json", no_argument, 0, 'j'},
        {"errors", no_argument, 0, 'e'}, {"db", required_argument, 0, 'd'},
        {"shards", no_argument, 0, 's'},
        {"config", required_argument, 0, 'C'}, {0, 0, 0, 0},
    };
    int rc, json = 0, errors = 0, list = 0;
    fs_config *cfg = cli_config_open(argc, argv, &rc);
    if (!cfg)
        return rc;
    int c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "hj", opts)) != -1) {
        switch (c) {
        case 'h': help(); fs_config_destroy(cfg); return EXIT_OK;
        case 'j': json = 1; break;
        case 'e': errors = 1; break;
        case 's': list = 1; break;
        case 'd': rc = cli_config_set(cfg, "paths.db", optarg, "--db"); break;
        case 'C': break;
        default: rc = cli_usage_error("stats", "invalid option");
        }
        if (rc) {
            fs_config_destroy(cfg);
            return rc;
        }
    }
    if (optind < argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
    }
    fs_error e = {0};
    fs_db *db = NULL;
    fs_db_snap *snap = NULL;
    fs_db_stats st;
    fs_db_options o = {FS_DB_READONLY, NULL, 0, 0};
    if (fs_db_open(fs_config_str(cfg, "paths.db"), &o, &db, &e) != FS_OK ||
        fs_db_snap_begin(db, &snap, &e) != FS_OK || fs_db_stats_get(snap, &st, &e) != FS_OK) {
        fs_db_snap_end(snap);
        fs_db_close(db);
        fs_config_destroy(cfg);
        return cli_fail(&e);
    }
    char t_start[64], t_end[64], t_created[64];
    fmt_time(st.last_ingest_start_ns, t_start, sizeof t_start);
    fmt_time(st.last_ingest_end_ns, t_end, sizeof t_end);
    fmt_time(st.created_ns, t_created, sizeof t_created);
    err_list l = {json, 1};
    people_facts pf;
    people_facts_get(fs_config_str(cfg, "paths.db"), &pf);
    if (json) {
        printf("{\"images\":%llu,\"images_ok\":%llu,\"images_no_face\":%llu,\"faces\":%llu,"
               "\"errors\":%llu,\"errors_by_kind\":{",
               (unsigned long long)st.images, (unsigned long long)st.images_ok,
               (unsigned long long)st.images_no_face, (unsigned long long)st.faces,
               (unsigned long long)st.errors);
        int first = 1;
        for (int i = 0; i < 16; i++)
            if (st.errors_by_code[i]) {
                printf("%s\"%s\":%llu", first ? "" : ",", fs_status_name(i),
                       (unsigned long long)st.errors_by_code[i]);
                first = 0;
            }
        char rec[32];
        const char *r = store_cli_recognizer(st.model_id, rec, sizeof rec);
        printf("},\"recognizer\":");
        json_str(stdout, r ? r : "legacy");
        printf(",\"metric\":\"%s\",\"reembed\":", r ? "cosine" : "euclidean");
        if (st.reembed_model[0]) {
            printf("{\"model\":");
            json_str(stdout, st.reembed_model);
            printf(",\"dim\":%llu,\"next_image\":%llu}", (unsigned long long)st.reembed_dim,
                   (unsigned long long)st.reembed_next_image);
        } else {
            printf("null");
        }
        printf(",\"model\":");
        json_str(stdout, st.model_id);
        printf(",\"model_checksum\":");
        json_str(stdout, st.model_checksum);
        printf(",\"schema\":%u,\"dim\":%d,\"db_bytes\":%llu,\"next_face_id\":%llu,"
               "\"faces_removed\":%llu,\"created\":\"%s\",\"last_ingest_start\":\"%s\","
               "\"last_ingest_end\":\"%s\",\"shards\":%u",
               st.schema, st.dim, (unsigned long long)st.db_bytes,
               (unsigned long long)st.next_face_id, (unsigned long long)st.faces_removed,
               t_created, t_start, t_end, st.shards);
        printf(",\"people\":%zu,\"label\":", pf.people);
        if (pf.label.fingerprint)
            printf("{\"method\":\"%s\",\"augment\":%s,\"far\":%g,\"faces\":%llu,"
                   "\"known\":%llu,\"unknown\":%llu}",
                   pf.label.method, pf.label.augment ? "true" : "false", pf.label.far,
                   (unsigned long long)pf.label.faces, (unsigned long long)pf.label.known,
                   (unsigned long long)pf.label.unknown);
        else
            printf("null");
        if (list)
            rc = list_shards(db, 1, &e);
        if (errors && rc == FS_OK) {
            printf(",\"error_list\":[");
            rc = fs_db_foreach_image(snap, 0, print_error, &l, &e);
            printf("]");
        }
        printf("}\n");
    } else if (errors) {
        rc = fs_db_foreach_image(snap, 0, print_error, &l, &e);
    } else {
        printf("database:    %s\n", fs_config_str(cfg, "paths.db"));
        printf("photos:      %llu (%llu ok, of which %llu without a face; %llu failed)\n",
               (unsigned long long)st.images, (unsigned long long)st.images_ok,
               (unsigned long long)st.images_no_face, (unsigned long long)st.errors);
        printf("faces:       %llu\n", (unsigned long long)st.faces);
        for (int i = 0; i < 16; i++)
            if (st.errors_by_code[i])
                printf("  errors %-10s %llu\n", fs_status_name(i),
                       (unsigned long long)st.errors_by_code[i]);
        char rec[32];
        const char *r = store_cli_recognizer(st.model_id, rec, sizeof rec);
        printf("recognizer:  %s, %d-D, %s\n", r ? r : "legacy (run facesearch reembed)", st.dim,
               r ? "cosine similarity" : "euclidean distance");
        printf("model:       %s\n", st.model_id);
        if (st.reembed_model[0])
            printf("reembed:     to %s under way: photos below id %llu of %llu done "
                   "(run facesearch reembed)\n",
                   st.reembed_model, (unsigned long long)st.reembed_next_image,
                   (unsigned long long)st.next_image_id);
        printf("schema:      %u\n", st.schema);
        printf("size:        %.1f MiB on disk\n", (double)st.db_bytes / (1 << 20));
        printf("created:     %s\n", t_created);
        printf("last ingest: started %s, finished %s\n", t_start, t_end);
        if (st.shards)
            printf("shards:      %u (facesearch stats --shards lists them)\n", st.shards);
        if (pf.present)
            printf("people:      %zu (facesearch person list)\n", pf.people);
        if (pf.label.fingerprint) {
            char t_label[64];
            fmt_time(pf.label.finished_ns, t_label, sizeof t_label);
            printf("labels:      %llu faces named, %llu unknown (%s%s, FAR %g, %s)\n",
                   (unsigned long long)pf.label.known, (unsigned long long)pf.label.unknown,
                   pf.label.method, pf.label.augment ? " + augmentation" : "", pf.label.far,
                   t_label);
        }
        if (list)
            rc = list_shards(db, 0, &e);
    }
    fs_db_snap_end(snap);
    fs_db_close(db);
    fs_config_destroy(cfg);
    return rc == FS_OK ? EXIT_OK : cli_fail(&e);
}
