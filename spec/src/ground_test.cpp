// keel_spec_ground_test: param::ground() refuses the two formula shapes it cannot ground
// soundly (param_ground.cpp says why), and still grounds the shapes the proofs use. Each
// refused formula below is satisfiable, but the grounding that used to be made of it was
// unsatisfiable: read as a proof, it would have proved anything.
#include <cstdio>
#include <stdexcept>
#include <string>

#include <spec/param_ground.hpp>

namespace {

int failures = 0;

void expect_refused(z3::context& ctx, const char* what, const z3::expr& f) {
    try {
        (void)keel::spec::param::ground(ctx, f, 2, nullptr);
        std::printf("FAIL %s: grounded, should be refused\n", what);
        ++failures;
    } catch (const std::runtime_error& e) {
        std::printf("ok   %s: refused (%s)\n", what, e.what());
    }
}

void expect_grounded(z3::context& ctx, const char* what, const z3::expr& f, z3::check_result want) {
    try {
        auto g = keel::spec::param::ground(ctx, f, 2, nullptr);
        z3::solver s(ctx);
        s.add(g);
        auto r = s.check();
        if (r != want) {
            std::printf("FAIL %s: grounded to a formula Z3 answers %d, expected %d\n", what, int(r),
                        int(want));
            ++failures;
            return;
        }
        std::printf("ok   %s: grounded\n", what);
    } catch (const std::runtime_error& e) {
        std::printf("FAIL %s: refused (%s)\n", what, e.what());
        ++failures;
    }
}

}  // namespace

int main() {
    z3::context ctx;
    auto w = ctx.bv_sort(32);
    auto a = ctx.constant("s.a", ctx.array_sort(w, w));
    auto c = ctx.bv_const("c", 32);
    auto x = ctx.bv_const("k!0", 32);  // bound variables: the slot domain (param_ground.cpp)
    auto y = ctx.bv_const("k!1", 32);

    // "Every value is somewhere in a" (true of a[i] = i + 1) and a[c] != c: satisfiable. The
    // inner "there exists y" instantiated at the only known term c read "a[c] = c".
    expect_refused(ctx, "for all, there exists",
                   z3::forall(x, z3::exists(y, z3::select(a, y) == x)) && z3::select(a, c) != c);
    // The same with the existential spelled "not for all not".
    expect_refused(ctx, "for all, not for all",
                   z3::forall(x, !z3::forall(y, z3::select(a, y) != x)) && z3::select(a, c) != c);
    // "If a is zero everywhere then false else true" and a[c] = 0: satisfiable (a zero at c
    // only). The condition instantiated at c read "a[c] = 0", hence false.
    expect_refused(
        ctx, "a universal in an if-then-else condition",
        z3::ite(z3::forall(y, z3::select(a, y) == 0), ctx.bool_val(false), ctx.bool_val(true)) &&
            z3::select(a, c) == 0);

    // What the proofs use: a positive universal (instantiated), a negative one (Skolemised).
    expect_grounded(ctx, "hypothesis for all, goal for all",
                    z3::forall(x, z3::select(a, x) == x) && !z3::forall(y, z3::select(a, y) == y),
                    z3::unsat);
    expect_grounded(ctx, "a satisfiable hypothesis stays satisfiable",
                    z3::forall(x, z3::select(a, x) == x) && c == 7, z3::sat);
    // A quantifier in a branch (not the condition) of an if-then-else: grounded.
    expect_grounded(ctx, "a universal in an if-then-else branch",
                    z3::ite(c == 1, z3::forall(x, z3::select(a, x) == 0), c == 2) && c == 1 &&
                        z3::select(a, c) == 3,
                    z3::unsat);
    std::printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
