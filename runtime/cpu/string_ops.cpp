// StringNormalizer-10: stopword removal and case change of a [C] or [1, C] string tensor.
//
// Case mapping covers ASCII, Latin-1, Greek and basic Cyrillic letters of UTF-8 text; the 'locale'
// attribute is accepted and ignored.
#include <set>

#include <fmt/ranges.h>

#include "runtime/cpu/misc.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

uint32_t map_case(uint32_t c, bool upper) {
  auto in = [c](uint32_t lo, uint32_t hi) { return c >= lo && c <= hi; };
  if (upper) {
    if (in('a', 'z') || (in(0xE0, 0xFE) && c != 0xF7) || (in(0x3B1, 0x3C9) && c != 0x3C2) || in(0x430, 0x44F))
      return c - 0x20;
    if (in(0x450, 0x45F)) return c - 0x50;
  } else {
    if (in('A', 'Z') || (in(0xC0, 0xDE) && c != 0xD7) || (in(0x391, 0x3A9) && c != 0x3A2) || in(0x410, 0x42F))
      return c + 0x20;
    if (in(0x400, 0x40F)) return c + 0x50;
  }
  return c;
}

void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Changes the case of the letters it knows; other bytes (and invalid UTF-8) pass through unchanged.
std::string change_case(const std::string& s, bool upper) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      out += static_cast<char>(map_case(b0, upper));
      ++i;
      continue;
    }
    size_t len = (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : 0;
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (!valid) {
      out += s[i++];
      continue;
    }
    uint32_t c = len == 2 ? (b0 & 0x1F) : (b0 & 0x0F);
    for (size_t k = 1; k < len; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800)) {  // overlong: keep the bytes
      out.append(s, i, len);
    } else {
      append_utf8(out, map_case(c, upper));
    }
    i += len;
  }
  return out;
}

class StringNormalizerKernel final : public CheckedKernel {
 public:
  explicit StringNormalizerKernel(const KernelInit& init)
      : case_sensitive_(init.node.attr_int("is_case_sensitive", 0) != 0) {
    const std::string action = init.node.attr_string("case_change_action", "NONE");
    if (action == "NONE") action_ = 0;
    else if (action == "LOWER") action_ = 1;
    else if (action == "UPPER") action_ = 2;
    else status_ = node_error(init.node, "unknown case_change_action '{}'", action);
    if (const ir::Attribute* a = init.node.attr("stopwords"))
      for (const std::string& w : a->strings) stopwords_.insert(case_sensitive_ ? w : change_case(w, false));
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "X"));
    if (!x->is_string()) return node_error(n, "input must be a string tensor, got {}", dtype_name(x->dtype()));
    const bool two_d = x->rank() == 2;
    if (!(x->rank() == 1 || (two_d && x->dims()[0] == 1)))
      return node_error(n, "input must be [C] or [1, C], got [{}]", fmt::join(x->dims(), ","));
    std::vector<std::string> kept;
    for (const std::string& s : x->strings()) {
      if (!stopwords_.empty() && stopwords_.count(case_sensitive_ ? s : change_case(s, false))) continue;
      kept.push_back(action_ == 0 ? s : change_case(s, action_ == 2));
    }
    if (kept.empty()) kept.emplace_back();  // an empty result is one empty string
    const int64_t c = static_cast<int64_t>(kept.size());
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::String, two_d ? std::vector<int64_t>{1, c}
                                                                                 : std::vector<int64_t>{c}));
    out->mutable_strings() = std::move(kept);
    return Status::ok();
  }

 private:
  bool case_sensitive_;
  int action_ = 0;  // 0 none, 1 lower, 2 upper
  std::set<std::string> stopwords_;
};

}  // namespace

void register_string_ops(KernelRegistry& r) {
  r.add("", "StringNormalizer", 10, INT32_MAX, checked_factory<StringNormalizerKernel>());
}

}  // namespace ortool::rt::cpu
