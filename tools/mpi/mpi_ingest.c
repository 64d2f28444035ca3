/*
 * facesearch-mpi ingest: rank 0 walks the archive (or reads the manifest)
 * and streams each path to the rank owning its shard (shard s -> rank
 * s % N); every rank runs the ordinary OpenMP ingest into its own shards.
 *
 * Messages (each on its own communicator, so nothing else can match them):
 *   paths     rank 0 -> rank r: NUL-separated paths (non-blocking sends
 *             from a ring of buffers, so the walk runs ahead of a busy rank
 *             by up to OUTBOX batches), then one TAG_END byte: 1 when the walk
 *             failed somewhere (no rank prunes then: a missing mount must
 *             not look like a deleted archive).
 *   progress  rank r -> rank 0: this rank's counters every few seconds, and
 *             a final one with its status after its run.
 */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "../cli.h"
#include "mpi_cmd.h"

enum { TAG_PATHS = 1, TAG_END = 2, TAG_PROGRESS = 3 };

enum { BATCH_PATHS = 256, BATCH_BYTES = 32768, LINE_SECONDS = 30 };

typedef struct progress_msg {
    fs_ingest_stats st;
    int final, rc;
    char msg[512];
} progress_msg;

/* Rank 0: the paths going to one rank, in a ring of OUTBOX buffers: one
 * fills while the others are in flight.  Two, measured: a batch larger than
 * MPI's eager limit only moves while rank 0 calls into MPI, which it does
 * when it waits for a free buffer; with 32 buffers it seldom did and the
 * other ranks sat waiting (2 ranks x 1 thread: 48 photos/s, against 73 with
 * two buffers and 84 for 1 rank x 2 threads, LFW A-M). */
enum { OUTBOX = 2 };
typedef struct outbox {
    char *buf[OUTBOX];
    size_t len[OUTBOX], cap[OUTBOX];
    int n[OUTBOX], cur;
    MPI_Request req[OUTBOX];
} outbox;

typedef struct mpi_ingest {
    int rank, size, n_shards;
    MPI_Comm paths, prog;
    /* rank 0 */
    fs_scan *scan;
    fs_error open_err;     /* the walk could not start */
    outbox *out;
    /* every rank: the walk's end (rank 0: sent; others: received) */
    int ended, walk_failed;
    /* other ranks: the batch being handed out */
    char *in;
    int in_len, in_pos, in_cap;
    /* rank 0: the latest counters of every rank, and each rank's final
     * report (its rc and message) once it has come */
    fs_ingest_stats *latest;
    progress_msg *final;
    int finals;
    double last_line;
} mpi_ingest;

/* Rank 0: receives one progress message from src.  A rank's final report
 * can arrive while rank 0 is still ingesting, in progress() as well as in
 * finish(), so both keep it here (a final taken by progress() and then
 * awaited in finish() was a deadlock). */
static void take_progress(mpi_ingest *m, int src)
{
    progress_msg pm;
    MPI_Recv(&pm, (int)sizeof pm, MPI_BYTE, src, TAG_PROGRESS, m->prog, MPI_STATUS_IGNORE);
    m->latest[src] = pm.st;
    if (pm.final && !m->final[src].final) {
        m->final[src] = pm;
        m->finals++;
    }
}

static int send_box(mpi_ingest *m, int r)
{
    outbox *b = &m->out[r];
    int c = b->cur;
    if (!b->n[c])
        return 0;
    MPI_Isend(b->buf[c], (int)b->len[c], MPI_CHAR, r, TAG_PATHS, m->paths, &b->req[c]);
    b->cur = c = (c + 1) % OUTBOX;
    mpi_wait(&b->req[c]); /* that buffer's last send */
    b->len[c] = 0;
    b->n[c] = 0;
    return 0;
}

static int post(mpi_ingest *m, int r, const char *path)
{
    outbox *b = &m->out[r];
    int c = b->cur;
    size_t l = strlen(path) + 1;
    if (b->len[c] + l > b->cap[c]) {
        size_t cap = b->cap[c] ? 2 * b->cap[c] : 2 * BATCH_BYTES;
        while (cap < b->len[c] + l)
            cap *= 2;
        char *p = realloc(b->buf[c], cap);
        if (!p)
            return -1;
        b->buf[c] = p;
        b->cap[c] = cap;
    }
    memcpy(b->buf[c] + b->len[c], path, l);
    b->len[c] += l;
    if (++b->n[c] >= BATCH_PATHS || b->len[c] >= BATCH_BYTES)
        send_box(m, r);
    return 0;
}

/* Rank 0: the rest of every outbox, then the end mark to every rank. */
static void end_walk(mpi_ingest *m, int failed)
{
    if (m->ended)
        return;
    m->walk_failed |= failed;
    char flag = (char)m->walk_failed;
    for (int r = 1; r < m->size; r++) {
        send_box(m, r);
        MPI_Send(&flag, 1, MPI_CHAR, r, TAG_END, m->paths);
        for (int i = 0; i < OUTBOX; i++)
            mpi_wait(&m->out[r].req[i]);
    }
    m->ended = 1;
}

static int root_next(void *ctx, const char **path, fs_error *err)
{
    mpi_ingest *m = ctx;
    while (!m->ended) {
        const char *p = NULL;
        int rc = m->scan ? fs_scan_next(m->scan, &p, err) : FS_OK;
        if (!p) {
            end_walk(m, rc != FS_OK || !m->scan);
            break;
        }
        m->walk_failed |= rc != FS_OK;
        int owner = (int)(fs_shard_of_path(p, (uint32_t)m->n_shards) % (uint32_t)m->size);
        if (owner == 0) {
            *path = p;
            return rc;
        }
        /* A path the walk could not read goes to its owner too: the owner's
         * own stat fails and records it where it belongs. */
        if (post(m, owner, p) != 0) {
            end_walk(m, 1);
            return fs_fail(err, FS_ENOMEM, "out of memory");
        }
    }
    *path = NULL;
    return m->walk_failed ? FS_EIO : FS_OK;
}

static int rank_next(void *ctx, const char **path, fs_error *err)
{
    mpi_ingest *m = ctx;
    while (m->in_pos >= m->in_len) {
        if (m->ended) {
            *path = NULL;
            return m->walk_failed ? FS_EIO : FS_OK;
        }
        MPI_Status st;
        int count;
        mpi_probe(0, MPI_ANY_TAG, m->paths, &st);
        MPI_Get_count(&st, MPI_CHAR, &count);
        if (count + 1 > m->in_cap) {
            char *p = realloc(m->in, (size_t)count + 1);
            if (!p)
                return fs_fail(err, FS_ENOMEM, "out of memory");
            m->in = p;
            m->in_cap = count + 1;
        }
        MPI_Request req;
        MPI_Irecv(m->in, count, MPI_CHAR, 0, st.MPI_TAG, m->paths, &req);
        mpi_wait(&req);
        m->in_pos = 0;
        m->in_len = st.MPI_TAG == TAG_PATHS ? count : 0;
        if (st.MPI_TAG == TAG_END) {
            m->ended = 1;
            m->walk_failed = count > 0 && m->in[0];
        }
    }
    *path = m->in + m->in_pos;
    m->in_pos += (int)strlen(*path) + 1;
    return FS_OK;
}

static int start(void *ctx, int shards, fs_ingest_opts *o, fs_error *err)
{
    mpi_ingest *m = ctx;
    int lo, hi;
    MPI_Allreduce(&shards, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&shards, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (lo == 0 || lo != hi)
        return fs_fail(err, FS_EUSAGE, "a rank could not start (see its message)");
    m->n_shards = shards;
    if (m->rank == 0) {
        int rc = o->manifest ? fs_scan_open_manifest(o->manifest, &m->scan, &m->open_err)
                             : fs_scan_open_paths(o->roots, o->n_roots, &o->scan, &m->scan,
                                                  &m->open_err);
        if (rc != FS_OK)
            m->scan = NULL; /* root_next ends the walk as failed; finish reports it */
    }
    o->next_path = m->rank == 0 ? root_next : rank_next;
    o->next_path_ctx = m;
    return FS_OK;
}

static void add_stats(fs_ingest_stats *to, const fs_ingest_stats *s)
{
    to->seen += s->seen;
    to->unchanged += s->unchanged;
    to->processed += s->processed;
    to->errors += s->errors;
    to->faces += s->faces;
    to->pruned += s->pruned;
    to->batches += s->batches;
    to->read_s += s->read_s;
    to->decode_s += s->decode_s;
    to->detect_s += s->detect_s;
    to->landmarks_s += s->landmarks_s;
    to->descriptor_s += s->descriptor_s;
    to->threads += s->threads;
    to->interrupted |= s->interrupted;
    /* wall-clock figures: the slowest rank's */
    if (s->elapsed_s > to->elapsed_s)
        to->elapsed_s = s->elapsed_s;
    if (s->commit_s > to->commit_s)
        to->commit_s = s->commit_s;
    if (s->peak_rss_kb > to->peak_rss_kb)
        to->peak_rss_kb = s->peak_rss_kb;
}

static void job_stats(const mpi_ingest *m, fs_ingest_stats *job)
{
    memset(job, 0, sizeof *job);
    job->total = -1;
    for (int r = 0; r < m->size; r++)
        add_stats(job, &m->latest[r]);
}

static int progress(void *ctx, const fs_ingest_stats *mine, fs_ingest_stats *job)
{
    mpi_ingest *m = ctx;
    if (m->rank != 0) {
        progress_msg pm;
        memset(&pm, 0, sizeof pm);
        pm.st = *mine;
        MPI_Send(&pm, (int)sizeof pm, MPI_BYTE, 0, TAG_PROGRESS, m->prog);
        return 0;
    }
    int any;
    MPI_Status st;
    while (MPI_Iprobe(MPI_ANY_SOURCE, TAG_PROGRESS, m->prog, &any, &st) == MPI_SUCCESS && any)
        take_progress(m, st.MPI_SOURCE);
    m->latest[0] = *mine;
    job_stats(m, job);
    if (fs_now() - m->last_line < LINE_SECONDS)
        return 0;
    m->last_line = fs_now();
    return 1;
}

static int finish(void *ctx, fs_ingest_stats *st, int rc, fs_error *err)
{
    mpi_ingest *m = ctx;
    int job_rc = rc;
    if (m->rank != 0) {
        /* Take the rest of this rank's paths (a run stopped early leaves
         * them for the next run), or the walk would wait for us forever. */
        const char *p;
        fs_error e = {0};
        while (!m->ended && rank_next(m, &p, &e) == FS_OK && p) {
        }
        progress_msg pm;
        memset(&pm, 0, sizeof pm);
        pm.st = *st;
        pm.final = 1;
        pm.rc = rc;
        snprintf(pm.msg, sizeof pm.msg, "%s", rc != FS_OK ? err->msg : "");
        MPI_Send(&pm, (int)sizeof pm, MPI_BYTE, 0, TAG_PROGRESS, m->prog);
    } else {
        end_walk(m, 1); /* only if this rank stopped before the walk's end */
        if (rc == FS_OK && !m->scan && m->open_err.code) {
            *err = m->open_err;
            job_rc = rc = m->open_err.code;
        }
        m->latest[0] = *st;
        while (m->finals < m->size - 1) {
            MPI_Status s;
            mpi_probe(MPI_ANY_SOURCE, TAG_PROGRESS, m->prog, &s);
            take_progress(m, s.MPI_SOURCE);
        }
        for (int r = 1; r < m->size && job_rc == FS_OK; r++)
            if (m->final[r].rc != FS_OK) {
                job_rc = m->final[r].rc;
                fs_fail(err, job_rc, "rank %d: %s", r, m->final[r].msg);
            }
        job_stats(m, st);
    }
    mpi_bcast_int(&job_rc);
    return job_rc;
}

int mpi_cmd_ingest(int argc, char **argv, int rank, int size)
{
    mpi_ingest m;
    memset(&m, 0, sizeof m);
    m.rank = rank;
    m.size = size;
    m.latest = calloc((size_t)size, sizeof *m.latest);
    m.out = rank == 0 ? calloc((size_t)size, sizeof *m.out) : NULL;
    m.final = rank == 0 ? calloc((size_t)size, sizeof *m.final) : NULL;
    if (!m.latest || (rank == 0 && (!m.out || !m.final))) {
        cli_error("out of memory");
        MPI_Abort(MPI_COMM_WORLD, EXIT_INTERNAL);
    }
    for (int r = 0; m.out && r < size; r++)
        for (int i = 0; i < OUTBOX; i++)
            m.out[r].req[i] = MPI_REQUEST_NULL;
    MPI_Comm_dup(MPI_COMM_WORLD, &m.paths);
    MPI_Comm_dup(MPI_COMM_WORLD, &m.prog);
    ingest_cluster cl = {rank, size, &m, start, progress, finish};
    int rc = cmd_ingest_on(argc, argv, &cl);
    fs_scan_close(m.scan);
    for (int r = 0; m.out && r < size; r++)
        for (int i = 0; i < OUTBOX; i++)
            free(m.out[r].buf[i]);
    free(m.out);
    free(m.in);
    free(m.latest);
    free(m.final);
    MPI_Comm_free(&m.paths);
    MPI_Comm_free(&m.prog);
    return rc;
}
