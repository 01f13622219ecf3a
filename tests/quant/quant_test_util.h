// Helpers for the quantizer tests and their driver: running models, min/max ranges of named tensors
// over a few inputs (a stand-in for calibration), SQNR and top-1.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/model_io.h"
#include "lib/npy.h"
#include "lib/onnx_export.h"
#include "lib/onnx_import.h"
#include "lib/tensor_compare.h"
#include "quant/ranges.h"
#include "runtime/feeds.h"
#include "runtime/session.h"

namespace ortool::quant_testing {

inline std::filesystem::path source_dir() { return ORTOOL_SOURCE_DIR; }

// A deep copy through export and import.
inline Result<std::unique_ptr<ir::Model>> copy_model(const ir::Model& m) {
  ASSIGN_OR_RETURN(std::string bytes, export_model_proto_bytes(m));
  return import_model_proto(bytes, {});
}

// Runs `m` on `feeds` with ortool's reference kernels (or the given providers).
inline Result<std::vector<RValue>> run_model(const ir::Model& m, const rt::Feeds& feeds,
                                             std::vector<std::string> providers = {"cpu"}) {
  rt::SessionOptions so;
  so.providers = std::move(providers);
  ASSIGN_OR_RETURN(auto session, rt::Session::create(m, so));
  return session->run(feeds);
}

inline void widen(quant::TensorRange& r, const Tensor& t, bool& first) {
  if (t.dtype() != DType::Float) return;
  const float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (!std::isfinite(d[i])) continue;
    if (first) {
      r.min = r.max = d[i];
      first = false;
    }
    r.min = std::min(r.min, static_cast<double>(d[i]));
    r.max = std::max(r.max, static_cast<double>(d[i]));
  }
}

// The min/max of every named tensor over `samples`: the named values become graph outputs of a copy.
inline Result<quant::RangeTable> minmax_ranges(const ir::Model& m, const std::vector<std::string>& names,
                                               const std::vector<rt::Feeds>& samples) {
  ASSIGN_OR_RETURN(auto copy, copy_model(m));
  ir::Graph& g = *copy->graph;
  std::vector<std::string> watched;
  std::set<std::string> outputs;
  for (const ir::Value* o : g.outputs()) outputs.insert(o->name());
  for (const std::string& n : names) {
    ir::Value* v = g.find_value(n);
    if (!v) return invalid("no tensor named '{}'", n);
    if (!v->is_graph_input() && !outputs.count(n)) g.add_output(v);
  }
  std::map<std::string, quant::TensorRange> ranges;
  std::map<std::string, bool> first;
  for (const std::string& n : names) first[n] = true;
  for (const rt::Feeds& f : samples) {
    ASSIGN_OR_RETURN(auto outs, run_model(*copy, f));
    for (size_t i = 0; i < g.outputs().size(); ++i) {
      const std::string& n = g.outputs()[i]->name();
      if (first.count(n) && outs[i].is_tensor()) widen(ranges[n], outs[i].tensor, first[n]);
    }
    for (const auto& [n, v] : f)
      if (first.count(n) && v.is_tensor()) widen(ranges[n], v.tensor, first[n]);
  }
  quant::RangeTable table;
  for (const std::string& n : names) table[n] = ranges[n];
  return table;
}

// SQNR in dB; -inf when undefined (an all-zero reference with a non-zero error), so a bound fails.
inline double sqnr_db(const Tensor& ref, const Tensor& got) {
  return compare_tensors(ref, got, Tolerance{}).sqnr_db.value_or(-std::numeric_limits<double>::infinity());
}

// Row-wise argmax of a [rows, classes] float tensor.
inline std::vector<int64_t> argmax_rows(const Tensor& t) {
  const int64_t cols = t.dims().back(), rows = t.numel() / cols;
  std::vector<int64_t> out(static_cast<size_t>(rows));
  const float* d = t.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    out[static_cast<size_t>(r)] = std::max_element(d + r * cols, d + (r + 1) * cols) - (d + r * cols);
  return out;
}

// Fraction of rows whose argmax equals the int64 label.
inline double top1(const Tensor& logits, const Tensor& labels) {
  std::vector<int64_t> p = argmax_rows(logits);
  int64_t ok = 0;
  for (size_t i = 0; i < p.size(); ++i) ok += p[i] == labels.data<int64_t>()[i];
  return static_cast<double>(ok) / static_cast<double>(p.size());
}

// Rows [begin, end) of a tensor along its first axis.
inline Tensor rows(const Tensor& t, int64_t begin, int64_t end) {
  std::vector<int64_t> dims = t.dims();
  dims[0] = end - begin;
  Tensor out(t.dtype(), dims);
  const size_t row = t.nbytes() / static_cast<size_t>(t.dims()[0]);
  std::memcpy(out.raw_mutable(), static_cast<const std::byte*>(t.raw()) + row * static_cast<size_t>(begin),
              row * static_cast<size_t>(end - begin));
  return out;
}

}  // namespace ortool::quant_testing
