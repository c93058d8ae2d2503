// WordOps<W>: the operations the protocol rules (rules.hpp) need from a 32-bit word type.
// ipc/ supplies the concrete instance for std::uint32_t; spec/ supplies one for Z3 bit-vector
// expressions, so that the proofs run the very functions the library executes.
#pragma once

#include <cstdint>

namespace keel::ipc {

template <class W>
struct WordOps;  // customisation point: Bool, lit, ult, ule, ite, ite_lazy, shr

template <>
struct WordOps<std::uint32_t> {
    using Bool = bool;
    static constexpr std::uint32_t lit(std::uint32_t /*like*/, std::uint32_t v) { return v; }
    static constexpr bool ult(std::uint32_t a, std::uint32_t b) { return a < b; }
    static constexpr bool ule(std::uint32_t a, std::uint32_t b) { return a <= b; }
    static constexpr std::uint32_t ite(bool c, std::uint32_t a, std::uint32_t b) {
        return c ? a : b;
    }
    // Calls only the branch taken: the error-order rules' later checks run only when needed.
    // `c` is a check failing (rules.hpp, first_failure): the error path is the cold one.
    template <class A, class B>
    [[gnu::always_inline]] static constexpr std::uint32_t ite_lazy(bool c, A&& a, B&& b) {
        if (c) [[unlikely]]
            return a();
        return b();
    }
    static constexpr std::uint32_t shr(std::uint32_t a, std::uint32_t n) { return a >> n; }
};

}  // namespace keel::ipc
