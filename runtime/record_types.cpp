// Types from a run: watches every value of the main graph once and completes the IR's value types.
#include "runtime/record_types.h"

#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "lib/op_id.h"

namespace ortool::rt {

namespace {

// Sizes that name one graph-input symbol in this run without doubt (see record_types).
std::unordered_map<int64_t, std::string> telling_sizes(const ir::Graph& g, const Feeds& feeds) {
  std::map<int64_t, std::set<std::string>> symbols_of;
  std::unordered_set<int64_t> fixed;
  for (const ir::Value* v : g.inputs()) {
    if (!v->type.is_tensor() || !v->type.shape) continue;
    const Shape& s = *v->type.shape;
    auto it = feeds.find(v->name());
    const Tensor* fed = it != feeds.end() && it->second.is_tensor() ? &it->second.tensor : nullptr;
    for (size_t d = 0; d < s.size(); ++d) {
      if (s[d].is_known()) fixed.insert(s[d].value);
      else if (s[d].kind == Dim::Kind::Param && fed && fed->rank() == s.size())
        symbols_of[fed->dims()[d]].insert(s[d].param);
    }
  }
  for (const ir::Value* v : g.values())
    if (v->is_constant())
      for (int64_t d : v->constant()->dims()) fixed.insert(d);
  for (const ir::Node* n : g.nodes())  // weights some exporters write as Constant nodes
    if (const ir::Attribute* a = ir::is_op(*n, "Constant") ? n->attr("value") : nullptr;
        a && a->type == ir::AttrType::Tensor && a->t)
      for (int64_t d : a->t->dims()) fixed.insert(d);
  std::unordered_map<int64_t, std::string> out;
  for (const auto& [size, symbols] : symbols_of)
    if (symbols.size() == 1 && size > 1 && !fixed.count(size)) out.emplace(size, *symbols.begin());
  return out;
}

Dim dim_for(int64_t size, const std::unordered_map<int64_t, std::string>& telling) {
  auto it = telling.find(size);
  return it == telling.end() ? Dim::known(size) : Dim::symbol(it->second);
}

// What the run held, as a type; Kind::None for an empty value.
Type seen_type(const RValue& r, const std::unordered_map<int64_t, std::string>& telling) {
  if (r.is_tensor()) {
    Shape s;
    for (int64_t d : r.tensor.dims()) s.push_back(dim_for(d, telling));
    return Type::tensor(r.tensor.dtype(), std::move(s));
  }
  Type t;
  if (!r.is_sequence()) return t;
  const DType elem = r.sequence.empty() ? r.sequence_elem : r.sequence.front().dtype();
  t.kind = Type::Kind::Sequence;
  t.inner = std::make_shared<Type>(Type::tensor(elem));  // items may differ in shape
  return t;
}

// Fills what `t` leaves unknown from `seen`; never changes what it declares. True when `t` changed.
bool refine(Type& t, const Type& seen) {
  if (seen.kind == Type::Kind::None) return false;
  if (t.kind == Type::Kind::None) {
    t = seen;
    return true;
  }
  if (t.kind != seen.kind) return false;
  bool changed = false;
  if (t.is_tensor()) {
    if (t.elem == DType::Undefined && seen.elem != DType::Undefined) {
      t.elem = seen.elem;
      changed = true;
    }
    if (!t.shape) {
      t.shape = seen.shape;
      return true;
    }
    if (t.shape->size() != seen.shape->size()) return changed;
    for (size_t d = 0; d < t.shape->size(); ++d) {
      Dim& x = (*t.shape)[d];
      if (x.kind != Dim::Kind::Unknown) continue;
      std::string denotation = x.denotation;
      x = (*seen.shape)[d];
      x.denotation = std::move(denotation);
      changed = true;
    }
  } else if (t.kind == Type::Kind::Sequence && seen.inner && seen.inner->elem != DType::Undefined) {
    if (!t.inner || t.inner->kind == Type::Kind::None) {
      t.inner = seen.inner;
      changed = true;
    } else if (t.inner->is_tensor() && t.inner->elem == DType::Undefined) {
      auto inner = std::make_shared<Type>(*t.inner);  // Types share their inner type: copy before editing
      inner->elem = seen.inner->elem;
      t.inner = std::move(inner);
      changed = true;
    }
  }
  return changed;
}

}  // namespace

Result<RecordTypesReport> record_types(ir::Model& model, const Feeds& feeds, SessionOptions options) {
  if (!model.graph) return invalid("record types: the model has no graph");
  ir::Graph& g = *model.graph;
  const std::unordered_map<int64_t, std::string> telling = telling_sizes(g, feeds);
  std::unordered_map<const ir::Value*, Type> seen;
  options.observe = {};
  options.observe.select = ObserveOptions::Select::All;
  options.observe.callback = [&](const ir::Value& v, const RValue& r) {
    seen[&v] = seen_type(r, telling);
    return Status::ok();
  };
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::create(model, std::move(options)));
    TRY(session->run(feeds).status());
  }
  RecordTypesReport report;
  report.values_seen = seen.size();
  std::unordered_set<const ir::Value*> listed(g.value_info.begin(), g.value_info.end());
  for (ir::Value* v : g.values()) {
    auto it = seen.find(v);
    // Graph inputs keep their declared type: it is the contract feeds are checked against.
    if (it == seen.end() || v->is_graph_input()) continue;
    if (!refine(v->type, it->second)) continue;
    ++report.values_typed;
    if (!v->is_graph_output() && !listed.count(v)) {
      g.value_info.push_back(v);
      listed.insert(v);
    }
  }
  return report;
}

}  // namespace ortool::rt
