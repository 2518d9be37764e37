/* symbols/: turning addresses from a trace into names a person reads.
 *
 * Code addresses become `function file:line` (elfutils libdw, DWARF line
 * tables; ELF symbol tables when there is no debug info). Data addresses
 * become variable names: a global by its symbol (`mutexA`), a member or
 * element of a global with the path the debug info gives (`fork_[3]`,
 * `pool.lock`). Works after the program is gone: modules come from the
 * trace's module map, files are opened from disk.
 *
 * Used by cli (dump, reports), detectors' renderers and the TUI. Lookups are
 * cached; the strings returned stay valid until tg_symbols_free.
 */
#ifndef TG_SYMBOLS_H
#define TG_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/trace.h"

struct tg_trace;
struct tg_symbols;

struct tg_frame {
    uint64_t pc;                /* the address asked for */
    const char *function;       /* "func" or NULL if unknown */
    const char *file;           /* source file (basename-relative as in DWARF) or NULL */
    int line;                   /* 0 if unknown */
    const char *module;         /* module path or NULL */
    uint64_t offset;            /* pc - module base */
    /* Added after the first version: */
    uint64_t fn_offset;         /* pc - start of the ELF symbol, when known */
    bool has_fn_offset;
    const char *inlined_into;   /* pc is in code inlined into this function, or NULL */
    const char *call_file;      /* where inlined_into calls function */
    int call_line;
};

/* Lookups are not thread-safe: one tg_symbols per thread, or a lock around it.
 * Returns NULL when out of memory. Works without a trace reader too: */
struct tg_symbols *tg_symbols_new(struct tg_trace *t);
void tg_symbols_free(struct tg_symbols *s);

/* Where modules and stacks come from. tg_symbols_new(t) reads them from the
 * trace; tests and tools without a trace give their own. MODULES returns the
 * modules mapped in PROCESS: its own records, oldest first, then those
 * inherited from its parent, its grandparent... (as tg_trace_modules does);
 * it may return more on a later call (a live trace grows). STACK may be NULL. */
struct tg_symbols_source {
    void *ctx;
    size_t (*modules)(void *ctx, uint32_t process, const struct tg_module_info **mods);
    bool (*stack)(void *ctx, uint32_t id, const uint64_t **frames, uint32_t *nframes);
};
struct tg_symbols *tg_symbols_new_source(const struct tg_symbols_source *src);

/* A fixed module list, copied: each entry belongs to mods[i].process. No
 * stacks (tg_symbols_object_name then names by address). */
struct tg_symbols *tg_symbols_new_modules(const struct tg_module_info *mods, size_t n);

/* A return address from a stack (frames[] of a STACK record): looks up
 * pc - 1 so the line is the call's, and reports pc as given. Returns false
 * if the address is in no known module (out->function etc. NULL). */
bool tg_symbols_frame(struct tg_symbols *s, uint32_t process, uint64_t ret_addr,
                      struct tg_frame *out);

/* The same for an address that is not a return address (a function entry
 * such as a thread's start routine, an instruction pointer): looks up PC. */
bool tg_symbols_pc(struct tg_symbols *s, uint32_t process, uint64_t pc,
                   struct tg_frame *out);

/* A return address expanded into its inlined frames, innermost first, the
 * way TSan and gdb show them: out[0] is the inlined code at the call, the
 * last is the function the compiler emitted. Each but the last has
 * inlined_into set. Returns how many frames there are (may exceed MAX; only
 * MAX are written), 0 if the address is in no known module. */
size_t tg_symbols_frames(struct tg_symbols *s, uint32_t process, uint64_t ret_addr,
                         struct tg_frame *out, size_t max);

/* Formats a frame as a person reads it: "func file:line" (plus " (inlined
 * into caller file:line)"), "func+0x1c (libfoo.so)", "0x7f... (libfoo.so+0x1c40)"
 * or "0x7f...". File names are the shortest path suffix that is unique
 * among the module's source files (docs/symbols.md). Returns buf. */
const char *tg_symbols_format_frame(const struct tg_frame *f, char *buf, size_t len);

/* Names a data address: "mutexA", "fork_[3]", "pool.lock", "counter+0x8",
 * "main::count" (a static local). With debug info the path descends
 * through structs and arrays to a scalar or a union (pthread_mutex_t is one);
 * without, it is the covering ELF symbol plus an offset. TYPE (optional)
 * gets the C type of what was named ("pthread_mutex_t", "int"), "" if
 * unknown. Returns false if no global covers the address (heap, stack,
 * thread-locals). */
bool tg_symbols_data(struct tg_symbols *s, uint32_t process, uint64_t addr,
                     char *name, size_t namelen, char *type, size_t typelen);

/* The name reports use for a sync object: its global name if it has one,
 * otherwise "<what> initialised at func file:line" from SITE_STACK (the
 * stack of its init, or first use: say which with FIRST_USE, which reads
 * "first locked at" for locks and "first used at" for other WHATs), else
 * "<what> 0x7f...". The site is the first frame with a source line. */
const char *tg_symbols_object_name(struct tg_symbols *s, uint32_t process,
                                   uint64_t addr, const char *what,
                                   uint32_t site_stack, bool first_use,
                                   char *buf, size_t len);

#endif
