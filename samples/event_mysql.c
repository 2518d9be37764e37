/* event_mysql - seeds/000 线程理论 › Event事件 (Event)
 *
 * check_mysql prints that it is checking mysql, sleeps randint(2, 4) s and
 * sets the event. Two conn_mysql threads loop while the event is not set:
 * print "attempt N", event.wait(0.5), and after three attempts raise
 * TimeoutError. As written in the note the connectors give up after about
 * 1.5 s, before the check can finish, so both threads end with
 * TimeoutError (Python prints the exception and the thread ends; the
 * program still exits 0) and "connected" is only printed when the check is
 * faster than three waits, e.g. `event_mysql 500 1000`.
 * Event is a flag under a mutex with a condition variable; wait(timeout)
 * is a timed wait on the monotonic clock.
 *
 * verdict: clean
 * args: [wait_ms [check_ms]] - event.wait timeout (default 500), how long
 *       the check takes (default random 2000-4000)
 */
#include "common.h"

struct event {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int flag;
};

struct event event = { .lock = PTHREAD_MUTEX_INITIALIZER }; /* cond: event_init() */
static long wait_ms = 500;
static long check_ms = -1; /* -1: random.randint(2, 4) seconds */

static void event_init(struct event *e)
{
    pthread_condattr_t attr;

    CHECK(pthread_condattr_init(&attr));
    CHECK(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
    CHECK(pthread_cond_init(&e->cond, &attr));
    CHECK(pthread_condattr_destroy(&attr));
}

static int event_is_set(struct event *e)
{
    int set;

    CHECK(pthread_mutex_lock(&e->lock));
    set = e->flag;
    CHECK(pthread_mutex_unlock(&e->lock));
    return set;
}

static void event_set(struct event *e)
{
    CHECK(pthread_mutex_lock(&e->lock));
    e->flag = 1;
    CHECK(pthread_cond_broadcast(&e->cond));
    CHECK(pthread_mutex_unlock(&e->lock));
}

/* event.wait(timeout): true if the flag is set on return */
static int event_wait(struct event *e, long timeout_ms)
{
    struct timespec deadline;
    int rc = 0, set;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    CHECK(pthread_mutex_lock(&e->lock));
    while (!e->flag && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&e->cond, &e->lock, &deadline);
        if (rc != 0 && rc != ETIMEDOUT)
            check_failed("pthread_cond_timedwait", rc, __FILE__, __LINE__);
    }
    set = e->flag;
    CHECK(pthread_mutex_unlock(&e->lock));
    return set;
}

static void *conn_mysql(void *arg)
{
    int count = 1;

    (void)arg;
    while (!event_is_set(&event)) {
        if (count > 3) { /* raise TimeoutError('connection timed out') */
            fprintf(stderr, "Exception in thread %s:\nTimeoutError: connection timed out\n",
                    thread_name);
            return NULL;
        }
        printf("<%s> connection attempt %d\n", thread_name, count);
        event_wait(&event, wait_ms);
        count += 1;
    }
    printf("<%s> connected\n", thread_name);
    return NULL;
}

static void *check_mysql(void *arg)
{
    (void)arg;
    printf("[%s] checking mysql\n", thread_name);
    msleep(check_ms >= 0 ? check_ms : (2 + rand_below(3)) * 1000);
    event_set(&event);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t conn1, conn2, check;

    sample_init(argc, argv, 2, "[wait_ms [check_ms]]");
    wait_ms = arg_long(argc, argv, 1, wait_ms, 0, 600000);
    check_ms = arg_long(argc, argv, 2, check_ms, 0, 600000);
    event_init(&event);

    start_thread(&conn1, conn_mysql, NULL, "Thread-1");
    start_thread(&conn2, conn_mysql, NULL, "Thread-2");
    start_thread(&check, check_mysql, NULL, "Thread-3");
    join_thread(conn1); /* Python waits for its threads at exit */
    join_thread(conn2);
    join_thread(check);
    return 0;
}
