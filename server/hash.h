/* hash.h - the project's hashes: FNV-1a for content tags, SipHash-2-4 for tables whose keys
 * come from outside. */
#ifndef GAZETTE_HASH_H
#define GAZETTE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a over len bytes of data, continuing from seed (HASH_SEED to start): fast and
 * deterministic, for tags of our own content (ETags), never for a table an attacker fills. */
#define HASH_SEED 14695981039346656037ull
uint64_t hash_bytes(uint64_t seed, const void *data, size_t len);

/* A secret 128-bit key for hash_keyed. */
struct hash_key {
	uint64_t k0, k1;
};

/* Fills key from the kernel's random source (getrandom). */
void hash_key_random(struct hash_key *key);

/* SipHash-2-4 of len bytes under key: keys chosen by clients (URLs, addresses) cannot be made
 * to collide without the key, so no chain in a table can be made long on purpose. */
uint64_t hash_keyed(const struct hash_key *key, const void *data, size_t len);

#endif
