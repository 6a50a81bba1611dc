// The byte format of the write-back journal (stores/journal.hpp), on its own
// so that the writer, the recovery scan and tests share one definition. Pure
// functions over bytes; thread-safe. All integers are little-endian:
//   header   8 bytes  "CBJRNL1\n"
//   frame    u32 payload length | u32 CRC-32C of payload | payload
//   payload  u8 kind | u64 seq | body
//     kind 1 (write):      body = str resource | str id | u32 n | n x (str
//                          field, str value);  str = u32 length | bytes
//     kind 2 (checkpoint): no body; seq is the low-water mark: every write
//                          with a smaller seq is in the store
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cachebus/stores/record.hpp"

namespace cachebus::stores::journal_format {

inline constexpr std::string_view header{"CBJRNL1\n", 8};
inline constexpr size_t header_size = 8;
/// Length and CRC in front of every payload.
inline constexpr size_t frame_overhead = 8;
/// Smallest payload: kind and seq.
inline constexpr size_t min_payload = 9;
/// Largest payload a reader accepts: a length beyond it is garbage.
inline constexpr uint32_t max_payload = uint32_t{1} << 30;

enum class kind : uint8_t { write = 1, checkpoint = 2 };

/// CRC-32C (Castagnoli) of `data`, as stored in the frames.
uint32_t crc32c(std::string_view data);

/// The framed write of `w` with sequence number `seq`.
std::string encode_write(uint64_t seq, const record_write& w);

/// The framed checkpoint at `low_water`.
std::string encode_checkpoint(uint64_t low_water);

/// One frame read back.
struct decoded {
  kind type = kind::write;
  /// The write's seq, or the checkpoint's low-water mark.
  uint64_t seq = 0;
  /// Set for kind::write.
  record_write write;
  /// Bytes the frame occupies, overhead included.
  size_t size = 0;
};

/// Decodes the frame starting at `data[pos]`. False if there is none: too
/// few bytes, a length beyond max_payload or the data, a CRC mismatch, or a
/// payload that does not parse.
/// REQUIRES: pos <= data.size()
bool decode(std::string_view data, size_t pos, decoded& out);

} // namespace cachebus::stores::journal_format
