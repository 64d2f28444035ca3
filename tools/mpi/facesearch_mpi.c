/*
 * facesearch-mpi — facesearch across the processes of an MPI job:
 *
 *   mpirun -n N facesearch-mpi <command> --db DIR ...     (or under srun)
 *
 * Same commands and flags as facesearch.  On a sharded database (facesearch
 * init --shards S) each rank works on the shards s with s % N == rank:
 * ingest writes them, build samples and fills their indexes (rank 0 trains
 * once and merges), query and dedup search them (rank 0 merges the top-k).
 * Every other command, and these on a plain database, runs on rank 0 alone
 * while the other ranks wait; the job exits with rank 0's status.
 */
#include <malloc.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "../cli.h"
#include "../commands.h"
#include "mpi_cmd.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpirun -n N facesearch-mpi <command> [<args>]   (or srun ...)\n"
            "\n"
            "facesearch over the ranks of an MPI job, on a database made by\n"
            "'facesearch init --db DIR --shards S'; shard s belongs to rank s %% N.\n"
            "  ingest   every rank ingests the photos of its shards\n"
            "  build    ranks sample and fill their shards' indexes; rank 0 trains once\n"
            "           and merges them into DIR/faces.faiss\n"
            "  query    ranks search their shards' indexes; rank 0 merges and prints\n"
            "  dedup    ranks search their own faces' neighbours over all shards\n"
            "The other commands run on rank 0 over the whole database.\n"
            "\n"
            "Commands:\n");
    command_list(f);
}

int main(int argc, char **argv)
{
    mallopt(M_MMAP_THRESHOLD, 256 << 20); /* as facesearch (tools/facesearch.c) */
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    int provided, rank, size;
    /* The ingest's walker and writer threads talk to other ranks. */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (provided < MPI_THREAD_MULTIPLE) {
        if (rank == 0)
            cli_error("this MPI library does not support MPI_THREAD_MULTIPLE");
        MPI_Finalize();
        return EXIT_INTERNAL;
    }
    int rc = EXIT_OK;
    const char *name = argc > 1 ? argv[1] : "";
    const fs_command *c = command_find(name);
    if (strcmp(name, "ingest") == 0) {
        rc = mpi_cmd_ingest(argc - 1, argv + 1, rank, size);
    } else if (!strcmp(name, "build") || !strcmp(name, "query") || !strcmp(name, "dedup")) {
        rc = mpi_cmd_index(name, argc - 1, argv + 1, rank, size);
    } else if (rank == 0) {
        if (c)
            rc = c->run(argc - 1, argv + 1);
        else if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help"))
            usage(stdout);
        else if (!strcmp(name, "--version"))
            printf("facesearch-mpi %s\n", FS_VERSION);
        else {
            usage(stderr);
            rc = EXIT_USAGE;
        }
    }
    mpi_bcast_int(&rc); /* the other ranks wait for rank 0 without taking a core */
    MPI_Finalize();
    return rc;
}
