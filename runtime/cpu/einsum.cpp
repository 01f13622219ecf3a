// Einsum: general Einstein summation (explicit/implicit output, ellipsis, repeated labels) by direct iteration.
#include <algorithm>
#include <array>
#include <string>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/linalg.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

constexpr int kEllipsis = -1;   // marker inside a parsed term
constexpr int kNumLetters = 52;  // 'A'..'Z' -> 0..25, 'a'..'z' -> 26..51 (ASCII order)

int letter_id(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -2;
}

// One term ("ij", "...ii") as letter ids with kEllipsis standing for the ellipsis.
Result<std::vector<int>> parse_term(std::string_view t) {
  std::vector<int> out;
  bool seen_ellipsis = false;
  for (size_t i = 0; i < t.size();) {
    if (t[i] == '.') {
      if (t.substr(i, 3) != "..." || seen_ellipsis) return invalid("malformed ellipsis in term '{}'", t);
      seen_ellipsis = true;
      out.push_back(kEllipsis);
      i += 3;
      continue;
    }
    const int id = letter_id(t[i]);
    if (id < 0) return invalid("unexpected character '{}' in term '{}'", t[i], t);
    out.push_back(id);
    ++i;
  }
  return out;
}

struct Equation {
  std::vector<std::vector<int>> inputs;
  bool explicit_output = false;
  std::vector<int> output;
};

Result<Equation> parse_equation(const std::string& raw) {
  std::string eq;
  for (char c : raw)
    if (c != ' ' && c != '\t') eq += c;
  Equation e;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  if (arrow != std::string::npos) {
    e.explicit_output = true;
    ASSIGN_OR_RETURN(e.output, parse_term(std::string_view(eq).substr(arrow + 2)));
  }
  size_t start = 0;
  for (;;) {
    const size_t comma = lhs.find(',', start);
    ASSIGN_OR_RETURN(auto term, parse_term(std::string_view(lhs).substr(start, comma - start)));
    e.inputs.push_back(std::move(term));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return e;
}

class EinsumKernel final : public Kernel {
 public:
  explicit EinsumKernel(Equation eq) : eq_(std::move(eq)) {}

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const size_t nin = eq_.inputs.size();
    if (ctx.num_inputs() != nin)
      return invalid("{}: the equation has {} operands but the node has {} inputs", node.describe(), nin,
                     ctx.num_inputs());
    std::vector<const Tensor*> x(nin);
    for (size_t i = 0; i < nin; ++i) {
      x[i] = ctx.input_tensor(i);
      if (!x[i]) return invalid("{}: input {} is missing", node.describe(), i);
      if (x[i]->dtype() != x[0]->dtype()) return invalid("{}: inputs differ in element type", node.describe());
    }
    // Ellipsis ranks, then every input dim as a label id (ellipsis dims get ids 52 + j, right-aligned).
    int64_t ell_rank = 0;
    bool any_ellipsis = false;
    std::vector<int64_t> ell_of(nin, 0);
    for (size_t i = 0; i < nin; ++i) {
      const auto& term = eq_.inputs[i];
      const bool has_ell = std::find(term.begin(), term.end(), kEllipsis) != term.end();
      const int64_t letters = static_cast<int64_t>(term.size()) - (has_ell ? 1 : 0);
      const int64_t rank = static_cast<int64_t>(x[i]->rank());
      if (has_ell ? rank < letters : rank != letters)
        return invalid("{}: input {} has rank {} but its term has {} labels", node.describe(), i, rank, letters);
      any_ellipsis |= has_ell;
      ell_of[i] = has_ell ? rank - letters : 0;
      ell_rank = std::max(ell_rank, ell_of[i]);
    }
    const int num_labels = kNumLetters + static_cast<int>(ell_rank);
    std::vector<std::vector<int>> dim_labels(nin);
    std::vector<int64_t> size(static_cast<size_t>(num_labels), -1);
    std::vector<int> count(static_cast<size_t>(num_labels), 0);
    for (size_t i = 0; i < nin; ++i) {
      for (int l : eq_.inputs[i]) {
        if (l != kEllipsis) {
          dim_labels[i].push_back(l);
          continue;
        }
        for (int64_t j = 0; j < ell_of[i]; ++j)
          dim_labels[i].push_back(kNumLetters + static_cast<int>(ell_rank - ell_of[i] + j));
      }
      for (size_t d = 0; d < dim_labels[i].size(); ++d) {
        const int l = dim_labels[i][d];
        const int64_t n = x[i]->dims()[d];
        int64_t& s = size[static_cast<size_t>(l)];
        if (s == -1 || s == 1) s = n;
        else if (n != s && n != 1)
          return invalid("{}: label sizes {} and {} disagree (input {}, dim {})", node.describe(), s, n, i, d);
        ++count[static_cast<size_t>(l)];
      }
    }
    // Output labels.
    std::vector<int> out;
    if (eq_.explicit_output) {
      for (int l : eq_.output) {
        if (l == kEllipsis) {
          for (int64_t j = 0; j < ell_rank; ++j) out.push_back(kNumLetters + static_cast<int>(j));
          continue;
        }
        if (count[static_cast<size_t>(l)] == 0)
          return invalid("{}: output label '{}' does not appear in the inputs", node.describe(), label_char(l));
        if (std::find(out.begin(), out.end(), l) != out.end())
          return invalid("{}: output label '{}' is repeated", node.describe(), label_char(l));
        out.push_back(l);
      }
    } else {
      if (any_ellipsis)
        for (int64_t j = 0; j < ell_rank; ++j) out.push_back(kNumLetters + static_cast<int>(j));
      for (int l = 0; l < kNumLetters; ++l)
        if (count[static_cast<size_t>(l)] == 1) out.push_back(l);
    }
    std::vector<int> summed;
    for (int l = 0; l < num_labels; ++l)
      if (count[static_cast<size_t>(l)] > 0 && std::find(out.begin(), out.end(), l) == out.end()) summed.push_back(l);
    for (int l : out)
      if (size[static_cast<size_t>(l)] < 0) size[static_cast<size_t>(l)] = 1;  // ellipsis dim no input has

    // Strides of every input per label (repeated labels add up: a diagonal walk).
    std::vector<std::vector<int64_t>> stride(nin, std::vector<int64_t>(static_cast<size_t>(num_labels), 0));
    for (size_t i = 0; i < nin; ++i) {
      int64_t s = 1;
      for (size_t d = dim_labels[i].size(); d-- > 0;) {
        const int64_t n = x[i]->dims()[d];
        if (n != 1) stride[i][static_cast<size_t>(dim_labels[i][d])] += s;
        s *= n;
      }
    }
    std::vector<int64_t> out_dims;
    for (int l : out) out_dims.push_back(size[static_cast<size_t>(l)]);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x[0]->dtype(), out_dims));
    int64_t sum_count = 1;
    for (int l : summed) sum_count *= size[static_cast<size_t>(l)];

    bool ok = dispatch_numeric(x[0]->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (!std::is_same_v<T, bool>) {
        std::vector<const T*> xd(nin);
        for (size_t i = 0; i < nin; ++i) xd[i] = x[i]->data<T>();
        T* yd = y->mutable_data<T>();
        parallel_ranges(ctx, static_cast<size_t>(y->numel()), [&](size_t lo, size_t hi) {
          std::vector<int64_t> base(nin), off(nin), idx(summed.size());
          for (size_t o = lo; o < hi; ++o) {
            // Input offsets of this output element.
            std::fill(base.begin(), base.end(), 0);
            int64_t rem = static_cast<int64_t>(o);
            for (size_t j = out.size(); j-- > 0;) {
              const size_t l = static_cast<size_t>(out[j]);
              const int64_t v = rem % size[l];
              rem /= size[l];
              for (size_t i = 0; i < nin; ++i) base[i] += v * stride[i][l];
            }
            off = base;
            std::fill(idx.begin(), idx.end(), 0);
            double facc = 0;
            uint64_t iacc = 0;
            for (int64_t s = 0; s < sum_count; ++s) {
              if constexpr (is_floating_v<T>) {
                double p = 1;
                for (size_t i = 0; i < nin; ++i) p *= to_double(xd[i][off[i]]);
                facc += p;
              } else {
                uint64_t p = 1;
                for (size_t i = 0; i < nin; ++i) p *= static_cast<uint64_t>(static_cast<int64_t>(xd[i][off[i]]));
                iacc += p;
              }
              for (size_t j = summed.size(); j-- > 0;) {
                const size_t l = static_cast<size_t>(summed[j]);
                if (++idx[j] < size[l]) {
                  for (size_t i = 0; i < nin; ++i) off[i] += stride[i][l];
                  break;
                }
                for (size_t i = 0; i < nin; ++i) off[i] -= stride[i][l] * (size[l] - 1);
                idx[j] = 0;
              }
            }
            if constexpr (is_floating_v<T>) yd[o] = from_double<T>(facc);
            else yd[o] = static_cast<T>(iacc);
          }
        });
      }
    });
    if (!ok || x[0]->dtype() == DType::Bool)
      return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x[0]->dtype()));
    return Status::ok();
  }

 private:
  static char label_char(int l) { return l < 26 ? static_cast<char>('A' + l) : static_cast<char>('a' + l - 26); }
  Equation eq_;
};

}  // namespace

KernelFactory einsum_kernel() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const std::string equation = init.node.attr_string("equation");
    auto eq = parse_equation(equation);
    if (!eq) return eq.status().with_context(fmt::format("{}: equation '{}'", init.node.describe(), equation));
    return std::unique_ptr<Kernel>(new EinsumKernel(std::move(*eq)));
  };
}

}  // namespace ortool::rt::cpu
