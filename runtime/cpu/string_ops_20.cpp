// The string ops of opset 20: StringConcat (broadcasting), RegexFullMatch and StringSplit.
//
// RegexFullMatch uses std::regex's ECMAScript grammar, which accepts the RE2 patterns ONNX Runtime
// takes for the common constructs (classes, \d \w \s \b, groups, alternation, repetition).
#include <regex>

#include <fmt/ranges.h>

#include "runtime/cpu/misc.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

Result<const Tensor*> string_input(const KernelContext& ctx, size_t i, std::string_view what) {
  ASSIGN_OR_RETURN(const Tensor* t, need_input(ctx, i, what));
  if (!t->is_string())
    return node_error(ctx.node(), "input '{}' must be a string tensor, got {}", what, dtype_name(t->dtype()));
  return t;
}

// StringConcat: X + Y element-wise with numpy broadcasting.
Status run_string_concat(KernelContext& ctx) {
  const ir::Node& n = ctx.node();
  ASSIGN_OR_RETURN(const Tensor* x, string_input(ctx, 0, "X"));
  ASSIGN_OR_RETURN(const Tensor* y, string_input(ctx, 1, "Y"));
  const size_t rank = std::max(x->rank(), y->rank());
  // Both dims right-aligned to `rank`; a dim of 1 broadcasts (stride 0).
  auto aligned = [rank](const std::vector<int64_t>& d) {
    std::vector<int64_t> a(rank - d.size(), 1);
    a.insert(a.end(), d.begin(), d.end());
    return a;
  };
  const std::vector<int64_t> xd = aligned(x->dims()), yd = aligned(y->dims());
  std::vector<int64_t> od(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (xd[i] != yd[i] && xd[i] != 1 && yd[i] != 1)
      return node_error(n, "inputs of shapes [{}] and [{}] do not broadcast", fmt::join(x->dims(), ","),
                        fmt::join(y->dims(), ","));
    od[i] = xd[i] == 1 ? yd[i] : xd[i];
  }
  ASSIGN_OR_RETURN(int64_t count, checked_dims(n, od));
  const std::vector<int64_t> xs = strides_of(xd), ys = strides_of(yd);
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::String, od));
  auto& o = out->mutable_strings();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t k = 0; k < count; ++k) {
    int64_t xi = 0, yi = 0;
    for (size_t i = 0; i < rank; ++i) {
      if (xd[i] != 1) xi += idx[i] * xs[i];
      if (yd[i] != 1) yi += idx[i] * ys[i];
    }
    o[static_cast<size_t>(k)] = x->strings()[static_cast<size_t>(xi)] + y->strings()[static_cast<size_t>(yi)];
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < od[i]) break;
      idx[i] = 0;
    }
  }
  return Status::ok();
}

// libstdc++'s matcher recurses once per input character for some patterns: longer strings could
// exhaust the stack, so they are refused.
constexpr size_t kMaxRegexInput = 4096;

class RegexFullMatchKernel final : public CheckedKernel {
 public:
  explicit RegexFullMatchKernel(const KernelInit& init) {
    const std::string pattern = init.node.attr_string("pattern", "");
    try {
      re_ = std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      status_ = node_error(init.node, "attribute 'pattern' \"{}\" is not a valid regular expression ({})", pattern,
                           e.what());
    }
  }
  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(const Tensor* x, string_input(ctx, 0, "X"));
    for (const std::string& s : x->strings())
      if (s.size() > kMaxRegexInput)
        return node_unsupported(ctx.node(), "a string of {} bytes is longer than RegexFullMatch supports ({})",
                                s.size(), kMaxRegexInput);
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::Bool, x->dims()));
    auto* o = out->mutable_data<uint8_t>();
    for (size_t i = 0; i < x->strings().size(); ++i) o[i] = std::regex_match(x->strings()[i], re_) ? 1 : 0;
    return Status::ok();
  }

 private:
  std::regex re_;
};

// StringSplit: each string split on `delimiter` (or on runs of whitespace when there is none, ends
// trimmed), at most `maxsplit` times; Y holds the pieces padded with "" to the longest split, Z the
// count of pieces of each string.
class StringSplitKernel final : public CheckedKernel {
 public:
  explicit StringSplitKernel(const KernelInit& init) {
    delimiter_ = init.node.attr_string("delimiter", "");
    maxsplit_ = init.node.attr_int("maxsplit", -1);
  }
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, string_input(ctx, 0, "X"));
    std::vector<std::vector<std::string>> parts;
    parts.reserve(x->strings().size());
    size_t widest = 0;
    for (const std::string& s : x->strings()) {
      parts.push_back(delimiter_.empty() ? split_whitespace(s) : split_on(s));
      widest = std::max(widest, parts.back().size());
    }
    std::vector<int64_t> yd = x->dims();
    yd.push_back(static_cast<int64_t>(widest));
    TRY(checked_dims(n, yd).status());
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::String, yd));
    auto& ys = y->mutable_strings();
    for (size_t i = 0; i < parts.size(); ++i)
      for (size_t j = 0; j < parts[i].size(); ++j) ys[i * widest + j] = parts[i][j];
    if (want_output(ctx, 1)) {
      ASSIGN_OR_RETURN(Tensor * z, ctx.allocate_output(1, DType::Int64, x->dims()));
      for (size_t i = 0; i < parts.size(); ++i) z->mutable_data<int64_t>()[i] = static_cast<int64_t>(parts[i].size());
    }
    return Status::ok();
  }

 private:
  bool may_split(size_t done) const { return maxsplit_ < 0 || done < static_cast<size_t>(maxsplit_); }

  std::vector<std::string> split_on(const std::string& s) const {
    std::vector<std::string> out;
    size_t start = 0;
    while (may_split(out.size())) {
      const size_t at = s.find(delimiter_, start);
      if (at == std::string::npos) break;
      out.push_back(s.substr(start, at - start));
      start = at + delimiter_.size();
    }
    out.push_back(s.substr(start));
    return out;
  }

  std::vector<std::string> split_whitespace(const std::string& s) const {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && space(s[i])) ++i;
      if (i == s.size()) break;
      if (!may_split(out.size())) {  // the rest, trailing whitespace trimmed
        size_t end = s.size();
        while (end > i && space(s[end - 1])) --end;
        out.push_back(s.substr(i, end - i));
        break;
      }
      size_t j = i;
      while (j < s.size() && !space(s[j])) ++j;
      out.push_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }

  std::string delimiter_;
  int64_t maxsplit_ = -1;
};

}  // namespace

void register_string_ops_20(KernelRegistry& r) {
  r.add("", "StringConcat", 20, INT32_MAX, function_kernel(run_string_concat));
  r.add("", "RegexFullMatch", 20, INT32_MAX, checked_factory<RegexFullMatchKernel>());
  r.add("", "StringSplit", 20, INT32_MAX, checked_factory<StringSplitKernel>());
}

}  // namespace ortool::rt::cpu
