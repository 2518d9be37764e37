/* trace/: clocks shared by the writer (ticks, calibration) and the reader
 * (follow mode reads the writer's clock itself when on the same boot). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trace/internal.h"
#include "trace/writer.h"

const uint8_t tg_event_slots[TG_EV_COUNT] = {
#define X(name, slots, doc) [TG_EV_##name] = (slots),
#include "trace/events.def"
#undef X
};

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tg_mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t tg_real_ns(void) { return clock_ns(CLOCK_REALTIME); }

void tg_calib_pair(uint32_t clock, uint64_t *tick, uint64_t *mono_ns)
{
    if (clock != TG_CLOCK_TSC) {
        *tick = *mono_ns = tg_mono_ns();
        return;
    }
    uint64_t before = tg_tick(clock);
    uint64_t ns = tg_mono_ns();
    uint64_t after = tg_tick(clock);
    *tick = before + (after - before) / 2;
    *mono_ns = ns;
}

/* Reads up to LEN-1 bytes of a small /proc file into BUF, NUL-terminated. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

#if defined(__x86_64__)
static bool has_word(const char *line, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = strstr(line, word); p; p = strstr(p + 1, word))
        if (p[-1] == ' ' && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}
#endif

/* True if the first "flags" line of /proc/cpuinfo lists both words: the
 * TSC then ticks at one rate on every core and keeps ticking in deep
 * sleep, so its values order events across threads. */
static bool cpu_has_invariant_tsc(void)
{
#if defined(__x86_64__)
    char buf[16384];
    if (read_small("/proc/cpuinfo", buf, sizeof buf) <= 0)
        return false;
    char *line = strstr(buf, "\nflags");
    if (line == NULL)
        return false;
    char *eol = strchr(line + 1, '\n');
    if (eol == NULL)
        return false;               /* cut off: do not guess */
    *eol = '\0';
    return has_word(line, "constant_tsc") && has_word(line, "nonstop_tsc");
#else
    return false;
#endif
}

uint32_t tg_clock_choose(void)
{
    const char *force = getenv("TANGLE_CLOCK");
    if (force && strcmp(force, "monotonic") == 0)
        return TG_CLOCK_MONOTONIC;
#if defined(__x86_64__)
    if (force && strcmp(force, "tsc") == 0)
        return TG_CLOCK_TSC;
#endif
    return cpu_has_invariant_tsc() ? TG_CLOCK_TSC : TG_CLOCK_MONOTONIC;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int tg_boot_id(uint8_t id[16])
{
    char buf[64];
    ssize_t n = read_small("/proc/sys/kernel/random/boot_id", buf, sizeof buf);
    if (n < 0)
        return (int)n;
    int k = 0;
    for (const char *p = buf; *p && k < 32; p++) {
        int v = hexval(*p);
        if (v < 0)
            continue;                /* dashes */
        if (k % 2 == 0)
            id[k / 2] = (uint8_t)(v << 4);
        else
            id[k / 2] |= (uint8_t)v;
        k++;
    }
    return k == 32 ? 0 : -EINVAL;
}
