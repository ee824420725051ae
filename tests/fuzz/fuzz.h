/* fuzz.h - the libFuzzer entry points every target defines, and helpers they share. */
#ifndef GAZETTE_FUZZ_H
#define GAZETTE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Called once before any input (optional; replay.c calls it when the target has one). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
/* Called for every input; returns 0. A property violation aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz: message" on stderr and aborts, so libFuzzer keeps the input as a crash. */
#define fuzz_check(cond, ...)                                                                  \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "fuzz: %s:%d: check failed: %s: ", __FILE__, __LINE__, \
			        #cond);                                                        \
			fprintf(stderr, __VA_ARGS__);                                          \
			fputc('\n', stderr);                                                   \
			abort();                                                               \
		}                                                                              \
	} while (0)

#endif
