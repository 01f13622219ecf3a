// Session: compiles each graph (and subgraph) into a plan of kernel steps with buffer liveness, then runs it.
#include "runtime/session.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <list>
#include <unordered_map>
#include <unordered_set>

#include "lib/human_size.h"
#include "lib/node_schema_check.h"
#include "lib/op_id.h"
#include "lib/quant_scale_check.h"
#include "runtime/buffer_pool.h"
#include "runtime/claim_util.h"
#include "runtime/core_load.h"
#include "runtime/partition.h"
#include "runtime/provider.h"
#include "runtime/team.h"
#include "runtime/thread_pool.h"

namespace ortool::rt {

namespace {

// Where a step finds an input: a slot of its own frame, or a slot `up` frames above.
struct Ref {
  int up = 0;     // 0: this frame; n: the n-th enclosing frame
  int slot = -1;  // -1: absent
};

// A watched value (SessionOptions::observe) and its slot in the main graph's frame.
struct Watched {
  const ir::Value* value = nullptr;
  int slot = -1;
};

// One kernel run: a single node, or a provider's fused group (Claim), which writes its last node's
// outputs and reads the group's external inputs.
struct Step {
  const ir::Node* node = nullptr;   // the node whose outputs the step writes (a group's last)
  const ir::Node* timed = nullptr;  // the node profiling files the step under (a group's first)
  const Provider* provider = nullptr;
  std::unique_ptr<Kernel> kernel;
  int64_t opset = 0;
  size_t fused_nodes = 1;
  std::vector<Ref> inputs;
  std::vector<int> outputs;  // -1: absent output
  std::vector<bool> wanted;
  std::vector<int> release;  // slots whose last reader is this step
  std::vector<int> dying_inputs;  // per input: its slot when this step releases it (in-place candidate), else -1
  std::vector<Watched> observe;   // outputs the observer sees once the step has run
};

struct Plan {
  const ir::Graph* graph = nullptr;
  std::unordered_map<const ir::Value*, int> slot_of;
  std::vector<RValue> initial;  // constants by slot; None elsewhere
  std::vector<bool> pinned;     // never released (constants, graph outputs, graph inputs)
  std::vector<int> input_slots;
  std::vector<Ref> output_refs;
  std::vector<Step> steps;
  std::vector<Watched> observe_at_start;  // watched graph inputs and constants, seen when a run starts
};

// The plans of the main graph and its subgraphs, made for one InitializerInputs assumption.
struct PlanSet {
  InitializerInputs inits = InitializerInputs::MayBeFed;
  std::unordered_map<const ir::Graph*, std::unique_ptr<Plan>> plans;
};

struct Frame {
  const PlanSet* set = nullptr;
  const Plan* plan = nullptr;
  std::vector<RValue> slots;
  std::vector<size_t> owned_bytes;  // bytes allocated by kernels into each slot
  Frame* parent = nullptr;
};

const RValue* resolve(const Frame* f, const Ref& r) {
  if (r.slot < 0) return nullptr;
  for (int i = 0; i < r.up; ++i) f = f->parent;
  return &f->slots[static_cast<size_t>(r.slot)];
}

// The largest tensor a kernel may allocate (1 TiB): larger sizes come from hostile dims, never from a model
// this machine could run; refused by allocate_output and, for declared shapes, at session creation.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 40;

// Counts live bytes against the session's limit.
struct MemoryMeter {
  size_t limit = 0;
  size_t live = 0;
  size_t peak = 0;
  Status reserve(size_t bytes, const ir::Node& n, size_t out) {
    if (limit && live + bytes > limit)
      return resource_limit("{}: output {} needs {}, over the --max-memory limit of {} ({} in use)", n.describe(),
                            out, human_bytes(bytes), human_bytes(limit), human_bytes(live));
    live += bytes;
    peak = std::max(peak, live);
    return Status::ok();
  }
  void release(size_t bytes) { live -= std::min(live, bytes); }
};

class SessionImpl;

// KernelContext over a frame (Session) or over plain vectors (run_node).
class Context final : public KernelContext {
 public:
  Context(const ir::Node& node, int64_t opset, std::vector<const RValue*> in, std::vector<RValue*> out,
          std::vector<bool> wanted, std::vector<size_t*> owned, MemoryMeter* meter, ThreadPool* pool,
          SessionImpl* session, Frame* frame, BufferPool* buffers = nullptr, const std::vector<int>* dying = nullptr)
      : node_(node), opset_(opset), in_(std::move(in)), out_(std::move(out)), wanted_(std::move(wanted)),
        owned_(std::move(owned)), meter_(meter), pool_(pool), session_(session), frame_(frame), buffers_(buffers),
        dying_(dying) {}

  const ir::Node& node() const override { return node_; }
  size_t num_inputs() const override { return in_.size(); }
  const RValue* input(size_t i) const override { return i < in_.size() ? in_[i] : nullptr; }
  size_t num_outputs() const override { return out_.size(); }
  bool output_wanted(size_t i) const override { return i < wanted_.size() && wanted_[i]; }
  int64_t opset() const override { return opset_; }
  ThreadPool* threads() const override { return pool_; }

  Result<Tensor*> allocate_output(size_t i, DType dtype, std::vector<int64_t> dims, Fill fill = Fill::Zero) override {
    if (i >= out_.size()) return internal_error("{}: output {} does not exist", node_.describe(), i);
    auto numel = checked_numel(dims);
    if (!numel.is_ok()) return invalid("{}: output {}: {}", node_.describe(), i, numel.status().message());
    size_t es = dtype == DType::String ? sizeof(std::string) : dtype_size(dtype);
    if (es == 0) return invalid("{}: output {} has no element type", node_.describe(), i);
    if (static_cast<uint64_t>(*numel) > kMaxTensorBytes / es)
      return resource_limit("{}: output {} of {} elements is too large", node_.describe(), i, *numel);
    size_t bytes = static_cast<size_t>(*numel) * es;
    TRY(meter_->reserve(bytes, node_, i));
    if (owned_[i]) *owned_[i] += bytes;
    RValue* slot = out_[i];
    if (!slot) {  // absent output: give the kernel scratch space it will not keep
      scratch_.emplace_back(Tensor(dtype, std::move(dims)));
      return &scratch_.back().tensor;
    }
    if (buffers_ && dtype != DType::String)
      *slot = RValue(Tensor(dtype, std::move(dims), buffers_->take(bytes, fill == Fill::Zero)));
    else
      *slot = RValue(Tensor(dtype, std::move(dims)));
    return &slot->tensor;
  }

  Result<Tensor*> reuse_input_or_allocate(size_t in, size_t i, DType dtype, std::vector<int64_t> dims) override {
    const int dying = dying_ && in < dying_->size() ? (*dying_)[in] : -1;
    if (dying >= 0 && frame_ && i < out_.size() && out_[i] && in_[in] && in_[in]->is_tensor() &&
        dtype != DType::String) {
      const Tensor& x = in_[in]->tensor;
      auto numel = checked_numel(dims);
      // use_count 1: only the dying slot holds the buffer (not a constant, a feed, a view or an output).
      if (numel.is_ok() && x.dtype() != DType::String && x.buffer() && x.buffer().use_count() == 1 &&
          static_cast<size_t>(*numel) * dtype_size(dtype) == x.nbytes()) {
        size_t& from = frame_->owned_bytes[static_cast<size_t>(dying)];
        if (owned_[i]) *owned_[i] += from;
        from = 0;
        *out_[i] = RValue(Tensor(dtype, std::move(dims), x.buffer()));
        return &out_[i]->tensor;
      }
    }
    return allocate_output(i, dtype, std::move(dims), Fill::Uninitialized);
  }

  Status set_output(size_t i, RValue v) override {
    if (i >= out_.size()) return internal_error("{}: output {} does not exist", node_.describe(), i);
    if (out_[i]) *out_[i] = std::move(v);
    return Status::ok();
  }

  Result<std::vector<RValue>> run_subgraph(const ir::Graph& g, std::vector<RValue> inputs) override;
  int64_t max_loop_iterations() const override;

  Status hold_memory(size_t bytes) override {
    TRY(meter_->reserve(bytes, node_, 0));
    held_ += bytes;
    return Status::ok();
  }
  ~Context() override { meter_->release(held_); }

 private:
  const ir::Node& node_;
  int64_t opset_;
  std::vector<const RValue*> in_;
  std::vector<RValue*> out_;
  std::vector<bool> wanted_;
  std::vector<size_t*> owned_;
  MemoryMeter* meter_;
  ThreadPool* pool_;
  SessionImpl* session_;
  Frame* frame_;
  BufferPool* buffers_;               // null: plain zero-filled heap tensors (run_node)
  const std::vector<int>* dying_;     // Step::dying_inputs, or null
  std::list<RValue> scratch_;
  size_t held_ = 0;  // hold_memory's bytes, released with the context
};

DType decisive_dtype(const ir::Node& n, int type_input) {
  const ir::Value* v = type_input >= 0 ? n.input(static_cast<size_t>(type_input)) : n.output(0);
  if (!v) return DType::Undefined;
  if (v->is_constant()) return v->constant()->dtype();
  return v->type.is_tensor() ? v->type.elem : DType::Undefined;
}

Result<std::unique_ptr<Kernel>> make_kernel(const ir::Node& n, const ir::Model& model, int64_t opset,
                                            const KernelRegistry& reg) {
  if (!reg.knows(n.domain(), n.op_type()))
    return unsupported("{}: unsupported op {} (domain '{}', opset {})", n.describe(), n.op_type(),
                       n.domain().empty() ? "ai.onnx" : n.domain(), opset);
  const KernelDef* def = reg.find(n.domain(), n.op_type(), opset, DType::Undefined);
  if (def && !def->types.empty()) {
    DType t = decisive_dtype(n, def->type_input);
    if (t != DType::Undefined) {
      const KernelDef* typed = reg.find(n.domain(), n.op_type(), opset, t);
      if (!typed)
        return unsupported("{}: op {} at opset {} has no kernel for element type {}", n.describe(), n.op_type(),
                           opset, dtype_name(t));
      def = typed;
    }
  }
  if (!def)
    return unsupported("{}: op {} (domain '{}') is not supported at opset {}", n.describe(), n.op_type(),
                       n.domain().empty() ? "ai.onnx" : n.domain(), opset);
  auto k = def->factory(KernelInit{n, opset, model});
  if (!k.is_ok() && k.status().message().find(n.describe()) == std::string::npos)
    return k.status().with_context(n.describe());
  return k;
}

int64_t opset_for(const ir::Model& m, const ir::Node& n) { return ir::node_opset(m, n); }

class SessionImpl final : public Session {
 public:
  SessionImpl(const ir::Model& model, SessionOptions opts, std::vector<std::unique_ptr<Provider>> providers)
      : model_(model), opts_(std::move(opts)), pool_(opts_.threads), buffers_(BufferPool::create()),
        providers_(std::move(providers)) {
    meter_.limit = opts_.max_memory_bytes;
    // XNNPACK's pool workers spin between its operators; the cpu provider's kernels run between them on
    // this session's pool, whose worker then waited for the scheduler to preempt a spinning one (2-thread
    // medians in steps of the 4 ms tick). With xnnpack in the session the cpu kernels run on one thread.
    const auto named = [&](const char* name) -> const Provider* {
      for (const auto& p : providers_)
        if (p->name() == name) return p.get();
      return nullptr;
    };
    if (opts_.threads > 1 && named("xnnpack")) cpu_on_one_thread_ = named("cpu");
  }

  // The plan for runs that leave initializer-backed inputs alone is made now; the one for runs that
  // feed one, on first need (most callers never do).
  Status compile() {
    const ir::Graph& g = *model_.graph;
    TRY(choose_observed(g));
    for (const ir::Value* v : g.inputs()) {
      inputs_.push_back(v);
      if (v->is_constant()) overridable_ = true;
    }
    for (const ir::Value* v : g.outputs()) outputs_.push_back(v);
    unfed_.inits = overridable_ ? InitializerInputs::NotFed : InitializerInputs::MayBeFed;
    return compile_graph(g, unfed_);
  }

  // The plans for a run with these feeds.
  Result<const PlanSet*> plans_for(const std::map<std::string, RValue>& feeds) {
    bool overrides = false;
    if (overridable_)
      for (const auto& [name, value] : feeds) {
        const ir::Value* v = model_.graph->find_value(name);
        overrides = overrides || (v && v->is_graph_input() && v->is_constant());
      }
    if (!overrides) return &unfed_;
    if (fed_.plans.empty()) {
      fed_.inits = InitializerInputs::MayBeFed;
      Status st = compile_graph(*model_.graph, fed_);
      if (!st.is_ok()) {
        fed_.plans.clear();
        return st;
      }
    }
    return &fed_;
  }

  Result<std::vector<RValue>> run(const std::map<std::string, RValue>& feeds) override {
    ASSIGN_OR_RETURN(const PlanSet* set, plans_for(feeds));
    const Plan& plan = *set->plans.at(model_.graph.get());
    Frame frame = new_frame(*set, plan, nullptr);
    std::map<std::string, int64_t> bound = opts_.dim_bindings;
    feed_notes_.clear();
    for (const auto& [name, value] : feeds) {
      const ir::Value* v = model_.graph->find_value(name);
      if (!v || !v->is_graph_input())
        return invalid("'{}' is not an input of the model (inputs: {})", name, input_names());
      TRY(check_feed(*v, value, bound));
      frame.slots[static_cast<size_t>(plan.slot_of.at(v))] = as_declared(*v, value);
    }
    for (const ir::Value* v : model_.graph->inputs()) {
      if (!feeds.count(v->name()) && !v->is_constant())
        return invalid("input '{}' ({}) was not given", v->name(), v->type.to_string());
    }
    meter_.live = 0;
    meter_.peak = 0;
    TRY(notify(plan.observe_at_start, frame));
    TRY(execute(frame));
    std::vector<RValue> out;
    for (const Ref& r : plan.output_refs) {
      const RValue* v = resolve(&frame, r);
      out.push_back(v ? *v : RValue());
    }
    for (size_t i = 0; i < out.size() && i < outputs_.size(); ++i) TRY(check_output_type(*outputs_[i], out[i]));
    return out;
  }

  // An output whose declared element type differs from what its node computes is refused (ONNX Runtime
  // refuses such a model at load), rather than written with a type its consumers do not expect.
  static Status check_output_type(const ir::Value& v, const RValue& got) {
    if (!got.is_tensor() || !v.type.is_tensor() || v.type.elem == DType::Undefined) return Status::ok();
    if (got.tensor.dtype() == v.type.elem) return Status::ok();
    const ir::Node* p = v.producer();
    return invalid("output '{}' is declared {} but {} computes {}", v.name(), dtype_name(v.type.elem),
                   p ? p->describe() : std::string("its source"), dtype_name(got.tensor.dtype()));
  }

  Result<std::vector<RValue>> run_graph(const ir::Graph& g, std::vector<RValue> inputs, Frame* parent) {
    const PlanSet& set = *parent->set;
    auto it = set.plans.find(&g);
    if (it == set.plans.end()) return internal_error("subgraph '{}' was not compiled", g.name);
    const Plan& plan = *it->second;
    if (inputs.size() != plan.input_slots.size())
      return invalid("subgraph '{}' takes {} inputs, got {}", g.name, plan.input_slots.size(), inputs.size());
    Frame frame = new_frame(set, plan, parent);
    for (size_t i = 0; i < inputs.size(); ++i) frame.slots[static_cast<size_t>(plan.input_slots[i])] = std::move(inputs[i]);
    TRY(execute(frame));
    std::vector<RValue> out;
    for (const Ref& r : plan.output_refs) {
      const RValue* v = resolve(&frame, r);
      out.push_back(v ? *v : RValue());
    }
    return out;
  }

  const std::vector<const ir::Value*>& inputs() const override { return inputs_; }
  const std::vector<std::string>& feed_notes() const override { return feed_notes_; }
  int threads_used() const override { return opts_.threads; }
  const std::vector<std::string>& providers() const override { return opts_.providers; }
  const std::vector<const ir::Value*>& outputs() const override { return outputs_; }
  size_t peak_memory_bytes() const override { return meter_.peak; }
  const SessionOptions& options() const { return opts_; }
  size_t arena_bytes() const override { return buffers_->peak_reserved_bytes(); }
  std::vector<NodeTiming> node_timings() const override {
    std::vector<NodeTiming> out;
    for (const ir::Node* n : timing_order_) out.push_back(timings_.at(n));
    return out;
  }
  void reset_timings() override {
    timings_.clear();
    timing_order_.clear();
  }

 private:
  std::string input_names() const {
    std::string s;
    for (const ir::Value* v : model_.graph->inputs()) {
      if (v->is_constant()) continue;
      if (!s.empty()) s += ", ";
      s += v->name();
    }
    return s;
  }

  // A one-element tensor fed for an input declared as a scalar (ONNX Runtime runs those; voice-activity
  // models are commonly fed [1] for their sample rate).
  static bool scalar_as_one_element(const ir::Value& v, const RValue& val) {
    const Type& t = v.type;
    return t.kind == Type::Kind::Tensor && t.shape && t.shape->empty() && val.is_tensor() &&
           val.tensor.rank() > 0 && val.tensor.numel() == 1;
  }

  // The feed as the graph declares it: such a one-element tensor becomes the scalar (a view), noted.
  RValue as_declared(const ir::Value& v, const RValue& val) {
    if (!scalar_as_one_element(v, val)) return val;
    feed_notes_.push_back(fmt::format("input '{}' is declared a scalar; the one-element tensor of shape {} fed for it "
                                      "runs as that scalar (ONNX Runtime accepts it too)",
                                      v.name(), shape_to_string(shape_from_dims(val.tensor.dims()))));
    return RValue(val.tensor.reshaped({}));
  }

  Status check_feed(const ir::Value& v, const RValue& val, std::map<std::string, int64_t>& bound) const {
    const Type& t = v.type;
    if (t.kind == Type::Kind::Tensor) {
      if (!val.is_tensor()) return invalid("input '{}': expected a tensor", v.name());
      const Tensor& x = val.tensor;
      if (t.elem != DType::Undefined && x.dtype() != t.elem)
        return invalid("input '{}': expected element type {}, got {}", v.name(), dtype_name(t.elem),
                       dtype_name(x.dtype()));
      if (t.shape && !scalar_as_one_element(v, val)) {
        const Shape& s = *t.shape;
        if (s.size() != x.rank())
          return invalid("input '{}': expected rank {} {}, got rank {} {}", v.name(), s.size(), shape_to_string(s),
                         x.rank(), shape_to_string(shape_from_dims(x.dims())));
        for (size_t d = 0; d < s.size(); ++d) {
          int64_t got = x.dims()[d];
          if (s[d].kind == Dim::Kind::Value && s[d].value != got)
            return invalid("input '{}': dimension {} must be {}, got {}", v.name(), d, s[d].value, got);
          if (s[d].kind == Dim::Kind::Param) {
            auto [it, fresh] = bound.emplace(s[d].param, got);
            if (!fresh && it->second != got)
              return invalid("input '{}': dimension {} ('{}') is {}, but '{}' is {} elsewhere", v.name(), d,
                             s[d].param, got, s[d].param, it->second);
          }
        }
      }
    } else if (t.kind == Type::Kind::Sequence && !val.is_sequence()) {
      return invalid("input '{}': expected a sequence", v.name());
    }
    return Status::ok();
  }

  Frame new_frame(const PlanSet& set, const Plan& plan, Frame* parent) const {
    Frame f;
    f.set = &set;
    f.plan = &plan;
    f.slots = plan.initial;
    f.owned_bytes.assign(plan.initial.size(), 0);
    f.parent = parent;
    return f;
  }

  // The context step `s` of `frame` runs in: its inputs resolved, its outputs' slots, its thread pool.
  Context context_for(Frame& frame, const Step& s) {
    std::vector<const RValue*> in;
    in.reserve(s.inputs.size());
    for (const Ref& r : s.inputs) in.push_back(resolve(&frame, r));
    std::vector<RValue*> out;
    std::vector<size_t*> owned;
    for (int o : s.outputs) {
      out.push_back(o >= 0 ? &frame.slots[static_cast<size_t>(o)] : nullptr);
      owned.push_back(o >= 0 ? &frame.owned_bytes[static_cast<size_t>(o)] : nullptr);
    }
    ThreadPool* pool = cpu_on_one_thread_ && s.provider == cpu_on_one_thread_ ? &solo_ : &pool_;
    return Context(*s.node, s.opset, std::move(in), std::move(out), s.wanted, std::move(owned), &meter_, pool, this,
                   &frame, buffers_.get(), &s.dying_inputs);
  }

  // Runs step `s` of `frame` in `ctx` (context_for), then releases the values it read last.
  Status run_step(Frame& frame, const Step& s, Context& ctx) {
    const auto t0 = opts_.profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    Status st = s.kernel->run(ctx);
    if (opts_.profile) record_time(s, std::chrono::steady_clock::now() - t0);
    if (!st.is_ok()) {
      // Errors name the node of the main graph and the innermost node that failed: the levels of
      // nested subgraphs in between add nothing (one line, whatever the depth).
      const std::string& msg = st.message();
      const bool named = msg.find(s.node->describe()) != std::string::npos ||
                         (frame.parent && (msg.find("node '") != std::string::npos ||
                                           msg.find(" node producing '") != std::string::npos ||
                                           msg.find("unnamed ") != std::string::npos));
      return named ? st : st.with_context(s.node->describe());
    }
    if (!s.observe.empty()) TRY(notify(s.observe, frame));
    for (int slot : s.release) {
      frame.slots[static_cast<size_t>(slot)] = RValue();
      meter_.release(frame.owned_bytes[static_cast<size_t>(slot)]);
      frame.owned_bytes[static_cast<size_t>(slot)] = 0;
    }
    return Status::ok();
  }

  Status execute(Frame& frame) {
    const std::vector<Step>& steps = frame.plan->steps;
    const bool teams = opts_.team && pool_.size() > 1 && !Team::current();
    bool no_team = false;  // steps[i] ended the last team: it was asked already
    for (size_t i = 0; i < steps.size();) {
      Context ctx = context_for(frame, steps[i]);
      if (teams && !no_team && steps[i].kernel->team_use(ctx) == TeamUse::Parts) {
        // A team for this step and those after it that can run on it.
        TRY(Team::run(pool_.size(), [&]() -> Status {
          TRY(run_step(frame, steps[i], ctx));
          for (++i; i < steps.size(); ++i) {
            Context next = context_for(frame, steps[i]);
            if (steps[i].kernel->team_use(next) == TeamUse::None) break;
            TRY(run_step(frame, steps[i], next));
          }
          return Status::ok();
        }));
        no_team = true;
        continue;
      }
      no_team = false;
      TRY(run_step(frame, steps[i], ctx));
      ++i;
    }
    // What is left in this frame (outputs) stays alive with the caller; count it as released here.
    for (size_t b : frame.owned_bytes) meter_.release(b);
    return Status::ok();
  }

  // Shows the watched values to the observer; FloatTensors mode passes float32 tensors only.
  Status notify(const std::vector<Watched>& watched, const Frame& frame) const {
    const ObserveOptions& o = opts_.observe;
    for (const Watched& w : watched) {
      const RValue& v = frame.slots[static_cast<size_t>(w.slot)];
      if (o.select == ObserveOptions::Select::FloatTensors && !(v.is_tensor() && v.tensor.dtype() == DType::Float))
        continue;
      TRY(o.callback(*w.value, v));
    }
    return Status::ok();
  }

  // Values of `g` that depend on a feed: graph inputs not backed by an initializer, and the outputs
  // of nodes reading one (`order` topological). A node with subgraphs counts as reading one: its
  // bodies may read feeds from the outer scope.
  static std::unordered_set<const ir::Value*> fed_values(const ir::Graph& g, const std::vector<ir::Node*>& order) {
    std::unordered_set<const ir::Value*> fed;
    for (const ir::Value* v : g.inputs())
      if (!v->is_constant()) fed.insert(v);
    for (const ir::Node* n : order) {
      bool reads = !n->subgraphs().empty();
      for (const ir::Value* v : n->inputs()) reads = reads || (v && fed.count(v));
      if (reads)
        for (const ir::Value* out : n->outputs())
          if (out) fed.insert(out);
    }
    return fed;
  }

  // The values of the main graph the observer watches (SessionOptions::observe), in value order.
  Status choose_observed(const ir::Graph& g) {
    const ObserveOptions& o = opts_.observe;
    if (!o.callback) return Status::ok();
    std::unordered_set<const ir::Value*> chosen;
    if (o.select == ObserveOptions::Select::Named) {
      for (const std::string& name : o.values) {
        const ir::Value* v = g.find_value(name);
        if (!v) return invalid("cannot watch '{}': the main graph has no value of that name", name);
        chosen.insert(v);
      }
    } else if (o.select == ObserveOptions::Select::All) {
      for (const ir::Value* v : g.values())
        if (v->is_graph_input() || v->producer()) chosen.insert(v);  // not initializers, folded constants
    } else {
      ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topological_order());
      for (const ir::Value* v : fed_values(g, order)) {
        const Type& t = v->type;
        // A value declared as anything but a float32 tensor never holds one.
        if (t.kind == Type::Kind::None || (t.is_tensor() && (t.elem == DType::Float || t.elem == DType::Undefined)))
          chosen.insert(v);
      }
    }
    for (const ir::Value* v : g.values())
      if (chosen.count(v)) observed_.push_back(v);
    return Status::ok();
  }

  void record_time(const Step& s, std::chrono::steady_clock::duration d) {
    auto [it, fresh] = timings_.try_emplace(s.timed);
    if (fresh) {
      it->second.node = s.timed;
      it->second.provider = s.provider->name();
      it->second.fused_nodes = s.fused_nodes;
      timing_order_.push_back(s.timed);
    }
    it->second.total_ms += std::chrono::duration<double, std::milli>(d).count();
    ++it->second.calls;
  }

  Ref ref_for(const ir::Value* v, const ir::Graph& g, const PlanSet& set) const {
    if (!v) return {};
    int up = 0;
    for (const ir::Graph* x = &g; x; x = x->parent(), ++up) {
      if (v->graph() == x) {
        const Plan& p = *set.plans.at(x);
        return {up, p.slot_of.at(v)};
      }
    }
    return {};
  }

  Status compile_graph(const ir::Graph& g, PlanSet& set) {
    auto plan = std::make_unique<Plan>();
    Plan& p = *plan;
    p.graph = &g;
    for (const ir::Value* v : g.values()) {
      int s = static_cast<int>(p.initial.size());
      p.slot_of[v] = s;
      if (v->is_constant()) {
        p.initial.emplace_back(*v->constant());
      } else {
        p.initial.emplace_back();
      }
      p.pinned.push_back(v->is_constant() || v->is_graph_input() || v->is_graph_output());
    }
    for (const ir::Value* v : g.inputs()) p.input_slots.push_back(p.slot_of.at(v));
    set.plans[&g] = std::move(plan);

    // Only the main graph is watched.
    std::span<const ir::Value* const> watch;
    if (&g == model_.graph.get()) watch = observed_;
    const std::unordered_set<const ir::Value*> observed(watch.begin(), watch.end());
    for (const ir::Value* v : watch)
      if (!v->producer()) p.observe_at_start.push_back({v, p.slot_of.at(v)});
    TRY(check_declared_sizes(g));
    TRY(check_fixed_scales(g, set.inits));
    ASSIGN_OR_RETURN(std::vector<PartitionStep> parts, partition_graph(g, model_, providers_, watch, set.inits));
    std::unordered_map<int, size_t> last_use;
    for (PartitionStep& part : parts) {
      const ir::Node* n = part.nodes.back();
      Step s;
      s.node = n;
      s.timed = part.nodes.front();
      s.fused_nodes = part.nodes.size();
      s.provider = part.provider;
      s.opset = opset_for(model_, *n);
      for (const ir::Node* member : part.nodes) TRY(check_node_schema(*member, opset_for(model_, *member)));
      if (part.factory) {
        auto k = part.factory(KernelInit{*n, s.opset, model_});
        if (!k.is_ok()) {
          if (k.status().message().find(n->describe()) == std::string::npos)
            return k.status().with_context(n->describe());
          return k.status();
        }
        s.kernel = std::move(k).value();
      } else {
        ASSIGN_OR_RETURN(s.kernel, make_kernel(*n, model_, s.opset, part.provider->registry()));
      }
      for (const ir::Value* v : part.inputs) {
        s.inputs.push_back(ref_for(v, g, set));
        if (v && v->graph() == &g) last_use[p.slot_of.at(v)] = p.steps.size();
      }
      for (ir::Value* o : n->outputs()) {
        const bool watched = o && observed.count(o) > 0;
        if (watched) s.observe.push_back({o, p.slot_of.at(o)});
        s.outputs.push_back(o ? p.slot_of.at(o) : -1);
        s.wanted.push_back(o && (o->has_uses() || o->is_graph_output() || watched));
        if (o) last_use.emplace(p.slot_of.at(o), p.steps.size());  // unused outputs die right away
      }
      if (!n->subgraphs().empty()) {
        nesting_.push_back(n);
        Status st = check_nesting();
        for (ir::Graph* sg : n->subgraphs()) {
          if (st.is_ok()) st = compile_graph(*sg, set);
          if (st.is_ok()) mark_outer_uses(*sg, g, p, last_use, p.steps.size());
        }
        nesting_.pop_back();
        TRY(st);
      }
      p.steps.push_back(std::move(s));
    }
    for (const auto& [slot, step] : last_use)
      if (!p.pinned[static_cast<size_t>(slot)]) p.steps[step].release.push_back(slot);
    for (Step& s : p.steps) {
      for (const Ref& r : s.inputs) {
        const bool dies = r.up == 0 && r.slot >= 0 &&
                          std::find(s.release.begin(), s.release.end(), r.slot) != s.release.end();
        s.dying_inputs.push_back(dies ? r.slot : -1);
      }
    }
    for (const ir::Value* v : g.outputs()) p.output_refs.push_back(ref_for(v, g, set));
    return Status::ok();
  }

  // Values whose declared shape is fully known (a --shape binding, shape inference) and too large for one
  // tensor, or made by a node and over the --max-memory budget, are refused before any provider sees them: the fast providers
  // make their primitives for static shapes when they claim nodes, and some allocate for them then.
  Status check_declared_sizes(const ir::Graph& g) const {
    for (const ir::Value* v : g.values()) {
      const std::vector<int64_t> dims = static_dims(*v);
      if (dims.empty() || v->is_constant()) continue;
      const size_t es = dtype_size(v->type.elem);
      if (es == 0 || v->type.elem == DType::String) continue;
      const auto numel = checked_numel(dims);
      const bool too_big = !numel.is_ok() || static_cast<uint64_t>(*numel) > kMaxTensorBytes / es;
      const uint64_t bytes = too_big ? 0 : static_cast<uint64_t>(*numel) * es;
      const std::string where = v->producer() ? " (" + v->producer()->describe() + ")" : std::string();
      if (too_big)
        return resource_limit("value '{}'{} of shape [{}] is too large: more than {} for one tensor", v->name(), where,
                              fmt::join(dims, ","), human_bytes(kMaxTensorBytes));
      // The budget counts what kernels allocate: values nodes make (a feed is the caller's memory).
      if (opts_.max_memory_bytes && v->producer() && bytes > opts_.max_memory_bytes)
        return resource_limit("value '{}'{} of shape [{}] needs {}, over the --max-memory limit of {}", v->name(),
                              where, fmt::join(dims, ","), human_bytes(bytes), human_bytes(opts_.max_memory_bytes));
    }
    return Status::ok();
  }

  // Quantization scales fixed for the plan (initializers, Constant nodes) are checked before any provider
  // sees them: the fast providers read them once when they claim a group. Fed scales are checked by the
  // kernels at run time.
  Status check_fixed_scales(const ir::Graph& g, InitializerInputs inits) const {
    const GraphView view(g, model_, {}, {}, inits);
    for (const ir::Node* n : g.nodes())
      for (const QuantScaleInput& s : quant_scale_inputs(*n))
        if (const TensorPtr t = fixed_tensor(view, n->input(s.index))) TRY(check_quant_scale(*n, s.index, *t));
    return Status::ok();
  }

  // Error when the nodes being compiled (nesting_, outermost first) hold subgraphs deeper than the limit;
  // it names the first and last levels only (a breadcrumb per level would make a line of kilobytes).
  Status check_nesting() const {
    const int limit = opts_.max_subgraph_depth;
    if (limit <= 0 || static_cast<int>(nesting_.size()) <= limit) return Status::ok();
    return resource_limit("{}: subgraphs nested deeper than {} levels at run time (level {}: {})",
                          nesting_.front()->describe(), limit, nesting_.size(), nesting_.back()->describe());
  }

  // Values of `g` read inside subgraph `sg` (at any depth) live until the owning step ends.
  void mark_outer_uses(const ir::Graph& sg, const ir::Graph& g, const Plan& p, std::unordered_map<int, size_t>& last,
                       size_t step) const {
    for (const ir::Node* m : sg.nodes()) {
      for (const ir::Value* v : m->inputs())
        if (v && v->graph() == &g) last[p.slot_of.at(v)] = step;
      for (const ir::Graph* s2 : m->subgraphs()) mark_outer_uses(*s2, g, p, last, step);
    }
    for (const ir::Value* v : sg.outputs())
      if (v && v->graph() == &g) last[p.slot_of.at(v)] = step;
  }

  const ir::Model& model_;
  SessionOptions opts_;
  ThreadPool pool_;
  std::shared_ptr<BufferPool> buffers_;
  MemoryMeter meter_;
  std::vector<std::unique_ptr<Provider>> providers_;  // priority order; cpu appended when not listed
  ThreadPool solo_{1};
  const Provider* cpu_on_one_thread_ = nullptr;  // the cpu provider, when its steps run on solo_
  std::unordered_map<const ir::Node*, NodeTiming> timings_;
  std::vector<const ir::Node*> timing_order_;
  bool overridable_ = false;  // the main graph has initializer-backed inputs
  PlanSet unfed_;             // for runs that feed none of those (every run when there are none)
  PlanSet fed_;               // for runs that feed one; made on first need
  std::vector<const ir::Node*> nesting_;  // compile_graph: the nodes whose subgraphs are being compiled

  std::vector<const ir::Value*> inputs_, outputs_;
  std::vector<const ir::Value*> observed_;  // values of the main graph the observer watches
  std::vector<std::string> feed_notes_;     // about the last run's feeds (Session::feed_notes)
};

Result<std::vector<RValue>> Context::run_subgraph(const ir::Graph& g, std::vector<RValue> inputs) {
  if (!session_) return unsupported("{}: subgraphs can only run inside a session", node_.describe());
  // compile_graph refuses plans nested past the limit; this guards the C++ stack should a plan get past it.
  const int limit = session_->options().max_subgraph_depth;
  int depth = 1;
  for (const Frame* f = frame_; f && f->parent; f = f->parent) ++depth;
  if (limit > 0 && depth > limit)
    return resource_limit("{}: subgraphs nested deeper than {} levels at run time", node_.describe(), limit);
  return session_->run_graph(g, std::move(inputs), frame_);
}

int64_t Context::max_loop_iterations() const {
  return session_ ? session_->options().max_loop_iterations : SessionOptions{}.max_loop_iterations;
}

}  // namespace

Result<std::unique_ptr<Session>> Session::create(const ir::Model& model, SessionOptions options) {
  if (options.threads < 1) return invalid("threads must be at least 1, got {}", options.threads);
  if (options.spare_busy_cores && options.threads > 1)
    options.threads = team_for_load(options.threads, usable_cores(), other_runnable_tasks());
  if (options.auto_providers) {
    options.providers = default_providers_for(model);
    options.auto_providers = false;
  }
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Provider>> providers, make_providers(options.providers, ProviderOptions{options.threads}));
  auto s = std::make_unique<SessionImpl>(model, std::move(options), std::move(providers));
  TRY(s->compile());
  return std::unique_ptr<Session>(std::move(s));
}

Result<std::vector<RValue>> run_node(const ir::Node& node, const ir::Model& model, std::vector<RValue> inputs) {
  int64_t opset = opset_for(model, node);
  TRY(check_node_schema(node, opset));
  ASSIGN_OR_RETURN(std::unique_ptr<Kernel> k, make_kernel(node, model, opset, cpu_registry()));
  std::vector<RValue> outs(node.num_outputs());
  std::vector<const RValue*> in;
  for (size_t i = 0; i < inputs.size(); ++i) in.push_back(node.input(i) || i < inputs.size() ? &inputs[i] : nullptr);
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!node.input(i) && inputs[i].is_none()) in[i] = nullptr;
  std::vector<RValue*> out;
  std::vector<bool> wanted;
  std::vector<size_t*> owned(node.num_outputs(), nullptr);
  for (size_t i = 0; i < node.num_outputs(); ++i) {
    out.push_back(node.output(i) ? &outs[i] : nullptr);
    wanted.push_back(node.output(i) != nullptr);
  }
  static ThreadPool single(1);
  MemoryMeter meter;
  Context ctx(node, opset, std::move(in), std::move(out), std::move(wanted), std::move(owned), &meter, &single,
              nullptr, nullptr);
  TRY(k->run(ctx));
  return outs;
}

}  // namespace ortool::rt
