/*
 * Arithmetic precision: names, and whether this CPU can run the bf16 kernel.
 * The answer is read from CPUID (through GCC's cpu model, which also checks
 * that the OS saves the AVX-512 registers) once per process.
 */
#include "nn_internal.h"

#include <stdatomic.h>
#include <string.h>

static const char *const names[] = {"fp32", "bf16", "auto"};

/* -1 = not probed yet; 0/1 = the CPU's answer. */
static atomic_int cpu_bf16 = -1;
/* Set by fs_nn_cpu_hide_bf16 (tests, diagnostics). */
static atomic_int hide_bf16 = 0;

int fs_precision_parse(const char *name, fs_precision *p, fs_error *err)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) {
            *p = (fs_precision)i;
            return FS_OK;
        }
    return fs_fail(err, FS_EUSAGE, "unknown precision '%s' (expected fp32, bf16 or auto)", name);
}

const char *fs_precision_name(fs_precision p)
{
    return (unsigned)p < 3 ? names[p] : "?";
}

int fs_nn_cpu_bf16(void)
{
    if (atomic_load(&hide_bf16))
        return 0;
    int v = atomic_load(&cpu_bf16);
    if (v < 0) {
#if defined(__x86_64__) && defined(__GNUC__)
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl");
#else
        v = 0;
#endif
        atomic_store(&cpu_bf16, v);
    }
    return v;
}

void fs_nn_cpu_hide_bf16(int hide) { atomic_store(&hide_bf16, hide != 0); }

fs_precision fs_precision_effective(fs_precision requested)
{
    return requested != FS_PREC_FP32 && fs_nn_cpu_bf16() ? FS_PREC_BF16 : FS_PREC_FP32;
}
