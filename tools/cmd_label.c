/* facesearch label — name every stored face after the enrolled people. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "facesearch/people.h"
#include "facesearch/store.h"
#include "store_cli.h"

static void help(void)
{
    printf("usage: facesearch label [--db DIR] [--method M] [--[no-]augment] [--far F] [--full]\n"
           "                        [--json]\n"
           "\n"
           "Trains a classifier on the enrolled people's examples (facesearch person add)\n"
           "and assigns every stored face to a person or to unknown.  Open set: a face\n"
           "is named only when the winning person's score clears a threshold set so\n"
           "that a share F of strangers' faces would be named, measured on the enrolled\n"
           "people themselves (each group of people scored by a classifier trained\n"
           "without them).  Examples are brought up to date first: a re-ingested photo's\n"
           "face is found again, a model change re-derives descriptors from the stored\n"
           "faces.  After an ingest, only new faces are labelled unless the people, the\n"
           "model or the options changed.  Killed, it keeps what it labelled; run it\n"
           "again to finish.\n"
           "\n"
           "  --method M      softmax (multinomial logistic regression; the default), svm\n"
           "                  (one-vs-rest linear SVMs, liblinear) -- both need three people,\n"
           "                  with fewer the template method is used -- or template (the\n"
           "                  nearest person by their examples); label.method\n"
           "  --augment       train on the augmented descriptors too (label.augment, true),\n"
           "                  of the variants in label.augment_variants\n"
           "  --no-augment    only on the enrolled faces themselves\n"
           "  --far F         strangers' faces that may be named, 0.0001..0.5 (label.far)\n"
           "  --full          relabel every face\n"
           "  --json          one JSON object: people, faces, labelled, known, unknown, ...\n"
           "  --db DIR        database directory (paths.db)\n"
           "  --config FILE   settings\n"
           "\n"
           "Exit: 0 ok, 1 usage, 2 no database or no people, 3 internal.\n");
}

int cmd_label(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},         {"db", required_argument, 0, 'd'},
        {"method", required_argument, 0, 'm'}, {"augment", no_argument, 0, 'a'},
        {"no-augment", no_argument, 0, 'A'},
        {"far", required_argument, 0, 'f'},    {"full", no_argument, 0, 'F'},
        {"json", no_argument, 0, 'j'},         {"config", required_argument, 0, 'C'},
        {0, 0, 0, 0},
    };
    int rc;
    fs_config *cfg = cli_config_open(argc, argv, &rc);
    if (!cfg)
        return rc;
    int json = 0, full = 0, c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
        rc = 0;
        switch (c) {
        case 'h': help(); fs_config_destroy(cfg); return EXIT_OK;
        case 'd': rc = cli_config_set(cfg, "paths.db", optarg, "--db"); break;
        case 'm': rc = cli_config_set(cfg, "label.method", optarg, "--method"); break;
        case 'a': rc = cli_config_set(cfg, "label.augment", "true", "--augment"); break;
        case 'A': rc = cli_config_set(cfg, "label.augment", "false", "--no-augment"); break;
        case 'f': rc = cli_config_set(cfg, "label.far", optarg, "--far"); break;
        case 'F': full = 1; break;
        case 'j': json = 1; break;
        case 'C': break;
        default: rc = cli_usage_error("label", "invalid option");
        }
        if (rc) {
            fs_config_destroy(cfg);
            return rc;
        }
    }
    if (optind < argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("label", "unexpected argument '%s'", argv[optind]);
    }
    const char *dir = fs_config_str(cfg, "paths.db");
    fs_error e = {0};
    fs_db *db = NULL;
    fs_db_snap *snap = NULL;
    fs_db_stats st;
    fs_people *p = NULL;
    fs_label_opts o = {.far = fs_config_real(cfg, "label.far"),
                       .augment = fs_config_bool(cfg, "label.augment"),
                       .full = full,
                       .seed = 1};
    fs_label_stats ls;
    char rec[32];
    int exit_code = store_cli_open(dir, &db, &snap, &st);
    fs_db_snap_end(snap);
    if (exit_code == EXIT_OK) {
        o.template_threshold = (float)cli_threshold(
            cfg, "query", store_cli_recognizer(st.model_id, rec, sizeof rec));
        if (fs_label_method_parse(fs_config_str(cfg, "label.method"), &o.method, &e) != FS_OK ||
            fs_aug_parse(fs_config_str(cfg, "label.augment_variants"), &o.variants, &e) != FS_OK ||
            fs_people_open(dir, 0, &p, &e) != FS_OK || fs_label_run(db, p, &o, &ls, &e) != FS_OK)
            exit_code = cli_fail(&e);
    }
    if (exit_code == EXIT_OK && json) {
        printf("{\"method\":\"%s\",\"augment\":%s,\"far\":%g,\"threshold\":%.5f,\"people\":%zu,"
               "\"examples\":%zu,\"augmented\":%zu,\"impostors\":%zu,\"faces\":%llu,"
               "\"labelled\":%llu,\"known\":%llu,\"unknown\":%llu,\"dropped\":%llu,"
               "\"incremental\":%s,\"moved\":%zu,\"rederived\":%zu,\"gone\":%zu,\"stale\":%zu,"
               "\"train_s\":%.3f,\"label_s\":%.3f}\n",
               fs_label_method_name(ls.method), o.augment ? "true" : "false", o.far,
               (double)ls.threshold, ls.people, ls.examples, ls.augmented, ls.impostors,
               (unsigned long long)ls.faces, (unsigned long long)ls.labelled,
               (unsigned long long)ls.known, (unsigned long long)ls.unknown,
               (unsigned long long)ls.dropped, ls.incremental ? "true" : "false",
               ls.refresh.moved, ls.refresh.rederived, ls.refresh.gone, ls.refresh.stale,
               ls.train_s, ls.label_s);
    } else if (exit_code == EXIT_OK) {
        printf("%s over %zu people (%zu faces", fs_label_method_name(ls.method), ls.people,
               ls.examples);
        if (ls.augmented)
            printf(" + %zu augmented", ls.augmented);
        printf("), threshold %.4f at FAR %g (%zu impostor scores)\n", (double)ls.threshold, o.far,
               ls.impostors);
        printf("labelled %llu of %llu faces%s: %llu named, %llu unknown\n",
               (unsigned long long)ls.labelled, (unsigned long long)ls.faces,
               ls.incremental ? " (new ones only)" : "", (unsigned long long)ls.known,
               (unsigned long long)ls.unknown);
        if (ls.refresh.moved || ls.refresh.rederived)
            printf("examples updated: %zu found again after a re-ingest, %zu re-derived for the "
                   "model\n",
                   ls.refresh.moved, ls.refresh.rederived);
    }
    if (exit_code == EXIT_OK && ls.method != o.method)
        cli_error("note: %zu people: the template method was used (%s needs at least three)",
                  ls.people, fs_label_method_name(o.method));
    if (exit_code == EXIT_OK && ls.refresh.gone)
        cli_error("warning: %zu enrolled faces are no longer in the database (their photos "
                  "were removed or changed); their last descriptors are used "
                  "(facesearch person show NAME)",
                  ls.refresh.gone);
    if (exit_code == EXIT_OK && ls.refresh.stale)
        cli_error("warning: %zu descriptors are of another model and were left out "
                  "(augmented ones and photos outside the database: enrol them again)",
                  ls.refresh.stale);
    fs_people_close(p);
    fs_db_close(db);
    fs_config_destroy(cfg);
    return exit_code;
}
