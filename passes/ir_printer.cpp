// A compact text dump of a graph for `--print-ir-after`: one line per node, `y = Op(a, b) {attrs}`.
#include "passes/ir_printer.h"

#include <fmt/format.h>

namespace ortool::passes {

namespace {

std::string tensor_summary(const Tensor& t) {
  std::string s = fmt::format("{}{}", dtype_name(t.dtype()), shape_to_string(shape_from_dims(t.dims())));
  if (t.numel() <= 8 && !t.is_string()) {
    s += " [";
    for (int64_t i = 0; i < t.numel(); ++i) s += fmt::format("{}{}", i ? ", " : "", t.get_double(i));
    s += "]";
  }
  return s;
}

std::string attribute_text(const ir::Attribute& a) {
  switch (a.type) {
    case ir::AttrType::Float: return fmt::format("{}", a.f);
    case ir::AttrType::Int: return fmt::format("{}", a.i);
    case ir::AttrType::String: return fmt::format("\"{}\"", a.s);
    case ir::AttrType::Tensor: return a.t ? tensor_summary(*a.t) : "tensor";
    case ir::AttrType::Graph: return "<graph>";
    case ir::AttrType::Floats: return fmt::format("[{}]", fmt::join(a.floats, ", "));
    case ir::AttrType::Ints: return fmt::format("[{}]", fmt::join(a.ints, ", "));
    case ir::AttrType::Strings: return fmt::format("[{} strings]", a.strings.size());
    case ir::AttrType::Graphs: return fmt::format("[{} graphs]", a.graphs.size());
    default: return std::string(ir::attr_type_name(a.type));
  }
}

std::string value_names(const std::vector<ir::Value*>& vs) {
  std::string s;
  for (size_t i = 0; i < vs.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", vs[i] ? vs[i]->name() : "");
  return s;
}

void print_into(const ir::Graph& g, int indent, std::string& out) {
  std::string pad(static_cast<size_t>(indent), ' ');
  std::string ins;
  for (const ir::Value* v : g.inputs()) {
    if (v->is_constant()) continue;
    ins += fmt::format("{}{}: {}", ins.empty() ? "" : ", ", v->name(), v->type.to_string());
  }
  out += fmt::format("{}graph {} ({}) -> ({})\n", pad, g.name.empty() ? "main" : g.name, ins, value_names(g.outputs()));
  for (const ir::Value* v : g.initializers())
    out += fmt::format("{}  init {}{}: {}\n", pad, v->name(), v->is_graph_input() ? " (input)" : "",
                       tensor_summary(*v->constant()));
  for (const ir::Node* n : g.nodes()) {
    std::string op = n->domain().empty() ? n->op_type() : n->domain() + "." + n->op_type();
    std::string attrs;
    for (const ir::Attribute& a : n->attributes())
      attrs += fmt::format("{}{}={}", attrs.empty() ? "" : ", ", a.name, attribute_text(a));
    out += fmt::format("{}  {} = {}({}){}\n", pad, value_names(n->outputs()), op, value_names(n->inputs()),
                       attrs.empty() ? "" : " {" + attrs + "}");
    for (const ir::Graph* sg : n->subgraphs()) print_into(*sg, indent + 4, out);
  }
}

}  // namespace

std::string print_graph(const ir::Graph& g, int indent) {
  std::string out;
  print_into(g, indent, out);
  return out;
}

}  // namespace ortool::passes
