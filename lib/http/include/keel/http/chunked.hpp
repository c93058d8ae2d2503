// The chunked transfer coding (RFC 9112 7.1): an incremental, bounded decoder for a client
// reading a response, and the pieces a sender writes.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace keel::http {

// "<size in hex>\r\n" into out (at least kChunkHeaderMax bytes); its length. A chunk's data
// follows, then "\r\n"; the body ends with kLastChunk.
inline constexpr size_t kChunkHeaderMax = 18;
size_t chunk_header(uint64_t size, char* out);
inline constexpr char kChunkEnd[] = "\r\n";
inline constexpr char kLastChunk[] = "0\r\n\r\n";

class ChunkedDecoder {
  public:
    enum class Outcome : uint8_t {
        kMore,   // all input consumed or the output full: call again
        kDone,   // the last chunk and the trailer section are read; bytes after are not consumed
        kError,  // malformed (error() says how); stays so
    };
    // Limits: a chunk line (size and extensions) and the trailer section.
    static constexpr size_t kMaxLine = 4096;
    static constexpr size_t kMaxTrailer = 8192;

    // Decodes in[0, n) into out[0, cap): *consumed input bytes were used, *produced data bytes
    // written (never more than cap). O(consumed). Chunk sizes up to 2^60 - 1; extensions are
    // skipped; trailer fields are read and dropped; bare LF is accepted for CR LF.
    Outcome decode(const uint8_t* in, size_t n, uint8_t* out, size_t cap, size_t* consumed,
                   size_t* produced);
    const char* error() const { return error_; }
    uint64_t total() const { return total_; }  // data bytes produced so far

  private:
    enum class State : uint8_t {
        kSize,
        kExtension,
        kSizeLf,
        kData,
        kDataCr,
        kDataLf,
        kTrailerLineStart,
        kTrailer,
        kTrailerLf,
        kFinalLf,
        kDone,
        kError,
    };
    Outcome fail(const char* why);

    State state_ = State::kSize;
    uint64_t size_ = 0;    // the chunk being read: its size, then what is left of it
    uint32_t digits_ = 0;  // hex digits of the size line
    size_t line_ = 0;      // bytes of the current size or trailer line
    size_t trailer_ = 0;   // bytes of the trailer section
    uint64_t total_ = 0;
    const char* error_ = "";
};

}  // namespace keel::http
