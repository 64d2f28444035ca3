/*
 * tests/golden.h — reading the reference numbers in tests/data/golden/ and
 * comparing our tensors against them (golden README §7-8 formats and
 * tolerances).  See tests/data/golden/README.md for provenance.
 */
#ifndef FS_TEST_GOLDEN_H
#define FS_TEST_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch/nn.h"

/* Parses tests/data/golden/NAME; NULL (and a test failure) when unreadable. */
fs_json *golden_load(const char *name);

/* Reads n numbers of array j into out as floats; 0 on success. */
int golden_floats(const fs_json *j, float *out, size_t n);

/* Worst errors seen by golden_check_probe, for reporting. */
typedef struct probe_stats {
    double max_sample_rel;  /* max |d| / max(1, |v|) over samples and first8 */
    double max_abs_sum_rel; /* max |d abs_sum| / abs_sum */
    int layers;
} probe_stats;

/* Compares values (count floats) with a golden probe object: count, samples
 * and first8 within 1e-4*max(1,|v|), abs_sum and sum within 1e-5 relative.
 * Records failures with the probe name; updates st when not NULL. */
void golden_check_probe(const fs_json *probe, const float *values, size_t count,
                        probe_stats *st);

/* The synthetic fixed input of the golden README §7: size x size x 3 bytes. */
void golden_fixed_pattern(uint8_t *px, int size, int salt);

#endif
