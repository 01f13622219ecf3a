// The dnnl provider's quantized Add written as QDQ ("DQ, DQ -> Add -> Q", runtime/qdq_add_group.h), in
// QLinearAdd's arithmetic (runtime/cpu/qlinear_add.h), so the bytes equal ONNX Runtime's and the cpu
// provider's. Without it the Add ran in float between the Q/DQ pairs: one step off on ties, enough for a
// text detector that amplifies its quantization noise to end 18.5 dB from ONNX Runtime.
//
// An operand whose DequantizeLinear only the Add reads is read as its 8-bit tensor (no float copy is
// made). Operands of one static 4-D shape (or the second a single element, hard-swish's x + 3) may
// arrive NHWC inside an int8 region and are added as flat arrays (an operand in the other layout than the
// output is copied into it first); so may a 4-D a with a per-channel b ([1, C, 1, 1]); anything else (unknown
// or broadcast shapes) runs in the plain layout as the cpu provider runs it.
#include <algorithm>
#include <cmath>

#include "runtime/cpu/qlinear.h"
#include "runtime/cpu/qlinear_add.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/dnnl/dnnl_quant_loops.h"
#include "runtime/partition.h"
#include "runtime/qdq_add_group.h"

namespace ortool::rt::dnnl_ep {

namespace {

using cpu::qlinear::AddForm;
using cpu::qlinear::Dequantized;

// `t` (4-D) in the other layout: NCHW to NHWC when `to_nhwc`, else back, by a oneDNN reorder.
Tensor relaid(const Tensor& t, bool to_nhwc) {
  Tensor out(t.dtype(), t.dims());
  const dnnl::memory::data_type dt = t.dtype() == DType::Float  ? dnnl::memory::data_type::f32
                                     : t.dtype() == DType::UInt8 ? dnnl::memory::data_type::u8
                                                                 : dnnl::memory::data_type::s8;
  const dnnl::memory::dims dims(t.dims().begin(), t.dims().end());
  using tag = dnnl::memory::format_tag;
  dnnl::memory src({dims, dt, to_nhwc ? tag::nchw : tag::nhwc}, cpu_engine(), const_cast<void*>(t.raw()));
  dnnl::memory dst({dims, dt, to_nhwc ? tag::nhwc : tag::nchw}, cpu_engine(), out.raw_mutable());
  dnnl::stream s(cpu_engine());
  dnnl::reorder(src, dst).execute(s, src, dst);
  s.wait();
  return out;
}

class AddGroupKernel final : public Kernel {
 public:
  AddGroupKernel(qdq::AddGroup g, std::vector<int64_t> dims, bool b_one, bool b_channels,
                 std::shared_ptr<const Layouts> layouts)
      : g_(std::move(g)), dims_(std::move(dims)), b_one_(b_one), b_channels_(b_channels), layouts_(std::move(layouts)),
        form_(cpu::qlinear::add_form(g_.a.scale, g_.a.zero_point, g_.b.scale, g_.b.zero_point, g_.y.scale,
                                     g_.y.zero_point, g_.y.type == DType::UInt8)) {}

  // Its loops split through ctx.threads(); relaid's oneDNN reorder runs on the calling thread in a team.
  TeamUse team_use(KernelContext&) override { return TeamUse::Pool; }

  Status run(KernelContext& ctx) override {
    const bool a_nhwc = layouts_->input_nhwc(g_.a_input), b_nhwc = layouts_->input_nhwc(g_.b_input);
    const bool out_nhwc = layouts_->out_nhwc;
    if (!a_nhwc && !b_nhwc && !out_nhwc) return cpu::qlinear::run_add_group(ctx, g_, form_);
    if (b_channels_) return run_channels(ctx, a_nhwc, out_nhwc);
    // NHWC somewhere: the claim saw static shapes, the same on both sides or a single-element second one.
    const Tensor* a = ctx.input_tensor(g_.a_input);
    const Tensor* b = ctx.input_tensor(g_.b_input);
    auto fits = [&](const Tensor* t, const ir::Node* dq, const qdq::ActQuant& q, bool one) {
      return t && t->dtype() == (dq ? q.type : DType::Float) && (one ? t->numel() == 1 : t->dims() == dims_);
    };
    if (!fits(a, g_.a_dq, g_.a, false) || !fits(b, g_.b_dq, g_.b, b_one_))
      return invalid("{}: the quantized Add group wants operands of shape [{}]", ctx.node().describe(),
                     fmt::join(dims_, ","));
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, g_.y.type, dims_, KernelContext::Fill::Uninitialized));
    // Elements counted in the output's layout; an operand in the other layout is copied into it first
    // (the first Add of a region can meet a plain input).
    Tensor a_copy, b_copy;
    if (a_nhwc != out_nhwc) a = &(a_copy = relaid(*a, out_nhwc));
    if (!b_one_ && b_nhwc != out_nhwc) b = &(b_copy = relaid(*b, out_nhwc));
    const Dequantized qa(g_.a.scale, g_.a.zero_point), qb(g_.b.scale, g_.b.zero_point);
    const AddForm& f = form_;
    auto body = [&](int64_t begin, int64_t end) {
      auto typed = [&](auto* o) {
        cpu::qlinear::with_reader(*a, qa, [&](const auto& ra) {
          cpu::qlinear::with_reader(*b, qb, [&](const auto& rb) {
            if (b_one_) {  // folded into the constant first, as ONNX Runtime does
              const float k = cpu::qlinear::add_fold(f, f.rb, static_cast<int32_t>(rb(0)));
              cpu::qlinear::add_folded_loop(ra, f.ra, k, o, begin, end, f);
            } else {
              cpu::qlinear::add_loop(ra, rb, o, begin, end, f);
            }
          });
        });
      };
      if (g_.y.type == DType::UInt8) typed(y->mutable_data<uint8_t>());
      else typed(y->mutable_data<int8_t>());
    };
    split_loop(ctx, y->numel(), body, int64_t{1} << 15);
    return Status::ok();
  }

 private:
  // Operand b one value per channel ([1, C, 1, 1]: a bias a converter split off a conv) with NHWC somewhere:
  // folded per channel into the constant as ONNX Runtime folds a broadcast row (add_fold), as the cpu kernel
  // does in the plain layout, so the group stays in an int8 NHWC region (ppocr_det's upsampling head).
  Status run_channels(KernelContext& ctx, bool a_nhwc, bool out_nhwc) {
    const Tensor* a = ctx.input_tensor(g_.a_input);
    const Tensor* b = ctx.input_tensor(g_.b_input);
    const int64_t c = dims_[1];
    auto typed = [&](const Tensor* t, const ir::Node* dq, const qdq::ActQuant& q) {
      return t && t->dtype() == (dq ? q.type : DType::Float);
    };
    if (!typed(a, g_.a_dq, g_.a) || a->dims() != dims_ || !typed(b, g_.b_dq, g_.b) || b->numel() != c)
      return invalid("{}: the quantized Add group wants operands of shapes [{}] and [1,{},1,1]", ctx.node().describe(),
                     fmt::join(dims_, ","), c);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, g_.y.type, dims_, KernelContext::Fill::Uninitialized));
    Tensor a_copy;
    if (a_nhwc != out_nhwc) a = &(a_copy = relaid(*a, out_nhwc));
    const AddForm& f = form_;
    std::vector<float> k(static_cast<size_t>(c));
    cpu::qlinear::with_reader(*b, Dequantized(g_.b.scale, g_.b.zero_point), [&](const auto& rb) {
      for (int64_t i = 0; i < c; ++i) k[static_cast<size_t>(i)] = cpu::qlinear::add_fold(f, f.rb, static_cast<int32_t>(rb(i)));
    });
    const int64_t hw = dims_[2] * dims_[3], rows = dims_[0] * (out_nhwc ? hw : c), per_row = out_nhwc ? c : hw;
    auto body = [&](int64_t r0, int64_t r1) {
      auto run_typed = [&](auto* o) {
        cpu::qlinear::with_reader(*a, Dequantized(g_.a.scale, g_.a.zero_point), [&](const auto& ra) {
          for (int64_t r = r0; r < r1; ++r) {
            if (out_nhwc) {  // a pixel: every channel's constant
              cpu::qlinear::add_channels_loop(ra, f.ra, k.data(), o, r * c, c, f);
            } else {  // a channel's plane: one constant
              cpu::qlinear::add_folded_loop(ra, f.ra, k[static_cast<size_t>(r % c)], o, r * hw, (r + 1) * hw, f);
            }
          }
        });
      };
      if (g_.y.type == DType::UInt8) run_typed(y->mutable_data<uint8_t>());
      else run_typed(y->mutable_data<int8_t>());
    };
    split_loop(ctx, rows, body, std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(per_row, 1)));
    return Status::ok();
  }

  qdq::AddGroup g_;
  std::vector<int64_t> dims_;  // of the output and operand a (and operand b unless it is one element)
  bool b_one_;
  bool b_channels_;  // b is [1, C, 1, 1] (or [C, 1, 1]) against a 4-D a
  std::shared_ptr<const Layouts> layouts_;
  AddForm form_;
};

}  // namespace

std::optional<DnnlClaim> claim_add_group(const GraphView& view, const ir::Node& add) {
  std::optional<qdq::AddGroup> g = qdq::match_add_group(view, add);
  if (!g) return std::nullopt;
  const std::vector<int64_t> da = static_dims(*add.input(0)), db = static_dims(*add.input(1));
  const bool b_one = !db.empty() && std::all_of(db.begin(), db.end(), [](int64_t x) { return x == 1; }) &&
                     db.size() <= da.size();
  // Operand b one value per channel of a static 4-D a ([1, C, 1, 1] or [C, 1, 1]).
  bool b_channels = !b_one && da.size() == 4 && db.size() >= 3 && db.size() <= 4 && db[db.size() - 3] == da[1];
  for (size_t i = 0; i < db.size() && b_channels; ++i) b_channels = i == db.size() - 3 || db[i] == 1;
  // NHWC only where the loops are right: a static 4-D operand a, and operand b the same, one element or per channel.
  const bool four = da.size() == 4 && (da == db || b_one || b_channels);
  DnnlClaim dc;
  dc.claim.nodes = g->nodes;
  const size_t n_in = group_inputs(dc.claim.nodes).size();
  dc.nhwc_ok.assign(n_in, false);
  dc.nhwc_8bit_ok.assign(n_in, false);
  auto allow = [&](size_t pos, const ir::Node* dq, bool ok) {
    if (dq) dc.nhwc_8bit_ok[pos] = ok;
    else dc.nhwc_ok[pos] = ok;
  };
  allow(g->a_input, g->a_dq, four);
  allow(g->b_input, g->b_dq, four && !b_one && !b_channels);
  // With a float operand, NHWC needs it to be a float 4-D tensor (the layout pass checks those only
  // when asked); 8-bit operands are checked per input.
  dc.nhwc_needs_all_float4 = !g->a_dq || !g->b_dq;
  dc.out_nhwc_ok = four;
  dc.out_8bit = true;
  dc.same_layout = g->a_input == 0;  // the output follows operand a
  std::shared_ptr<const Layouts> layouts = dc.layouts;
  dc.claim.factory = [group = *g, da, b_one, b_channels, layouts](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<AddGroupKernel>(group, da, b_one, b_channels, layouts));
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
