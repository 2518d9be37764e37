/* tracer/: the --watch watcher's parts (watch.c, watch_decode.c,
 * watch_futex.c). Not an interface: only these files include it. */
#ifndef TG_TRACER_WATCH_H
#define TG_TRACER_WATCH_H

#include <signal.h>
#include <ucontext.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hb/hb.h"
#include "tracer/internal.h"

#define WATCH_MAX_RANGES 64     /* watched variables */
#define WATCH_MAX_PAGES  64     /* pages they are on */

/* What an instruction does to the memory operand it faulted on. */
enum watch_dir { WATCH_UNKNOWN = 0, WATCH_READ, WATCH_WRITE, WATCH_RMW };

/* Decodes the x86-64 instruction at PC far enough to tell the size of its
 * memory access and whether it reads, writes or both. Returns the size in
 * bytes (0 if the instruction is not one it knows) and sets *dir. */
TG_HIDDEN unsigned tg_watch_decode(const uint8_t *pc, enum watch_dir *dir);

/* The watched pages (watch.c). */
struct watch_page {
    uintptr_t addr;             /* page-aligned */
    int prot;                   /* its protection before we took it away */
};
extern TG_HIDDEN struct watch_page tg_watch_pages[WATCH_MAX_PAGES];
extern TG_HIDDEN unsigned tg_watch_npages;
TG_HIDDEN bool tg_watch_on_page(uintptr_t addr);
/* The lock that serialises everything that opens the pages. */
TG_HIDDEN void tg_watch_lock(void);
TG_HIDDEN void tg_watch_unlock(void);
TG_HIDDEN void tg_watch_open(void);     /* pages readable and writable (lock held) */
TG_HIDDEN void tg_watch_close(void);    /* PROT_NONE again (lock held) */

/* The program's own handler for SIG, which ours chains to (watch.c). */
TG_HIDDEN void tg_watch_chain(int sig, siginfo_t *si, void *uc);
/* Installs our handler for SIG with the real sigaction, keeping the
 * program's current one to chain to. */
TG_HIDDEN int tg_watch_take_signal(int sig, void (*fn)(int, siginfo_t *, void *));

/* Carries out the faulting instruction at UC's pc on the memory at ADDR
 * through /proc/self/mem, if it is one of the simple forms it knows, and
 * moves the pc past it (watch_emul.c). Lock held. */
TG_HIDDEN bool tg_watch_emulate(ucontext_t *uc, uintptr_t addr);
TG_HIDDEN int tg_watch_emul_init(void);
/* Reads SIZE bytes at ADDR whatever the page's protection (false if it
 * cannot: no /proc/self/mem). */
TG_HIDDEN bool tg_watch_peek(uintptr_t addr, void *buf, unsigned size);
TG_HIDDEN void tg_watch_emul_after_fork(void);

/* Stopping every other thread of the process while the pages are open for
 * a single step, and letting them go again (watch_stop.c). Lock held. */
TG_HIDDEN int tg_watch_stop_init(void);
TG_HIDDEN void tg_watch_stop_world(void);
TG_HIDDEN void tg_watch_start_world(void);

/* Futex waits and wakes on watched pages (watch_futex.c): the kernel cannot
 * read a PROT_NONE page, so glibc's futex calls there would fail with
 * EFAULT (and glibc aborts on that); a seccomp filter traps them and they
 * are done on a word of our own instead. Returns 0 or -errno. */
TG_HIDDEN int tg_watch_futex_init(void);

#endif
