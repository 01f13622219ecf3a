// Function expansion: inlines model-local functions and libonnx schema function bodies in place of call nodes.
#include "lib/function_inline.h"

#include <google/protobuf/unknown_field_set.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <exception>
#include <map>
#include <optional>
#include <unordered_map>

#include "lib/onnx_import.h"
#include "lib/onnx_shape_inference.h"
#include "lib/proto_convert.h"

namespace ortool {

namespace {

// Fields of newer onnx.proto versions than libonnx 1.12's; they arrive as unknown fields.
constexpr int kFunctionAttributeProtoField = 11;  // FunctionProto.attribute_proto (defaults)
constexpr int kFunctionOverloadField = 13;        // FunctionProto.overload
constexpr int kNodeOverloadField = 8;             // NodeProto.overload
// Op type of the placeholder node that carries a function's attribute defaults through import.
constexpr const char* kDefaultsOp = "__ortool_function_attribute_defaults__";

std::string norm_domain(std::string_view d) { return d == "ai.onnx" ? std::string() : std::string(d); }
std::string domain_label(std::string_view d) { return d.empty() ? std::string("ai.onnx") : std::string(d); }

// Length-delimited payloads of field `number` among serialized unknown fields.
std::vector<std::string> unknown_strings(const std::string& bytes, int number) {
  std::vector<std::string> out;
  if (bytes.empty()) return out;
  google::protobuf::UnknownFieldSet set;
  if (!set.ParseFromString(bytes)) return out;
  for (int i = 0; i < set.field_count(); ++i) {
    const auto& f = set.field(i);
    if (f.number() == number && f.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED)
      out.push_back(f.length_delimited());
  }
  return out;
}

std::string node_overload(const ir::Node& n) {
  auto v = unknown_strings(n.unknown_fields, kNodeOverloadField);
  return v.empty() ? std::string() : v.back();
}

// A function body ready to be inlined: the proto plus its attribute defaults.
struct Body {
  onnx::FunctionProto proto;
  std::vector<onnx::AttributeProto> defaults;
  std::string label;  // "function 'domain:name'" or "schema function of op Name-13", for messages
  std::string key;    // identifies the function on the call stack (recursion check)
};

using FunctionKey = std::tuple<std::string, std::string, std::string>;  // domain, name, overload

// Serializes the simple attribute kinds (enough for context-dependent function builders).
void attr_to_proto(const ir::Attribute& a, onnx::AttributeProto* p) {
  using T = ir::AttrType;
  p->set_name(a.name);
  p->set_type(static_cast<onnx::AttributeProto_AttributeType>(a.type));
  switch (a.type) {
    case T::Float: p->set_f(a.f); break;
    case T::Int: p->set_i(a.i); break;
    case T::String: p->set_s(a.s); break;
    case T::Floats: for (float f : a.floats) p->add_floats(f); break;
    case T::Ints: for (int64_t i : a.ints) p->add_ints(i); break;
    case T::Strings: for (const auto& s : a.strings) p->add_strings(s); break;
    case T::Tensor: if (a.t) proto::tensor_to_proto(*a.t, p->mutable_t()); break;
    case T::Tensors:
      for (const auto& t : a.tensors)
        if (t) proto::tensor_to_proto(*t, p->add_tensors());
      break;
    default: break;  // graphs and opaque kinds: builders of schema functions do not read them
  }
}

int64_t onnx_max_opset(const std::string& domain) {
  const auto& map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = map.find(domain);
  return it == map.end() ? 0 : it->second.second;
}

void for_each_node(ir::Graph& g, const std::function<void(ir::Node*)>& fn) {
  for (ir::Node* n : g.nodes()) {
    fn(n);
    for (ir::Graph* sg : n->subgraphs()) for_each_node(*sg, fn);
  }
}

class Expander {
 public:
  Expander(ir::Model& m, const HasKernelFn& has_kernel, const ExpandOptions& o) : m_(m), has_kernel_(has_kernel), opt_(o) {}

  Status load_local_functions();
  Status expand_graph(ir::Graph& g, std::vector<std::string>& stack);
  size_t expanded() const { return expanded_; }

 private:
  Status expand_node(ir::Graph& g, ir::Node* n, std::vector<std::string>& stack);
  Result<std::optional<Body>> find_body(const ir::Node& n);
  Result<std::optional<Body>> schema_body(const ir::Node& n, int64_t opset);
  Result<std::vector<ir::Node*>> inline_call(ir::Graph& g, ir::Node* call, const Body& body);
  Status merge_opsets(const Body& body, ir::Graph& body_graph);

  ir::Model& m_;
  const HasKernelFn& has_kernel_;
  const ExpandOptions& opt_;
  std::map<FunctionKey, Body> locals_;
  size_t inferred_at_ = SIZE_MAX;  // expanded_ when types were last inferred
  size_t expanded_ = 0;
};

Status Expander::load_local_functions() {
  for (size_t i = 0; i < m_.functions.size(); ++i) {
    Body b;
    if (!b.proto.ParseFromString(m_.functions[i])) return invalid("model-local function #{} cannot be parsed", i);
    const auto& fp = b.proto;
    if (fp.name().empty()) return invalid("model-local function #{} has no name", i);
    auto overloads = unknown_strings(proto::unknown_fields_of(fp), kFunctionOverloadField);
    const std::string overload = overloads.empty() ? std::string() : overloads.back();
    const std::string domain = norm_domain(fp.domain());
    b.key = fmt::format("{}:{}{}", domain, fp.name(), overload.empty() ? "" : ":" + overload);
    b.label = fmt::format("function '{}'", b.key);
    for (const std::string& bytes : unknown_strings(proto::unknown_fields_of(fp), kFunctionAttributeProtoField)) {
      onnx::AttributeProto ap;
      if (!ap.ParseFromString(bytes) || ap.name().empty())
        return invalid("{}: an attribute default cannot be parsed or has no name", b.label);
      b.defaults.push_back(std::move(ap));
    }
    FunctionKey key{domain, fp.name(), overload};
    if (locals_.count(key)) return invalid("{} is defined twice", b.label);
    locals_.emplace(std::move(key), std::move(b));
  }
  return Status::ok();
}

Result<std::optional<Body>> Expander::schema_body(const ir::Node& n, int64_t opset) {
  const std::string domain = norm_domain(n.domain());
  if (opset <= 0 || opset > onnx_max_opset(domain)) return std::optional<Body>();
  const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(opset), domain);
  if (!schema) return std::optional<Body>();
  Body b;
  b.key = fmt::format("{}:{}-{}", domain, n.op_type(), schema->since_version());
  b.label = fmt::format("schema function of {}-{}", n.op_type(), schema->since_version());
  try {
    if (schema->HasFunction()) {
      const onnx::FunctionProto* fp = schema->GetFunction();
      if (!fp) return std::optional<Body>();
      b.proto = *fp;
    } else if (schema->HasContextDependentFunction()) {
      onnx::NodeProto np;
      np.set_op_type(n.op_type());
      np.set_domain(domain);
      for (const ir::Value* v : n.inputs()) np.add_input(v ? v->name() : std::string());
      for (const ir::Value* v : n.outputs()) np.add_output(v ? v->name() : std::string());
      for (const ir::Attribute& a : n.attributes()) attr_to_proto(a, np.add_attribute());
      auto build = [&](onnx::FunctionProto& out) {
        std::vector<onnx::TypeProto> types(n.num_inputs());
        for (size_t i = 0; i < n.num_inputs(); ++i)
          if (const ir::Value* v = n.input(i); v && v->type.kind != Type::Kind::None) proto::type_to_proto(v->type, &types[i]);
        onnx::FunctionBodyBuildContextImpl ctx(np, types);
        return schema->BuildContextDependentFunction(ctx, out);
      };
      bool ok = build(b.proto);
      if (!ok && inferred_at_ != expanded_) {
        // Builders need the input element types; onnx's inference supplies them for inner values
        // (again after each expansion, which adds untyped values).
        inferred_at_ = expanded_;
        Status st = infer_shapes(m_);
        (void)st;  // without types the builder fails again and that failure is reported
        b.proto.Clear();
        ok = build(b.proto);
      }
      if (!ok)
        return unsupported("{}: {}: libonnx could not build the body (input types unknown or unsupported)",
                           n.describe(), b.label);
    } else {
      return std::optional<Body>();
    }
  } catch (const std::exception& e) {
    return invalid("{}: {}: {}", n.describe(), b.label, e.what());
  }
  if (b.proto.name().empty()) b.proto.set_name(n.op_type());
  if (b.proto.opset_import_size() == 0) {
    auto* o = b.proto.add_opset_import();
    o->set_domain(domain);
    o->set_version(schema->since_version());
  }
  return std::optional<Body>(std::move(b));
}

Result<std::optional<Body>> Expander::find_body(const ir::Node& n) {
  const int64_t opset = m_.opset(n.domain());
  if (has_kernel_(n, opset)) return std::optional<Body>();
  auto it = locals_.find(FunctionKey{norm_domain(n.domain()), n.op_type(), node_overload(n)});
  if (it != locals_.end()) return std::optional<Body>(it->second);
  if (!opt_.schema_functions) return std::optional<Body>();
  return schema_body(n, opset);
}

// The function's opset imports against the model's: missing domains are added; another version of a
// domain the model imports is fine only when every op of the body has the same schema at both.
Status Expander::merge_opsets(const Body& body, ir::Graph& body_graph) {
  for (const auto& o : body.proto.opset_import()) {
    const std::string domain = norm_domain(o.domain());
    const int64_t fv = o.version();
    const int64_t mv = m_.opset(domain);
    if (fv <= 0) return invalid("it imports {} opset {}", domain_label(domain), fv);
    if (mv == 0) {
      m_.set_opset(domain, fv);
      continue;
    }
    if (mv == fv) continue;
    Status st = Status::ok();
    for_each_node(body_graph, [&](ir::Node* n) {
      if (!st.is_ok() || norm_domain(n->domain()) != domain) return;
      const int64_t known = onnx_max_opset(domain);
      if (fv > known || mv > known) {
        st = unsupported("it imports {} opset {} but the model imports {}; libonnx knows that domain up to {} only, "
                         "so it cannot tell whether op {} means the same at both",
                         domain_label(domain), fv, mv, known, n->op_type());
        return;
      }
      const auto* s1 = onnx::OpSchemaRegistry::Schema(n->op_type(), static_cast<int>(fv), domain);
      const auto* s2 = onnx::OpSchemaRegistry::Schema(n->op_type(), static_cast<int>(mv), domain);
      if (!s1 || !s2)
        st = unsupported("it imports {} opset {} but the model imports {}, and libonnx does not know op {} at both",
                         domain_label(domain), fv, mv, n->op_type());
      else if (s1->since_version() != s2->since_version())
        st = unsupported("it imports {} opset {} but the model imports {}, and op {} differs between them "
                         "({}-{} vs {}-{})", domain_label(domain), fv, mv, n->op_type(), n->op_type(),
                         s1->since_version(), n->op_type(), s2->since_version());
    });
    TRY(st);
  }
  return Status::ok();
}

// Replaces attributes that reference the function's attributes (ref_attr_name), recursively into
// subgraphs: the call's attribute, else the function's default, else the attribute is dropped.
Status substitute_refs(ir::Graph& g, const ir::Node& call, const std::map<std::string, ir::Attribute>& defaults) {
  for (ir::Node* n : g.nodes()) {
    std::vector<ir::Attribute> kept;
    for (ir::Attribute& a : n->attributes()) {
      if (a.ref_attr_name.empty()) {
        kept.push_back(std::move(a));
        continue;
      }
      const ir::Attribute* src = call.attr(a.ref_attr_name);
      if (!src) {
        auto it = defaults.find(a.ref_attr_name);
        if (it != defaults.end()) src = &it->second;
      }
      if (!src) continue;
      if (src->type == ir::AttrType::Graph || src->type == ir::AttrType::Graphs)
        return unsupported("{} attribute '{}' refers to graph attribute '{}'; graph-valued references are not supported",
                           n->describe(), a.name, a.ref_attr_name);
      if (a.type != ir::AttrType::Undefined && src->type != ir::AttrType::Undefined && a.type != src->type)
        return invalid("{} attribute '{}' refers to '{}' of type {}, but the value given is of type {}",
                       n->describe(), a.name, a.ref_attr_name, attr_type_name(a.type), attr_type_name(src->type));
      ir::Attribute c = *src;
      c.name = a.name;
      c.ref_attr_name.clear();
      kept.push_back(std::move(c));
    }
    n->attributes() = std::move(kept);
    for (ir::Graph* sg : n->subgraphs()) TRY(substitute_refs(*sg, call, defaults));
  }
  return Status::ok();
}

// Points uses (and outputs) of body values inside a moved subgraph at the values they became.
Status redirect_outer_uses(ir::Graph& sg, const ir::Graph& body, const std::unordered_map<const ir::Value*, ir::Value*>& vmap) {
  for (ir::Node* n : sg.nodes()) {
    for (size_t k = 0; k < n->num_inputs(); ++k) {
      ir::Value* v = n->input(k);
      if (!v || v->graph() != &body) continue;
      auto it = vmap.find(v);
      if (it == vmap.end()) return internal_error("{}: body value '{}' was not mapped", n->describe(), v->name());
      sg.set_input(n, k, it->second);
    }
    for (ir::Graph* s2 : n->subgraphs()) TRY(redirect_outer_uses(*s2, body, vmap));
  }
  for (size_t i = 0; i < sg.outputs().size(); ++i) {
    ir::Value* v = sg.outputs()[i];
    if (v->graph() != &body) continue;
    auto it = vmap.find(v);
    if (it == vmap.end() || !it->second)
      return invalid("subgraph '{}' returns '{}', an input the call omits", sg.name, v->name());
    sg.set_output(i, it->second);
  }
  return Status::ok();
}

Result<std::vector<ir::Node*>> Expander::inline_call(ir::Graph& g, ir::Node* call, const Body& body) {
  const auto& fp = body.proto;
  if (call->num_inputs() > static_cast<size_t>(fp.input_size()))
    return invalid("the call has {} inputs but the function declares {}", call->num_inputs(), fp.input_size());
  if (call->num_outputs() > static_cast<size_t>(fp.output_size()))
    return invalid("the call has {} outputs but the function declares {}", call->num_outputs(), fp.output_size());

  // The body as a graph of its own, through the importer: names, duplicates and nesting get checked there.
  onnx::ModelProto mp;
  mp.set_ir_version(kMaxIrVersion);
  for (const auto& o : fp.opset_import()) *mp.add_opset_import() = o;
  if (mp.opset_import_size() == 0) mp.add_opset_import()->set_version(1);
  onnx::GraphProto* gp = mp.mutable_graph();
  gp->set_name(fp.name());
  for (const std::string& in : fp.input()) gp->add_input()->set_name(in);
  for (const auto& np : fp.node()) *gp->add_node() = np;
  if (!body.defaults.empty()) {
    onnx::NodeProto* d = gp->add_node();
    d->set_op_type(kDefaultsOp);
    for (const auto& ap : body.defaults) *d->add_attribute() = ap;
  }
  // Only the outputs the call uses must exist: a context-dependent body omits the others.
  std::vector<size_t> used_outputs;
  for (size_t j = 0; j < call->num_outputs(); ++j) {
    if (!call->output(j)) continue;
    gp->add_output()->set_name(fp.output(static_cast<int>(j)));
    used_outputs.push_back(j);
  }
  ImportOptions io;
  io.source_name = "body";
  ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> bm, proto::import_parsed_model(mp, io));
  ir::Graph& bg = *bm->graph;

  std::map<std::string, ir::Attribute> defaults;
  if (!body.defaults.empty()) {
    ir::Node* d = bg.original_order.empty() ? nullptr : bg.original_order.back();
    if (!d || d->op_type() != kDefaultsOp) return internal_error("attribute defaults were lost");
    for (ir::Attribute& a : d->attributes()) {
      if (a.type == ir::AttrType::Graph || a.type == ir::AttrType::Graphs)
        return unsupported("graph-valued attribute defaults are not supported");
      defaults[a.name] = std::move(a);
    }
    bg.remove_node(d);
  }
  TRY(merge_opsets(body, bg));
  TRY(substitute_refs(bg, *call, defaults));

  // Formal inputs -> actual values (null: omitted); body nodes -> new nodes before the call.
  std::unordered_map<const ir::Value*, ir::Value*> vmap;
  for (size_t i = 0; i < bg.inputs().size(); ++i) vmap[bg.inputs()[i]] = call->input(i);
  const std::string prefix = call->name.empty() ? fp.name() : call->name;
  std::vector<ir::Node*> created;
  std::vector<ir::Graph*> moved;
  for (ir::Node* b : bg.nodes()) {
    std::vector<ir::Value*> ins;
    for (ir::Value* v : b->inputs()) {
      if (!v) {
        ins.push_back(nullptr);
        continue;
      }
      auto it = vmap.find(v);
      if (it == vmap.end()) return internal_error("{} reads '{}' before it is defined", b->describe(), v->name());
      ins.push_back(it->second);
    }
    std::vector<std::string> names;
    for (ir::Value* o : b->outputs()) names.push_back(o ? g.unique_name(fmt::format("{}/{}", prefix, o->name())) : std::string());
    const std::string name = b->name.empty() ? std::string() : fmt::format("{}/{}", prefix, b->name);
    ir::Node* nn = g.insert_node_before(call, b->op_type(), b->domain(), ins, names, name);
    for (size_t k = 0; k < names.size(); ++k) {
      if (!b->output(k)) {
        g.set_output_absent(nn, k);
        continue;
      }
      vmap[b->output(k)] = nn->output(k);
      nn->output(k)->type = b->output(k)->type;
    }
    nn->name_written = !name.empty();
    nn->domain_written = b->domain_written;
    nn->doc_string = b->doc_string;
    nn->unknown_fields = b->unknown_fields;
    nn->attributes() = std::move(b->attributes());
    for (ir::Attribute& a : nn->attributes()) {
      if (a.g) {
        a.g->set_parent(&g, nn);
        moved.push_back(a.g.get());
      }
      for (auto& sg : a.graphs)
        if (sg) {
          sg->set_parent(&g, nn);
          moved.push_back(sg.get());
        }
    }
    created.push_back(nn);
  }
  for (ir::Graph* sg : moved) TRY(redirect_outer_uses(*sg, bg, vmap));

  // Formal outputs -> the call's output values, which keep their names (graph outputs among them).
  std::vector<std::pair<ir::Value*, ir::Value*>> pending;  // call output, its replacement
  std::vector<const ir::Value*> claimed;
  for (size_t k = 0; k < used_outputs.size(); ++k) {
    const size_t j = used_outputs[k];
    ir::Value* out = call->output(j);
    const ir::Value* bv = bg.outputs()[k];
    ir::Value* mv = vmap.count(bv) ? vmap[bv] : nullptr;
    if (!mv)
      return invalid("function output '{}' (#{}) is an input the call omits", bv->name(), j);
    const bool fresh = mv->producer() && std::find(created.begin(), created.end(), mv->producer()) != created.end() &&
                       std::find(claimed.begin(), claimed.end(), mv) == claimed.end();
    if (!fresh) {
      ir::Node* id = g.insert_node_before(call, "Identity", "", {mv}, {g.unique_name(fmt::format("{}/{}", prefix, bv->name()))});
      created.push_back(id);
      mv = id->output(0);
    }
    claimed.push_back(mv);
    pending.emplace_back(out, mv);
  }
  for (auto& [out, mv] : pending) {
    if (mv->type.kind == Type::Kind::None) mv->type = out->type;
    if (mv->doc_string.empty()) mv->doc_string = out->doc_string;
    if (mv->info_unknown_fields.empty()) mv->info_unknown_fields = out->info_unknown_fields;
    std::replace(g.value_info.begin(), g.value_info.end(), out, mv);
    g.replace_all_uses(out, mv);
  }
  std::vector<std::string> names;
  for (auto& [out, mv] : pending) names.push_back(out->name());
  g.remove_node(call);
  for (size_t i = 0; i < pending.size(); ++i)
    if (!g.rename_value(pending[i].second, names[i]))
      return internal_error("output name '{}' is still taken after inlining", names[i]);
  return created;
}

Status Expander::expand_node(ir::Graph& g, ir::Node* n, std::vector<std::string>& stack) {
  ASSIGN_OR_RETURN(std::optional<Body> body, find_body(*n));
  if (!body) {
    for (ir::Graph* sg : n->subgraphs()) TRY(expand_graph(*sg, stack));
    return Status::ok();
  }
  const std::string where = n->describe();
  if (std::find(stack.begin(), stack.end(), body->key) != stack.end()) {
    std::string chain;
    for (const auto& s : stack) chain += s + " -> ";
    return invalid("{}: {} calls itself recursively ({}{})", where, body->label, chain, body->key);
  }
  if (static_cast<int>(stack.size()) >= opt_.max_depth)
    return invalid("{}: {}: function calls nested deeper than {} levels", where, body->label, opt_.max_depth);
  auto created = inline_call(g, n, *body);
  if (!created.is_ok()) return created.status().with_context(fmt::format("{}: {}", where, body->label));
  ++expanded_;
  stack.push_back(body->key);
  for (ir::Node* c : *created) {
    Status st = expand_node(g, c, stack);
    // Errors deep inside bodies also name the call in the model that led there.
    if (!st.is_ok()) return stack.size() == 1 ? st.with_context(fmt::format("{}, expanding {}", where, body->label)) : st;
  }
  stack.pop_back();
  return Status::ok();
}

Status Expander::expand_graph(ir::Graph& g, std::vector<std::string>& stack) {
  for (ir::Node* n : g.nodes()) TRY(expand_node(g, n, stack));
  return Status::ok();
}

}  // namespace

Status expand_functions(ir::Model& model, const HasKernelFn& has_kernel, const ExpandOptions& options,
                        ExpandReport* report) {
  Expander ex(model, has_kernel, options);
  TRY(ex.load_local_functions());
  std::vector<std::string> stack;
  TRY(ex.expand_graph(*model.graph, stack));
  if (report) report->calls_expanded = ex.expanded();
  if (ex.expanded() > 0) TRY(model.graph->verify().with_context("after function expansion"));
  return Status::ok();
}

}  // namespace ortool
