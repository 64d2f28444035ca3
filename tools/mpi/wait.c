/* Waiting for other ranks without spinning (see mpi_cmd.h). */
#include <time.h>

#include "mpi_cmd.h"

static void nap(void)
{
    struct timespec ts = {0, 200000}; /* 0.2 ms: nothing next to a photo's ~30 ms */
    nanosleep(&ts, NULL);
}

void mpi_wait(MPI_Request *req)
{
    int done = 0;
    while (MPI_Test(req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done)
        nap();
}

void mpi_probe(int source, int tag, MPI_Comm comm, MPI_Status *st)
{
    int any = 0;
    while (MPI_Iprobe(source, tag, comm, &any, st) == MPI_SUCCESS && !any)
        nap();
}

void mpi_bcast_int(int *v)
{
    MPI_Request req;
    MPI_Ibcast(v, 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
    mpi_wait(&req);
}
