// BRIDGE.words: the last step of BRIDGE (proofs.cpp), proven by a second solver. For all 32-bit
// words a, b and integers X, Y whose residues mod 2^32 are a's and b's values (bv2nat), every
// operation of WordOps<ModWord> (mod_word.hpp) on X, Y is the bit-vector operation of
// WordOps<z3::expr> on a, b: + is bvadd, - is bvsub, == is =, ult is bvult, ule is bvule, a
// literal is int2bv's word, and unwrap reads the word. The goals are built by the very
// functions the two models call, printed by Z3 as SMT-LIB, and handed to cvc5 (Debian's cvc5),
// whose bit-vector-to-integer translation (--solve-bv-as-int) proves each in milliseconds;
// Z3 4.8.12 proves none of them at 32 bits (BRIDGE's comment). Trusted: cvc5's translation,
// and that Z3 and cvc5 give SMT-LIB's bit-vectors the same meaning (BRIDGE evaluates Z3's on
// 4 356 pairs of words).
#include "bridge_words.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <ipc/word.hpp>
#include <spec/mod_word.hpp>
#include <spec/z3_word.hpp>

namespace keel::spec {

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
        std::string(KEEL_SPEC_CVC5) + " --solve-bv-as-int=sum --tlimit=60000 " + path + " 2>&1";
    std::string answer;
    if (FILE* p = popen(cmd.c_str(), "r")) {
        std::array<char, 256> buf{};
        while (std::fgets(buf.data(), int(buf.size()), p))
            answer += buf.data();
        pclose(p);
    }
    std::remove(path);
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
        const char* name;
        z3::expr e;
        bool holds;  // false: a control that must be refuted, so the check can fail
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
    std::string failures;
    for (auto& g : goals) {
        z3::solver s(c);
        s.add(hyp);
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
