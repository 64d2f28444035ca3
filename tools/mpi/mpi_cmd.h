/* tools/mpi/mpi_cmd.h — the commands facesearch-mpi runs across ranks. */
#ifndef FS_TOOLS_MPI_CMD_H
#define FS_TOOLS_MPI_CMD_H

#include <mpi.h>

#include "../cluster.h"

/* Waiting without spinning (wait.c).  MPI's blocking calls poll a core
 * while they wait, so a rank waiting for a busy peer took a core from its own
 * (or the peer's) workers: 2 ranks x 1 thread ingested LFW A-M at 53 photos/s
 * against 86 for 1 rank x 2 threads.  These poll for 50 us, then with
 * 0.2 ms sleeps. */
void mpi_wait(MPI_Request *req);
void mpi_probe(int source, int tag, MPI_Comm comm, MPI_Status *st);
/* MPI_Bcast of one int from rank 0 over MPI_COMM_WORLD, waiting as above. */
void mpi_bcast_int(int *v);

/* `facesearch ingest` over the ranks of MPI_COMM_WORLD (mpi_ingest.c);
 * returns the job's exit code, the same on every rank. */
int mpi_cmd_ingest(int argc, char **argv, int rank, int size);

/* `facesearch build|query|dedup` (name) over the ranks of MPI_COMM_WORLD
 * (mpi_index.c): rank 0 runs the command, the others serve its requests over
 * their shards.  Returns rank 0's exit code there, EXIT_OK elsewhere. */
int mpi_cmd_index(const char *name, int argc, char **argv, int rank, int size);

#endif
