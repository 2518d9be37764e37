/* tracer/: `tangle run --watch VAR[,VAR...]` — watchpoints by page
 * protection, for programs that were not rebuilt with `tangle cc`.
 *
 * TANGLE_WATCH lists global variables (names from the main executable's
 * symbol table, .symtab then .dynsym) or ADDRESS:LENGTH ranges. Their pages
 * lose every permission. An access to one faults (SIGSEGV); the handler,
 * under one process-wide lock:
 *   1. if the address is inside a watched range, records a WATCH_ACCESS
 *      event: the address, the size and direction decoded from the
 *      instruction (watch_decode.c; the fault's error code as a fallback),
 *      the pc and the stack;
 *   2. carries the instruction out itself if it can (watch_emul.c), else
 *      stops the other threads, gives the pages their permissions back and
 *      sets the trap flag, so the instruction runs once and traps (SIGTRAP);
 * and the SIGTRAP handler takes the permissions away again, lets the
 * other threads go and lets the lock go. Faults that are not on a watched
 * page go to the program's own handler (or the default action), and so do
 * SIGTRAPs that are not ours;
 * sigaction()/signal() calls for SIGSEGV, SIGTRAP and SIGSYS are kept as the
 * program's handlers to chain to instead of replacing ours.
 *
 * Names: a symbol's value plus the load bias of the main program, which
 * dl_iterate_phdr reports first (0 for a non-PIE executable, the base it
 * was mapped at for a PIE one).
 *
 * Most instructions are carried out by the handler without opening the
 * pages (watch_emul.c); for the rest, every other thread is stopped while
 * the pages are open (watch_stop.c), so no access slips by unseen.
 *
 * TANGLE_WATCH_STEP=1 single-steps every access (no emulation): for tests
 * of the stepping path.
 *
 * Limits (docs/races.md): every access to anything else on those pages
 * faults and is carried out the same way; a system call that reads or
 * writes a watched page fails with
 * EFAULT (futex waits and wakes are handled, watch_futex.c).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "tracer/symbols_plugin.h"
#include "tracer/watch.h"

#define TRAP_FLAG 0x100ull
#define PF_WRITE  2ull          /* page-fault error code: the access was a write */
#define WATCH_FRAMES 32
#define STACK_CACHE 1024u

struct range { uintptr_t addr; size_t len; };

static struct range ranges[WATCH_MAX_RANGES];
static unsigned nranges;
struct watch_page tg_watch_pages[WATCH_MAX_PAGES];
unsigned tg_watch_npages;
static uintptr_t page_size;
static int active;
static bool step_all;           /* TANGLE_WATCH_STEP: never emulate */

static tg_hb_spin lock;
static TG_TLS int stepping;     /* this thread holds the lock with the pages open */

/* ---- the program's own handlers */

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static struct sigaction program_action[NSIG];
static bool taken[NSIG];

static void resolve_sigaction(void)
{
    if (real_sigaction == NULL)
        real_sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))
                         dlsym(RTLD_NEXT, "sigaction");
}

int tg_watch_take_signal(int sig, void (*fn)(int, siginfo_t *, void *))
{
    resolve_sigaction();
    if (real_sigaction == NULL)
        return -ENOSYS;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (real_sigaction(sig, &sa, &program_action[sig]) != 0)
        return -errno;
    taken[sig] = true;
    return 0;
}

void tg_watch_chain(int sig, siginfo_t *si, void *uc)
{
    struct sigaction *pa = &program_action[sig];
    if (pa->sa_flags & SA_SIGINFO) {
        if (pa->sa_sigaction != NULL) {
            pa->sa_sigaction(sig, si, uc);
            return;
        }
    } else if (pa->sa_handler == SIG_IGN) {
        return;
    } else if (pa->sa_handler != SIG_DFL) {
        pa->sa_handler(sig);
        return;
    }
    /* the default action: let it happen as if we were not here (a fault
     * re-executes and faults again; a trap is raised again once we return) */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    real_sigaction(sig, &dfl, NULL);
    taken[sig] = false;
    if (si->si_code <= 0 || sig != SIGSEGV)
        raise(sig);
}

/* Interposed: the program asks for a handler of a signal the watcher
 * needs; it becomes the handler ours chains to. */
TG_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    resolve_sigaction();
    if (sig > 0 && sig < NSIG && __atomic_load_n(&taken[sig], __ATOMIC_ACQUIRE)) {
        if (old != NULL)
            *old = program_action[sig];
        if (act != NULL)
            program_action[sig] = *act;
        return 0;
    }
    if (real_sigaction == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real_sigaction(sig, act, old);
}

TG_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

/* ---- pages */

bool tg_watch_on_page(uintptr_t addr)
{
    uintptr_t page = addr & ~(page_size - 1);
    for (unsigned i = 0; i < tg_watch_npages; i++)
        if (tg_watch_pages[i].addr == page)
            return true;
    return false;
}

void tg_watch_lock(void) { tg_hb_spin_lock(&lock); }
void tg_watch_unlock(void) { tg_hb_spin_unlock(&lock); }

void tg_watch_open(void)
{
    for (unsigned i = 0; i < tg_watch_npages; i++)
        mprotect((void *)tg_watch_pages[i].addr, page_size, tg_watch_pages[i].prot);
}

void tg_watch_close(void)
{
    for (unsigned i = 0; i < tg_watch_npages; i++)
        mprotect((void *)tg_watch_pages[i].addr, page_size, PROT_NONE);
}

static const struct range *watched(uintptr_t addr)
{
    for (unsigned i = 0; i < nranges; i++)
        if (addr - ranges[i].addr < ranges[i].len)
            return &ranges[i];
    return NULL;
}

/* ---- recording an access */

struct stack_slot { uint64_t key; uint32_t id; };
static struct stack_slot stack_cache[STACK_CACHE];    /* under the lock */

/* A key for the stack of the faulting instruction, cheap enough for every
 * access: its pc and the return addresses up the frame-pointer chain from
 * the context's rbp, while it stays inside the thread's stack (code
 * without frame pointers ends the chain early, as for the hooks). */
static uint64_t chain_key(const struct tg_thread *t, const ucontext_t *uc, uint64_t pc)
{
    uint64_t h = (0xcbf29ce484222325ull ^ pc) * 0x100000001b3ull;
    uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    for (unsigned i = 0; i < tg_g.depth; i++) {
        if (fp < t->stack_lo || fp > t->stack_top || (fp & 7) != 0)
            break;
        const uintptr_t *frame = (const uintptr_t *)fp;
        h = (h ^ frame[1]) * 0x100000001b3ull;
        if (frame[0] <= fp)
            break;
        fp = frame[0];
    }
    return h | 1;
}

/* The stack of the faulting instruction: its pc (+1, so that symbolising
 * it as a return address finds this instruction's line), then its callers
 * unwound from the signal context (libunwind, on a cache miss only). */
static uint32_t access_stack(const struct tg_thread *t, ucontext_t *uc, uint64_t pc)
{
    uint64_t key = chain_key(t, uc, pc);
    struct stack_slot *slot = &stack_cache[(key >> 11) & (STACK_CACHE - 1)];
    if (slot->key == key)
        return slot->id;
    uint64_t frames[WATCH_FRAMES];
    uint32_t n = 0;
    frames[n++] = pc + 1;
    unw_cursor_t cursor;
    if (unw_init_local2(&cursor, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) == 0) {
        while (n < WATCH_FRAMES && n < tg_g.depth && unw_step(&cursor) > 0) {
            unw_word_t ip;
            if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0)
                break;
            frames[n++] = ip;
        }
    }
    tg_gate_enter();
    uint32_t id = tg_writer_stack(&tg_g.w, frames, n);
    tg_gate_leave();
    slot->key = key;            /* a failure too: retrying every access would crawl */
    slot->id = id;
    return id;
}

static void record(ucontext_t *uc, uintptr_t addr, const struct range *r)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return;                 /* untraced thread, or inside tangle itself */
    tg_busy(t);
    int saved = errno;
    uint64_t pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    enum watch_dir dir;
    unsigned size = tg_watch_decode((const uint8_t *)pc, &dir);
    if (size == 0) {
        size_t left = r->addr + r->len - addr;
        size = left < 8 ? (unsigned)left : 8;
    }
    bool write = dir == WATCH_WRITE || dir == WATCH_RMW ||
                 (dir == WATCH_UNKNOWN && (uc->uc_mcontext.gregs[REG_ERR] & PF_WRITE));
    uint32_t stack = access_stack(t, uc, pc);
    tg_emit1(t, TG_EV_WATCH_ACCESS, (size & 0x7fu) | (write ? TG_ACCESS_WRITE : 0),
             addr, stack, tg_now(), pc, 0);
    errno = saved;
    tg_idle(t);
}

/* ---- the handlers */

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    uintptr_t addr = (uintptr_t)si->si_addr;
    if (si->si_code != SEGV_ACCERR || !tg_watch_on_page(addr)) {
        tg_watch_chain(sig, si, ctx);
        return;
    }
    int saved = errno;
    bool nested = stepping;     /* a second page of the instruction being stepped */
    if (!nested)
        tg_watch_lock();
    const struct range *r = watched(addr);
    if (r != NULL && !nested)
        record(uc, addr, r);
    if (!nested && !step_all && tg_watch_emulate(uc, addr)) {
        tg_watch_unlock();      /* done without opening the pages */
        errno = saved;
        return;
    }
    if (!nested)
        tg_watch_stop_world();  /* nobody else runs while the pages are open */
    stepping = 1;
    tg_watch_open();
    uc->uc_mcontext.gregs[REG_EFL] |= TRAP_FLAG;
    errno = saved;
}

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    if (!stepping) {
        tg_watch_chain(sig, si, ctx);
        return;
    }
    int saved = errno;
    tg_watch_close();
    tg_watch_start_world();
    uc->uc_mcontext.gregs[REG_EFL] &= ~TRAP_FLAG;
    stepping = 0;
    tg_watch_unlock();
    errno = saved;
}

/* fork: the child must not inherit the lock held by a thread it does not have */
static void before_fork(void) { tg_watch_lock(); }
static void after_fork(void) { tg_watch_unlock(); }
static void after_fork_child(void)
{
    tg_watch_emul_after_fork();
    tg_watch_unlock();
}

/* ---- TANGLE_WATCH */

static void complain(const char *fmt, const char *what)
{
    char line[512];
    int n = snprintf(line, sizeof line, fmt, what);
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)w;
    }
}

static int main_bias(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(uintptr_t *)data = info->dlpi_addr;
    return 1;                   /* the first entry is the main program */
}

static bool add_range(uintptr_t addr, size_t len, const char *item)
{
    if (nranges == WATCH_MAX_RANGES || len == 0) {
        complain("tangle: --watch: cannot watch '%s' (too many, or empty)\n", item);
        return false;
    }
    ranges[nranges++] = (struct range){ addr, len };
    for (uintptr_t p = addr & ~(page_size - 1); p < addr + len; p += page_size) {
        if (tg_watch_on_page(p))
            continue;
        if (tg_watch_npages == WATCH_MAX_PAGES) {
            complain("tangle: --watch: '%s' spans too many pages\n", item);
            return false;
        }
        tg_watch_pages[tg_watch_npages++] = (struct watch_page){ p, PROT_READ | PROT_WRITE };
    }
    return true;
}

/* The protection a page has now, from /proc/self/maps (so read-only data
 * stays read-only between steps). */
static int page_prot(uintptr_t page)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    int prot = PROT_READ | PROT_WRITE;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && page >= lo && page < hi) {
            prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
                   (perms[2] == 'x' ? PROT_EXEC : 0);
            break;
        }
    }
    if (f != NULL)
        fclose(f);
    return prot;
}

static void parse(char *list)
{
    uintptr_t bias = 0;
    dl_iterate_phdr(main_bias, &bias);
    const struct tg_symbols_plugin *symbols = NULL;
    char *save = NULL;
    for (char *item = strtok_r(list, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        char *colon = strchr(item, ':'), *end;
        if (colon != NULL) {
            *colon = '\0';
            unsigned long long addr = strtoull(item, &end, 0);
            bool ok = *item && *end == '\0';
            unsigned long long len = strtoull(colon + 1, &end, 0);
            *colon = ':';
            if (!ok || *end != '\0' || colon[1] == '\0') {
                complain("tangle: --watch: '%s' is not ADDRESS:LENGTH\n", item);
                continue;
            }
            add_range((uintptr_t)addr, (size_t)len, item);
            continue;
        }
        if (symbols == NULL && (symbols = tg_symbols_plugin()) == NULL) {
            complain("tangle: --watch: cannot look '%s' up: " TG_SYMBOLS_PLUGIN_FILE
                     " cannot be loaded\n", item);
            continue;
        }
        uint64_t value;
        size_t len;
        if (!symbols->global("/proc/self/exe", item, &value, &len)) {
            complain("tangle: --watch: no global variable '%s' in the program's symbol table\n", item);
            continue;
        }
        add_range((uintptr_t)value + bias, len, item);
    }
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunknown-warning-option"
#pragma GCC diagnostic ignored "-Wprio-ctor-dtor"
/* After the tracer's constructor (101): the trace must be open. */
__attribute__((constructor(102)))
static void watch_init(void)
{
    const char *env = getenv("TANGLE_WATCH");
    if (env == NULL || env[0] == '\0' || !tg_tracer_active())
        return;
    page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    const char *step = getenv("TANGLE_WATCH_STEP");
    step_all = step != NULL && step[0] != '\0' && strcmp(step, "0") != 0;
    char *list = strdup(env);
    if (list == NULL)
        return;
    parse(list);
    free(list);
    if (tg_watch_npages == 0)
        return;
    for (unsigned i = 0; i < tg_watch_npages; i++)
        tg_watch_pages[i].prot = page_prot(tg_watch_pages[i].addr);
    if (tg_watch_take_signal(SIGSEGV, on_segv) != 0 || tg_watch_take_signal(SIGTRAP, on_trap) != 0) {
        complain("tangle: --watch: %s\n", "cannot install the signal handlers");
        return;
    }
    if (tg_watch_stop_init() < 0)
        complain("tangle: --watch: %s\n", "no signal to stop threads with: accesses during a single step may be missed");
    int err = tg_watch_futex_init();
    if (err < 0)
        complain("tangle: --watch: futex calls on watched pages will fail (%s)\n", strerror(-err));
    if (tg_watch_emul_init() < 0)
        complain("tangle: --watch: %s\n", "no /proc/self/mem: every access is single-stepped");
    pthread_atfork(before_fork, after_fork, after_fork_child);
    tg_writer_add_features(&tg_g.w, TG_FEAT_WATCH);
    active = 1;
    tg_watch_close();
}
#pragma GCC diagnostic pop
