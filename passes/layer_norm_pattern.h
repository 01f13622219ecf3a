// The decomposed layer normalization exporters emit, as a pattern over graph nodes:
//   m = ReduceMean(x, axes); d = Sub(x, m); v = ReduceMean(Pow(d, 2) or Mul(d, d), axes)
//   y = Div(d, Sqrt(Add(v, eps)))  [then Mul(y, gamma), then Add(., beta)]
// over the trailing axes, each intermediate read only inside the pattern. fuse_layer_norm rewrites it into
// LayerNormalization; the quantizer leaves its nodes float.
#pragma once

#include <optional>
#include <unordered_set>
#include <vector>

#include "lib/graph.h"

namespace ortool::passes {

struct LayerNormMatch {
  ir::Value* x = nullptr;
  int64_t axis = -1;            // first normalized axis, negative (counted from the end)
  std::vector<int64_t> dims;    // the normalized dims
  double eps = 0;
  std::optional<Tensor> scale, bias;
  std::vector<ir::Node*> nodes;  // the pattern, anchor last
};

// Fusable: what LayerNormalization computes (float x of known rank, the same trailing axes in both means, known
// normalized dims, gamma and beta of those dims). Structure: the nodes and their readers alone (no types or
// shapes needed; axis and dims left unset, gamma and beta as found).
enum class LayerNormCheck { Fusable, Structure };

// The pattern anchored at `n` (of graph `g`): a Div core, Mul(core, gamma), or Add(Mul(core, gamma), beta).
std::optional<LayerNormMatch> match_layer_norm(ir::Node* n, const ir::Graph& g, LayerNormCheck check = LayerNormCheck::Fusable);

// The nodes of every such pattern in `g` by structure (what a quantizer leaves float).
std::unordered_set<const ir::Node*> layer_norm_nodes(const ir::Graph& g);

}  // namespace ortool::passes
