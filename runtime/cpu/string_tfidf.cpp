// TfIdfVectorizer-9: counts pool n-grams (with skips) in each row of int or string tokens; TF/IDF/TFIDF weights.
#include <algorithm>
#include <map>

#include <fmt/ranges.h>

#include "runtime/cpu/misc.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

class TfIdfKernel final : public CheckedKernel {
 public:
  explicit TfIdfKernel(const KernelInit& init) {
    const ir::Node& n = init.node;
    min_n_ = n.attr_int("min_gram_length", 0);
    max_n_ = n.attr_int("max_gram_length", 0);
    max_skip_ = n.attr_int("max_skip_count", 0);
    const std::string mode = n.attr_string("mode");
    if (mode == "TF") mode_ = 0;
    else if (mode == "IDF") mode_ = 1;
    else if (mode == "TFIDF") mode_ = 2;
    else status_ = node_error(n, "unknown mode '{}'", mode);
    const std::vector<int64_t> counts = n.attr_ints("ngram_counts");
    const std::vector<int64_t> indexes = n.attr_ints("ngram_indexes");
    weights_ = n.attr_floats("weights");
    pool_ints_ = n.attr_ints("pool_int64s");
    if (const ir::Attribute* a = n.attr("pool_strings")) pool_strings_ = a->strings;
    strings_ = !pool_strings_.empty();
    const int64_t pool_size = static_cast<int64_t>(strings_ ? pool_strings_.size() : pool_ints_.size());
    if (min_n_ < 1 || max_n_ < min_n_) {
      status_ = node_error(n, "bad gram lengths min {} max {}", min_n_, max_n_);
      return;
    }
    if (max_skip_ < 0) status_ = node_error(n, "max_skip_count {} is negative", max_skip_);
    // ngram_counts[i] is where the (i+1)-grams start in the pool.
    int64_t ordinal = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      const int64_t len = static_cast<int64_t>(i) + 1;
      const int64_t begin = counts[i];
      const int64_t end = i + 1 < counts.size() ? counts[i + 1] : pool_size;
      if (begin < 0 || end < begin || end > pool_size || (end - begin) % len != 0) {
        status_ = node_error(n, "ngram_counts [{}] do not split the pool of {} items", fmt::join(counts, ","), pool_size);
        return;
      }
      for (int64_t p = begin; p < end; p += len, ++ordinal) {
        if (ordinal >= static_cast<int64_t>(indexes.size())) {
          status_ = node_error(n, "ngram_indexes has fewer entries than the pool has n-grams");
          return;
        }
        const int64_t out_idx = indexes[ordinal];
        if (out_idx < 0) {
          status_ = node_error(n, "ngram_indexes has a negative entry");
          return;
        }
        out_size_ = std::max(out_size_, out_idx + 1);
        std::vector<std::string> key;
        for (int64_t k = 0; k < len; ++k)
          key.push_back(strings_ ? pool_strings_[p + k] : std::to_string(pool_ints_[p + k]));
        grams_[key] = out_idx;
      }
    }
    if (!weights_.empty() && static_cast<int64_t>(weights_.size()) < out_size_)
      status_ = node_error(n, "weights has {} entries for {} outputs", weights_.size(), out_size_);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "X"));
    if (x->is_string() != strings_)
      return node_error(n, "input type {} does not match the {} pool", dtype_name(x->dtype()),
                        strings_ ? "string" : "integer");
    if (!x->is_string() && x->dtype() != DType::Int32 && x->dtype() != DType::Int64)
      return node_error(n, "input must be int32, int64 or string, got {}", dtype_name(x->dtype()));
    if (x->rank() != 1 && x->rank() != 2) return node_error(n, "input must be [C] or [N, C], got rank {}", x->rank());
    const int64_t rows = x->rank() == 2 ? x->dims()[0] : 1;
    const int64_t cols = x->dims().back();
    std::vector<int64_t> dims = x->rank() == 2 ? std::vector<int64_t>{rows, out_size_} : std::vector<int64_t>{out_size_};
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::Float, dims));
    std::vector<std::string> tokens(static_cast<size_t>(x->numel()));
    for (int64_t i = 0; i < x->numel(); ++i) tokens[i] = x->is_string() ? x->strings()[i] : std::to_string(x->get_int64(i));
    std::vector<double> freq(static_cast<size_t>(out_size_));
    std::vector<std::string> key;
    for (int64_t r = 0; r < rows; ++r) {
      std::fill(freq.begin(), freq.end(), 0.0);
      const std::string* row = tokens.data() + r * cols;
      int64_t first_n = min_n_;
      for (int64_t skip = 1; skip <= max_skip_ + 1; ++skip) {
        for (int64_t s = 0; s < cols; ++s) {
          for (int64_t len = first_n; len <= max_n_; ++len) {
            if (s + (len - 1) * skip >= cols) break;
            key.clear();
            for (int64_t k = 0; k < len; ++k) key.push_back(row[s + k * skip]);
            auto it = grams_.find(key);
            if (it != grams_.end()) freq[it->second] += 1;
          }
        }
        // Unigrams do not depend on the skip distance: count them once.
        if (first_n == 1 && ++first_n > max_n_) break;
      }
      float* o = out->mutable_data<float>() + r * out_size_;
      for (int64_t i = 0; i < out_size_; ++i) {
        const double w = weights_.empty() ? 1.0 : weights_[i];
        if (mode_ == 0) o[i] = static_cast<float>(freq[i]);
        else if (mode_ == 1) o[i] = freq[i] > 0 ? static_cast<float>(w) : 0.0f;
        else o[i] = static_cast<float>(freq[i] * w);
      }
    }
    return Status::ok();
  }

 private:
  int64_t min_n_ = 0, max_n_ = 0, max_skip_ = 0;
  int mode_ = 0;  // 0 TF, 1 IDF, 2 TFIDF
  std::vector<float> weights_;
  std::vector<int64_t> pool_ints_;
  std::vector<std::string> pool_strings_;
  bool strings_ = false;
  int64_t out_size_ = 0;
  std::map<std::vector<std::string>, int64_t> grams_;  // n-gram tokens -> output index
};

}  // namespace

void register_tfidf_ops(KernelRegistry& r) {
  r.add("", "TfIdfVectorizer", 9, INT32_MAX, checked_factory<TfIdfKernel>());
}

}  // namespace ortool::rt::cpu
