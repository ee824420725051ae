/* hash.h - the one non-cryptographic hash of the project (FNV-1a, 64 bits). */
#ifndef GAZETTE_HASH_H
#define GAZETTE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a over len bytes of data, continuing from seed (HASH_SEED to start). For hash tables
 * and content tags, never for anything an attacker must not be able to collide. */
#define HASH_SEED 1469598103934665603ull
uint64_t hash_bytes(uint64_t seed, const void *data, size_t len);

#endif
