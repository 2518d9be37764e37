/* tests/trace: helpers shared by the trace tests. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

static char made[16][32];
static int nmade;

/* The test's temporary directories go when its process ends. */
static void remove_made(void)
{
    for (int i = 0; i < nmade; i++) {
        DIR *d = opendir(made[i]);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char path[PATH_MAX];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", made[i], e->d_name);
            unlink(path);
        }
        if (d)
            closedir(d);
        rmdir(made[i]);
    }
}

void tmp_trace_path(char *buf, size_t len)
{
    char dir[] = "/tmp/tg-trace-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    if (nmade == 0)
        atexit(remove_made);
    if (nmade < 16)
        strcpy(made[nmade++], dir);
    snprintf(buf, len, "%s/t.trace", dir);
}

void ev_list_push(struct ev_list *l, const struct tg_ev *ev)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->ev = realloc(l->ev, l->cap * sizeof *l->ev);
        l->names = realloc(l->names, l->cap * sizeof *l->names);
        cr_assert(l->ev && l->names);
    }
    l->ev[l->n] = *ev;
    l->names[l->n] = ev->str ? strdup(ev->str) : NULL;
    l->ev[l->n].str = l->names[l->n];
    l->ev[l->n].data = NULL;
    l->n++;
}

int read_all(const char *path, struct ev_list *out, struct tg_trace **keep_open)
{
    memset(out, 0, sizeof *out);
    struct tg_trace *t;
    char err[256];
    int rc = tg_trace_open(path, 0, &t, err, sizeof err);
    if (rc < 0)
        return rc;
    struct tg_ev ev;
    int r;
    while ((r = tg_trace_next(t, &ev)) == 1)
        ev_list_push(out, &ev);
    out->end = r;
    if (keep_open)
        *keep_open = t;
    else
        tg_trace_close(t);
    return 0;
}

void ev_list_free(struct ev_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->ev);
    memset(l, 0, sizeof *l);
}

void emit_thread_start(struct tg_stream *s, uint32_t parent, uint64_t routine,
                       uint32_t stack, uint64_t tick)
{
    uint64_t tid = (uint64_t)gettid();
    tg_stream_emit1(s, TG_EV_THREAD_START, 0, (uint64_t)pthread_self(), stack, tick,
                    tid | (uint64_t)parent << 32, routine);
}

void copy_file(const char *from, const char *to, size_t len)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(in >= 0 && out >= 0);
    char buf[65536];
    while (len > 0) {
        ssize_t n = read(in, buf, len < sizeof buf ? len : sizeof buf);
        cr_assert(n > 0);
        cr_assert_eq(write(out, buf, (size_t)n), n);
        len -= (size_t)n;
    }
    close(in);
    close(out);
}

size_t file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return (size_t)st.st_size;
}

uint8_t *map_file(const char *path, int prot, size_t *size)
{
    *size = file_size(path);
    int fd = open(path, prot & PROT_WRITE ? O_RDWR : O_RDONLY);
    cr_assert(fd >= 0);
    uint8_t *m = mmap(NULL, *size, prot, MAP_SHARED, fd, 0);
    cr_assert_neq(m, MAP_FAILED);
    close(fd);                  /* the mapping stays */
    return m;
}

void open_mono(struct tg_writer *w, const char *path)
{
    setenv("TANGLE_CLOCK", "monotonic", 1);
    cr_assert_eq(tg_writer_open(w, path, "test", "test"), 0);
    cr_assert_eq(w->clock, TG_CLOCK_MONOTONIC);
}
