/* Waiting for other ranks without spinning (see mpi_cmd.h). */
#include <time.h>

#include "mpi_cmd.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Polls test() for up to 50 us (a peer answering a query's collective
 * usually does within that), then with naps of 0.2 ms (nothing next to a
 * photo's ~30 ms, and the core goes to the workers meanwhile). */
static void poll_until(int (*test)(void *), void *arg)
{
    double until = now_us() + 50;
    while (!test(arg))
        if (now_us() > until) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
}

static int request_done(void *arg)
{
    int done = 0;
    return MPI_Test(arg, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || done;
}

void mpi_wait(MPI_Request *req)
{
    poll_until(request_done, req);
}

typedef struct probe_arg {
    int source, tag;
    MPI_Comm comm;
    MPI_Status *st;
} probe_arg;

static int message_here(void *arg)
{
    probe_arg *p = arg;
    int any = 0;
    return MPI_Iprobe(p->source, p->tag, p->comm, &any, p->st) != MPI_SUCCESS || any;
}

void mpi_probe(int source, int tag, MPI_Comm comm, MPI_Status *st)
{
    probe_arg p = {source, tag, comm, st};
    poll_until(message_here, &p);
}

void mpi_bcast_int(int *v)
{
    MPI_Request req;
    MPI_Ibcast(v, 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
    mpi_wait(&req);
}
