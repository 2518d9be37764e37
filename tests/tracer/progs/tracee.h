/* tests/tracer/progs/: what the tracee's files share. */
#ifndef TG_TEST_TRACEE_H
#define TG_TEST_TRACEE_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond) \
    do { if (!(cond)) { fprintf(stderr, "tracee: %s:%d: %s\n", __FILE__, __LINE__, #cond); exit(99); } } while (0)

extern pthread_mutex_t m;
extern pthread_cond_t cv;

/* tracee_process.c */
int mode_fork(void);
int mode_exec(const char *self);
int mode_exec_target(void);
int mode_exec_fail(void);
int mode_errno(void);
int mode_exit(const char *how, int code);
int mode_kill(int pairs);
int mode_many_locks(long pairs);
int mode_stdout(void);
int mode_main_exits_first(long pairs);
int mode_main_exits_then_loads(void);
int mode_signals(long pairs);
int mode_fork_storm(int forks);
int mode_vfork(void);

#endif
