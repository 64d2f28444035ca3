/* Status codes and error reports (see include/facesearch/common.h). */
#include "facesearch/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fs_fail(fs_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int fs_error_prefix(fs_error *err, const char *prefix)
{
    if (!err)
        return FS_EINTERNAL;
    char tmp[sizeof err->msg];
    size_t n = strlen(prefix);
    if (n > sizeof tmp - 3)
        n = sizeof tmp - 3;
    memcpy(tmp, prefix, n);
    memcpy(tmp + n, ": ", 2);
    size_t m = strnlen(err->msg, sizeof err->msg);
    if (m > sizeof tmp - n - 3)
        m = sizeof tmp - n - 3;
    memcpy(tmp + n + 2, err->msg, m);
    tmp[n + 2 + m] = '\0';
    memcpy(err->msg, tmp, sizeof tmp);
    return err->code;
}

void fs_error_clear(fs_error *err)
{
    if (err) {
        err->code = FS_OK;
        err->msg[0] = '\0';
    }
}

const char *fs_status_name(int code)
{
    static const char *const names[] = {
        [FS_OK] = "ok",           [FS_EUSAGE] = "usage",
        [FS_EIO] = "io",          [FS_EFORMAT] = "format",
        [FS_ECORRUPT] = "corrupt", [FS_ELIMIT] = "limit",
        [FS_ENOTFOUND] = "notfound", [FS_EMODEL] = "model",
        [FS_EDB] = "db",          [FS_EBUSY] = "busy",
        [FS_EINDEX] = "index",    [FS_ENOMEM] = "nomem",
        [FS_EINTR] = "interrupted", [FS_EINTERNAL] = "internal",
        [FS_ENOSPC] = "nospace",
    };
    if (code < 0 || code >= (int)(sizeof names / sizeof names[0]) || !names[code])
        return "unknown";
    return names[code];
}

int fs_exit_code(int code)
{
    switch (code) {
    case FS_OK:
        return 0;
    case FS_EUSAGE:
        return 1;
    case FS_EIO: case FS_EFORMAT: case FS_ECORRUPT: case FS_ELIMIT:
    case FS_ENOTFOUND: case FS_EMODEL: case FS_EBUSY: case FS_EINTR: case FS_ENOSPC:
        return 2;
    default:
        return 3;
    }
}
