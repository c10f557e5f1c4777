#ifndef CKAFKA_CRC32C_H
#define CKAFKA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Continues a CRC-32C (Castagnoli) over `length` bytes. Start with `crc = 0`; the pre- and
/// post-inversion are applied inside, so calls chain: update(update(0, a), b) == crc(a ++ b).
/// Uses the SSE4.2 CRC32 instruction when the CPU has it, the table otherwise.
uint32_t ckafka_crc32c_update(uint32_t crc, const void *bytes, size_t length);

/// The portable slicing-by-8 table implementation, always available.
uint32_t ckafka_crc32c_update_portable(uint32_t crc, const void *bytes, size_t length);

/// The SSE4.2 implementation. Only call it when `ckafka_crc32c_has_hardware()` returns 1.
uint32_t ckafka_crc32c_update_hardware(uint32_t crc, const void *bytes, size_t length);

/// 1 when this CPU has the CRC32 instruction (x86-64 SSE4.2, or ARMv8 CRC extension).
int ckafka_crc32c_has_hardware(void);

#endif
