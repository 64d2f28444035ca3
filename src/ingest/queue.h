/* A bounded, closable multi-producer multi-consumer queue of pointers.
 * Bounded so that a fast producer waits instead of filling memory. */
#ifndef FS_PIPELINE_QUEUE_H
#define FS_PIPELINE_QUEUE_H

#include <pthread.h>

typedef struct fs_queue {
    void **buf;
    int cap, head, count, closed;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
} fs_queue;

/* Returns 0, or -1 when out of memory. */
int fs_queue_init(fs_queue *q, int cap);
void fs_queue_destroy(fs_queue *q);

/* Blocks while full.  Returns 0, or -1 if the queue is closed (item not taken). */
int fs_queue_push(fs_queue *q, void *item);

/* Blocks while empty and open.  Returns NULL once closed and drained.  With
 * deadline (CLOCK_MONOTONIC seconds) > 0, also returns NULL at the deadline
 * and sets *timed_out. */
void *fs_queue_pop(fs_queue *q, double deadline, int *timed_out);

/* No more pushes; wakes every waiter. */
void fs_queue_close(fs_queue *q);

#endif
