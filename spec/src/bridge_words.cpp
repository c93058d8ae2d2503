// BRIDGE.words: the last step of BRIDGE (proofs.cpp), proven by a second solver. For all 32-bit
// words a, b and integers X, Y whose residues mod 2^32 are a's and b's values (bv2nat), every
// operation of WordOps<ModWord> (mod_word.hpp) on X, Y is the bit-vector operation of
// WordOps<z3::expr> on a, b: + is bvadd, - is bvsub, == is =, ult is bvult, ule is bvule, a
// literal is int2bv's word, and unwrap reads the word. And each ring and credit rule the
// parametric model calls (ring_used, ring_has_room, ring_has_entry, ring_tail_valid,
// ring_head_valid, credit_ok, credit_covers), as a whole body: over ModWord on any integers it
// decides what it decides on their residues, and on the words' values what it decides over
// bit-vectors on the words. The goals are built by the very functions the two models call,
// printed by Z3 as SMT-LIB, and handed to cvc5 (Debian's cvc5), whose
// bit-vector-to-integer translation (--solve-bv-as-int) proves each in milliseconds; Z3 4.8.12
// proves none of the bit-vector ones at 32 bits (BRIDGE's comment). Trusted: cvc5's
// translation, and that Z3 and cvc5 give SMT-LIB's bit-vectors the same meaning (BRIDGE
// evaluates Z3's on 4 356 pairs of words). KEEL_SPEC_KEEP_SMT2=1 keeps the files given to cvc5.
#include "bridge_words.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <ipc/rules.hpp>
#include <ipc/word.hpp>
#include <spec/mod_word.hpp>
#include <spec/z3_word.hpp>

namespace keel::spec {

namespace R = keel::ipc::rules;

namespace {

// Z3 prints SMT-LIB's bv2nat under its own older name.
std::string smtlib_for_cvc5(std::string text) {
    const std::string from = "(bv2int ", to = "(bv2nat ";
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return "(set-logic ALL)\n" + text;
}

// cvc5's answer ("unsat", "sat", "unknown" or its error) on one SMT-LIB benchmark.
std::string cvc5_answer(const std::string& benchmark) {
    char path[] = "/tmp/keel-bridge-XXXXXX.smt2";
    int fd = mkstemps(path, 5);
    if (fd < 0)
        return "cannot create a temporary file";
    {
        std::ofstream out(path);
        out << benchmark;
    }
    close(fd);
    std::string cmd =
        std::string(KEEL_SPEC_CVC5) + " --solve-bv-as-int=sum --tlimit=20000 " + path + " 2>&1";
    std::string answer;
    if (FILE* p = popen(cmd.c_str(), "r")) {
        std::array<char, 256> buf{};
        while (std::fgets(buf.data(), int(buf.size()), p))
            answer += buf.data();
        pclose(p);
    }
    if (!std::getenv("KEEL_SPEC_KEEP_SMT2"))
        std::remove(path);
    else
        std::fprintf(stderr, "kept %s\n", path);
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == ' '))
        answer.pop_back();
    return answer;
}

}  // namespace

std::string bridge_words(unsigned* queries) {
    if (std::string(KEEL_SPEC_CVC5).empty())
        return "BRIDGE.words needs cvc5 (Debian package cvc5), not found at configure time\n";
    z3::context c;
    using WM = keel::ipc::WordOps<ModWord>;
    using WB = keel::ipc::WordOps<z3::expr>;
    auto a = c.bv_const("a", 32), b = c.bv_const("b", 32);
    auto X = c.int_const("X"), Y = c.int_const("Y"), base = c.int_const("base");
    auto V = c.int_const("V");
    ModWord x{X}, y{Y};
    auto nat = [](const z3::expr& w) { return z3::bv2int(w, false); };
    auto hyp = nat(a) == mod32(X) && nat(b) == mod32(Y);
    struct Goal {
        std::string name;
        z3::expr e;
        bool holds;  // false: a control that must be refuted, so the check can fail
        std::optional<z3::expr> given{};  // its own hypothesis instead of `hyp`
    };
    std::vector<Goal> goals{
        {"+ is bvadd", mod32((x + y).e) == nat(a + b), true},
        {"- is bvsub", mod32((x - y).e) == nat(a - b), true},
        {"== is =", (x == y) == (a == b), true},
        {"ult is bvult", WM::ult(x, y) == WB::ult(a, b), true},
        {"ule is bvule", WM::ule(x, y) == WB::ule(a, b), true},
        {"a literal below 2^32 is int2bv's word",
         !(c.int_val(0) <= V && V < c.int_val(std::int64_t(1) << 32)) ||
             (mod32(V) == nat(z3::int2bv(32, V))),
         true},
        {"unwrap reads the word", mod32(unwrap_word(base, X)) == nat(a), true},
        {"control: ult is not bvule", WM::ult(x, y) == WB::ule(a, b), false},
    };
    // The rule bodies themselves (otherwise the trusted step from operations to bodies), for
    // every ring and credit rule the parametric model calls, in two goals each (one goal
    // over arbitrary integers, with bit-vectors, runs past a minute for ring_tail_valid):
    //   "on residues": over any integers the rule decides what it decides on their residues;
    //   "on the words": on the words' own values (bv2nat) it decides what it decides on the
    //   words. Together: on any integers standing for words, what it decides on the words.
    auto cw = c.bv_const("c", 32), dw = c.bv_const("d", 32);
    auto Z = c.int_const("Z"), D = c.int_const("D");
    ModWord z{Z}, d{D};
    ModWord rx{mod32(X)}, ry{mod32(Y)}, rz{mod32(Z)}, rd{mod32(D)};
    // Each goal with only the hypothesis it needs: cvc5 translates every bv2nat it is given,
    // and the residue goals, which need none, ran past 5 s with the words' relations beside.
    auto two32 = c.int_val(std::int64_t(1) << 32);
    auto value_of = [&](const z3::expr& w, const z3::expr& v) {
        return nat(w) == v && c.int_val(0) <= v && v < two32;
    };
    auto words_are_values = value_of(a, X) && value_of(b, Y) && value_of(cw, Z) && value_of(dw, D);
    // A rule's result as an integer or truth value: a ModWord by its residue, a bit-vector by
    // bv2nat, a Boolean as it is. Each rule is one generic call: the word type is deduced from
    // the operands, ModWord or bit-vector.
    auto value = [&](const auto& r) {
        if constexpr (std::is_same_v<std::decay_t<decltype(r)>, ModWord>)
            return mod32(r.e);
        else
            return r.is_bv() ? nat(r) : r;
    };
    auto rule = [&](const std::string& name, auto call) {
        goals.push_back({name + " on residues",
                         value(call(x, y, z, d)) == value(call(rx, ry, rz, rd)), true,
                         c.bool_val(true)});
        goals.push_back({name + " on the words",
                         value(call(x, y, z, d)) == value(call(a, b, cw, dw)), true,
                         words_are_values});
    };
    rule("ring_used", [](auto p, auto q, auto, auto) { return R::ring_used(p, q); });
    rule("ring_has_room", [](auto p, auto q, auto r, auto) { return R::ring_has_room(p, q, r); });
    rule("ring_has_entry", [](auto p, auto q, auto, auto) { return R::ring_has_entry(p, q); });
    rule("ring_tail_valid",
         [](auto p, auto q, auto r, auto t) { return R::ring_tail_valid(p, q, r, t); });
    rule("ring_head_valid",
         [](auto p, auto q, auto r, auto) { return R::ring_head_valid(p, q, r); });
    rule("credit_ok", [](auto p, auto q, auto, auto) { return R::credit_ok(p, q); });
    rule("credit_covers", [](auto p, auto q, auto r, auto) { return R::credit_covers(p, q, r); });
    std::string failures;
    for (auto& g : goals) {
        z3::solver s(c);
        s.add(g.given ? *g.given : hyp);
        s.add(!g.e);
        ++*queries;
        auto answer = cvc5_answer(smtlib_for_cvc5(s.to_smt2()));
        if (answer != (g.holds ? "unsat" : "sat"))
            failures += std::string("BRIDGE.words: \"") + g.name + "\": cvc5 answered \"" + answer +
                        "\", expected " + (g.holds ? "unsat" : "sat") + "\n";
    }
    return failures;
}

}  // namespace keel::spec
