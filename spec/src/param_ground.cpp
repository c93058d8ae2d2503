// Quantifier instantiation for the parametric proofs (param_proofs.cpp). Z3's own quantifier
// engines (E-matching, MBQI) time out on these bit-vector/array queries, so each query is made
// quantifier-free before Z3 sees it:
//   - a universal in negative position (the negated goal) becomes its body at a fresh constant
//     (Skolemisation: equisatisfiable);
//   - a universal in positive position (invariants, choice constraints) becomes the
//     conjunction of its body at every index term of the query (array read and write
//     positions, Skolem constants), collected again after each round.
// Replacing a hypothesis "for all x" by finitely many instances only weakens the hypothesis,
// so "unsat" still proves the obligation; a missing instance can only cause a spurious
// counterexample (printed, and then visibly not a real one), never a false proof.
// That argument holds only for universals reached in a known polarity. Two shapes break it,
// and ground() refuses them (std::runtime_error) instead of returning a formula:
//   - a universal in negative position inside a positive one ("for all x, there exists y"):
//     Skolemising it would need a Skolem function of x, and instantiating it like a positive
//     one turns "there exists" into "one of the known terms", a stronger hypothesis;
//   - a universal inside a Boolean if-then-else condition, which is in both polarities.
// Quantifiers under any other operator (an equality of Booleans, say) are left to Z3 as they
// are, which is sound (Z3 may then answer "unknown", never a wrong "unsat").
#include <spec/param_ground.hpp>

#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace keel::spec::param {

using z3::expr;

namespace {

// Index domains: slot/record tables, buffer table, ring entries, rank positions (live slots,
// active records, free slots, free records). A quantifier's
// domain comes from its variable's name (see PModel::forall_below and the invariants), a
// term's from the array it indexes; a quantifier is instantiated with its domain's terms only.
enum Domain { kSlot, kRecord, kBuffer, kSq, kCq, kCRank, kRRank, kFSRank, kFRRank, kDomains };
constexpr unsigned kDomainBits = 4;  // (term id << kDomainBits) | domain
static_assert(kDomains <= (1 << kDomainBits));

Domain var_domain(const std::string& v) {
    static const std::pair<const char*, Domain> names[] = {
        {"b!", kBuffer},     {"r!", kRecord},     {"i!sq", kSq},         {"i!cq", kCq},
        {"i!crank", kCRank}, {"i!rrank", kRRank}, {"i!fsrank", kFSRank}, {"i!frrank", kFRRank},
        {"wt.sq", kSq},      {"wt.cq", kCq},      {"flag.r", kRecord}};
    for (auto& [prefix, d] : names) {
        if (v.rfind(prefix, 0) == 0)
            return d;
    }
    return kSlot;  // k!n
}

Domain array_domain(const std::string& full) {
    auto dot = full.rfind('.');
    auto n = dot == std::string::npos ? full : full.substr(dot + 1);
    if (n == "bstate" || n == "held" || n == "lender" || n == "holder")
        return kBuffer;
    if (n.rfind("sq_", 0) == 0)
        return kSq;
    if (n.rfind("cq_", 0) == 0)
        return kCq;
    if (n.rfind("op_", 0) == 0 || n == "r_rank" || n == "fr_rank")
        return kRecord;
    if (n == "c_elem")
        return kCRank;
    if (n == "r_elem")
        return kRRank;
    if (n == "fs_elem")
        return kFSRank;
    if (n == "fr_elem")
        return kFRRank;
    return kSlot;
}

// The array constant under stores and if-then-elses.
std::string root_name(expr a) {
    for (;;) {
        if (a.is_const())
            return a.decl().name().str();
        if (!a.is_app())
            return "";
        auto k = a.decl().decl_kind();
        if (k == Z3_OP_STORE) {
            a = a.arg(0);
        } else if (k == Z3_OP_ITE) {
            a = a.arg(1);
        } else {
            return "";
        }
    }
}

std::string bound_name(z3::context& ctx, const expr& q, unsigned i) {
    return z3::symbol(ctx, Z3_get_quantifier_bound_name(ctx, q, i)).str();
}

struct Grounder {
    explicit Grounder(z3::context& c) : ctx(c) {}
    z3::context& ctx;
    unsigned skolems = 0;
    std::unordered_map<std::uint64_t, expr> sk_memo;
    std::unordered_map<unsigned, bool> q_memo;

    // Whether a quantifier occurs in e.
    bool has_quantifier(const expr& e) {
        if (e.is_quantifier())
            return true;
        if (!e.is_app())
            return false;
        if (auto it = q_memo.find(e.id()); it != q_memo.end())
            return it->second;
        bool r = false;
        for (unsigned i = 0; i < e.num_args() && !r; ++i)
            r = has_quantifier(e.arg(i));
        q_memo.emplace(e.id(), r);
        return r;
    }

    // A Boolean if-then-else whose condition holds a quantifier: refused (see the top).
    void refuse_quantified_condition(const expr& ite) {
        if (has_quantifier(ite.arg(0)))
            throw std::runtime_error(
                "param_ground: a quantifier in an if-then-else condition (both polarities) "
                "cannot be grounded soundly");
    }

    static std::uint64_t key(const expr& e, bool pos) {
        return (std::uint64_t(e.id()) << 1) | (pos ? 1 : 0);
    }

    // Replace negative-position universals by Skolem instances.
    expr skolemize(const expr& e, bool pos) {
        if (!e.is_bool())
            return e;
        auto k = key(e, pos);
        if (auto it = sk_memo.find(k); it != sk_memo.end())
            return it->second;
        expr r = e;
        if (e.is_quantifier()) {
            if (!e.is_forall())
                throw std::runtime_error("param_ground: unexpected lambda/exists");
            if (!pos) {
                auto n = Z3_get_quantifier_num_bound(ctx, e);
                z3::expr_vector v(ctx);
                for (unsigned i = 0; i < n; ++i) {
                    z3::sort srt(ctx, Z3_get_quantifier_bound_sort(ctx, e, n - 1 - i));
                    auto d = var_domain(bound_name(ctx, e, n - 1 - i));
                    auto c = ctx.constant(("sk!" + std::to_string(skolems++)).c_str(), srt);
                    sk_terms[d].push_back(c);
                    v.push_back(c);
                }
                r = skolemize(e.body().substitute(v), pos);
            }
        } else if (e.is_app()) {
            auto kind = e.decl().decl_kind();
            if (kind == Z3_OP_NOT) {
                r = !skolemize(e.arg(0), !pos);
            } else if (kind == Z3_OP_AND || kind == Z3_OP_OR) {
                z3::expr_vector a(ctx);
                for (unsigned i = 0; i < e.num_args(); ++i)
                    a.push_back(skolemize(e.arg(i), pos));
                r = kind == Z3_OP_AND ? z3::mk_and(a) : z3::mk_or(a);
            } else if (kind == Z3_OP_IMPLIES) {
                r = z3::implies(skolemize(e.arg(0), !pos), skolemize(e.arg(1), pos));
            } else if (kind == Z3_OP_ITE && e.arg(1).is_bool()) {
                refuse_quantified_condition(e);
                r = z3::ite(e.arg(0), skolemize(e.arg(1), pos), skolemize(e.arg(2), pos));
            }
        }
        sk_memo.emplace(k, r);
        return r;
    }

    std::vector<expr> sk_terms[kDomains];

    // Instantiate positive universals at every term of their domain. After skolemize(), a
    // universal met in negative position sat inside a positive one: refused (see the top).
    std::unordered_map<std::uint64_t, expr> in_memo;
    const std::vector<expr>* terms = nullptr;  // [kDomains]
    expr instantiate(const expr& e, bool pos) {
        if (!e.is_bool())
            return e;
        auto k = key(e, pos);
        if (auto it = in_memo.find(k); it != in_memo.end())
            return it->second;
        expr r = e;
        if (e.is_quantifier()) {
            if (!pos || !e.is_forall())
                throw std::runtime_error(
                    "param_ground: an existential inside a universal (\"for all, there "
                    "exists\") cannot be grounded soundly");
            if (Z3_get_quantifier_num_bound(ctx, e) != 1)
                throw std::runtime_error("param_ground: one bound variable expected");
            z3::expr_vector all(ctx);
            z3::sort srt(ctx, Z3_get_quantifier_bound_sort(ctx, e, 0));
            for (auto& t : terms[var_domain(bound_name(ctx, e, 0))]) {
                if (!z3::eq(t.get_sort(), srt))
                    continue;
                z3::expr_vector v(ctx);
                v.push_back(t);
                all.push_back(instantiate(e.body().substitute(v), pos));
            }
            r = z3::mk_and(all);
        } else if (e.is_app()) {
            auto kind = e.decl().decl_kind();
            if (kind == Z3_OP_NOT) {
                r = !instantiate(e.arg(0), !pos);
            } else if (kind == Z3_OP_AND || kind == Z3_OP_OR) {
                z3::expr_vector a(ctx);
                for (unsigned i = 0; i < e.num_args(); ++i)
                    a.push_back(instantiate(e.arg(i), pos));
                r = e.decl()(a);
            } else if (kind == Z3_OP_IMPLIES) {
                r = z3::implies(instantiate(e.arg(0), !pos), instantiate(e.arg(1), pos));
            } else if (kind == Z3_OP_ITE && e.arg(1).is_bool()) {
                refuse_quantified_condition(e);
                r = z3::ite(e.arg(0), instantiate(e.arg(1), pos), instantiate(e.arg(2), pos));
            }
        }
        in_memo.emplace(k, r);
        return r;
    }

    // Index terms of array reads and writes, outside quantifiers.
    void collect(const expr& e, std::unordered_set<unsigned>& seen, std::vector<expr>* out,
                 std::unordered_set<std::uint64_t>& have) {
        if (!seen.insert(e.id()).second || !e.is_app())
            return;
        auto kind = e.decl().decl_kind();
        if ((kind == Z3_OP_SELECT || kind == Z3_OP_STORE) && e.num_args() >= 2) {
            auto i = e.arg(1);
            auto d = array_domain(root_name(e.arg(0)));
            if (have.insert((std::uint64_t(i.id()) << kDomainBits) | d).second)
                out[d].push_back(i);
        }
        for (unsigned i = 0; i < e.num_args(); ++i)
            collect(e.arg(i), seen, out, have);
    }
};

// Read-over-write elimination (optional): a read of a store or of an if-then-else of arrays
// becomes an if-then-else of reads, down to reads of the state's base arrays, so Z3 reasons
// about those reads (uninterpreted functions) instead of array values. Faster for most
// queries here, much slower for a few: the proofs try both.
struct Reads {
    z3::context& ctx;
    std::unordered_map<std::uint64_t, expr> memo;
    std::unordered_map<unsigned, expr> done;

    expr read(const expr& a, const expr& j) {
        auto key = (std::uint64_t(a.id()) << 32) | j.id();
        if (auto it = memo.find(key); it != memo.end())
            return it->second;
        expr r = z3::select(a, j);
        if (a.is_app()) {
            auto k = a.decl().decl_kind();
            if (k == Z3_OP_STORE) {
                r = z3::ite(a.arg(1) == j, a.arg(2), read(a.arg(0), j));
            } else if (k == Z3_OP_ITE) {
                r = z3::ite(a.arg(0), read(a.arg(1), j), read(a.arg(2), j));
            } else if (k == Z3_OP_CONST_ARRAY) {
                r = a.arg(0);
            }
        }
        memo.emplace(key, r);
        return r;
    }

    expr rewrite(const expr& e) {
        if (auto it = done.find(e.id()); it != done.end())
            return it->second;
        expr r = e;
        if (e.is_app() && e.num_args() > 0) {
            z3::expr_vector a(ctx);
            for (unsigned i = 0; i < e.num_args(); ++i)
                a.push_back(rewrite(e.arg(i)));
            r = e.decl().decl_kind() == Z3_OP_SELECT && a.size() == 2 ? read(a[0], a[1])
                                                                      : e.decl()(a);
        }
        done.emplace(e.id(), r);
        return r;
    }
};

}  // namespace

expr expand_reads(z3::context& ctx, const expr& f) {
    Reads r{ctx, {}, {}};
    return r.rewrite(f);
}

expr ground(z3::context& ctx, const expr& f, unsigned rounds, std::size_t* term_count) {
    Grounder g(ctx);
    expr sk = g.skolemize(f, true);
    std::vector<expr> terms[kDomains];
    std::unordered_set<std::uint64_t> have;
    for (int d = 0; d < kDomains; ++d) {
        for (auto& t : g.sk_terms[d]) {
            if (have.insert((std::uint64_t(t.id()) << kDomainBits) | unsigned(d)).second)
                terms[d].push_back(t);
        }
    }
    {
        std::unordered_set<unsigned> seen;
        g.collect(sk, seen, terms, have);
    }
    expr r = sk;
    for (unsigned round = 0; round < rounds; ++round) {
        g.in_memo.clear();
        g.terms = terms;
        r = g.instantiate(sk, true);
        if (round + 1 == rounds)
            break;
        std::unordered_set<unsigned> seen;
        auto before = have.size();
        g.collect(r, seen, terms, have);
        if (have.size() == before)
            break;
    }
    if (term_count)
        *term_count = have.size();
    return r;
}

}  // namespace keel::spec::param
