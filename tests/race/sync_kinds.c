/* A write in one thread and a read in another, ordered only by one kind of
 * synchronisation — or by nothing (MODE-nosync). Built with `tangle cc`:
 * the first must come out clean, the second a race on `shared`.
 *
 *   sync_kinds MODE     MODE: create join mutex rwlock spin cond sem barrier
 *                       once atomic fence-free, each also as MODE-nosync;
 *                       atomic-counter, flag, rdlock-write, heap-reuse, sleep
 *
 * Where a mode needs the reader to run after the writer without being
 * ordered by anything tangle sees, it waits on a relaxed atomic flag
 * (relaxed orders nothing) — the race is there whatever the timing.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int shared;                                  /* the variable that races, or not */
static int nosync;
static atomic_int go;                        /* relaxed: orders nothing */
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static pthread_barrier_t barrier;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int ready;

static void wait_go(void)
{
    while (atomic_load_explicit(&go, memory_order_relaxed) == 0)
        sched_yield();
}

static void set_go(void)
{
    atomic_store_explicit(&go, 1, memory_order_relaxed);
}

static const char *mode;

static void init_shared(void)
{
    shared = 42;
}

/* ---- writer and reader per mode ---- */

static void *writer(void *arg)
{
    (void)arg;
    if (strcmp(mode, "mutex") == 0) {
        pthread_mutex_lock(&mutex);
        shared = 1;
        if (!nosync) pthread_mutex_unlock(&mutex);
        set_go();
        if (nosync) pthread_mutex_unlock(&mutex);
    } else if (strcmp(mode, "rwlock") == 0) {
        if (!nosync) pthread_rwlock_wrlock(&rwlock);
        shared = 1;
        if (!nosync) pthread_rwlock_unlock(&rwlock);
        set_go();
    } else if (strcmp(mode, "spin") == 0) {
        if (!nosync) pthread_spin_lock(&spin);
        shared = 1;
        if (!nosync) pthread_spin_unlock(&spin);
        set_go();
    } else if (strcmp(mode, "cond") == 0) {
        shared = 1;
        if (nosync) {
            atomic_store_explicit(&ready, 1, memory_order_relaxed);
        } else {
            pthread_mutex_lock(&mutex);
            atomic_store_explicit(&ready, 1, memory_order_relaxed);
            pthread_cond_signal(&cond);
            pthread_mutex_unlock(&mutex);
        }
    } else if (strcmp(mode, "sem") == 0) {
        shared = 1;
        if (!nosync) sem_post(&sem);
        set_go();
    } else if (strcmp(mode, "barrier") == 0) {
        shared = 1;
        if (!nosync) pthread_barrier_wait(&barrier);
        set_go();
    } else if (strcmp(mode, "once") == 0) {
        if (!nosync) pthread_once(&once, init_shared);
        else shared = 42;
        set_go();
    } else if (strcmp(mode, "atomic") == 0) {
        shared = 1;
        atomic_store_explicit(&ready, 1, nosync ? memory_order_relaxed : memory_order_release);
    } else if (strcmp(mode, "flag") == 0) {
        shared = 1;
        *(volatile int *)&ready = 1;         /* a plain flag: the note's mistake */
    } else if (strcmp(mode, "rdlock-write") == 0) {
        pthread_rwlock_rdlock(&rwlock);
        shared++;                            /* a write under a read lock */
        pthread_rwlock_unlock(&rwlock);
        set_go();
    } else if (strcmp(mode, "sleep") == 0) {
        shared = 1;
    } else if (strcmp(mode, "join") == 0 || strcmp(mode, "create") == 0) {
        shared = 1;
        set_go();
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    int v = 0;
    if (strcmp(mode, "mutex") == 0) {
        wait_go();
        if (!nosync) pthread_mutex_lock(&mutex);
        v = shared;
        if (!nosync) pthread_mutex_unlock(&mutex);
    } else if (strcmp(mode, "rwlock") == 0) {
        wait_go();
        if (!nosync) pthread_rwlock_rdlock(&rwlock);
        v = shared;
        if (!nosync) pthread_rwlock_unlock(&rwlock);
    } else if (strcmp(mode, "spin") == 0) {
        wait_go();
        if (!nosync) pthread_spin_lock(&spin);
        v = shared;
        if (!nosync) pthread_spin_unlock(&spin);
    } else if (strcmp(mode, "cond") == 0) {
        if (nosync) {
            while (atomic_load_explicit(&ready, memory_order_relaxed) == 0)
                sched_yield();
        } else {
            pthread_mutex_lock(&mutex);
            while (atomic_load_explicit(&ready, memory_order_relaxed) == 0)
                pthread_cond_wait(&cond, &mutex);
            pthread_mutex_unlock(&mutex);
        }
        v = shared;
    } else if (strcmp(mode, "sem") == 0) {
        if (!nosync) sem_wait(&sem);
        else wait_go();
        v = shared;
    } else if (strcmp(mode, "barrier") == 0) {
        if (!nosync) pthread_barrier_wait(&barrier);
        else wait_go();
        v = shared;
    } else if (strcmp(mode, "once") == 0) {
        wait_go();
        if (!nosync) pthread_once(&once, init_shared);
        v = shared;
    } else if (strcmp(mode, "atomic") == 0) {
        while (atomic_load_explicit(&ready, nosync ? memory_order_relaxed : memory_order_acquire) == 0)
            sched_yield();
        v = shared;
    } else if (strcmp(mode, "flag") == 0) {
        while (*(volatile int *)&ready == 0)
            sched_yield();
        v = shared;
    } else if (strcmp(mode, "rdlock-write") == 0) {
        wait_go();
        pthread_rwlock_rdlock(&rwlock);
        shared++;
        pthread_rwlock_unlock(&rwlock);
    } else if (strcmp(mode, "sleep") == 0) {
        usleep(50000);                       /* sleeping orders nothing */
        v = shared;
    } else if (strcmp(mode, "create") == 0) {
        wait_go();
        v = shared;
    }
    return (void *)(intptr_t)v;
}

/* ---- whole programs ---- */

static void *count_up(void *arg)
{
    atomic_long *c = arg;
    for (int i = 0; i < 10000; i++)
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
    return NULL;
}

static void *use_block(void *arg)
{
    int *p = arg;
    for (int i = 0; i < 16; i++)
        p[i] = i;
    free(p);                                 /* freed here... */
    return NULL;
}

static void *reuse_block(void *arg)
{
    (void)arg;
    wait_go();
    int *q = malloc(16 * sizeof *q);         /* ...and likely handed out again here */
    for (int i = 0; i < 16; i++)
        q[i] = -i;
    free(q);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sync_kinds MODE\n");
        return 2;
    }
    char m[64];
    snprintf(m, sizeof m, "%s", argv[1]);
    char *suffix = strstr(m, "-nosync");
    if (suffix != NULL) {
        *suffix = '\0';
        nosync = 1;
    }
    mode = m;
    pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
    sem_init(&sem, 0, 0);
    pthread_barrier_init(&barrier, NULL, 2);

    if (strcmp(mode, "atomic-counter") == 0) {
        static atomic_long counter;
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, count_up, &counter);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        return atomic_load(&counter) == 40000 ? 0 : 1;
    }
    if (strcmp(mode, "heap-reuse") == 0) {
        pthread_t a, b;
        int *p = malloc(16 * sizeof *p);
        pthread_create(&a, NULL, use_block, p);
        pthread_create(&b, NULL, reuse_block, NULL);
        pthread_join(a, NULL);
        set_go();
        pthread_join(b, NULL);
        return 0;
    }
    if (strcmp(mode, "join") == 0) {
        pthread_t w;
        pthread_create(&w, NULL, writer, NULL);
        if (!nosync)
            pthread_join(w, NULL);
        else
            wait_go();
        int v = shared;
        if (nosync)
            pthread_join(w, NULL);
        return v == 1 ? 0 : 1;
    }
    if (strcmp(mode, "create") == 0) {
        /* main writes before creating the reader (ordered) or after (race) */
        pthread_t r;
        if (!nosync)
            shared = 1;
        pthread_create(&r, NULL, reader, NULL);
        if (nosync)
            shared = 1;
        set_go();
        pthread_join(r, NULL);
        return 0;
    }
    pthread_t w, r;
    pthread_create(&r, NULL, reader, NULL);
    pthread_create(&w, NULL, writer, NULL);
    pthread_join(w, NULL);
    pthread_join(r, NULL);
    return 0;
}
