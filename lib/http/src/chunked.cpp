// The chunked transfer coding (RFC 9112 7.1).
#include <keel/http/chunked.hpp>

#include "text.hpp"

namespace keel::http {

using detail::hex_value;

size_t chunk_header(uint64_t size, char* out) {
    constexpr char kHex[] = "0123456789abcdef";
    char digits[16];
    int k = 0;
    do {
        digits[k++] = kHex[size & 15];
        size >>= 4;
    } while (size != 0);
    size_t n = 0;
    while (k > 0)
        out[n++] = digits[--k];
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

ChunkedDecoder::Outcome ChunkedDecoder::fail(const char* why) {
    state_ = State::kError;
    error_ = why;
    return Outcome::kError;
}

ChunkedDecoder::Outcome ChunkedDecoder::decode(const uint8_t* in, size_t n, uint8_t* out,
                                               size_t cap, size_t* consumed, size_t* produced) {
    size_t i = 0, w = 0;
    Outcome result = Outcome::kMore;
    while (result == Outcome::kMore) {
        if (state_ == State::kDone) {
            result = Outcome::kDone;
            break;
        }
        if (state_ == State::kError) {
            result = Outcome::kError;
            break;
        }
        if (state_ == State::kData) {
            if (i == n || w == cap)
                break;
            size_t k = n - i < cap - w ? n - i : cap - w;
            if (k > size_)
                k = static_cast<size_t>(size_);
            for (size_t q = 0; q < k; ++q)
                out[w + q] = in[i + q];
            i += k;
            w += k;
            size_ -= k;
            total_ += k;
            if (size_ == 0)
                state_ = State::kDataCr;
            continue;
        }
        if (i == n)
            break;
        const uint8_t c = in[i++];
        if (state_ == State::kSize || state_ == State::kExtension || state_ == State::kSizeLf ||
            state_ == State::kTrailer) {
            if (++line_ > kMaxLine) {
                result = fail("chunk line too long");
                break;
            }
        }
        if (state_ >= State::kTrailerLineStart && state_ <= State::kFinalLf &&
            ++trailer_ > kMaxTrailer) {
            result = fail("trailer section too long");
            break;
        }
        switch (state_) {
            case State::kSize: {
                const int d = hex_value(c);
                if (d >= 0) {
                    if (size_ >> 56 != 0) {
                        result = fail("chunk size too large");
                        break;
                    }
                    size_ = size_ << 4 | static_cast<uint64_t>(d);
                    ++digits_;
                } else if (digits_ == 0) {
                    result = fail("chunk size missing");
                } else if (c == ';' || c == ' ' || c == '\t') {
                    state_ = State::kExtension;
                } else if (c == '\r') {
                    state_ = State::kSizeLf;
                } else if (c == '\n') {
                    state_ = size_ == 0 ? State::kTrailerLineStart : State::kData;
                } else {
                    result = fail("bad chunk size");
                }
                break;
            }
            case State::kExtension:
                // Skipped: visible bytes, spaces and tabs, up to the line's end.
                if (c == '\r') {
                    state_ = State::kSizeLf;
                } else if (c == '\n') {
                    state_ = size_ == 0 ? State::kTrailerLineStart : State::kData;
                } else if (c < 0x20 && c != '\t') {
                    result = fail("bad chunk extension");
                }
                break;
            case State::kSizeLf:
                if (c != '\n')
                    result = fail("CR without LF after a chunk size");
                else
                    state_ = size_ == 0 ? State::kTrailerLineStart : State::kData;
                break;
            case State::kDataCr:
                if (c == '\r')
                    state_ = State::kDataLf;
                else if (c == '\n')
                    state_ = State::kSize;
                else
                    result = fail("chunk data longer than its size");
                break;
            case State::kDataLf:
                if (c != '\n')
                    result = fail("CR without LF after chunk data");
                else
                    state_ = State::kSize;
                break;
            case State::kTrailerLineStart:
                line_ = 0;
                if (c == '\r') {
                    state_ = State::kFinalLf;
                } else if (c == '\n') {
                    state_ = State::kDone;
                } else if (c < 0x20 && c != '\t') {
                    result = fail("bad trailer field");
                } else {
                    line_ = 1;
                    state_ = State::kTrailer;
                }
                break;
            case State::kTrailer:
                if (c == '\r')
                    state_ = State::kTrailerLf;
                else if (c == '\n')
                    state_ = State::kTrailerLineStart;
                else if ((c < 0x20 && c != '\t') || c == 0x7f)
                    result = fail("bad trailer field");
                break;
            case State::kTrailerLf:
                if (c != '\n')
                    result = fail("CR without LF in the trailer");
                else
                    state_ = State::kTrailerLineStart;
                break;
            case State::kFinalLf:
                if (c != '\n')
                    result = fail("CR without LF at the body's end");
                else
                    state_ = State::kDone;
                break;
            default:
                break;
        }
        if (state_ == State::kData || state_ == State::kTrailerLineStart) {
            if (state_ == State::kTrailerLineStart && digits_ != 0)
                digits_ = 0;
            line_ = 0;
        }
        if (state_ == State::kSize && (c == '\n')) {
            size_ = 0;
            digits_ = 0;
            line_ = 0;
        }
    }
    *consumed = i;
    *produced = w;
    return result;
}

}  // namespace keel::http
