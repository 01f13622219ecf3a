// Graph IR implementation: value/node ownership, use-list maintenance, ordering and verification.
#include "lib/graph.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <unordered_set>

namespace ortool::ir {

// ---------------------------------------------------------------- Node

const Attribute* Node::attr(std::string_view n) const {
  for (const Attribute& a : attributes_)
    if (a.name == n) return &a;
  return nullptr;
}

Attribute* Node::attr(std::string_view n) {
  for (Attribute& a : attributes_)
    if (a.name == n) return &a;
  return nullptr;
}

int64_t Node::attr_int(std::string_view n, int64_t fallback) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::Int ? a->i : fallback;
}

float Node::attr_float(std::string_view n, float fallback) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::Float ? a->f : fallback;
}

std::string Node::attr_string(std::string_view n, std::string fallback) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::String ? a->s : fallback;
}

std::vector<int64_t> Node::attr_ints(std::string_view n, std::vector<int64_t> fallback) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::Ints ? a->ints : fallback;
}

std::vector<float> Node::attr_floats(std::string_view n, std::vector<float> fallback) const {
  const Attribute* a = attr(n);
  return a && a->type == AttrType::Floats ? a->floats : fallback;
}

void Node::set_attr(Attribute a) {
  if (graph_) graph_->note_edit();
  for (Attribute& x : attributes_) {
    if (x.name == a.name) {
      x = std::move(a);
      return;
    }
  }
  attributes_.push_back(std::move(a));
}

bool Node::remove_attr(std::string_view n) {
  auto it = std::find_if(attributes_.begin(), attributes_.end(), [&](const Attribute& a) { return a.name == n; });
  if (it == attributes_.end()) return false;
  if (graph_) graph_->note_edit();
  attributes_.erase(it);
  return true;
}

std::vector<Graph*> Node::subgraphs() const {
  std::vector<Graph*> out;
  for (const Attribute& a : attributes_) {
    if (a.g) out.push_back(a.g.get());
    for (const auto& g : a.graphs)
      if (g) out.push_back(g.get());
  }
  return out;
}

std::string Node::describe() const {
  if (!name.empty()) return fmt::format("node '{}' ({})", name, op_type_);
  for (Value* o : outputs_)
    if (o) return fmt::format("{} node producing '{}'", op_type_, o->name());
  return fmt::format("unnamed {} node", op_type_);
}

// ---------------------------------------------------------------- Graph

Graph::Graph(Graph* parent, Node* owner) : parent_(parent), owner_(owner) {}
Graph::~Graph() = default;

int Graph::depth() const {
  int d = 0;
  for (const Graph* g = parent_; g; g = g->parent_) ++d;
  return d;
}

namespace {

// Calls fn on `g` and every graph nested in its nodes' attributes.
void for_each_graph(Graph* g, const std::function<void(Graph*)>& fn) {
  fn(g);
  for (Node* n : g->nodes())
    for (Graph* sg : n->subgraphs()) for_each_graph(sg, fn);
}

bool name_taken_below(const Graph* g, const std::string& name) {
  bool taken = false;
  for_each_graph(const_cast<Graph*>(g), [&](Graph* x) {
    if (!taken && x != g && x->find_value(name)) taken = true;
  });
  return taken;
}

}  // namespace

Value* Graph::find_value(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : it->second;
}

Value* Graph::lookup(std::string_view name) const {
  for (const Graph* g = this; g; g = g->parent_)
    if (Value* v = g->find_value(name)) return v;
  return nullptr;
}

std::string Graph::unique_name(std::string_view hint) const {
  std::string base = hint.empty() ? std::string("v") : std::string(hint);
  const Graph* root = this;
  while (root->parent_) root = root->parent_;
  auto taken = [&](const std::string& n) { return lookup(n) != nullptr || name_taken_below(root, n); };
  if (!hint.empty() && !taken(base)) return base;
  auto& counter = const_cast<Graph*>(root)->name_counter_;
  for (;;) {
    std::string cand = fmt::format("{}__{}", base, counter++);
    if (!taken(cand)) return cand;
  }
}

Value* Graph::add_value(std::string_view name) {
  std::string n = (name.empty() || find_value(name)) ? unique_name(name.empty() ? "v" : name) : std::string(name);
  auto v = std::make_unique<Value>();
  Value* raw = v.get();
  raw->name_ = n;
  raw->graph_ = this;
  values_.push_back(std::move(v));
  raw->self_ = std::prev(values_.end());
  by_name_[n] = raw;
  note_edit();
  return raw;
}

bool Graph::rename_value(Value* v, std::string_view new_name) {
  if (v->name_ == new_name) return true;
  if (lookup(new_name)) return false;
  by_name_.erase(v->name_);
  v->name_ = std::string(new_name);
  by_name_[v->name_] = v;
  note_edit();
  return true;
}

void Graph::set_constant(Value* v, TensorPtr t) {
  bool listed = std::find(initializers_.begin(), initializers_.end(), v) != initializers_.end();
  if (t && !listed) initializers_.push_back(v);
  if (!t && listed) initializers_.erase(std::find(initializers_.begin(), initializers_.end(), v));
  v->constant_ = std::move(t);
  note_edit();
}

Value* Graph::add_initializer(std::string_view name, TensorPtr t) {
  Value* v = add_value(name);
  set_constant(v, std::move(t));
  return v;
}

void Graph::remove_value(Value* v) {
  if (v->producer_ || !v->uses_.empty() || v->graph_input_ || v->graph_output_count_ > 0) return;
  auto init = std::find(initializers_.begin(), initializers_.end(), v);
  if (init != initializers_.end()) initializers_.erase(init);
  auto vi = std::find(value_info.begin(), value_info.end(), v);
  if (vi != value_info.end()) value_info.erase(vi);
  by_name_.erase(v->name_);
  values_.erase(v->self_);
  note_edit();
}

std::vector<Value*> Graph::values() const {
  std::vector<Value*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v.get());
  return out;
}

void Graph::add_input(Value* v) {
  inputs_.push_back(v);
  v->graph_input_ = true;
  note_edit();
}

void Graph::remove_input(Value* v) {
  auto it = std::find(inputs_.begin(), inputs_.end(), v);
  if (it == inputs_.end()) return;
  inputs_.erase(it);
  v->graph_input_ = false;
  note_edit();
}

void Graph::add_output(Value* v) {
  outputs_.push_back(v);
  ++v->graph_output_count_;
  note_edit();
}

void Graph::set_output(size_t i, Value* v) {
  --outputs_[i]->graph_output_count_;
  outputs_[i] = v;
  ++v->graph_output_count_;
  note_edit();
}

void Graph::clear_outputs() {
  for (Value* v : outputs_) --v->graph_output_count_;
  outputs_.clear();
  note_edit();
}

void Graph::add_use(Value* v, Node* n, int idx) {
  if (v) v->uses_.push_back({n, idx});
}

void Graph::drop_use(Value* v, Node* n, int idx) {
  if (!v) return;
  auto it = std::find(v->uses_.begin(), v->uses_.end(), Use{n, idx});
  if (it != v->uses_.end()) v->uses_.erase(it);
}

Node* Graph::create_node(std::list<std::unique_ptr<Node>>::iterator pos, std::string_view op_type,
                         std::string_view domain, const std::vector<Value*>& inputs,
                         const std::vector<std::string>& output_names, std::string_view name) {
  auto node = std::make_unique<Node>();
  Node* n = node.get();
  n->op_type_ = std::string(op_type);
  n->domain_ = std::string(domain);
  n->name = std::string(name);
  n->graph_ = this;
  n->self_ = nodes_.insert(pos, std::move(node));
  n->inputs_ = inputs;
  for (size_t i = 0; i < inputs.size(); ++i) add_use(inputs[i], n, static_cast<int>(i));
  for (size_t i = 0; i < output_names.size(); ++i) {
    Value* o = add_value(output_names[i].empty() ? std::string(op_type) + "_out" : output_names[i]);
    o->producer_ = n;
    o->producer_index_ = static_cast<int>(i);
    n->outputs_.push_back(o);
  }
  note_edit();
  return n;
}

Node* Graph::add_node(std::string_view op_type, std::string_view domain, const std::vector<Value*>& inputs,
                      const std::vector<std::string>& output_names, std::string_view name) {
  return create_node(nodes_.end(), op_type, domain, inputs, output_names, name);
}

Node* Graph::insert_node_before(Node* pos, std::string_view op_type, std::string_view domain,
                                const std::vector<Value*>& inputs, const std::vector<std::string>& output_names,
                                std::string_view name) {
  return create_node(pos ? pos->self_ : nodes_.end(), op_type, domain, inputs, output_names, name);
}

void Graph::set_output_absent(Node* n, size_t i) {
  Value* o = n->outputs_.at(i);
  if (!o) return;
  o->producer_ = nullptr;
  o->producer_index_ = -1;
  n->outputs_[i] = nullptr;
  remove_value(o);
  note_edit();
}

void Graph::set_input(Node* n, size_t i, Value* v) {
  if (i >= n->inputs_.size()) n->inputs_.resize(i + 1, nullptr);
  drop_use(n->inputs_[i], n, static_cast<int>(i));
  n->inputs_[i] = v;
  add_use(v, n, static_cast<int>(i));
  note_edit();
}

void Graph::add_node_input(Node* n, Value* v) { set_input(n, n->inputs_.size(), v); }

void Graph::remove_trailing_inputs(Node* n, size_t keep) {
  while (n->inputs_.size() > keep) {
    drop_use(n->inputs_.back(), n, static_cast<int>(n->inputs_.size() - 1));
    n->inputs_.pop_back();
  }
  note_edit();
}

void Graph::replace_all_uses(Value* from, Value* to) {
  if (from == to) return;
  std::vector<Use> uses = from->uses_;
  for (const Use& u : uses) {
    u.node->inputs_[u.index] = to;
    to->uses_.push_back(u);
  }
  from->uses_.clear();
  if (from->graph_output_count_ > 0) {
    for_each_graph(from->graph_, [&](Graph* g) {
      for (size_t i = 0; i < g->outputs_.size(); ++i)
        if (g->outputs_[i] == from) g->set_output(i, to);
    });
  }
  note_edit();
}


void Graph::remove_node(Node* n) {
  // Uses held by nodes inside the node's subgraphs may point at values of this or outer graphs.
  std::function<void(Graph*)> drop_sub = [&](Graph* sg) {
    for (Node* m : sg->nodes()) {
      for (size_t i = 0; i < m->inputs_.size(); ++i) sg->drop_use(m->inputs_[i], m, static_cast<int>(i));
      for (Graph* s2 : m->subgraphs()) drop_sub(s2);
    }
  };
  for (Graph* sg : n->subgraphs()) drop_sub(sg);
  for (size_t i = 0; i < n->inputs_.size(); ++i) drop_use(n->inputs_[i], n, static_cast<int>(i));
  n->inputs_.clear();
  for (Value* o : n->outputs_) {
    if (!o) continue;
    o->producer_ = nullptr;
    o->producer_index_ = -1;
    remove_value(o);  // kept (orphaned) if still used, so verify() reports the mistake
  }
  n->outputs_.clear();
  original_order.clear();
  nodes_.erase(n->self_);
  note_edit();
}

void Graph::move_before(Node* n, Node* pos) {
  auto target = pos ? pos->self_ : nodes_.end();
  nodes_.splice(target, nodes_, n->self_);
  note_edit();
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

namespace {
// Values of graph `g` that nodes inside `n`'s subgraphs read: implicit inputs of `n`.
void collect_implicit_inputs(const Node* n, const Graph* g, std::vector<Value*>& out) {
  for (Graph* sg : n->subgraphs()) {
    for (Node* m : sg->nodes()) {
      for (Value* v : m->inputs())
        if (v && v->graph() == g) out.push_back(v);
      collect_implicit_inputs(m, g, out);
    }
    for (Value* v : sg->outputs())
      if (v && v->graph() == g) out.push_back(v);
  }
}
}  // namespace

Result<std::vector<Node*>> Graph::topological_order() const {
  std::vector<Node*> list = nodes();
  std::unordered_map<const Node*, size_t> index;
  for (size_t i = 0; i < list.size(); ++i) index[list[i]] = i;
  std::vector<int> pending(list.size(), 0);
  std::vector<std::vector<size_t>> consumers(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    std::vector<Value*> deps(list[i]->inputs().begin(), list[i]->inputs().end());
    collect_implicit_inputs(list[i], this, deps);
    std::unordered_set<size_t> seen;
    for (Value* v : deps) {
      if (!v || !v->producer() || v->graph() != this) continue;
      auto it = index.find(v->producer());
      if (it == index.end()) continue;
      if (seen.insert(it->second).second) {
        consumers[it->second].push_back(i);
        ++pending[i];
      }
    }
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < list.size(); ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<Node*> order;
  order.reserve(list.size());
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(list[i]);
    for (size_t c : consumers[i])
      if (--pending[c] == 0) ready.push(c);
  }
  if (order.size() != list.size()) {
    for (size_t i = 0; i < list.size(); ++i)
      if (pending[i] > 0) return invalid("graph '{}' has a cycle through {}", name, list[i]->describe());
  }
  return order;
}

Status Graph::sort_topologically() {
  ASSIGN_OR_RETURN(std::vector<Node*> order, topological_order());
  bool same = true;
  size_t k = 0;
  for (const auto& n : nodes_) same = same && n.get() == order[k++];
  if (same) return Status::ok();
  for (Node* n : order) nodes_.splice(nodes_.end(), nodes_, n->self_);
  note_edit();
  return Status::ok();
}

Status Graph::verify() const {
  std::unordered_map<const Value*, bool> visible;
  for (const Graph* g = parent_; g; g = g->parent_) {
    // Verifying a subgraph alone: every value of the enclosing graphs counts as visible.
    for (Value* v : g->values()) visible[v] = true;
  }
  return verify_scope(visible);
}

Status Graph::verify_scope(std::unordered_map<const Value*, bool>& visible) const {
  std::string where = name.empty() ? std::string("graph") : fmt::format("graph '{}'", name);
  for (const auto& vp : values_) {
    const Value* v = vp.get();
    if (v->graph_ != this) return internal_error("{}: value '{}' has the wrong owner", where, v->name_);
    if (v->graph_input_ || v->constant_) visible[v] = true;
    if (v->producer_) {
      if (v->producer_->graph_ != this || v->producer_->output(v->producer_index_) != v)
        return internal_error("{}: value '{}' names a producer that does not output it", where, v->name_);
    }
    for (const Use& u : v->uses_) {
      if (!u.node || u.node->input(u.index) != v)
        return internal_error("{}: value '{}' has a stale use", where, v->name_);
    }
    auto found = by_name_.find(v->name_);
    if (found == by_name_.end() || found->second != v)
      return internal_error("{}: value '{}' is missing from the name table", where, v->name_);
  }
  for (const Value* v : inputs_)
    if (v->graph_ != this) return internal_error("{}: input '{}' belongs to another graph", where, v->name_);
  for (const auto& np : nodes_) {
    const Node* n = np.get();
    if (n->graph_ != this) return internal_error("{}: {} has the wrong owner", where, n->describe());
    for (size_t i = 0; i < n->inputs_.size(); ++i) {
      const Value* v = n->inputs_[i];
      if (!v) continue;
      if (!visible.count(v))
        return invalid("{}: {} input {} '{}' is used before it is defined (or never defined)", where,
                       n->describe(), i, v->name_);
      if (std::find(v->uses_.begin(), v->uses_.end(), Use{const_cast<Node*>(n), static_cast<int>(i)}) ==
          v->uses_.end())
        return internal_error("{}: {} input {} is missing from the use list of '{}'", where, n->describe(), i,
                              v->name_);
    }
    for (Graph* sg : n->subgraphs()) {
      if (sg->parent_ != this) return internal_error("{}: subgraph of {} has the wrong parent", where, n->describe());
      std::unordered_map<const Value*, bool> inner = visible;
      TRY(sg->verify_scope(inner));
    }
    for (size_t i = 0; i < n->outputs_.size(); ++i) {
      const Value* o = n->outputs_[i];
      if (!o) continue;
      if (o->producer_ != n || o->producer_index_ != static_cast<int>(i))
        return internal_error("{}: output {} of {} has a wrong producer link", where, i, n->describe());
      if (visible.count(o))
        return invalid("{}: value '{}' is defined twice (by {})", where, o->name_, n->describe());
      visible[o] = true;
    }
  }
  for (const Value* v : outputs_) {
    if (!visible.count(v)) return invalid("{}: output '{}' is not defined", where, v->name_);
  }
  return Status::ok();
}

// ---------------------------------------------------------------- Model

Model::Model() : graph(std::make_unique<Graph>()) {}

int64_t Model::opset(std::string_view d) const {
  auto norm = [](std::string_view x) { return x == "ai.onnx" ? std::string_view() : x; };
  for (const OpsetImport& o : opset_imports)
    if (norm(o.domain) == norm(d)) return o.version;
  return 0;
}

void Model::set_opset(std::string_view d, int64_t version) {
  auto norm = [](std::string_view x) { return x == "ai.onnx" ? std::string_view() : x; };
  for (OpsetImport& o : opset_imports) {
    if (norm(o.domain) == norm(d)) {
      o.version = version;
      return;
    }
  }
  opset_imports.push_back({std::string(d), version});
}

}  // namespace ortool::ir
