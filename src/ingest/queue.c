/* Bounded pointer queue (see queue.h). */
#include "queue.h"

#include <stdlib.h>
#include <time.h>

int fs_queue_init(fs_queue *q, int cap)
{
    q->buf = calloc((size_t)cap, sizeof *q->buf);
    if (!q->buf)
        return -1;
    q->cap = cap;
    q->head = q->count = q->closed = 0;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&q->not_empty, &a);
    pthread_cond_init(&q->not_full, &a);
    pthread_condattr_destroy(&a);
    return 0;
}

void fs_queue_destroy(fs_queue *q)
{
    free(q->buf);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
}

int fs_queue_push(fs_queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == q->cap && !q->closed)
        pthread_cond_wait(&q->not_full, &q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    q->buf[(q->head + q->count++) % q->cap] = item;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

void *fs_queue_pop(fs_queue *q, double deadline, int *timed_out)
{
    if (timed_out)
        *timed_out = 0;
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed) {
        if (deadline > 0) {
            struct timespec ts;
            ts.tv_sec = (time_t)deadline;
            ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
            if (pthread_cond_timedwait(&q->not_empty, &q->mu, &ts) != 0 && q->count == 0) {
                if (timed_out)
                    *timed_out = 1;
                pthread_mutex_unlock(&q->mu);
                return NULL;
            }
        } else {
            pthread_cond_wait(&q->not_empty, &q->mu);
        }
    }
    void *item = NULL;
    if (q->count) {
        item = q->buf[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->mu);
    return item;
}

void fs_queue_close(fs_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}
