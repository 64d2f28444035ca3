/* facesearch person — named people: add, list, show, remove, rename, unassign,
 * from-group. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "face_cli.h"
#include "person_cli.h"

static void help(void)
{
    printf("usage: facesearch person SUBCOMMAND [options] ...\n"
           "\n"
           "Named people: faces enrolled as examples of a person, which facesearch label\n"
           "learns from to name every stored face, and facesearch query --person\n"
           "searches with.  People are kept in DIR/people.mdb beside the database.\n"
           "\n"
           "  add NAME PHOTO...          enrol the largest face of each photo\n"
           "  add NAME --face-id ID...   enrol stored faces\n"
           "  from-group NAME --face-id REP   enrol a group printed by dedup\n"
           "  list                       every person, their examples and labelled faces\n"
           "  show NAME                  a person's examples\n"
           "  remove NAME                forget a person (and their labels)\n"
           "  rename OLD NEW             rename a person\n"
           "  unassign NAME --face-id ID take a face out of a person's examples\n"
           "\n"
           "Run facesearch person SUBCOMMAND --help for its options.\n"
           "Exit: 0 ok, 1 usage, 2 unknown person/face, no face in a photo, 3 internal.\n");
}

static int person_flag(void *ctx, fs_config *cfg, int c, const char *arg)
{
    person_opts *o = ctx;
    switch (c) {
    case 'd': return cli_config_set(cfg, "paths.db", arg, "--db");
    case 'j': o->json = 1; return 0;
    case 'a': o->augment = 1; return 0;
    case 'F': {
        char *end;
        unsigned long long v = strtoull(arg, &end, 10);
        if (*end || !*arg || arg[0] == '-')
            return cli_usage_error("person", "--face-id needs a face id (a number), not '%s'", arg);
        uint64_t *p = realloc(o->ids, (size_t)(o->n_ids + 1) * sizeof *p);
        if (!p)
            return EXIT_INTERNAL;
        o->ids = p;
        o->ids[o->n_ids++] = v;
        return 0;
    }
    }
    return EXIT_USAGE;
}

int person_parse(int argc, char **argv, const char *cmd, void (*h)(void), person_opts *o,
                 fs_config **cfg)
{
    static const struct option own[] = {{"db", required_argument, 0, 'd'},
                                        {"json", no_argument, 0, 'j'},
                                        {"augment", no_argument, 0, 'a'},
                                        {"face-id", required_argument, 0, 'F'},
                                        {0, 0, 0, 0}};
    int rc = face_cli_parse(argc, argv, cmd, h, own, person_flag, o, cfg);
    if (rc >= 0) {
        free(o->ids);
        o->ids = NULL;
    }
    return rc;
}

/* ---- list ---------------------------------------------------------------- */

static void list_help(void)
{
    printf("usage: facesearch person list [--db DIR] [--json]\n"
           "\n"
           "Every person: enrolled faces, augmented descriptors, and the faces the last\n"
           "facesearch label run assigned to them.\n"
           "\n"
           "  --json          {\"people\":[{\"name\",\"id\",\"examples\",\"augmented\",\"labelled\"}]}\n"
           "  --db DIR        database directory (paths.db)\n"
           "  --config FILE   settings\n");
}

typedef struct label_count {
    const fs_person *people;
    size_t n;
    uint64_t *count;
    uint64_t fingerprint;
} label_count;

static int count_labels(void *ctx, const fs_label *l)
{
    label_count *c = ctx;
    if (!l->person || l->fingerprint != c->fingerprint)
        return 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->people[i].id == l->person)
            c->count[i]++;
    return 0;
}

/* Opens the people of cfg's database for reading or writing. */
static int open_people(fs_config *cfg, int flags, fs_people **p)
{
    fs_error e = {0};
    return fs_people_open(fs_config_str(cfg, "paths.db"), flags, p, &e) == FS_OK ? EXIT_OK
                                                                                 : cli_fail(&e);
}

static int person_list(int argc, char **argv)
{
    person_opts o = {0};
    fs_config *cfg;
    int rc = person_parse(argc, argv, "person list", list_help, &o, &cfg);
    if (rc >= 0)
        return rc;
    fs_people *p = NULL;
    fs_person *people = NULL;
    size_t n = 0;
    fs_error e = {0};
    fs_label_summary sum;
    label_count lc = {0};
    int none = 0; /* no people.mdb yet: an empty list */
    rc = EXIT_OK;
    if (optind < argc)
        rc = cli_usage_error("person list", "unexpected argument '%s'", argv[optind]);
    else if (fs_people_open(fs_config_str(cfg, "paths.db"), FS_DB_READONLY, &p, &e) != FS_OK)
        rc = e.code == FS_ENOTFOUND && (none = 1) ? EXIT_OK : cli_fail(&e);
    else if (fs_people_list(p, &people, &n, &e) != FS_OK ||
             fs_people_label_summary(p, &sum, &e) != FS_OK)
        rc = cli_fail(&e);
    if (none && o.json)
        printf("{\"people\":[]}\n");
    else if (none)
        printf("no people enrolled (facesearch person add NAME PHOTO)\n");
    if (rc == EXIT_OK && !none) {
        lc = (label_count){people, n, calloc(n + 1, sizeof *lc.count), sum.fingerprint};
        if (!lc.count || fs_people_foreach_label(p, count_labels, &lc, &e) != FS_OK)
            rc = lc.count ? cli_fail(&e) : EXIT_INTERNAL;
    }
    if (none) {
        /* printed above */
    } else if (rc == EXIT_OK && o.json) {
        printf("{\"people\":[");
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"name\":", i ? "," : "");
            json_str(stdout, people[i].name);
            printf(",\"id\":%llu,\"examples\":%u,\"augmented\":%u,\"labelled\":%llu}",
                   (unsigned long long)people[i].id, people[i].examples, people[i].augmented,
                   (unsigned long long)lc.count[i]);
        }
        printf("]}\n");
    } else if (rc == EXIT_OK) {
        if (!n)
            printf("no people enrolled (facesearch person add NAME PHOTO)\n");
        else
            printf("%-32s %8s %9s %9s\n", "name", "examples", "augmented", "labelled");
        for (size_t i = 0; i < n; i++)
            printf("%-32s %8u %9u %9llu\n", people[i].name, people[i].examples,
                   people[i].augmented, (unsigned long long)lc.count[i]);
    }
    free(lc.count);
    free(people);
    fs_people_close(p);
    fs_config_destroy(cfg);
    return rc;
}

/* ---- show ---------------------------------------------------------------- */

static void show_help(void)
{
    printf("usage: facesearch person show [--db DIR] [--json] NAME\n"
           "\n"
           "A person's examples: face id, photo, box, and whether the face is still in\n"
           "the database (gone: its photo was removed or changed; its last descriptor\n"
           "is still used) or came from a photo outside it.\n"
           "\n"
           "  --json          {\"name\",\"id\",\"examples\":[{\"face_id\",\"photo\",\"box\",\"state\",\"augmented\"}]}\n"
           "  --db DIR        database directory (paths.db)\n"
           "  --config FILE   settings\n");
}

void person_json_face(const fs_example *x)
{
    printf("\"face_id\":");
    if (x->face_id == FS_NO_FACE)
        printf("null");
    else
        printf("%llu", (unsigned long long)x->face_id);
    printf(",\"photo\":");
    json_str(stdout, x->path);
}

static const char *state_of(const fs_example *x)
{
    return x->face_id == FS_NO_FACE ? "outside" : x->gone ? "gone" : "stored";
}

static int person_show(int argc, char **argv)
{
    person_opts o = {0};
    fs_config *cfg;
    int rc = person_parse(argc, argv, "person show", show_help, &o, &cfg);
    if (rc >= 0)
        return rc;
    fs_people *p = NULL;
    fs_person who;
    fs_example_list ex = {0};
    fs_error e = {0};
    if (optind + 1 != argc)
        rc = cli_usage_error("person show", "give one NAME");
    else if ((rc = open_people(cfg, FS_DB_READONLY, &p)) == EXIT_OK &&
             (fs_people_find(p, argv[optind], &who, &e) != FS_OK ||
              fs_people_examples(p, who.id, &ex, &e) != FS_OK))
        rc = cli_fail(&e);
    for (size_t i = 0; rc == EXIT_OK && i <= ex.n; i++) {
        if (i == ex.n) {
            printf(o.json ? "]}\n" : "");
            break;
        }
        const fs_example *x = &ex.v[i];
        if (i == 0 && o.json) {
            printf("{\"name\":");
            json_str(stdout, who.name);
            printf(",\"id\":%llu,\"examples\":[", (unsigned long long)who.id);
        } else if (i == 0) {
            printf("%s: %u faces, %u augmented descriptors\n", who.name, who.examples,
                   who.augmented);
        }
        if (x->aug)
            continue;
        int copies = 0;
        for (size_t j = i + 1; j < ex.n; j++)
            copies += ex.v[j].aug && ex.v[j].parent == x->id;
        if (o.json) {
            printf("%s{", i ? "," : "");
            person_json_face(x);
            printf(",\"box\":[%.2f,%.2f,%.2f,%.2f],\"state\":\"%s\",\"augmented\":%d}", x->box[0],
                   x->box[1], x->box[2], x->box[3], state_of(x), copies);
        } else {
            char id[32] = "-";
            if (x->face_id != FS_NO_FACE)
                snprintf(id, sizeof id, "%llu", (unsigned long long)x->face_id);
            printf("  face %-10s %-7s %s  at %.0f,%.0f %.0fx%.0f%s\n", id, state_of(x), x->path,
                   x->box[0], x->box[1], x->box[2], x->box[3], copies ? "  (+augmented)" : "");
        }
    }
    if (rc == EXIT_OK && !ex.n && !o.json)
        printf("%s: no examples\n", who.name);
    else if (rc == EXIT_OK && !ex.n) {
        printf("{\"name\":");
        json_str(stdout, who.name);
        printf(",\"id\":%llu,\"examples\":[]}\n", (unsigned long long)who.id);
    }
    fs_example_list_free(&ex);
    fs_people_close(p);
    fs_config_destroy(cfg);
    return rc;
}

/* ---- remove, rename, unassign ------------------------------------------------ */

static void remove_help(void)
{
    printf("usage: facesearch person remove [--db DIR] NAME\n"
           "\n"
           "Forgets a person: their examples and every label naming them.\n"
           "\n"
           "  --db DIR        database directory (paths.db)\n"
           "  --config FILE   settings\n");
}

static void rename_help(void)
{
    printf("usage: facesearch person rename [--db DIR] OLD NEW\n"
           "\n"
           "Renames a person; their examples and labels follow.\n"
           "\n"
           "  --db DIR        database directory (paths.db)\n"
           "  --config FILE   settings\n");
}

static void unassign_help(void)
{
    printf("usage: facesearch person unassign [--db DIR] NAME --face-id ID\n"
           "\n"
           "Takes a face out of a person's examples (with its augmented descriptors),\n"
           "e.g. one enrolled by mistake.\n"
           "\n"
           "  --face-id ID    the face\n"
           "  --db DIR        database directory (paths.db)\n"
           "  --config FILE   settings\n");
}

static int person_edit(int argc, char **argv)
{
    const char *sub = argv[0];
    int is_remove = strcmp(sub, "remove") == 0, is_rename = strcmp(sub, "rename") == 0;
    char cmd[32];
    snprintf(cmd, sizeof cmd, "person %s", sub);
    person_opts o = {0};
    fs_config *cfg;
    int rc = person_parse(argc, argv, cmd, is_remove ? remove_help : is_rename ? rename_help
                                                                               : unassign_help,
                          &o, &cfg);
    if (rc >= 0)
        return rc;
    int want = is_rename ? 2 : 1;
    fs_people *p = NULL;
    fs_error e = {0};
    if (argc - optind != want)
        rc = cli_usage_error(cmd, is_rename ? "give OLD and NEW names" : "give one NAME");
    else if (!is_remove && !is_rename && !o.n_ids)
        rc = cli_usage_error(cmd, "give the --face-id to take out");
    else if ((rc = open_people(cfg, 0, &p)) == EXIT_OK) {
        const char *name = argv[optind];
        int r = FS_OK;
        if (is_remove)
            r = fs_people_remove(p, name, &e);
        else if (is_rename)
            r = fs_people_rename(p, name, argv[optind + 1], &e);
        else if (o.n_ids == 1)
            r = fs_people_unassign(p, name, o.ids[0], &e);
        else
            r = fs_fail(&e, FS_EUSAGE, "unassign one --face-id at a time");
        rc = r == FS_OK ? EXIT_OK : cli_fail(&e);
        if (rc == EXIT_OK && is_remove)
            printf("removed %s\n", name);
        else if (rc == EXIT_OK && is_rename)
            printf("renamed %s to %s\n", name, argv[optind + 1]);
        else if (rc == EXIT_OK)
            printf("face %llu is no longer one of %s's examples\n", (unsigned long long)o.ids[0],
                   name);
    }
    free(o.ids);
    fs_people_close(p);
    fs_config_destroy(cfg);
    return rc;
}

int cmd_person(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {{"add", person_add},       {"from-group", person_from_group},
                {"list", person_list},     {"show", person_show},
                {"remove", person_edit},   {"rename", person_edit},
                {"unassign", person_edit}};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        help();
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    return cli_usage_error("person", "unknown subcommand '%s'", argv[1]);
}
