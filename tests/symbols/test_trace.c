/* tg_symbols_new(trace): modules and stacks from a real trace file, written
 * by tracewriter with trace/'s writer, read back with its reader. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "trace/trace.h"

struct site {
    uint32_t process, stack;
    int line;
};

Test(symbols_trace, names_from_a_trace_file)
{
    char path[] = "/tmp/tg-symbols-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    unlink(path);               /* the writer creates it */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' '%s'", TRACEWRITER, path);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    struct site sites[2];
    int nsites = 0;
    uint64_t lock = 0, heap = 0;
    char line[256];
    while (fgets(line, sizeof line, p)) {
        unsigned a, b;
        int l;
        unsigned long long addr;
        if (sscanf(line, "stack %u %u %d", &a, &b, &l) == 3 && nsites < 2)
            sites[nsites++] = (struct site){ a, b, l };
        else if (sscanf(line, "addr traced_lock %llx", &addr) == 1)
            lock = addr;
        else if (sscanf(line, "addr heap %llx", &addr) == 1)
            heap = addr;
    }
    cr_assert_eq(pclose(p), 0, "tracewriter failed");
    cr_assert_eq(nsites, 2);
    cr_assert_neq(sites[0].process, sites[1].process);

    struct tg_trace *t;
    char err[256];
    cr_assert_eq(tg_trace_open(path, 0, &t, err, sizeof err), 0, "%s", err);
    struct tg_symbols *s = tg_symbols_new(t);
    cr_assert(s);
    for (int i = 0; i < 2; i++) {
        const uint64_t *frames;
        uint32_t n;
        cr_assert(tg_trace_stack(t, sites[i].stack, &frames, &n));
        cr_assert_geq(n, 1);
        struct tg_frame f;
        /* The fork child (i = 1) has no module records of its own. */
        cr_assert(tg_symbols_frame(s, sites[i].process, frames[0], &f), "process %u",
                  sites[i].process);
        cr_assert_str_eq(f.function, "main");
        cr_assert_str_eq(f.file, "tracewriter.c");
        cr_assert_eq(f.line, sites[i].line);
    }
    char buf[256], want[256];
    cr_assert_str_eq(tg_symbols_object_name(s, sites[0].process, lock, "mutex", 0, false, buf,
                                            sizeof buf), "traced_lock");
    snprintf(want, sizeof want, "mutex initialised at main tracewriter.c:%d", sites[0].line);
    cr_assert_str_eq(tg_symbols_object_name(s, sites[0].process, heap, "mutex", sites[0].stack,
                                            false, buf, sizeof buf), want);
    tg_symbols_free(s);
    tg_trace_close(t);
    unlink(path);
}
