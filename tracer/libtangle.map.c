/* The linker version script of libtangle.so, made by the C preprocessor
 * from the hook table: the hooks and the race runtime's __tsan_* entry
 * points are exported, nothing else (the trace writer and libunwind are
 * linked in, and must not interpose on the program's own symbols). */
{
  global:
#define TG_HOOK(name, ret, params, args, version) name;
#define TG_HOOK_VOID(name, params, args, version) name;
#define TG_HOOK_VARARGS(name, ret, params, version) name;
#include "tracer/hooks.def"
    __tsan_*;
#include "tracer/race/exports.map.h"
  local:
    *;
};
