// NonMaxSuppression-10/11: greedy per-class box selection by score with an IoU threshold.
#include <algorithm>
#include <numeric>

#include <fmt/ranges.h>

#include "runtime/cpu/misc.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

struct Box {
  float y1, x1, y2, x2;
};

float iou(const Box& a, const Box& b) {
  const float area_a = (a.y2 - a.y1) * (a.x2 - a.x1);
  const float area_b = (b.y2 - b.y1) * (b.x2 - b.x1);
  if (area_a <= 0 || area_b <= 0) return 0;
  const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (ih <= 0 || iw <= 0) return 0;
  const float inter = ih * iw;
  return inter / (area_a + area_b - inter);
}

class NmsKernel final : public CheckedKernel {
 public:
  explicit NmsKernel(const KernelInit& init) : center_(init.node.attr_int("center_point_box", 0)) {
    if (center_ != 0 && center_ != 1) status_ = node_error(init.node, "center_point_box must be 0 or 1, got {}", center_);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* boxes, need_input(ctx, 0, "boxes"));
    ASSIGN_OR_RETURN(const Tensor* scores, need_input(ctx, 1, "scores"));
    if (boxes->dtype() != DType::Float || scores->dtype() != DType::Float)
      return node_unsupported(n, "boxes and scores must be float32");
    if (boxes->rank() != 3 || boxes->dims()[2] != 4)
      return node_error(n, "boxes must be [batch, boxes, 4], got [{}]", fmt::join(boxes->dims(), ","));
    if (scores->rank() != 3 || scores->dims()[0] != boxes->dims()[0] || scores->dims()[2] != boxes->dims()[1])
      return node_error(n, "scores [{}] must be [batch, classes, boxes] matching boxes [{}]",
                        fmt::join(scores->dims(), ","), fmt::join(boxes->dims(), ","));
    int64_t max_out = 0;
    float iou_threshold = 0;
    std::optional<float> score_threshold;
    if (ctx.input_tensor(2)) {
      ASSIGN_OR_RETURN(max_out, scalar_int_input(ctx, 2, "max_output_boxes_per_class"));
    }
    if (ctx.input_tensor(3)) {
      ASSIGN_OR_RETURN(double v, scalar_double_input(ctx, 3, "iou_threshold"));
      if (v < 0 || v > 1) return node_error(n, "iou_threshold {} must be in [0, 1]", v);
      iou_threshold = static_cast<float>(v);
    }
    if (ctx.input_tensor(4)) {
      ASSIGN_OR_RETURN(double v, scalar_double_input(ctx, 4, "score_threshold"));
      score_threshold = static_cast<float>(v);
    }
    const int64_t batches = boxes->dims()[0], nb = boxes->dims()[1], classes = scores->dims()[1];
    const float* bp = boxes->data<float>();
    const float* sp = scores->data<float>();
    std::vector<int64_t> selected;  // triples
    for (int64_t b = 0; b < batches && max_out > 0; ++b) {
      std::vector<Box> bx(static_cast<size_t>(nb));
      for (int64_t i = 0; i < nb; ++i) {
        const float* p = bp + (b * nb + i) * 4;
        if (center_ == 1) {
          bx[i] = {p[1] - p[3] / 2, p[0] - p[2] / 2, p[1] + p[3] / 2, p[0] + p[2] / 2};
        } else {
          bx[i] = {std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]), std::max(p[1], p[3])};
        }
      }
      for (int64_t c = 0; c < classes; ++c) {
        const float* s = sp + (b * classes + c) * nb;
        std::vector<int64_t> cand;
        for (int64_t i = 0; i < nb; ++i)
          if (!score_threshold || s[i] > *score_threshold) cand.push_back(i);
        std::stable_sort(cand.begin(), cand.end(), [&](int64_t a, int64_t c2) { return s[a] > s[c2]; });
        std::vector<int64_t> kept;
        for (int64_t i : cand) {
          if (static_cast<int64_t>(kept.size()) >= max_out) break;
          bool keep = true;
          for (int64_t k : kept)
            if (iou(bx[i], bx[k]) > iou_threshold) {
              keep = false;
              break;
            }
          if (keep) kept.push_back(i);
        }
        for (int64_t k : kept) selected.insert(selected.end(), {b, c, k});
      }
    }
    const int64_t count = static_cast<int64_t>(selected.size() / 3);
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::Int64, {count, 3}));
    std::copy(selected.begin(), selected.end(), out->mutable_data<int64_t>());
    return Status::ok();
  }

 private:
  int64_t center_;
};

}  // namespace

void register_nms_ops(KernelRegistry& r) {
  r.add("", "NonMaxSuppression", 10, INT32_MAX, checked_factory<NmsKernel>());
}

}  // namespace ortool::rt::cpu
