// --shape against a model: parsing, resolving names to inputs and symbols, binding dims, concrete shapes.
#include "lib/input_shapes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <set>

namespace ortool {

namespace {

// Graph inputs a caller feeds (not backed by an initializer), in graph order.
std::vector<const ir::Value*> fed_inputs(const ir::Graph& g) {
  std::vector<const ir::Value*> out;
  for (const ir::Value* v : g.inputs())
    if (!v->is_constant()) out.push_back(v);
  return out;
}

// "a, b, c" with at most `max` names, then "... (N in all)".
std::string name_list(const std::vector<std::string>& names, size_t max = 8) {
  if (names.empty()) return "none";
  std::vector<std::string> head(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(std::min(max, names.size())));
  std::string s = fmt::format("{}", fmt::join(head, ", "));
  if (names.size() > max) s += fmt::format(", ... ({} in all)", names.size());
  return s;
}

// Replaces symbol dims bound in `bindings` by their values; true when anything changed.
bool bind_dims(Type& t, const std::map<std::string, int64_t>& bindings) {
  bool changed = false;
  if (t.shape)
    for (Dim& d : *t.shape) {
      if (d.kind != Dim::Kind::Param) continue;
      auto it = bindings.find(d.param);
      if (it == bindings.end()) continue;
      d = Dim::known(it->second);
      changed = true;
    }
  return changed;
}

}  // namespace

Result<std::pair<std::string, std::vector<int64_t>>> parse_shape_arg(const std::string& arg) {
  auto eq = arg.rfind('=');
  if (eq == std::string::npos || eq == 0)
    return invalid("--shape '{}': expected NAME=d0,d1,... (e.g. input=1,3,224,224)", arg);
  std::string name = arg.substr(0, eq);
  std::vector<int64_t> dims;
  std::string rest = arg.substr(eq + 1);
  size_t pos = 0;
  while (pos <= rest.size() && !rest.empty()) {
    size_t comma = rest.find(',', pos);
    std::string tok = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(tok.c_str(), &end, 10);
    if (tok.empty() || *end != '\0' || errno == ERANGE || v < 0)
      return invalid("--shape '{}': '{}' is not a dimension (a number >= 0)", arg, tok);
    dims.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return std::make_pair(name, dims);
}

Result<ShapeBindings> resolve_shape_args(const ir::Graph& g, const std::vector<std::string>& args, bool allow_unknown) {
  ShapeBindings b;
  if (args.empty()) return b;
  std::vector<std::string> input_names, symbols;
  std::set<std::string> symbol_set;
  for (const ir::Value* v : fed_inputs(g)) {
    input_names.push_back(v->name());
    if (v->type.shape)
      for (const Dim& d : *v->type.shape)
        if (d.kind == Dim::Kind::Param && symbol_set.insert(d.param).second) symbols.push_back(d.param);
  }
  std::map<std::string, std::string> bound_by;  // symbol -> the --shape argument that bound it
  auto bind = [&](const std::string& sym, int64_t value, const std::string& arg) -> Status {
    auto [it, fresh] = b.dim_bindings.emplace(sym, value);
    if (!fresh && it->second != value)
      return invalid("--shape {}: symbolic dim '{}' is already {} (from --shape {})", arg, sym, it->second,
                     bound_by[sym]);
    if (fresh) bound_by[sym] = arg;
    return Status::ok();
  };
  for (const std::string& arg : args) {
    ASSIGN_OR_RETURN(auto parsed, parse_shape_arg(arg));
    const auto& [name, dims] = parsed;
    const ir::Value* v = g.find_value(name);
    if (v && v->is_graph_input()) {
      if (v->is_constant())
        return invalid("--shape {}: '{}' is an initializer (a weight the model holds), not an input to feed", arg, name);
      if (v->type.kind != Type::Kind::Tensor && v->type.kind != Type::Kind::None)
        return invalid("--shape {}: input '{}' is a {}, not a tensor", arg, name, v->type.to_string());
      if (v->type.shape && v->type.shape->size() != dims.size())
        return invalid("--shape {}: input '{}' has rank {} {}, got {} dim{}", arg, name, v->type.shape->size(),
                       shape_to_string(*v->type.shape), dims.size(), dims.size() == 1 ? "" : "s");
      if (v->type.shape)
        for (size_t i = 0; i < dims.size(); ++i) {
          const Dim& d = (*v->type.shape)[i];
          if (d.is_known() && d.value != dims[i])
            return invalid("--shape {}: dimension {} of input '{}' is fixed to {} in the model", arg, i, name, d.value);
          if (d.kind == Dim::Kind::Param) TRY(bind(d.param, dims[i], arg));
        }
      auto [it, fresh] = b.input_shapes.emplace(name, dims);
      if (!fresh && it->second != dims) return invalid("--shape {}: input '{}' is given two different shapes", arg, name);
    } else if (symbol_set.count(name)) {
      if (dims.size() != 1)
        return invalid("--shape {}: '{}' is a symbolic dim, which takes one number ({}=n)", arg, name, name);
      TRY(bind(name, dims[0], arg));
    } else {
      Status unknown = invalid("--shape {}: the model has no input or symbolic input dim named '{}' (inputs: {}; "
                               "symbolic dims: {})",
                               arg, name, name_list(input_names), name_list(symbols));
      if (!allow_unknown) return unknown;
      b.unmatched.push_back(unknown.message());
    }
  }
  return b;
}

Status apply_input_shapes(ir::Model& model, const std::map<std::string, std::vector<int64_t>>& input_shapes,
                          const std::map<std::string, int64_t>& dim_bindings, bool* changed) {
  ir::Graph& g = *model.graph;
  std::map<std::string, int64_t> bindings = dim_bindings;
  bool any = false;
  for (const auto& [name, dims] : input_shapes) {
    ir::Value* v = g.find_value(name);
    if (!v || !v->is_graph_input())
      return invalid("--shape {}: the model has no input named '{}'", name, name);
    if (v->type.kind != Type::Kind::Tensor && v->type.kind != Type::Kind::None)
      return invalid("--shape {}: the input is a {}, not a tensor", name, v->type.to_string());
    if (v->type.kind == Type::Kind::None) v->type = Type::tensor(DType::Undefined);
    if (v->type.shape && v->type.shape->size() != dims.size())
      return invalid("--shape {}: the input has rank {} {}, got {} dims", name, v->type.shape->size(),
                     shape_to_string(*v->type.shape), dims.size());
    Shape s = shape_from_dims(dims);
    if (v->type.shape) {
      for (size_t i = 0; i < dims.size(); ++i) {
        const Dim& d = (*v->type.shape)[i];
        if (d.is_known() && d.value != dims[i])
          return invalid("--shape {}: dimension {} is fixed to {} in the model", name, i, d.value);
        if (d.kind == Dim::Kind::Param) bindings.emplace(d.param, dims[i]);
      }
    }
    if (!v->type.shape || *v->type.shape != s) {
      v->type.shape = s;
      any = true;
    }
  }
  if (!bindings.empty()) {
    // Every graph once, subgraphs included (import bounds their depth).
    std::vector<ir::Graph*> pending = {&g};
    while (!pending.empty()) {
      ir::Graph* sg = pending.back();
      pending.pop_back();
      for (ir::Value* v : sg->values()) any = bind_dims(v->type, bindings) || any;
      for (ir::Node* n : sg->nodes())
        for (ir::Graph* inner : n->subgraphs()) pending.push_back(inner);
    }
  }
  if (any) g.note_edit();
  if (changed) *changed = any;
  return Status::ok();
}

std::vector<int64_t> concrete_input_dims(const ir::Value& input, const ShapeBindings& b,
                                         std::vector<std::string>* defaulted) {
  auto fixed = b.input_shapes.find(input.name());
  if (fixed != b.input_shapes.end()) return fixed->second;
  std::vector<int64_t> d;
  if (!input.type.shape) {
    if (defaulted) defaulted->push_back(fmt::format("{}: rank unknown", input.name()));
    return d;
  }
  const Shape& s = *input.type.shape;
  for (size_t i = 0; i < s.size(); ++i) {
    const Dim& x = s[i];
    if (x.kind == Dim::Kind::Value) {
      d.push_back(x.value);
      continue;
    }
    if (x.kind == Dim::Kind::Param) {
      auto it = b.dim_bindings.find(x.param);
      if (it != b.dim_bindings.end()) {
        d.push_back(it->second);
        continue;
      }
    }
    d.push_back(1);
    if (defaulted) {
      std::string what = x.kind == Dim::Kind::Param ? x.param : fmt::format("{}[{}]", input.name(), i);
      if (std::find(defaulted->begin(), defaulted->end(), what) == defaulted->end()) defaulted->push_back(what);
    }
  }
  return d;
}

}  // namespace ortool
