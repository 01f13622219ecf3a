// Model inputs from files, test-data folders and seeded random generators.
#include "runtime/feeds.h"

#include <algorithm>
#include <random>
#include <regex>

#include "lib/half.h"
#include "lib/npy.h"
#include "lib/value_proto.h"

namespace ortool::rt {

namespace fs = std::filesystem;

std::vector<const ir::Value*> required_inputs(const ir::Graph& g) {
  std::vector<const ir::Value*> out;
  for (const ir::Value* v : g.inputs())
    if (!v->is_constant()) out.push_back(v);
  return out;
}

Result<RValue> read_input_file(const fs::path& path, const ir::Value& input) {
  if (path.extension() == ".npy") {
    ASSIGN_OR_RETURN(Tensor t, read_npy(path));
    return RValue(std::move(t));
  }
  ASSIGN_OR_RETURN(NamedValue nv, read_value_pb(path, input.type));
  return std::move(nv.value);
}

Result<Feeds> read_input_dir(const ir::Graph& g, const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return invalid("{}: not a directory", dir.string());
  std::vector<std::pair<int, fs::path>> pb;
  std::vector<fs::path> npy;
  static const std::regex kInput(R"(input_(\d{1,6})\.pb)");  // bounded: stoi cannot overflow
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    std::string fname = e.path().filename().string();
    if (std::regex_match(fname, m, kInput)) pb.emplace_back(std::stoi(m[1]), e.path());
    else if (e.path().extension() == ".npy") npy.push_back(e.path());
  }
  if (ec) return io_error("{}: {}", dir.string(), ec.message());
  std::sort(pb.begin(), pb.end());
  std::sort(npy.begin(), npy.end());
  std::vector<const ir::Value*> req = required_inputs(g);
  Feeds feeds;
  size_t position = 0;
  for (const auto& [k, path] : pb) {
    // The expected type decides the proto kind; take it from the positional input for parsing.
    const ir::Value* positional = position < req.size() ? req[position] : nullptr;
    Type hint = positional ? positional->type : Type{};
    ASSIGN_OR_RETURN(NamedValue nv, read_value_pb(path, hint));
    const ir::Value* target = nullptr;
    if (!nv.name.empty()) {
      const ir::Value* named = g.find_value(nv.name);
      if (named && named->is_graph_input()) target = named;
    }
    if (!target) {
      // Skip inputs already fed by name.
      while (position < req.size() && feeds.count(req[position]->name())) ++position;
      if (position >= req.size())
        return invalid("{}: more input files than model inputs ({})", path.string(), req.size());
      target = req[position++];
    } else if (target == positional) {
      ++position;
    }
    if (target->type.kind != hint.kind) {  // parsed with the wrong kind: parse again
      ASSIGN_OR_RETURN(nv, read_value_pb(path, target->type));
    }
    feeds[target->name()] = std::move(nv.value);
  }
  for (const fs::path& p : npy) {
    std::string name = p.stem().string();
    const ir::Value* v = g.find_value(name);
    if (!v || !v->is_graph_input()) {
      if (req.size() == 1 && npy.size() == 1) v = req[0];
      else return invalid("{}: no model input named '{}'", p.string(), name);
    }
    ASSIGN_OR_RETURN(Tensor t, read_npy(p));
    feeds[v->name()] = RValue(std::move(t));
  }
  // A model without inputs (test_constant) legitimately comes with an empty data folder.
  if (pb.empty() && npy.empty() && !req.empty()) return invalid("{}: no input_K.pb or .npy files", dir.string());
  return feeds;
}

namespace {

template <typename T>
void fill_ints(Tensor& t, std::mt19937_64& rng, int64_t lo, int64_t hi) {
  std::uniform_int_distribution<int64_t> d(lo, hi);
  T* p = t.mutable_data<T>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(d(rng));
}

Status fill_random(Tensor& t, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  switch (t.dtype()) {
    case DType::Float: {
      float* p = t.mutable_data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(u(rng));
      return Status::ok();
    }
    case DType::Double: {
      double* p = t.mutable_data<double>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
      return Status::ok();
    }
    case DType::Float16: {
      uint16_t* p = t.mutable_data<uint16_t>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = float_to_half(static_cast<float>(u(rng)));
      return Status::ok();
    }
    case DType::BFloat16: {
      uint16_t* p = t.mutable_data<uint16_t>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = float_to_bfloat16(static_cast<float>(u(rng)));
      return Status::ok();
    }
    case DType::Int8: fill_ints<int8_t>(t, rng, -128, 127); return Status::ok();
    case DType::UInt8: fill_ints<uint8_t>(t, rng, 0, 255); return Status::ok();
    case DType::Int16: fill_ints<int16_t>(t, rng, -100, 100); return Status::ok();
    case DType::UInt16: fill_ints<uint16_t>(t, rng, 0, 100); return Status::ok();
    case DType::Int32: fill_ints<int32_t>(t, rng, 0, 9); return Status::ok();
    case DType::UInt32: fill_ints<uint32_t>(t, rng, 0, 9); return Status::ok();
    case DType::Int64: fill_ints<int64_t>(t, rng, 0, 9); return Status::ok();
    case DType::UInt64: fill_ints<uint64_t>(t, rng, 0, 9); return Status::ok();
    case DType::Bool: fill_ints<uint8_t>(t, rng, 0, 1); return Status::ok();
    case DType::String: {
      for (auto& s : t.mutable_strings()) s = std::to_string(rng() % 1000);
      return Status::ok();
    }
    default: return unsupported("cannot make random data of type {}", dtype_name(t.dtype()));
  }
}

}  // namespace

Result<Feeds> random_inputs(const ir::Graph& g, uint64_t seed, const std::map<std::string, std::vector<int64_t>>& shapes,
                            const std::map<std::string, int64_t>& dims) {
  Feeds feeds;
  std::mt19937_64 rng(seed);
  ShapeBindings bindings;
  bindings.input_shapes = shapes;
  bindings.dim_bindings = dims;
  for (const ir::Value* v : required_inputs(g)) {
    if (!v->type.is_tensor())
      return unsupported("input '{}' is a {}: random data covers tensors only", v->name(), v->type.to_string());
    auto fixed = shapes.find(v->name());
    if (fixed != shapes.end() && v->type.shape && v->type.shape->size() != fixed->second.size())
      return invalid("--shape {}: the input has rank {}, got {} dims", v->name(), v->type.shape->size(),
                     fixed->second.size());
    std::vector<int64_t> d = concrete_input_dims(*v, bindings);
    DType dt = v->type.elem == DType::Undefined ? DType::Float : v->type.elem;
    auto t = Tensor::make(dt, d, size_t{8} << 30);
    if (!t.is_ok()) return t.status().with_context(fmt::format("input '{}'", v->name()));
    TRY(fill_random(*t, rng).with_context(fmt::format("input '{}'", v->name())));
    feeds[v->name()] = RValue(std::move(t).value());
  }
  return feeds;
}

}  // namespace ortool::rt
