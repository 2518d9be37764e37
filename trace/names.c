/* trace/: names for event kinds, results and reader errors. */
#include "trace/trace.h"

static const char *const event_names[TG_EV_COUNT] = {
#define X(name, slots, doc) [TG_EV_##name] = #name,
#include "trace/events.def"
#undef X
};

const char *tg_event_name(unsigned kind)
{
    return kind < TG_EV_COUNT ? event_names[kind] : "UNKNOWN";
}

const char *tg_result_name(unsigned result)
{
    static const char *const names[16] = {
        [TG_OK] = "OK", [TG_BUSY] = "EBUSY", [TG_TIMEDOUT] = "ETIMEDOUT",
        [TG_DEADLK] = "EDEADLK", [TG_PERM] = "EPERM", [TG_INVAL] = "EINVAL",
        [TG_AGAIN] = "EAGAIN", [TG_OWNERDEAD] = "EOWNERDEAD",
        [TG_NOTRECOVERABLE] = "ENOTRECOVERABLE", [TG_INTR] = "EINTR",
        [TG_SERIAL] = "SERIAL", [TG_NOMEM] = "ENOMEM", [TG_SRCH] = "ESRCH",
        [TG_RESULT_OTHER] = "error",
    };
    return result < 16 && names[result] ? names[result] : "error";
}

const char *tg_trace_strerror(int err)
{
    switch (err) {
    case TG_TRACE_OK:         return "success";
    case TG_TRACE_EIO:        return "cannot read the file";
    case TG_TRACE_ENOTTRACE:  return "not a tangle trace";
    case TG_TRACE_EVERSION:   return "written by a newer tangle";
    case TG_TRACE_EFEATURE:   return "uses a feature this tangle does not know";
    case TG_TRACE_ETRUNCATED: return "truncated";
    case TG_TRACE_ECORRUPT:   return "corrupt";
    case TG_TRACE_EEMPTY:     return "no writer has initialised it yet";
    default:                  return "unknown error";
    }
}
