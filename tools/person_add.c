/*
 * facesearch person add / from-group — enrol faces as a named person: the
 * largest face of each photo (taken from the database when the photo is in
 * it, else found and described now), stored faces by id, or a dedup group;
 * with --augment, each face's descriptors of its photo's variants too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "face_cli.h"
#include "facesearch/scan.h"
#include "facesearch/store.h"
#include "person_cli.h"
#include "store_cli.h"

static void add_help(void)
{
    printf("usage: facesearch person add [--db DIR] [--augment] NAME PHOTO...\n"
           "       facesearch person add [--db DIR] [--augment] NAME --face-id ID...\n"
           "\n"
           "Enrols faces as examples of the person NAME (created when new): the largest\n"
           "face of each PHOTO -- the stored face when the photo is in the database,\n"
           "else found and described now in the database's descriptor space -- or the\n"
           "stored faces given by id.  A face already enrolled for NAME is skipped; one\n"
           "enrolled as someone else, a photo without a face or an unknown face id\n"
           "refuses the whole command (nothing is changed).  Then run facesearch label.\n"
           "\n"
           "  --face-id ID    a stored face (repeatable; ids from query, dedup, person show)\n"
           "  --augment       also store descriptors of each face in variants of its\n"
           "                  photo: mirrored, turned +-10 degrees, half size, blurred,\n"
           "                  brighter and darker (label --augment trains on them)\n"
           "  --db DIR        database directory (paths.db)\n");
    face_cli_help_options(stdout);
    printf("\nExit: 0 ok, 1 usage, 2 no face/unknown face id/no database, 3 internal.\n");
}

typedef struct enrol {
    fs_config *cfg;
    const char *dir;
    fs_db *db;
    fs_db_snap *snap;
    fs_db_stats st;
    face_cli fc;       /* started on demand */
    int started;
    fs_example_list ex;
    float vec[FS_DESCRIPTOR_MAX];
} enrol;

static int engine(enrol *en)
{
    if (en->started)
        return EXIT_OK;
    int rc = store_cli_configure(en->cfg, en->st.model_id);
    if (rc == EXIT_OK)
        rc = face_cli_start(&en->fc, en->cfg);
    en->started = rc == EXIT_OK;
    return rc;
}

/* Appends stored face id as an example. */
static int add_stored(enrol *en, uint64_t id)
{
    fs_face_rec f;
    fs_image_rec img;
    fs_error e = {0};
    if (fs_db_get_face(en->snap, id, &f, &e) != FS_OK) {
        cli_error("%s: no face %llu in the database", en->dir, (unsigned long long)id);
        return EXIT_DATA;
    }
    if (fs_db_get_image(en->snap, f.image_id, &img, &e) != FS_OK ||
        fs_db_get_vector(en->snap, id, en->vec, &e) != FS_OK)
        return cli_fail(&e);
    fs_example x = {.face_id = id, .path = (char *)img.path, .dim = en->st.dim, .vec = en->vec,
                    .model_tag = fs_people_model_tag(en->st.model_id)};
    memcpy(x.box, f.box, sizeof x.box);
    return fs_example_list_push(&en->ex, &x, &e) == FS_OK ? EXIT_OK : cli_fail(&e);
}

static float area(const float b[4])
{
    return b[2] * b[3];
}

/* Appends the largest face of a photo: stored when the photo is in the
 * database, else described now. */
static int add_photo(enrol *en, const char *photo)
{
    char path[4096];
    if (fs_path_normalize(photo, path, sizeof path) != FS_OK) {
        cli_error("%s: path too long", photo);
        return EXIT_DATA;
    }
    fs_image_rec img;
    if (fs_db_find_path(en->snap, path, &img, NULL) == FS_OK && img.status == FS_IMG_OK &&
        img.n_faces) {
        uint64_t best = img.first_face;
        float best_area = -1;
        for (uint32_t i = 0; i < img.n_faces; i++) {
            fs_face_rec f;
            if (fs_db_get_face(en->snap, img.first_face + i, &f, NULL) == FS_OK &&
                area(f.box) > best_area) {
                best_area = area(f.box);
                best = img.first_face + i;
            }
        }
        return add_stored(en, best);
    }
    int rc = engine(en);
    fs_image im = {0};
    int n = 0;
    double ms;
    if (rc == EXIT_OK)
        rc = face_cli_photo(&en->fc, photo, FS_STAGE_ALL, &im, &n, &ms);
    fs_image_free(&im);
    if (rc != EXIT_OK)
        return rc;
    int best = -1;
    for (int i = 0; i < n; i++) {
        const fs_face *f = &en->fc.faces[i];
        if ((f->flags & FS_FACE_DESCRIPTOR) && !(f->flags & FS_FACE_EMPTY_CROP) &&
            (best < 0 || f->w * f->h > en->fc.faces[best].w * en->fc.faces[best].h))
            best = i;
    }
    if (best < 0) {
        cli_error("%s: no face found", photo);
        return EXIT_DATA;
    }
    const fs_face *f = &en->fc.faces[best];
    fs_example x = {.face_id = FS_NO_FACE, .path = path, .dim = en->st.dim,
                    .vec = en->fc.faces[best].descriptor,
                    .model_tag = fs_people_model_tag(en->st.model_id),
                    .box = {(float)f->x, (float)f->y, (float)f->w, (float)f->h}};
    fs_error e = {0};
    return fs_example_list_push(&en->ex, &x, &e) == FS_OK ? EXIT_OK : cli_fail(&e);
}

/* Adds each example's augmented variants after all originals (parent =
 * 1 + the original's index). */
static int augment(enrol *en)
{
    int rc = engine(en);
    size_t originals = en->ex.n;
    for (size_t i = 0; rc == EXIT_OK && i < originals; i++) {
        fs_image im = {0};
        fs_error e = {0};
        const char *path = en->ex.v[i].path;
        if (cli_decode_file(path, &en->fc.dopts, &im, NULL, &e) != FS_OK) {
            cli_error("%s: cannot augment: %s", path, e.msg);
            return EXIT_DATA;
        }
        for (int v = 1; v <= FS_AUG_COUNT && rc == EXIT_OK; v++) {
            float box[4];
            memcpy(box, en->ex.v[i].box, sizeof box);
            if (fs_augment_face(en->fc.worker, en->st.dim, &im, box, v, en->vec, &e) != FS_OK) {
                if (e.code != FS_ENOTFOUND)
                    rc = cli_fail(&e);
                continue; /* that variant hides the face: fewer copies */
            }
            fs_example x = en->ex.v[i];
            x.aug = v;
            x.parent = i + 1;
            x.vec = en->vec;
            if (fs_example_list_push(&en->ex, &x, &e) != FS_OK)
                rc = cli_fail(&e);
        }
        fs_image_free(&im);
    }
    return rc;
}

/* Writes the gathered examples as NAME's and reports. */
static int commit(enrol *en, const char *name, const person_opts *o)
{
    fs_people *p = NULL;
    fs_error e = {0};
    size_t added = 0;
    if (fs_people_open(en->dir, FS_DB_CREATE, &p, &e) != FS_OK ||
        fs_people_add(p, name, en->ex.v, en->ex.n, &added, &e) != FS_OK) {
        fs_people_close(p);
        return cli_fail(&e);
    }
    size_t aug = 0;
    for (size_t i = 0; i < en->ex.n; i++)
        aug += en->ex.v[i].aug && en->ex.v[i].id;
    fs_person who;
    int rc = fs_people_find(p, name, &who, &e);
    fs_people_close(p);
    if (rc != FS_OK)
        return cli_fail(&e);
    if (o->json) {
        printf("{\"person\":");
        json_str(stdout, name);
        printf(",\"added\":%zu,\"augmented\":%zu,\"examples\":%u,\"faces\":[", added, aug,
               who.examples);
        int first = 1;
        for (size_t i = 0; i < en->ex.n; i++) {
            const fs_example *x = &en->ex.v[i];
            if (x->aug || !x->id)
                continue;
            printf("%s{", first ? "" : ",");
            person_json_face(x);
            printf("}");
            first = 0;
        }
        printf("]}\n");
    } else {
        printf("%s: %zu face%s added", name, added, added == 1 ? "" : "s");
        if (aug)
            printf(" (+%zu augmented descriptors)", aug);
        printf(", %u in all; run facesearch label to label the archive\n", who.examples);
    }
    return EXIT_OK;
}

static void enrol_end(enrol *en)
{
    if (en->started)
        face_cli_end(&en->fc);
    fs_example_list_free(&en->ex);
    fs_db_snap_end(en->snap);
    fs_db_close(en->db);
}

/* Gathers faces from photos (operands) and ids, then commits. */
static int enrol_run(fs_config *cfg, const char *name, char **photos, int n_photos,
                     const uint64_t *ids, size_t n_ids, const person_opts *o)
{
    enrol en = {.cfg = cfg, .dir = fs_config_str(cfg, "paths.db")};
    fs_error e = {0};
    int rc = fs_person_name_check(name, &e) == FS_OK ? EXIT_OK : cli_fail(&e);
    if (rc == EXIT_OK)
        rc = store_cli_open(en.dir, &en.db, &en.snap, &en.st);
    for (size_t i = 0; rc == EXIT_OK && i < n_ids; i++)
        rc = add_stored(&en, ids[i]);
    for (int i = 0; rc == EXIT_OK && i < n_photos; i++)
        rc = add_photo(&en, photos[i]);
    if (rc == EXIT_OK && o->augment)
        rc = augment(&en);
    if (rc == EXIT_OK)
        rc = commit(&en, name, o);
    enrol_end(&en);
    return rc;
}

int person_add(int argc, char **argv)
{
    person_opts o = {0};
    fs_config *cfg;
    int rc = person_parse(argc, argv, "person add", add_help, &o, &cfg);
    if (rc >= 0)
        return rc;
    if (optind >= argc)
        rc = cli_usage_error("person add", "no NAME given");
    else if (optind + 1 >= argc && !o.n_ids)
        rc = cli_usage_error("person add", "give PHOTOs or --face-id IDs to enrol");
    else
        rc = enrol_run(cfg, argv[optind], argv + optind + 1, argc - optind - 1, o.ids,
                       (size_t)o.n_ids, &o);
    free(o.ids);
    fs_config_destroy(cfg);
    return rc;
}

static void group_help(void)
{
    printf("usage: facesearch person from-group [--db DIR] [--augment] NAME --face-id REP\n"
           "\n"
           "Enrols every face of the group that facesearch dedup prints with\n"
           "representative face REP as NAME: the grouping is run again with the same\n"
           "settings (dedup.threshold, dedup.k, the index), so the group is the one\n"
           "dedup shows as long as the database and index have not changed.\n"
           "\n"
           "  --face-id REP   the group's representative face id (or any face of it)\n"
           "  --augment       as for person add\n"
           "  --db DIR        database directory (paths.db)\n"
           "  --config FILE   settings\n"
           "\nExit: 0 ok, 1 usage, 2 unknown face/no index, 3 internal.\n");
}

int person_from_group(int argc, char **argv)
{
    person_opts o = {0};
    fs_config *cfg;
    int rc = person_parse(argc, argv, "person from-group", group_help, &o, &cfg);
    if (rc >= 0)
        return rc;
    uint64_t *ids = NULL;
    size_t n = 0;
    if (optind + 1 != argc || o.n_ids != 1)
        rc = cli_usage_error("person from-group", "give NAME and one --face-id REP");
    else if ((rc = dedup_group_of(cfg, o.ids[0], &ids, &n)) == EXIT_OK)
        rc = enrol_run(cfg, argv[optind], NULL, 0, ids, n, &o);
    free(ids);
    free(o.ids);
    fs_config_destroy(cfg);
    return rc;
}
