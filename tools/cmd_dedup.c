/* facesearch dedup — group every stored face into identities. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cluster.h"
#include "commands.h"
#include "facesearch/cluster.h"
#include "facesearch/index.h"
#include "facesearch/store.h"
#include "html.h"
#include "person_cli.h"
#include "store_cli.h"

static void help(void)
{
    printf("usage: facesearch dedup [--db DIR] [--threshold T] [--min-faces N] [-k K]\n"
           "                        [--json | --tsv | --html FILE]\n"
           "\n"
           "Groups all stored faces into identities: a k-nearest-neighbour graph of\n"
           "every face, searched through the index in batches (never all pairs), with\n"
           "edges at or above the cosine similarity threshold, clustered by Chinese\n"
           "whispers (label\n"
           "propagation: one weak link between two people does not merge them, unlike\n"
           "connected components); two faces of one photo are never put in one group.\n"
           "Prints each group of at least N faces with its\n"
           "representative face; for an identity database (one face per record) these\n"
           "are the records that look like the same person enrolled more than once.\n"
           "\n"
           "  --threshold T   link faces with a cosine similarity of at least T\n"
           "                  (dedup.threshold; 0 = the recognizer's dedup.NAME: its LFW\n"
           "                  pair threshold at FAR 1e-3)\n"
           "  --min-faces N   report groups of at least N faces (dedup.min_faces, 2)\n"
           "  -k K            neighbours searched per face (dedup.k, 30)\n"
           "  --json          one JSON object: {\"faces\":..,\"groups\":[{..,\"faces\":[..]}]}\n"
           "  --tsv           group<TAB>size<TAB>face_id<TAB>representative<TAB>photo<TAB>x y w h\n"
           "                  <TAB>person (the name facesearch label gave the face, if any)\n"
           "  --html FILE     also write a self-contained page with the groups' thumbnails\n"
           "  --db DIR        database directory (paths.db)\n"
           "  --nprobe N, --ef-search N   search effort (dedup.nprobe, index.ef_search)\n"
           "  --config FILE   settings\n"
           "\n"
           "Exit: 0 ok, 1 usage, 2 no database/index, 3 internal.\n");
}

typedef struct group {
    uint32_t label, size, rep;
} group;

static int by_size(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return (x->label > y->label) - (x->label < y->label);
}

static void tsv_field(const char *s)
{
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' ? ' ' : *s);
}

/* Groups every stored face: the k-nearest-neighbour graph through the
 * index (across the ranks when cl), edges at or above thr, then Chinese
 * whispers with the faces of one photo kept apart.  Fills vc (ids and
 * photos), label[i] (the group of face i), rep[g] (the representative's
 * index) and *n_clusters; the caller frees them. */
static int group_faces(const index_cluster *cl, fs_index *ix, fs_db_snap *snap, int dim, int k,
                       float thr, stored_faces *vc, uint32_t **label, uint32_t **rep,
                       size_t *n_clusters, fs_error *e)
{
    fs_edge *edges = NULL;
    size_t n_edges = 0;
    int rc;
    /* k + 1: a face finds itself first. */
    if (cl) {
        rc = cl->graph(cl->ctx, k + 1, 1.0f - thr, &vc->ids, &vc->photo, &vc->n, &edges, &n_edges,
                       e);
    } else {
        if ((rc = store_cli_load_faces(snap, dim, vc, e)) == FS_OK)
            rc = fs_knn_graph(ix, vc->v, vc->ids, vc->photo, vc->n, k + 1, 1.0f - thr, &edges,
                              &n_edges, e);
    }
    *label = malloc((vc->n + 1) * sizeof **label);
    *rep = malloc((vc->n + 1) * sizeof **rep);
    fs_cluster_opts co = {0, 1, vc->photo};
    if (rc == FS_OK && (!*label || !*rep))
        rc = fs_fail(e, FS_ENOMEM, "out of memory clustering %zu faces", vc->n);
    if (rc == FS_OK)
        rc = fs_cluster_whispers(vc->n, edges, n_edges, &co, *label, n_clusters, *rep, e);
    free(edges);
    return rc;
}

/* Opens dir's database and index for grouping and sets the threshold. */
static int group_open(fs_config *cfg, const index_cluster **cl, const char *dir, fs_db **db,
                      fs_db_snap **snap, fs_db_stats *st, fs_index **ix, float *thr)
{
    fs_error e = {0};
    char rec[32];
    int exit_code = store_cli_open(dir, db, snap, st);
    if (exit_code != EXIT_OK)
        return exit_code;
    if (!st->shards)
        *cl = NULL; /* a plain database: searched here alone */
    /* A 64th of the lists: a missed neighbour costs the graph one edge. */
    int nprobe = (int)fs_config_int(cfg, "dedup.nprobe");
    if (cluster_index_open(*cl, dir, nprobe ? nprobe : -64, (int)fs_config_int(cfg, "index.ef_search"),
                           fs_config_real(cfg, "index.k_factor"), ix, &e) != FS_OK)
        return cli_fail(&e);
    *thr = (float)cli_threshold(cfg, "dedup", store_cli_recognizer(st->model_id, rec, sizeof rec));
    if (fs_index_staleness(fs_index_get_info(*ix), st) == 3) {
        cli_error("%s: the index was built from another model's vectors; run facesearch build",
                  dir);
        return EXIT_DATA;
    }
    if (fs_index_staleness(fs_index_get_info(*ix), st))
        cli_error("warning: the index is older than the database; faces added since are "
                  "grouped only through the ones it holds (run facesearch build)");
    return EXIT_OK;
}

int dedup_group_of(fs_config *cfg, uint64_t face, uint64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    const char *dir = fs_config_str(cfg, "paths.db");
    const index_cluster *cl = NULL;
    fs_db *db = NULL;
    fs_db_snap *snap = NULL;
    fs_db_stats st;
    fs_index *ix = NULL;
    stored_faces vc = {0};
    uint32_t *label = NULL, *rep = NULL;
    size_t n_clusters = 0;
    float thr = 0;
    fs_error e = {0};
    int exit_code = group_open(cfg, &cl, dir, &db, &snap, &st, &ix, &thr);
    if (exit_code == EXIT_OK &&
        group_faces(NULL, ix, snap, st.dim, (int)fs_config_int(cfg, "dedup.k"), thr, &vc, &label,
                    &rep, &n_clusters, &e) != FS_OK)
        exit_code = cli_fail(&e);
    size_t at = vc.n;
    for (size_t i = 0; exit_code == EXIT_OK && i < vc.n; i++)
        if (vc.ids[i] == face)
            at = i;
    if (exit_code == EXIT_OK && at == vc.n) {
        cli_error("%s: no face %llu in the database", dir, (unsigned long long)face);
        exit_code = EXIT_DATA;
    }
    if (exit_code == EXIT_OK && !(*ids = malloc(vc.n * sizeof **ids)))
        exit_code = EXIT_INTERNAL;
    for (size_t i = 0; exit_code == EXIT_OK && i < vc.n; i++)
        if (label[i] == label[at])
            (*ids)[(*n)++] = vc.ids[i];
    free(label);
    free(rep);
    store_cli_free_faces(&vc);
    fs_index_close(ix);
    fs_db_snap_end(snap);
    fs_db_close(db);
    return exit_code;
}

int cmd_dedup(int argc, char **argv)
{
    return cmd_dedup_on(argc, argv, NULL);
}

int cmd_dedup_on(int argc, char **argv, const index_cluster *cl)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},       {"db", required_argument, 0, 'd'},
        {"threshold", required_argument, 0, 't'}, {"min-faces", required_argument, 0, 'm'},
        {"json", no_argument, 0, 'j'},       {"tsv", no_argument, 0, 'v'},
        {"html", required_argument, 0, 'H'}, {"nprobe", required_argument, 0, 'n'},
        {"ef-search", required_argument, 0, 'e'}, {"config", required_argument, 0, 'C'},
        {0, 0, 0, 0},
    };
    int rc;
    fs_config *cfg = cli_config_open(argc, argv, &rc);
    if (!cfg)
        return rc;
    int json = 0, tsv = 0, c;
    const char *html = NULL;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "hk:", opts)) != -1) {
        rc = 0;
        switch (c) {
        case 'h': help(); fs_config_destroy(cfg); return EXIT_OK;
        case 'd': rc = cli_config_set(cfg, "paths.db", optarg, "--db"); break;
        case 't': rc = cli_config_set(cfg, "dedup.threshold", optarg, "--threshold"); break;
        case 'm': rc = cli_config_set(cfg, "dedup.min_faces", optarg, "--min-faces"); break;
        case 'k': rc = cli_config_set(cfg, "dedup.k", optarg, "-k"); break;
        case 'j': json = 1; break;
        case 'v': tsv = 1; break;
        case 'H': html = optarg; break;
        case 'n': rc = cli_config_set(cfg, "dedup.nprobe", optarg, "--nprobe"); break;
        case 'e': rc = cli_config_set(cfg, "index.ef_search", optarg, "--ef-search"); break;
        case 'C': break;
        default: rc = cli_usage_error("dedup", "invalid option");
        }
        if (rc) {
            fs_config_destroy(cfg);
            return rc;
        }
    }
    if (optind < argc || json + tsv > 1) {
        fs_config_destroy(cfg);
        return cli_usage_error("dedup", optind < argc ? "unexpected argument '%s'"
                                                      : "--json and --tsv exclude each other%s",
                               optind < argc ? argv[optind] : "");
    }
    float thr = 0; /* the similarity threshold, once the database's recognizer is known */
    int k = (int)fs_config_int(cfg, "dedup.k");
    uint32_t min_faces = (uint32_t)fs_config_int(cfg, "dedup.min_faces");
    const char *dir = fs_config_str(cfg, "paths.db");
    fs_error e = {0};
    fs_db *db = NULL;
    fs_db_snap *snap = NULL;
    fs_index *ix = NULL;
    stored_faces vc = {0};
    uint32_t *label = NULL, *rep = NULL;
    group *groups = NULL;
    size_t n_clusters = 0;
    fs_db_stats st;
    double t0 = fs_now();
    int exit_code = group_open(cfg, &cl, dir, &db, &snap, &st, &ix, &thr);
    if (exit_code != EXIT_OK)
        goto out;
    if ((rc = group_faces(cl, ix, snap, st.dim, k, thr, &vc, &label, &rep, &n_clusters, &e)) !=
        FS_OK) {
        exit_code = cli_fail(&e);
        goto out;
    }
    double secs = fs_now() - t0;
    /* Group sizes, then the groups worth reporting, biggest first. */
    groups = calloc(n_clusters + 1, sizeof *groups);
    if (!groups) {
        exit_code = EXIT_INTERNAL;
        goto out;
    }
    for (size_t i = 0; i < n_clusters; i++) {
        groups[i].label = (uint32_t)i;
        groups[i].rep = rep[i];
    }
    for (size_t i = 0; i < vc.n; i++)
        groups[label[i]].size++;
    qsort(groups, n_clusters, sizeof *groups, by_size);
    size_t shown = 0, faces_shown = 0;
    while (shown < n_clusters && groups[shown].size >= min_faces)
        faces_shown += groups[shown++].size;
    /* Members of each shown group, in face-id order. */
    uint32_t *order = malloc((faces_shown + 1) * sizeof *order), *slot = NULL;
    uint32_t *rank = calloc(n_clusters + 1, sizeof *rank);
    size_t *begin = calloc(shown + 1, sizeof *begin);
    if (!order || !rank || !begin) {
        free(order);
        free(rank);
        free(begin);
        exit_code = EXIT_INTERNAL;
        goto out;
    }
    for (size_t g = 0; g < shown; g++) {
        rank[groups[g].label] = (uint32_t)g + 1;
        begin[g + 1] = begin[g] + groups[g].size;
    }
    slot = calloc(shown + 1, sizeof *slot);
    for (size_t i = 0; slot && i < vc.n; i++) {
        uint32_t g = rank[label[i]];
        if (g)
            order[begin[g - 1] + slot[g - 1]++] = (uint32_t)i;
    }
    FILE *hf = NULL;
    label_names *names = label_names_open(dir);
    if (html && !(hf = fopen(html, "w"))) {
        cli_error("%s: cannot write: %s", html, strerror(errno));
        exit_code = EXIT_DATA;
    }
    if (hf) {
        char title[256];
        snprintf(title, sizeof title, "facesearch dedup: %zu groups of %u+ faces", shown,
                 min_faces);
        html_begin(hf, title);
    }
    if (json)
        printf("{\"faces\":%zu,\"threshold\":%.4f,\"k\":%d,\"clusters\":%zu,\"groups_shown\":%zu,"
               "\"faces_in_groups\":%zu,\"seconds\":%.3f,\"groups\":[",
               vc.n, thr, k, n_clusters, shown, faces_shown, secs);
    else if (tsv)
        printf("group\tsize\tface_id\trepresentative\tphoto\tx\ty\tw\th\tperson\n");
    else
        printf("%zu faces, threshold %.3f, k %d: %zu groups; %zu groups of %u or more faces hold "
               "%zu faces (%.1f s)\n",
               vc.n, thr, k, n_clusters, shown, min_faces, faces_shown, secs);
    for (size_t g = 0; g < shown; g++) {
        uint64_t rep_id = vc.ids[groups[g].rep];
        if (json)
            printf("%s{\"group\":%zu,\"size\":%u,\"representative\":%llu,\"faces\":[", g ? "," : "",
                   g + 1, groups[g].size, (unsigned long long)rep_id);
        else if (!tsv)
            printf("\ngroup %zu: %u faces, representative face %llu\n", g + 1, groups[g].size,
                   (unsigned long long)rep_id);
        if (hf) {
            char head[128];
            snprintf(head, sizeof head, "Group %zu: %u faces", g + 1, groups[g].size);
            html_row_begin(hf, head);
        }
        for (size_t j = begin[g]; j < begin[g + 1]; j++) {
            uint64_t id = vc.ids[order[j]];
            fs_face_rec fr;
            fs_image_rec img;
            const char *path = "?";
            if (fs_db_get_face(snap, id, &fr, NULL) == FS_OK &&
                fs_db_get_image(snap, fr.image_id, &img, NULL) == FS_OK)
                path = img.path;
            else
                memset(&fr, 0, sizeof fr);
            int is_rep = id == rep_id;
            char name[FS_PERSON_NAME_MAX + 1];
            label_name(names, id, name);
            if (json) {
                printf("%s{\"face_id\":%llu,\"representative\":%s,\"photo\":", j > begin[g] ? "," : "",
                       (unsigned long long)id, is_rep ? "true" : "false");
                json_str(stdout, path);
                printf(",\"box\":[%.2f,%.2f,%.2f,%.2f],\"person\":", fr.box[0], fr.box[1],
                       fr.box[2], fr.box[3]);
                if (name[0])
                    json_str(stdout, name);
                else
                    printf("null");
                printf("}");
            } else if (tsv) {
                printf("%zu\t%u\t%llu\t%d\t", g + 1, groups[g].size, (unsigned long long)id, is_rep);
                tsv_field(path);
                printf("\t%.1f\t%.1f\t%.1f\t%.1f\t", fr.box[0], fr.box[1], fr.box[2], fr.box[3]);
                tsv_field(name);
                putchar('\n');
            } else {
                printf("  %s face %-8llu %s  (%.0f,%.0f %.0fx%.0f)%s%s\n", is_rep ? "*" : " ",
                       (unsigned long long)id, path, fr.box[0], fr.box[1], fr.box[2], fr.box[3],
                       name[0] ? "  " : "", name);
            }
            if (hf) {
                fs_image photo = {0};
                fs_decode_opts dopts = {
                    .apply_orientation = fs_config_bool(cfg, "decode.apply_orientation"),
                    .max_pixels = (uint64_t)fs_config_int(cfg, "decode.max_pixels"),
                };
                char idtxt[48 + FS_PERSON_NAME_MAX];
                snprintf(idtxt, sizeof idtxt, "face %llu%s%s%s", (unsigned long long)id,
                         is_rep ? " (representative)" : "", name[0] ? "  " : "", name);
                int ok = strcmp(path, "?") != 0 &&
                         cli_decode_file(path, &dopts, &photo, NULL, &e) == FS_OK;
                html_face(hf, ok ? &photo : NULL, fr.box, 110, is_rep, idtxt, path, &e);
                fs_image_free(&photo);
            }
        }
        if (json)
            printf("]}");
        if (hf)
            html_row_end(hf);
    }
    if (json)
        printf("]}\n");
    if (hf) {
        html_end(hf);
        if (fclose(hf) != 0) {
            cli_error("%s: write failed", html);
            exit_code = EXIT_DATA;
        }
    }
    label_names_close(names);
    free(order);
    free(rank);
    free(begin);
    free(slot);
out:
    free(groups);
    free(label);
    free(rep);
    store_cli_free_faces(&vc);
    fs_db_snap_end(snap);
    fs_index_close(ix);
    fs_db_close(db);
    fs_config_destroy(cfg);
    return exit_code;
}
