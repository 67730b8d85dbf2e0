/* SPDX-License-Identifier: MIT */
/* fuzz_probe.c - the smallest libFuzzer target: can clang build one here? */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
