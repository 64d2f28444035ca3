/* tools/mpi/mpi_cmd.h — the commands facesearch-mpi runs across ranks. */
#ifndef FS_TOOLS_MPI_CMD_H
#define FS_TOOLS_MPI_CMD_H

#include "../cluster.h"

/* `facesearch ingest` over the ranks of MPI_COMM_WORLD (mpi_ingest.c);
 * returns the job's exit code, the same on every rank. */
int mpi_cmd_ingest(int argc, char **argv, int rank, int size);

#endif
