// Scan: iterates the body over slices of the scan inputs, carrying state; opset 8 (batched) and 9+ (axes, directions).
#include "runtime/cpu/control.h"

namespace ortool::rt::cpu {
namespace {

// Opset 9 and later: inputs are N states then M scan inputs; scan axes and directions per input/output.
class ScanKernel final : public Kernel {
 public:
  static Result<std::unique_ptr<Kernel>> create(const KernelInit& init) {
    const ir::Node& n = init.node;
    ASSIGN_OR_RETURN(const ir::Graph* body, graph_attr(n, "body"));
    auto k = std::unique_ptr<ScanKernel>(new ScanKernel());
    k->body_ = body;
    const int64_t m = n.attr_int("num_scan_inputs", -1);
    if (m < 1 || static_cast<size_t>(m) > n.num_inputs())
      return invalid("{}: num_scan_inputs must be in [1, {}], got {}", n.describe(), n.num_inputs(), m);
    k->scan_inputs_ = static_cast<size_t>(m);
    k->states_ = n.num_inputs() - k->scan_inputs_;
    if (body->inputs().size() != n.num_inputs())
      return invalid("{}: body takes {} inputs, the node has {}", n.describe(), body->inputs().size(), n.num_inputs());
    if (body->outputs().size() < k->states_)
      return invalid("{}: body has {} outputs, fewer than the {} state variables", n.describe(), body->outputs().size(),
                     k->states_);
    k->scan_outputs_ = body->outputs().size() - k->states_;
    if (n.num_outputs() > body->outputs().size())
      return invalid("{}: the node has {} outputs, the body {}", n.describe(), n.num_outputs(), body->outputs().size());
    k->in_axes_ = n.attr_ints("scan_input_axes", std::vector<int64_t>(k->scan_inputs_, 0));
    k->in_dirs_ = n.attr_ints("scan_input_directions", std::vector<int64_t>(k->scan_inputs_, 0));
    k->out_axes_ = n.attr_ints("scan_output_axes", std::vector<int64_t>(k->scan_outputs_, 0));
    k->out_dirs_ = n.attr_ints("scan_output_directions", std::vector<int64_t>(k->scan_outputs_, 0));
    if (k->in_axes_.size() != k->scan_inputs_ || k->in_dirs_.size() != k->scan_inputs_)
      return invalid("{}: scan_input_axes/scan_input_directions must have {} entries", n.describe(), k->scan_inputs_);
    if (k->out_axes_.size() != k->scan_outputs_ || k->out_dirs_.size() != k->scan_outputs_)
      return invalid("{}: scan_output_axes/scan_output_directions must have {} entries", n.describe(),
                     k->scan_outputs_);
    for (int64_t d : k->in_dirs_)
      if (d != 0 && d != 1) return invalid("{}: scan_input_directions must be 0 or 1, got {}", n.describe(), d);
    for (int64_t d : k->out_dirs_)
      if (d != 0 && d != 1) return invalid("{}: scan_output_directions must be 0 or 1, got {}", n.describe(), d);
    return std::unique_ptr<Kernel>(std::move(k));
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    std::vector<RValue> states(states_);
    for (size_t i = 0; i < states_; ++i) {
      const Tensor* t = ctx.input_tensor(i);
      if (!t) return invalid("{}: state input {} must be a tensor", node.describe(), i);
      states[i] = *t;
    }
    std::vector<const Tensor*> xs(scan_inputs_);
    std::vector<size_t> axes(scan_inputs_);
    int64_t len = -1;
    for (size_t j = 0; j < scan_inputs_; ++j) {
      const size_t in = states_ + j;
      xs[j] = ctx.input_tensor(in);
      if (!xs[j]) return invalid("{}: scan input {} (input {}) must be a tensor", node.describe(), j, in);
      const int64_t r = static_cast<int64_t>(xs[j]->rank());
      int64_t a = in_axes_[j];
      if (a < -r || a >= r)
        return invalid("{}: scan_input_axes[{}] = {} is out of range for input {} of rank {}", node.describe(), j, a,
                       in, r);
      if (a < 0) a += r;
      axes[j] = static_cast<size_t>(a);
      const int64_t l = xs[j]->dims()[axes[j]];
      if (len >= 0 && l != len)
        return invalid("{}: scan input {} has {} iterations along its axis, an earlier one has {}", node.describe(), in,
                       l, len);
      len = l;
    }

    std::vector<std::vector<Tensor>> scans(scan_outputs_);
    for (int64_t t = 0; t < len; ++t) {
      std::vector<RValue> in;
      for (RValue& s : states) in.push_back(std::move(s));
      for (size_t j = 0; j < scan_inputs_; ++j)
        in.emplace_back(slice_along_axis(*xs[j], axes[j], in_dirs_[j] ? len - 1 - t : t));
      ASSIGN_OR_RETURN(std::vector<RValue> out, ctx.run_subgraph(*body_, std::move(in)));
      if (out.size() != states_ + scan_outputs_)
        return internal_error("{}: body returned {} values, expected {}", node.describe(), out.size(),
                              states_ + scan_outputs_);
      for (size_t i = 0; i < states_; ++i) {
        if (!out[i].is_tensor()) return invalid("{}: body state output {} is not a tensor", node.describe(), i);
        states[i] = std::move(out[i]);
      }
      for (size_t k = 0; k < scan_outputs_; ++k) {
        if (!out[states_ + k].is_tensor())
          return invalid("{}: body scan output {} is not a tensor", node.describe(), k);
        TRY(ctx.hold_memory(out[states_ + k].tensor.nbytes()));
        scans[k].push_back(std::move(out[states_ + k].tensor));
      }
    }
    if (len < 0) len = 0;

    const size_t outputs = ctx.num_outputs();
    for (size_t i = 0; i < states_ && i < outputs; ++i) TRY(ctx.set_output(i, std::move(states[i])));
    for (size_t k = 0; k < scan_outputs_ && states_ + k < outputs; ++k) {
      const size_t o = states_ + k;
      if (!ctx.output_wanted(o)) continue;
      std::vector<Tensor>& parts = scans[k];
      const ir::Value* bo = body_->outputs()[states_ + k];
      int64_t r = parts.empty()
                      ? (bo->type.is_tensor() && bo->type.shape ? static_cast<int64_t>(bo->type.shape->size()) : 0)
                      : static_cast<int64_t>(parts[0].rank());
      int64_t a = out_axes_[k];
      if (a < -(r + 1) || a > r)
        return invalid("{}: scan_output_axes[{}] = {} is out of range for a scan output of rank {}", node.describe(), k,
                       a, r + 1);
      if (a < 0) a += r + 1;
      if (parts.empty()) {
        auto [dt, dims] = empty_scan_output(bo, static_cast<size_t>(a), 0);
        TRY(ctx.allocate_output(o, dt, dims).status());
        continue;
      }
      TRY(check_same_shape(node, parts, fmt::format("scan output {}", k)));
      std::vector<int64_t> dims = parts[0].dims();
      dims.insert(dims.begin() + a, len);
      ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(o, parts[0].dtype(), dims));
      std::vector<int64_t> positions(parts.size());
      for (size_t i = 0; i < parts.size(); ++i)
        positions[i] = out_dirs_[k] ? len - 1 - static_cast<int64_t>(i) : static_cast<int64_t>(i);
      stack_into(parts, positions, static_cast<size_t>(a), *y);
    }
    return Status::ok();
  }

 private:
  ScanKernel() = default;
  const ir::Graph* body_ = nullptr;
  size_t states_ = 0, scan_inputs_ = 0, scan_outputs_ = 0;
  std::vector<int64_t> in_axes_, in_dirs_, out_axes_, out_dirs_;
};

// Opset 8: input 0 is sequence_lens (optional), then N states [batch, ...] and M scan inputs
// [batch, seq, ...]; each batch entry is scanned on its own, outputs are [batch, seq, ...] padded with zeros.
class Scan8Kernel final : public Kernel {
 public:
  static Result<std::unique_ptr<Kernel>> create(const KernelInit& init) {
    const ir::Node& n = init.node;
    ASSIGN_OR_RETURN(const ir::Graph* body, graph_attr(n, "body"));
    auto k = std::unique_ptr<Scan8Kernel>(new Scan8Kernel());
    k->body_ = body;
    const int64_t m = n.attr_int("num_scan_inputs", -1);
    if (n.num_inputs() < 1 || m < 1 || static_cast<size_t>(m) > n.num_inputs() - 1)
      return invalid("{}: num_scan_inputs must be in [1, {}], got {}", n.describe(),
                     n.num_inputs() > 0 ? n.num_inputs() - 1 : 0, m);
    k->scan_inputs_ = static_cast<size_t>(m);
    k->states_ = n.num_inputs() - 1 - k->scan_inputs_;
    if (body->inputs().size() != n.num_inputs() - 1)
      return invalid("{}: body takes {} inputs, expected {}", n.describe(), body->inputs().size(), n.num_inputs() - 1);
    if (body->outputs().size() < k->states_)
      return invalid("{}: body has {} outputs, fewer than the {} state variables", n.describe(), body->outputs().size(),
                     k->states_);
    k->scan_outputs_ = body->outputs().size() - k->states_;
    if (n.num_outputs() > body->outputs().size())
      return invalid("{}: the node has {} outputs, the body {}", n.describe(), n.num_outputs(), body->outputs().size());
    k->dirs_ = n.attr_ints("directions", std::vector<int64_t>(k->scan_inputs_, 0));
    if (k->dirs_.size() != k->scan_inputs_)
      return invalid("{}: directions must have {} entries", n.describe(), k->scan_inputs_);
    for (int64_t d : k->dirs_)
      if (d != 0 && d != 1) return invalid("{}: directions must be 0 or 1, got {}", n.describe(), d);
    return std::unique_ptr<Kernel>(std::move(k));
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    int64_t batch = -1, max_len = -1;
    std::vector<const Tensor*> states(states_), xs(scan_inputs_);
    for (size_t i = 0; i < states_; ++i) {
      states[i] = ctx.input_tensor(1 + i);
      if (!states[i] || states[i]->rank() < 1)
        return invalid("{}: state input {} must be a tensor with a batch axis", node.describe(), 1 + i);
      if (batch >= 0 && states[i]->dims()[0] != batch)
        return invalid("{}: input {} has batch size {}, expected {}", node.describe(), 1 + i, states[i]->dims()[0],
                       batch);
      batch = states[i]->dims()[0];
    }
    for (size_t j = 0; j < scan_inputs_; ++j) {
      const size_t in = 1 + states_ + j;
      xs[j] = ctx.input_tensor(in);
      if (!xs[j] || xs[j]->rank() < 2)
        return invalid("{}: scan input {} must be a tensor [batch, sequence, ...]", node.describe(), in);
      if (batch >= 0 && xs[j]->dims()[0] != batch)
        return invalid("{}: input {} has batch size {}, expected {}", node.describe(), in, xs[j]->dims()[0], batch);
      batch = xs[j]->dims()[0];
      if (max_len >= 0 && xs[j]->dims()[1] != max_len)
        return invalid("{}: input {} has sequence length {}, expected {}", node.describe(), in, xs[j]->dims()[1],
                       max_len);
      max_len = xs[j]->dims()[1];
    }
    std::vector<int64_t> lens(static_cast<size_t>(batch), max_len);
    if (const Tensor* sl = ctx.input_tensor(0)) {
      if ((sl->dtype() != DType::Int64 && sl->dtype() != DType::Int32) || sl->numel() != batch)
        return invalid("{}: sequence_lens must be int64 with {} entries", node.describe(), batch);
      for (int64_t b = 0; b < batch; ++b) {
        lens[static_cast<size_t>(b)] = sl->get_int64(b);
        if (lens[static_cast<size_t>(b)] < 0 || lens[static_cast<size_t>(b)] > max_len)
          return invalid("{}: sequence_lens[{}] = {} is outside [0, {}]", node.describe(), b,
                         lens[static_cast<size_t>(b)], max_len);
      }
    }

    std::vector<std::vector<Tensor>> final_states(states_);      // [state][batch]
    std::vector<std::vector<Tensor>> scans(scan_outputs_);       // [output][flattened batch/step]
    std::vector<std::vector<int64_t>> positions(scan_outputs_);  // b * max_len + t
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<RValue> st(states_);
      for (size_t i = 0; i < states_; ++i) st[i] = slice_along_axis(*states[i], 0, b);
      std::vector<Tensor> seqs(scan_inputs_);
      for (size_t j = 0; j < scan_inputs_; ++j) seqs[j] = slice_along_axis(*xs[j], 0, b);
      const int64_t len = lens[static_cast<size_t>(b)];
      for (int64_t t = 0; t < len; ++t) {
        std::vector<RValue> in;
        for (RValue& s : st) in.push_back(std::move(s));
        for (size_t j = 0; j < scan_inputs_; ++j)
          in.emplace_back(slice_along_axis(seqs[j], 0, dirs_[j] ? len - 1 - t : t));
        ASSIGN_OR_RETURN(std::vector<RValue> out, ctx.run_subgraph(*body_, std::move(in)));
        if (out.size() != states_ + scan_outputs_)
          return internal_error("{}: body returned {} values, expected {}", node.describe(), out.size(),
                                states_ + scan_outputs_);
        for (size_t i = 0; i < states_; ++i) {
          if (!out[i].is_tensor()) return invalid("{}: body state output {} is not a tensor", node.describe(), i);
          st[i] = std::move(out[i]);
        }
        for (size_t k = 0; k < scan_outputs_; ++k) {
          if (!out[states_ + k].is_tensor())
            return invalid("{}: body scan output {} is not a tensor", node.describe(), k);
          TRY(ctx.hold_memory(out[states_ + k].tensor.nbytes()));
        scans[k].push_back(std::move(out[states_ + k].tensor));
          positions[k].push_back(b * max_len + t);
        }
      }
      for (size_t i = 0; i < states_; ++i) final_states[i].push_back(std::move(st[i].tensor));
    }

    const size_t outputs = ctx.num_outputs();
    for (size_t i = 0; i < states_ && i < outputs; ++i) {
      if (!ctx.output_wanted(i)) continue;
      std::vector<Tensor>& parts = final_states[i];
      TRY(check_same_shape(node, parts, fmt::format("state output {}", i)));
      std::vector<int64_t> dims = parts.empty() ? states[i]->dims() : parts[0].dims();
      if (!parts.empty()) dims.insert(dims.begin(), batch);
      ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(i, parts.empty() ? states[i]->dtype() : parts[0].dtype(), dims));
      std::vector<int64_t> pos(parts.size());
      for (size_t b = 0; b < parts.size(); ++b) pos[b] = static_cast<int64_t>(b);
      stack_into(parts, pos, 0, *y);
    }
    for (size_t k = 0; k < scan_outputs_ && states_ + k < outputs; ++k) {
      const size_t o = states_ + k;
      if (!ctx.output_wanted(o)) continue;
      std::vector<Tensor>& parts = scans[k];
      if (parts.empty()) {
        auto [dt, dims] = empty_scan_output(body_->outputs()[states_ + k], 0, max_len < 0 ? 0 : max_len);
        dims.insert(dims.begin(), batch < 0 ? 0 : batch);
        TRY(ctx.allocate_output(o, dt, dims).status());
        continue;
      }
      TRY(check_same_shape(node, parts, fmt::format("scan output {}", k)));
      std::vector<int64_t> dims = parts[0].dims();
      dims.insert(dims.begin(), batch * max_len);
      ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(o, parts[0].dtype(), dims));
      stack_into(parts, positions[k], 0, *y);  // zero padding stays where a sequence ended early
      std::vector<int64_t> final_dims = parts[0].dims();
      final_dims.insert(final_dims.begin(), {batch, max_len});
      *y = y->reshaped(final_dims);
    }
    return Status::ok();
  }

 private:
  Scan8Kernel() = default;
  const ir::Graph* body_ = nullptr;
  size_t states_ = 0, scan_inputs_ = 0, scan_outputs_ = 0;
  std::vector<int64_t> dirs_;
};

}  // namespace

void register_scan_ops(KernelRegistry& r) {
  r.add("", "Scan", 8, 8, Scan8Kernel::create);
  r.add("", "Scan", 9, INT32_MAX, ScanKernel::create);
}

}  // namespace ortool::rt::cpu
