// Dependency groups over the IR: which channels of which layers must be pruned together.
//
// build_dependency_graph walks the main graph once in topological order and follows every channel
// a layer (Conv, ConvTranspose, Gemm, MatMul with a constant weight) makes through the ops that read
// it. Each op's rule (prune/op_rules.cpp, prune/reshape_rules.cpp) says how it couples channels:
// passes them through (activations, pooling, BatchNormalization), joins them (residual Add),
// rearranges them (Concat, Split, Slice, channel shuffle, Flatten into Gemm) or consumes them (the
// next layer's weight). An op without a rule, or a rule whose preconditions fail, pins the
// channels it reads: they are never removed, and the group is reported whole with the reason.
// Graph inputs and outputs keep their shapes.
//
// The result records, without touching the model, every constant to slice and every shape constant
// or attribute to rewrite when channels go (prune/apply_plan.h does it), and the weights that rank
// channels (prune/importance.h). The walk is deterministic, so the same model always gives the same
// groups and unit numbers: a plan made on one copy applies to a fresh copy analysed the same way.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "prune/channel_atoms.h"

namespace ortool::prune {

// The channels along one axis of a value: entry i of the axis is channel atoms[i / block]. A block
// above 1 is a channel flattened into several features (Flatten into Gemm).
struct ChannelMap {
  int64_t rank = 0;
  int64_t axis = 0;
  std::vector<AtomId> atoms;
  int64_t block = 1;
  int64_t length() const { return static_cast<int64_t>(atoms.size()) * block; }
};

// What a sliced constant is, for the importance criteria.
enum class SliceRole {
  kOutWeight,  // a layer's weight along its output channels (Conv W axis 0, depthwise filters)
  kInWeight,   // a layer's weight along its input channels (the next layer's W axis 1)
  kNormScale,  // BatchNormalization's scale (gamma): the bn-scale criterion
  kParam,      // any other per-channel constant: biases, BN statistics, PRelu slopes, Mul/Add constants
};

// A constant node input sliced along `axis` when channels go: entry i stays when atom atoms[i / block] does.
struct ConstSlice {
  ir::Node* node = nullptr;
  int input = 0;
  int64_t axis = 0;
  std::vector<AtomId> atoms;
  int64_t block = 1;
  SliceRole role = SliceRole::kParam;
};

// Answers "is this atom removed?" for rewriting a model under a plan.
class Removal {
 public:
  virtual ~Removal() = default;
  virtual bool removed(AtomId a) const = 0;
  // Entries of a ChannelMap's axis that stay.
  int64_t kept(const std::vector<AtomId>& atoms, int64_t block = 1) const;
  int64_t kept(const ChannelMap& m) const { return kept(m.atoms, m.block); }
};

// A rewrite other than slicing a constant (a Reshape's shape, Split sizes, a Conv's group, the type
// of a value inside a channel shuffle), run when a plan is applied.
using Fixup = std::function<Status(ir::Graph& g, const Removal& r)>;

// A node that makes channels: their atoms in output order.
struct Layer {
  ir::Node* node = nullptr;
  std::vector<AtomId> out;
};

// Units that must be pruned by one decision: every unit shares a layer with another unit of the group.
struct Group {
  int id = 0;
  std::vector<AtomId> units;    // representative atoms, in order of first appearance
  std::vector<size_t> layers;   // indices into DependencyGraph::layers
  int64_t pinned_units = 0;     // units that must stay
  std::vector<std::string> pin_reasons;  // distinct reasons, first seen first
  bool whole() const { return pinned_units == static_cast<int64_t>(units.size()); }
};

struct DependencyGraph {
  AtomTable atoms;  // frozen
  std::vector<Layer> layers;
  std::vector<ConstSlice> slices;
  std::vector<Fixup> fixups;
  // Every value whose channels are tracked: its type's dim along the axis changes with them.
  // A deque so that a rule may hold the map of its input while it records its output's.
  std::deque<std::pair<ir::Value*, ChannelMap>> values;
  std::vector<Group> groups;
  std::vector<int> unit_group;  // by representative atom id: its group, or -1
  // Channel sets that must keep at least one channel (the outputs of Split and Slice): a plan may
  // not empty them even when their group keeps channels elsewhere.
  std::vector<std::vector<AtomId>> nonempty;
  std::vector<std::string> notes;

  // The layer of this name: its node's name, or for an unnamed node the name of its output; null when none.
  const Layer* find_layer(std::string_view name) const;
  // The group a layer's output channels belong to (-1 when the layer makes none that are tracked).
  int layer_group(const Layer& l) const;
};

// How reports and --layer/--exclude name a layer: the node's name, or its output's when it has none.
std::string layer_name(const ir::Node& n);

// Analyses the main graph of `model` (which must outlive the result; value types should be
// inferred first). Errors only for a broken graph (a cycle); anything not understood is pinned.
Result<DependencyGraph> build_dependency_graph(ir::Model& model);

}  // namespace ortool::prune
