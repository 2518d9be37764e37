/* symbols/ internals shared by the module's files; not for other folders.
 *
 * A tg_symbols holds per-process module maps (copied from the source) and one
 * symfile per distinct ELF path. Everything learnt from an ELF file is keyed
 * by its link-time address (vaddr = runtime address - load bias), so processes
 * that map the same file share its parse and its caches.
 *
 * Functions here are not static (they cross files) so they carry the module
 * prefix: the cli links every module's static library into one binary.
 */
#ifndef TG_SYMBOLS_INTERNAL_H
#define TG_SYMBOLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdw.h>

#include "util/u64map.h"

/* Bump allocator: strings and small records live until the symbols go. */
struct arena {
    struct arena_block *blocks;
    size_t left;
    char *next;
};
void *tg_symbols_arena_alloc(struct arena *a, size_t size);
char *tg_symbols_arena_strdup(struct arena *a, const char *s);
char *tg_symbols_arena_strndup(struct arena *a, const char *s, size_t n);
void tg_symbols_arena_free(struct arena *a);


/* Grows *items (of SIZE bytes each) to hold at least NEED; false when out
 * of memory (the array is untouched then). */
bool tg_symbols_grow_array(void *items, size_t *cap, size_t need, size_t size);

/* One level of a code location: innermost inlined function first. */
struct code_level {
    const char *function;       /* NULL if unknown */
    const char *file;           /* short name, NULL if unknown */
    int line;
};

struct code_info {
    bool has_symbol;
    uint64_t sym_start;         /* vaddr where the ELF symbol starts */
    uint32_t nlevels;           /* >= 1 */
    struct code_level *levels;
};

struct symfile;

/* NULL only when out of memory; a file that cannot be read gives a symfile
 * that knows nothing. */
struct symfile *tg_symbols_symfile_open(const char *path);
void tg_symbols_symfile_close(struct symfile *f);

/* The code at VADDR (already pc - 1 for return addresses). Cached; the
 * result lives as long as F. NULL when nothing is known. */
const struct code_info *tg_symbols_symfile_code(struct symfile *f, uint64_t vaddr);

/* The global variable covering VADDR; see tg_symbols_data. When only the
 * ELF symbol table knew it and the symbol is global, *SYMBOL (if given) is
 * set to the symbol's name and *SYMOFF to VADDR's offset in it, else
 * *SYMBOL is NULL. */
bool tg_symbols_symfile_data(struct symfile *f, uint64_t vaddr, char *name,
                             size_t namelen, char *type, size_t typelen,
                             const char **symbol, uint64_t *symoff);

/* Names OFF bytes into the global SYMBOL by F's debug info, if F declares
 * or exports it. */
bool tg_symbols_symfile_named(struct symfile *f, const char *symbol, uint64_t off,
                              char *name, size_t namelen, char *type, size_t typelen);


/* Short, unambiguous source file names (srcnames.c): FULL as libdw gives it
 * becomes the shortest suffix unique among all source files of DW. */
struct srcnames;
struct srcnames *tg_symbols_srcnames_new(Dwarf *dw, struct arena *a);
/* FULL as libdw gives it for a file of CUDIE's line table or file list. */
const char *tg_symbols_srcnames_get(struct srcnames *n, Dwarf_Die *cudie, const char *full);
void tg_symbols_srcnames_free(struct srcnames *n);

/* Variable index (datavars.c). */
struct datavars;
struct datavars *tg_symbols_datavars_new(Dwarf *dw, uint64_t bias);
bool tg_symbols_datavars_lookup(struct datavars *v, uint64_t vaddr, char *name,
                                size_t namelen, char *type, size_t typelen);
/* Names OFF bytes into SYMBOL (found in an ELF symbol table) by a global
 * declared or exported under that name: for copy relocations. */
bool tg_symbols_datavars_named(struct datavars *v, const char *symbol, uint64_t off,
                               char *name, size_t namelen, char *type, size_t typelen);
void tg_symbols_datavars_free(struct datavars *v);

/* Function scopes of a CU by address (scopes.c). */
struct scope_node {
    Dwarf_Die die;              /* DW_TAG_subprogram or DW_TAG_inlined_subroutine */
    int32_t parent;             /* the node it is inside, -1 at the top */
    uint32_t first_range, nranges;
};
struct cuscopes;
struct cuscopes *tg_symbols_cuscopes_new(Dwarf_Die *cudie);
/* The innermost node holding ADDR (in the Dwarf's address space), or -1. */
int32_t tg_symbols_cuscopes_find(const struct cuscopes *c, Dwarf_Addr addr);
const struct scope_node *tg_symbols_cuscopes_node(const struct cuscopes *c, int32_t index);
void tg_symbols_cuscopes_free(struct cuscopes *c);

/* Copies at most LEN - 1 bytes and terminates; returns strlen(src) like
 * strlcpy. LEN may be 0. */
size_t tg_symbols_copy_str(char *dst, size_t len, const char *src);

#endif
