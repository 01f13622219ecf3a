// Describing the inputs a command ran on, and the dims it defaulted.
#include "apps/input_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace ortool::cli {

namespace {

std::string type_text(DType dt, const std::vector<int64_t>& dims) {
  return fmt::format("{}[{}]", dtype_name(dt), fmt::join(dims, ","));
}

}  // namespace

std::vector<FedInput> describe_feeds(const ir::Graph& g, const ShapeBindings& shapes, const rt::Feeds& feeds,
                                     const std::set<std::string>& random) {
  std::vector<FedInput> out;
  for (const ir::Value* v : rt::required_inputs(g)) {
    auto it = feeds.find(v->name());
    if (it == feeds.end()) continue;
    FedInput f;
    f.name = v->name();
    const RValue& val = it->second;
    f.type = val.is_tensor() ? type_text(val.tensor.dtype(), val.tensor.dims())
                             : (val.is_sequence() ? fmt::format("sequence of {}", val.sequence.size()) : "none");
    f.source = random.count(f.name) ? "random" : "file";
    if (f.source == "random") concrete_input_dims(*v, shapes, &f.defaulted);
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<FedInput> describe_random_inputs(const ir::Graph& g, const ShapeBindings& shapes) {
  std::vector<FedInput> out;
  for (const ir::Value* v : rt::required_inputs(g)) {
    FedInput f;
    f.name = v->name();
    f.source = "random";
    std::vector<int64_t> dims = concrete_input_dims(*v, shapes, &f.defaulted);
    f.type = type_text(v->type.elem == DType::Undefined ? DType::Float : v->type.elem, dims);
    out.push_back(std::move(f));
  }
  return out;
}

nlohmann::json inputs_json(const std::vector<FedInput>& inputs) {
  nlohmann::json j = nlohmann::json::array();
  for (const FedInput& f : inputs)
    j.push_back({{"name", f.name}, {"type", f.type}, {"source", f.source}, {"defaulted_dims", f.defaulted}});
  return j;
}

std::string inputs_text(const std::vector<FedInput>& inputs) {
  std::vector<std::string> parts;
  for (const FedInput& f : inputs) parts.push_back(fmt::format("{} {} ({})", f.name, f.type, f.source));
  return parts.empty() ? std::string("none") : fmt::format("{}", fmt::join(parts, ", "));
}

std::string defaulted_hint(const std::vector<FedInput>& inputs) {
  std::vector<std::string> dims;
  for (const FedInput& f : inputs)
    for (const std::string& d : f.defaulted)
      if (std::find(dims.begin(), dims.end(), d) == dims.end()) dims.push_back(d);
  if (dims.empty()) return "";
  bool one = dims.size() == 1;
  // Examples with the model's own names: the input form always fits; the symbol form when a dim has a name.
  std::string input;
  for (const FedInput& f : inputs)
    if (!f.defaulted.empty() && input.empty()) input = f.name;
  std::string example = fmt::format("--shape {}=d0,d1,...", input);
  for (const std::string& d : dims)
    if (d.find('[') == std::string::npos && d.find(':') == std::string::npos) {
      example = fmt::format("--shape {}=N or {}", d, example);
      break;
    }
  return fmt::format("symbolic {} {} {} set to 1 (no --shape binds {}), so the inputs were {}; give the real sizes "
                     "with {}",
                     one ? "dim" : "dims", fmt::join(dims, ", "), one ? "was" : "were", one ? "it" : "them",
                     inputs_text(inputs), example);
}

Status with_defaulted_hint(const Status& st, const std::vector<FedInput>& inputs) {
  std::string hint = defaulted_hint(inputs);
  if (st.is_ok() || hint.empty()) return st;
  return Status(st.code(), fmt::format("{} (note: {})", st.message(), hint));
}

}  // namespace ortool::cli
