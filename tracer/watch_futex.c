/* tracer/: futex calls on watched pages.
 *
 * A mutex, condition variable or semaphore often sits on the same page as
 * a watched variable (globals are packed together). When such an object is
 * contended glibc calls futex(FUTEX_WAIT) on it; the kernel must read the
 * futex word, cannot (the page is PROT_NONE), returns EFAULT, and glibc
 * aborts ("The futex facility returned an unexpected error code").
 *
 * So a seccomp filter traps (SIGSYS) the futex waits and wakes that name a
 * watched page and come from libc's code. The handler does them on an
 * eventcount of our own instead: a wait reads the sequence number of the
 * address's bucket, compares the futex word (read under the watch lock
 * through /proc/self/mem, the page left closed) and sleeps on the sequence
 * number; a wake bumps the number and wakes its sleepers. Waking too many
 * is allowed by the futex contract (callers re-check their word), and the
 * check-then-sleep cannot lose a wake: a waker changes the word before it
 * bumps the number, and a waiter reads the number before the word.
 *
 * Other futex operations on watched pages (requeue, PI locks) and other
 * system calls that touch them still fail with EFAULT (docs/races.md).
 *
 * The filter needs no_new_privs unless the process has CAP_SYS_ADMIN; it
 * sets it (it only stops exec from gaining privileges). A filter outlives
 * exec: there, the call comes from a new libc at another address and is
 * not trapped, and if it is (same addresses without ASLR) the new image's
 * tangle reissues it with a marker argument the filter lets through.
 */
#include <dlfcn.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <link.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "tracer/watch.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1           /* si_code of a seccomp trap (asm-generic/siginfo.h) */
#endif
#define BUCKETS 256u
#define MARKER  0x74616e676c65ull  /* "tangle" in arg 4: let it through */
#define TRAP_DATA 0x7467u          /* SECCOMP_RET_DATA of our traps */
#define MAX_INSNS 512

static uint32_t buckets[BUCKETS];

static uint32_t *bucket(uintptr_t uaddr)
{
    return &buckets[((uaddr >> 2) * 0x9e3779b1u) % BUCKETS];
}

static long sys_futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts,
                      uint64_t uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

/* Reads the futex word on a watched page: through /proc/self/mem, or with
 * the page opened for that moment and every other thread stopped. Every
 * write to the word faults and waits for the lock we hold. */
static uint32_t word(uintptr_t uaddr)
{
    uint32_t v;
    tg_watch_lock();
    if (!tg_watch_peek(uaddr, &v, sizeof v)) {
        tg_watch_stop_world();
        tg_watch_open();
        v = __atomic_load_n((uint32_t *)uaddr, __ATOMIC_SEQ_CST);
        tg_watch_close();
        tg_watch_start_world();
    }
    tg_watch_unlock();
    return v;
}

static long emulate(uintptr_t uaddr, int op, uint32_t val, const struct timespec *ts)
{
    int cmd = op & FUTEX_CMD_MASK;
    uint32_t *b = bucket(uaddr);
    int flags = FUTEX_PRIVATE_FLAG | (op & FUTEX_CLOCK_REALTIME);
    if (cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET) {
        __atomic_add_fetch(b, 1, __ATOMIC_SEQ_CST);
        long n = sys_futex(b, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT32_MAX, NULL, 0, 0);
        return n < 0 ? -errno : n > (long)val ? (long)val : n;
    }
    uint32_t seq = __atomic_load_n(b, __ATOMIC_SEQ_CST);
    if (word(uaddr) != val)
        return -EAGAIN;
    long r = cmd == FUTEX_WAIT_BITSET
           ? sys_futex(b, FUTEX_WAIT_BITSET | flags, seq, ts, 0, FUTEX_BITSET_MATCH_ANY)
           : sys_futex(b, FUTEX_WAIT | flags, seq, ts, 0, 0);
    if (r < 0 && errno == EAGAIN)
        return 0;               /* woken before it slept: a wake as good as any */
    return r < 0 ? -errno : 0;
}

static void on_sys(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    if (si->si_code != SYS_SECCOMP || si->si_errno != TRAP_DATA || si->si_syscall != SYS_futex) {
        tg_watch_chain(sig, si, ctx);
        return;
    }
    int saved = errno;
    uintptr_t uaddr = (uintptr_t)g[REG_RDI];
    int op = (int)g[REG_RSI];
    uint32_t val = (uint32_t)g[REG_RDX];
    const struct timespec *ts = (const struct timespec *)g[REG_R10];
    long r;
    if (tg_watch_on_page(uaddr)) {
        r = emulate(uaddr, op, val, ts);
    } else {
        /* another image's filter (we were exec'd): do it as asked */
        r = sys_futex((uint32_t *)uaddr, op, val, ts, MARKER, (uint32_t)g[REG_R9]);
        if (r < 0)
            r = -errno;
    }
    g[REG_RAX] = r;
    errno = saved;
}

/* libc's code: where the futex calls to trap come from. */
struct text { uintptr_t fn, lo, hi; };

static int find_text(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct text *t = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && t->fn - lo < ph->p_memsz) {
            t->lo = lo;
            t->hi = lo + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

#define STMT(code, k) (struct sock_filter)BPF_STMT((code), (k))
#define ARG_LO(n) (uint32_t)(offsetof(struct seccomp_data, args) + (n) * 8)
#define ARG_HI(n) (ARG_LO(n) + 4)
#define IP_LO (uint32_t)offsetof(struct seccomp_data, instruction_pointer)
#define IP_HI (IP_LO + 4)

/* The filter being built; jumps name their targets by index (BPF jumps
 * are forward only, at most 255 instructions). */
struct prog {
    struct sock_filter f[256];
    unsigned n;
};

static void ld(struct prog *p, uint32_t off)
{
    p->f[p->n++] = STMT(BPF_LD | BPF_W | BPF_ABS, off);
}

static void jump(struct prog *p, uint16_t op, uint32_t k, unsigned jt, unsigned jf)
{
    unsigned here = p->n + 1;
    p->f[p->n++] = (struct sock_filter){ (uint16_t)(BPF_JMP | op | BPF_K),
                                         (uint8_t)(jt - here), (uint8_t)(jf - here), k };
}

int tg_watch_futex_init(void)
{
    struct text libc = { (uintptr_t)dlsym(RTLD_DEFAULT, "syscall"), 0, 0 };
    if (libc.fn == 0)
        return -ENOENT;
    dl_iterate_phdr(find_text, &libc);
    if (libc.lo == 0 || (libc.lo >> 32) != ((libc.hi - 1) >> 32))
        return -ENOTSUP;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    unsigned npages = tg_watch_npages;
    /* trap: nr is futex, the command a wait or wake, no marker, called from
     * libc, on a watched page */
    const unsigned head = 17, per_page = 5;
    if (head + per_page * npages + 2 > 255)
        return -E2BIG;
    const unsigned allow = head + per_page * npages, trap = allow + 1;
    struct prog p = { .n = 0 };
    ld(&p, (uint32_t)offsetof(struct seccomp_data, arch));
    jump(&p, BPF_JEQ, AUDIT_ARCH_X86_64, p.n + 1, allow);
    ld(&p, (uint32_t)offsetof(struct seccomp_data, nr));
    jump(&p, BPF_JEQ, SYS_futex, p.n + 1, allow);
    ld(&p, ARG_LO(1));
    p.f[p.n++] = STMT(BPF_ALU | BPF_AND | BPF_K, FUTEX_CMD_MASK);
    const unsigned cmd_ok = 10;
    jump(&p, BPF_JEQ, FUTEX_WAIT, cmd_ok, p.n + 1);
    jump(&p, BPF_JEQ, FUTEX_WAKE, cmd_ok, p.n + 1);
    jump(&p, BPF_JEQ, FUTEX_WAIT_BITSET, cmd_ok, p.n + 1);
    jump(&p, BPF_JEQ, FUTEX_WAKE_BITSET, cmd_ok, allow);
    ld(&p, ARG_LO(4));
    jump(&p, BPF_JEQ, (uint32_t)MARKER, allow, p.n + 1);
    ld(&p, IP_HI);
    jump(&p, BPF_JEQ, (uint32_t)(libc.lo >> 32), p.n + 1, allow);
    ld(&p, IP_LO);
    jump(&p, BPF_JGE, (uint32_t)libc.lo, p.n + 1, allow);
    jump(&p, BPF_JGE, (uint32_t)libc.hi, allow, p.n + 1);
    for (unsigned i = 0; i < npages; i++) {
        uint64_t lo = tg_watch_pages[i].addr, next = head + per_page * (i + 1);
        ld(&p, ARG_HI(0));
        jump(&p, BPF_JEQ, (uint32_t)(lo >> 32), p.n + 1, (unsigned)next);
        ld(&p, ARG_LO(0));
        jump(&p, BPF_JGE, (uint32_t)lo, p.n + 1, (unsigned)next);
        if ((uint32_t)(lo + page) == 0)         /* the page ends a 4 GiB window */
            jump(&p, BPF_JEQ, 0, trap, trap);
        else
            jump(&p, BPF_JGE, (uint32_t)(lo + page), (unsigned)next, trap);
    }
    p.f[p.n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    p.f[p.n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | TRAP_DATA);

    int err = tg_watch_take_signal(SIGSYS, on_sys);
    if (err < 0)
        return err;
    struct sock_fprog prog = { .len = (unsigned short)p.n, .filter = p.f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
        return -errno;
    return 0;
}
