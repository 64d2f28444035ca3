/* facesearch query — find a person's faces in the archive. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cluster.h"
#include "commands.h"
#include "face_cli.h"
#include "facesearch/index.h"
#include "facesearch/people.h"
#include "facesearch/store.h"
#include "html.h"
#include "person_cli.h"
#include "store_cli.h"

static void help(void)
{
    printf("usage: facesearch query [--db DIR] [-k N] [--threshold T] [--largest]\n"
           "                        [--json | --tsv | --html FILE] PHOTO...\n"
           "       facesearch query [--db DIR] [...] --face-id ID [--face-id ID ...]\n"
           "       facesearch query [--db DIR] [...] --person NAME [--unlabelled]\n"
           "\n"
           "Finds the faces in each PHOTO (or takes stored faces by id) and prints, for\n"
           "every query face, its nearest faces in the index: rank, cosine similarity,\n"
           "whether that reaches the match threshold, photo path and face box.  All\n"
           "query faces are searched as one batch.  Warns when the index is older than\n"
           "the database (run facesearch build).  A photo's faces are numbered from 0\n"
           "(face #n), as detect and embed number them.  Query photos are described\n"
           "with the database's own recognizer (its descriptor mode).  Matches that\n"
           "facesearch label has named show the person's name.\n"
           "With --person, the person's examples (facesearch person add) are searched\n"
           "together and the k best photos are listed, each by its best-matching face.\n"
           "\n"
           "  -k N              matches per query face (query.k, default 10)\n"
           "  --threshold T     show only matches with a similarity of at least T\n"
           "                    (default: all k; the 'match' column uses query.threshold,\n"
           "                    by default the recognizer's query.NAME: FPIR 1 %% on LFW)\n"
           "  --largest         only the largest face of each query photo\n"
           "  --face-id ID      query with a stored face (repeatable)\n"
           "  --person NAME     find a named person: every example searched, best per photo\n"
           "  --unlabelled      with --person: only faces not enrolled as anyone's examples\n"
           "                    (candidates to confirm with person add --face-id)\n"
           "  --json            one JSON object: {\"queries\":[{...,\"matches\":[...]}]}\n"
           "  --tsv             tab-separated, one match per line, with a header\n"
           "  --html FILE       also write a self-contained HTML report with thumbnails\n"
           "  --db DIR          database directory (paths.db)\n"
           "  --nprobe N, --ef-search N   search effort (index.nprobe, index.ef_search)\n"
           "  --each            search the query faces one at a time, timing each (JSON:\n"
           "                    search_ms per query, search_ms_p50/p99; else on stderr)\n");
    face_cli_help_options(stdout);
    printf("\nExit: 0 ok, 1 usage, 2 unreadable photo/no index/no database, 3 internal.\n");
}

/* One query face. */
typedef struct qface {
    const char *photo;   /* query photo path, or NULL for --face-id */
    int index;           /* face number within the photo */
    uint64_t face_id;    /* --face-id */
    const char *person;  /* --person: the examples' owner */
    float box[4];
    float score;
    float vec[FS_DESCRIPTOR_MAX];
} qface;

typedef struct match {
    float sim;  /* cosine similarity */
    int64_t id;
    fs_face_rec face;
    char *path;
    char name[FS_PERSON_NAME_MAX + 1]; /* the label's person, "" when none */
} match;

static void print_box_json(const float b[4])
{
    printf("[%.2f,%.2f,%.2f,%.2f]", b[0], b[1], b[2], b[3]);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile of v[0..n) (nearest rank; n >= 1). */
static double percentile(const double *v, int n, int p)
{
    double *s = malloc(sizeof *s * (size_t)n), r = 0;
    if (!s)
        return 0;
    memcpy(s, v, sizeof *s * (size_t)n);
    qsort(s, (size_t)n, sizeof *s, by_value);
    int i = (int)((p * (long)n + 99) / 100) - 1;
    r = s[i < 0 ? 0 : i];
    free(s);
    return r;
}

static void tsv_field(const char *s)
{
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' ? ' ' : *s);
}

/* HTML: the query face and its matches, one row per query face. */
static int write_html(const char *file, const qface *q, int nq, match *m, const int *nm, int k,
                      float thr, const fs_decode_opts *dopts)
{
    FILE *f = fopen(file, "w");
    if (!f) {
        cli_error("%s: cannot write: %s", file, strerror(errno));
        return EXIT_DATA;
    }
    html_begin(f, "facesearch query");
    fs_error e = {0};
    int rc = FS_OK;
    for (int i = 0; i < nq && rc == FS_OK; i++) {
        char head[600], detail[600];
        if (q[i].person)
            snprintf(head, sizeof head, "Person: %s (%d examples), best face per photo",
                     q[i].person, q[i].index);
        else if (q[i].photo)
            snprintf(head, sizeof head, "Query: %s, face #%d", q[i].photo, q[i].index);
        else
            snprintf(head, sizeof head, "Query: stored face %llu", (unsigned long long)q[i].face_id);
        html_row_begin(f, head);
        fs_image img = {0};
        const char *qpath = q[i].photo;
        if (q[i].person)
            ; /* the row's heading names the person */
        else if (qpath && cli_decode_file(qpath, dopts, &img, NULL, &e) == FS_OK)
            rc = html_face(f, &img, q[i].box, 140, 1, "query", qpath, &e);
        else
            rc = html_face(f, NULL, q[i].box, 140, 1, "query", qpath ? qpath : "stored face", &e);
        fs_image_free(&img);
        for (int j = 0; j < nm[i] && rc == FS_OK; j++) {
            match *mm = &m[(size_t)i * k + j];
            char title[64 + FS_PERSON_NAME_MAX];
            snprintf(title, sizeof title, "#%d  %.3f%s%s%s", j + 1, mm->sim,
                     mm->sim >= thr ? "  match" : "", mm->name[0] ? "  " : "", mm->name);
            snprintf(detail, sizeof detail, "%s", mm->path ? mm->path : "?");
            fs_image pi = {0};
            int ok = mm->path && cli_decode_file(mm->path, dopts, &pi, NULL, &e) == FS_OK;
            rc = html_face(f, ok ? &pi : NULL, mm->face.box, 120, 0, title, detail, &e);
            fs_image_free(&pi);
        }
        html_row_end(f);
    }
    html_end(f);
    if (fclose(f) != 0 && rc == FS_OK)
        return cli_error("%s: write failed", file), EXIT_DATA;
    return rc == FS_OK ? EXIT_OK : cli_fail(&e);
}

/* Makes room for query face nq in *q (capacity *cap); 0 when out of memory. */
static int room(qface **q, int *cap, int nq)
{
    if (nq < *cap)
        return 1;
    int c = *cap ? 2 * *cap : 16;
    qface *p = realloc(*q, (size_t)c * sizeof *p);
    if (!p)
        return 0;
    *q = p;
    *cap = c;
    return 1;
}

static int by_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* --person: the person's examples of the database's model as query faces,
 * and every stored face enrolled as anyone's (sorted, for --unlabelled). */
static int person_queries(const char *dir, const char *name, const char *model_id, int dim,
                          qface **q, int *cap, int *nq, uint64_t **enrolled, size_t *n_enrolled)
{
    fs_people *p = NULL;
    fs_person who;
    fs_example_list ex = {0};
    fs_error e = {0};
    int rc = EXIT_OK;
    if (fs_people_open(dir, FS_DB_READONLY, &p, &e) != FS_OK ||
        fs_people_find(p, name, &who, &e) != FS_OK || fs_people_examples(p, 0, &ex, &e) != FS_OK)
        rc = cli_fail(&e);
    const uint64_t tag = fs_people_model_tag(model_id);
    size_t stale = 0;
    *enrolled = rc == EXIT_OK ? malloc((ex.n + 1) * sizeof **enrolled) : NULL;
    if (rc == EXIT_OK && !*enrolled)
        rc = EXIT_INTERNAL;
    for (size_t i = 0; rc == EXIT_OK && i < ex.n; i++) {
        const fs_example *x = &ex.v[i];
        if (!x->aug && x->face_id != FS_NO_FACE)
            (*enrolled)[(*n_enrolled)++] = x->face_id;
        if (x->person != who.id)
            continue;
        if (x->model_tag != tag || x->dim != dim) {
            stale++;
            continue;
        }
        if (!room(q, cap, *nq)) {
            rc = EXIT_INTERNAL;
            break;
        }
        qface *f = &(*q)[(*nq)++];
        memset(f, 0, sizeof *f);
        f->person = name;
        f->face_id = x->face_id == FS_NO_FACE ? 0 : x->face_id;
        memcpy(f->box, x->box, sizeof f->box);
        memcpy(f->vec, x->vec, sizeof(float) * (size_t)dim);
    }
    if (rc == EXIT_OK && stale)
        cli_error("warning: %zu of %s's descriptors are of another model (run facesearch "
                  "label to update them)", stale, name);
    if (rc == EXIT_OK)
        qsort(*enrolled, *n_enrolled, sizeof **enrolled, by_u64);
    fs_example_list_free(&ex);
    fs_people_close(p);
    return rc;
}

static int by_sim_desc(const void *a, const void *b)
{
    const match *x = a, *y = b;
    if (x->sim != y->sim)
        return x->sim < y->sim ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* --person: the examples' matches (stride ks) merged into one list of the
 * k best photos, each by its best face (stride k), as query 0. */
static int merge_person(qface **q, int *nq, match **m, int **nm, int ks, int k, const char *name,
                        const uint64_t *enrolled, size_t n_enrolled, int unlabelled)
{
    size_t total = 0;
    for (int i = 0; i < *nq; i++)
        total += (size_t)(*nm)[i];
    match *all = malloc((total + 1) * sizeof *all), *out = calloc((size_t)k, sizeof *out);
    int *nout = calloc(1, sizeof *nout);
    if (!all || !out || !nout) {
        free(all);
        free(out);
        free(nout);
        return EXIT_INTERNAL;
    }
    size_t n = 0;
    for (int i = 0; i < *nq; i++)
        for (int j = 0; j < (*nm)[i]; j++)
            all[n++] = (*m)[(size_t)i * ks + j];
    qsort(all, n, sizeof *all, by_sim_desc);
    for (size_t i = 0; i < n; i++) {
        int taken = *nout >= k;
        for (int j = 0; !taken && j < *nout; j++)
            taken = out[j].face.image_id == all[i].face.image_id;
        uint64_t id = (uint64_t)all[i].id;
        if (!taken && unlabelled && bsearch(&id, enrolled, n_enrolled, sizeof id, by_u64))
            taken = 1;
        if (taken)
            free(all[i].path);
        else
            out[(*nout)++] = all[i];
    }
    free(all);
    free(*m);
    free(*nm);
    *m = out;
    *nm = nout;
    int examples = *nq;
    memset(&(*q)[0], 0, sizeof **q);
    (*q)[0].person = name;
    (*q)[0].index = examples; /* for a person: how many examples were searched */
    *nq = 1;
    return EXIT_OK;
}

/* Writes the name facesearch label gave each match (from its last run). */
static void name_matches(const char *dir, match *m, const int *nm, int nq, int k)
{
    label_names *names = label_names_open(dir);
    for (int i = 0; names && i < nq; i++)
        for (int j = 0; j < nm[i]; j++)
            label_name(names, (uint64_t)m[(size_t)i * k + j].id, m[(size_t)i * k + j].name);
    label_names_close(names);
}

int cmd_query(int argc, char **argv)
{
    return cmd_query_on(argc, argv, NULL);
}

int cmd_query_on(int argc, char **argv, const index_cluster *cl)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},     {"db", required_argument, 0, 'd'},
        {"threshold", required_argument, 0, 't'}, {"largest", no_argument, 0, 'L'},
        {"face-id", required_argument, 0, 'F'}, {"json", no_argument, 0, 'j'},
        {"tsv", no_argument, 0, 'v'},      {"html", required_argument, 0, 'H'},
        {"nprobe", required_argument, 0, 'n'}, {"ef-search", required_argument, 0, 'e'},
        {"each", no_argument, 0, 'E'},     {"person", required_argument, 0, 2001},
        {"unlabelled", no_argument, 0, 2002}, FACE_CLI_LONG_OPTIONS,           {0, 0, 0, 0},
    };
    int rc;
    fs_config *cfg = cli_config_open(argc, argv, &rc);
    if (!cfg)
        return rc;
    int json = 0, tsv = 0, largest = 0, each = 0, c;
    const char *html = NULL, *person = NULL;
    int unlabelled = 0;
    double only_over = -INFINITY;
    uint64_t *ids = NULL;
    int n_ids = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "hk:", opts)) != -1) {
        rc = 0;
        switch (c) {
        case 'h': help(); fs_config_destroy(cfg); free(ids); return EXIT_OK;
        case 'd': rc = cli_config_set(cfg, "paths.db", optarg, "--db"); break;
        case 'k': rc = cli_config_set(cfg, "query.k", optarg, "-k"); break;
        case 't': {
            char *end;
            only_over = strtod(optarg, &end);
            if (*end || !(only_over >= -1 && only_over <= 1))
                rc = cli_usage_error("query", "--threshold needs a similarity from -1 to 1");
            break;
        }
        case 'L': largest = 1; break;
        case 'E': each = 1; break;
        case 2001: person = optarg; break;
        case 2002: unlabelled = 1; break;
        case 'F': {
            char *end;
            uint64_t *p = realloc(ids, (size_t)(n_ids + 1) * sizeof *ids);
            if (!p)
                return EXIT_INTERNAL;
            ids = p;
            ids[n_ids++] = strtoull(optarg, &end, 10);
            if (*end || !*optarg)
                rc = cli_usage_error("query", "--face-id needs a face id (a number)");
            break;
        }
        case 'j': json = 1; break;
        case 'v': tsv = 1; break;
        case 'H': html = optarg; break;
        case 'n': rc = cli_config_set(cfg, "index.nprobe", optarg, "--nprobe"); break;
        case 'e': rc = cli_config_set(cfg, "index.ef_search", optarg, "--ef-search"); break;
        default:
            rc = face_cli_option(cfg, c, optarg);
            if (rc == -1)
                rc = cli_usage_error("query", "invalid option");
        }
        if (rc) {
            fs_config_destroy(cfg);
            free(ids);
            return rc;
        }
    }
    const char *bad = json + tsv > 1 ? "--json and --tsv exclude each other"
                      : person && (optind < argc || n_ids) ? "--person takes no PHOTO or --face-id"
                      : unlabelled && !person ? "--unlabelled goes with --person"
                      : optind >= argc && !n_ids && !person ? "no PHOTO, --face-id or --person given"
                                                            : NULL;
    if (bad) {
        fs_config_destroy(cfg);
        free(ids);
        return cli_usage_error("query", "%s", bad);
    }
    int k = (int)fs_config_int(cfg, "query.k");
    const char *dir = fs_config_str(cfg, "paths.db");
    fs_error e = {0};
    fs_db *db = NULL;
    fs_db_snap *snap = NULL;
    fs_index *ix = NULL;
    face_cli fc = {0};
    qface *q = NULL;
    match *m = NULL;
    int *nm = NULL, nq = 0, cap = 0, exit_code = EXIT_OK;
    uint64_t *enrolled = NULL;
    size_t n_enrolled = 0;
    fs_db_stats st;
    char rec[32];
    if ((exit_code = store_cli_open(dir, &db, &snap, &st)) != EXIT_OK)
        goto out;
    if (!st.shards)
        cl = NULL; /* a plain database: searched here alone */
    if (cluster_index_open(cl, dir, (int)fs_config_int(cfg, "index.nprobe"),
                           (int)fs_config_int(cfg, "index.ef_search"),
                           fs_config_real(cfg, "index.k_factor"), &ix, &e) != FS_OK) {
        exit_code = cli_fail(&e);
        goto out;
    }
    store_cli_recognizer(st.model_id, rec, sizeof rec);
    const float thr = (float)cli_threshold(cfg, "query", rec);
    const int dim = st.dim;
    switch (fs_index_staleness(fs_index_get_info(ix), &st)) {
    case 1:
        cli_error("warning: the index lacks %llu faces ingested since it was built; run "
                  "facesearch build", (unsigned long long)(st.next_face_id -
                                                           fs_index_get_info(ix)->db_next_face));
        break;
    case 2:
        cli_error("warning: faces were removed or replaced since the index was built; run "
                  "facesearch build (stale matches are skipped)");
        break;
    case 3:
        cli_error("%s: the index was built from another model's vectors; run facesearch build",
                  dir);
        exit_code = EXIT_DATA;
        goto out;
    }
    /* Gather query faces: stored ids first, then photos. */
    for (int i = 0; i < n_ids; i++) {
        fs_face_rec fr;
        fs_image_rec img;
        float v[FS_DESCRIPTOR_MAX];
        if (fs_db_get_face(snap, ids[i], &fr, &e) != FS_OK ||
            fs_db_get_image(snap, fr.image_id, &img, &e) != FS_OK ||
            fs_db_get_vector(snap, ids[i], v, &e) != FS_OK) {
            exit_code = cli_fail(&e);
            goto out;
        }
        if (!room(&q, &cap, nq)) {
            exit_code = EXIT_INTERNAL;
            goto out;
        }
        memset(&q[nq], 0, sizeof q[nq]);
        q[nq].face_id = ids[i];
        q[nq].index = (int)(ids[i] - img.first_face); /* a photo's faces are consecutive */
        memcpy(q[nq].box, fr.box, sizeof fr.box);
        q[nq].score = fr.score;
        memcpy(q[nq].vec, v, sizeof(float) * (size_t)dim);
        nq++;
    }
    if (person && (exit_code = person_queries(dir, person, st.model_id, dim, &q, &cap, &nq,
                                              &enrolled, &n_enrolled)) != EXIT_OK)
        goto out;
    /* query photos are described in the database's own descriptor space */
    if (optind < argc && ((exit_code = store_cli_configure(cfg, st.model_id)) != EXIT_OK ||
                          (exit_code = face_cli_start(&fc, cfg)) != EXIT_OK))
        goto out;
    for (int a = optind; a < argc; a++) {
        fs_image img = {0};
        int n = 0;
        double ms;
        int r = face_cli_photo(&fc, argv[a], FS_STAGE_ALL, &img, &n, &ms);
        fs_image_free(&img);
        if (r != EXIT_OK) {
            exit_code = r; /* reported; other photos still run */
            continue;
        }
        if (!n)
            cli_error("%s: no face found", argv[a]);
        int best = 0;
        for (int i = 1; i < n; i++)
            if (fc.faces[i].w * fc.faces[i].h > fc.faces[best].w * fc.faces[best].h)
                best = i;
        for (int i = 0; i < n; i++) {
            const fs_face *f = &fc.faces[i];
            if ((largest && i != best) || !(f->flags & FS_FACE_DESCRIPTOR) ||
                (f->flags & FS_FACE_EMPTY_CROP))
                continue;
            if (!room(&q, &cap, nq)) {
                exit_code = EXIT_INTERNAL;
                goto out;
            }
            q[nq] = (qface){.photo = argv[a], .index = i, .box = {f->x, f->y, f->w, f->h},
                            .score = f->score};
            memcpy(q[nq].vec, f->descriptor, sizeof(float) * (size_t)dim);
            nq++;
        }
    }
    if (!nq) {
        if (person)
            cli_error("%s: no example of '%s' is of the database's model; run facesearch label "
                      "to update them", dir, person);
        goto out;
    }
    /* --person: enough neighbours per example that the k best photos survive
     * merging the examples' lists. */
    const int ks = person ? (4 * k > 64 ? 4 * k : 64) : k;
    float *dist = malloc(sizeof(float) * (size_t)nq * ks);
    int64_t *hit = malloc(sizeof(int64_t) * (size_t)nq * ks);
    float *vecs = malloc(sizeof(float) * (size_t)nq * dim);
    m = calloc((size_t)nq * ks, sizeof *m);
    nm = calloc((size_t)nq, sizeof *nm);
    if (!dist || !hit || !vecs || !m || !nm) {
        free(dist);
        free(hit);
        free(vecs);
        exit_code = EXIT_INTERNAL;
        goto out;
    }
    for (int i = 0; i < nq; i++)
        memcpy(vecs + (size_t)i * dim, q[i].vec, sizeof(float) * (size_t)dim);
    /* One batch (FAISS spreads it over threads), or with --each one search
     * per face, timed, as interactive users would search. */
    double *ms = calloc((size_t)nq, sizeof *ms), total_ms = fs_now();
    for (int i = 0; each && i < nq && rc == FS_OK && ms; i++) {
        double t = fs_now();
        rc = cluster_index_search(cl, ix, vecs + (size_t)i * dim, 1, ks, dist + (size_t)i * ks,
                                  hit + (size_t)i * ks, &e);
        ms[i] = 1e3 * (fs_now() - t);
    }
    if (!each)
        rc = cluster_index_search(cl, ix, vecs, nq, ks, dist, hit, &e);
    total_ms = 1e3 * (fs_now() - total_ms);
    free(vecs);
    if (rc != FS_OK || !ms) {
        free(dist);
        free(hit);
        free(ms);
        exit_code = ms ? cli_fail(&e) : EXIT_INTERNAL;
        goto out;
    }
    /* Resolve ids to faces and photos; a face gone since the build is skipped. */
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < ks; j++) {
            size_t s = (size_t)i * ks + j;
            if (hit[s] < 0 || !(1.0f - dist[s] >= only_over))
                continue;
            match *mm = &m[(size_t)i * ks + nm[i]];
            fs_image_rec img;
            if (fs_db_get_face(snap, (uint64_t)hit[s], &mm->face, NULL) != FS_OK ||
                fs_db_get_image(snap, mm->face.image_id, &img, NULL) != FS_OK)
                continue;
            mm->sim = 1.0f - dist[s];
            mm->id = hit[s];
            mm->path = strdup(img.path);
            nm[i]++;
        }
    free(dist);
    free(hit);
    if (person && (exit_code = merge_person(&q, &nq, &m, &nm, ks, k, person, enrolled,
                                            n_enrolled, unlabelled)) != EXIT_OK) {
        free(ms);
        goto out;
    }
    name_matches(dir, m, nm, nq, k);

    if (json) {
        const fs_index_info *info = fs_index_get_info(ix);
        printf("{\"index\":{\"factory\":");
        json_str(stdout, info->factory);
        printf(",\"count\":%llu,\"stale\":%s},\"threshold\":%.4f,\"search_ms\":%.3f,",
               (unsigned long long)info->count,
               fs_index_staleness(info, &st) ? "true" : "false", thr, total_ms);
        if (each)
            printf("\"search_ms_p50\":%.3f,\"search_ms_p99\":%.3f,", percentile(ms, nq, 50),
                   percentile(ms, nq, 99));
        printf("\"queries\":[");
        for (int i = 0; i < nq; i++) {
            printf("%s{\"photo\":", i ? "," : "");
            if (q[i].person) {
                printf("null,\"person\":");
                json_str(stdout, q[i].person);
                printf(",\"examples\":%d,", q[i].index);
            } else {
                if (q[i].photo)
                    json_str(stdout, q[i].photo);
                else
                    printf("null,\"face_id\":%llu", (unsigned long long)q[i].face_id);
                printf(",\"face\":%d,\"box\":", q[i].index);
                print_box_json(q[i].box);
                printf(",\"score\":%.5f,", q[i].score);
            }
            if (each)
                printf("\"search_ms\":%.3f,", ms[i]);
            printf("\"matches\":[");
            for (int j = 0; j < nm[i]; j++) {
                match *mm = &m[(size_t)i * k + j];
                printf("%s{\"rank\":%d,\"similarity\":%.5f,\"match\":%s,\"face_id\":%lld,"
                       "\"photo\":",
                       j ? "," : "", j + 1, mm->sim, mm->sim >= thr ? "true" : "false",
                       (long long)mm->id);
                json_str(stdout, mm->path);
                printf(",\"box\":");
                print_box_json(mm->face.box);
                printf(",\"person\":");
                if (mm->name[0])
                    json_str(stdout, mm->name);
                else
                    printf("null");
                printf("}");
            }
            printf("]}");
        }
        printf("]}\n");
    } else if (tsv) {
        printf("query\tquery_face\trank\tsimilarity\tmatch\tface_id\tphoto\tx\ty\tw\th\tperson\n");
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < nm[i]; j++) {
                match *mm = &m[(size_t)i * k + j];
                if (q[i].person) {
                    printf("person:");
                    tsv_field(q[i].person);
                } else if (q[i].photo) {
                    tsv_field(q[i].photo);
                } else {
                    printf("face:%llu", (unsigned long long)q[i].face_id);
                }
                printf("\t%d\t%d\t%.5f\t%d\t%lld\t", q[i].index, j + 1, mm->sim,
                       mm->sim >= thr, (long long)mm->id);
                tsv_field(mm->path);
                printf("\t%.1f\t%.1f\t%.1f\t%.1f\t", mm->face.box[0], mm->face.box[1],
                       mm->face.box[2], mm->face.box[3]);
                tsv_field(mm->name);
                putchar('\n');
            }
    } else {
        for (int i = 0; i < nq; i++) {
            if (q[i].person)
                printf("%s (%d examples), best face per photo:\n", q[i].person, q[i].index);
            else if (q[i].photo)
                printf("%s, face #%d at %.0f,%.0f %.0fx%.0f:\n", q[i].photo, q[i].index,
                       q[i].box[0], q[i].box[1], q[i].box[2], q[i].box[3]);
            else
                printf("stored face %llu:\n", (unsigned long long)q[i].face_id);
            if (!nm[i])
                printf("  (no matches)\n");
            for (int j = 0; j < nm[i]; j++) {
                match *mm = &m[(size_t)i * k + j];
                printf("  %2d  %.3f  %-5s  %s  (face id %lld at %.0f,%.0f %.0fx%.0f)%s%s\n", j + 1,
                       mm->sim, mm->sim >= thr ? "same" : "-", mm->path, (long long)mm->id,
                       mm->face.box[0], mm->face.box[1], mm->face.box[2], mm->face.box[3],
                       mm->name[0] ? "  " : "", mm->name);
            }
        }
    }
    if (each && !json)
        fprintf(stderr, "%d searches one by one: p50 %.3f ms, p99 %.3f ms\n", nq,
                percentile(ms, nq, 50), percentile(ms, nq, 99));
    free(ms);
    if (html) {
        /* Boxes are in upright-photo pixels: decode as the ingest did. */
        fs_decode_opts dopts = {
            .apply_orientation = fs_config_bool(cfg, "decode.apply_orientation"),
            .max_pixels = (uint64_t)fs_config_int(cfg, "decode.max_pixels"),
            .max_file_bytes = (size_t)fs_config_int(cfg, "decode.max_file_bytes"),
        };
        int r = write_html(html, q, nq, m, nm, k, thr, &dopts);
        if (r != EXIT_OK)
            exit_code = r;
    }
out:
    if (m)
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < nm[i]; j++)
                free(m[(size_t)i * k + j].path);
    free(m);
    free(nm);
    free(q);
    free(ids);
    free(enrolled);
    face_cli_end(&fc);
    fs_db_snap_end(snap);
    fs_index_close(ix);
    fs_db_close(db);
    fs_config_destroy(cfg);
    return exit_code;
}
