// The state build_dependency_graph fills while it walks the graph, and the calls op rules make on it
// (internal to prune/: op_rules.cpp and reshape_rules.cpp implement the rules).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/graph.h"
#include "prune/dependency_graph.h"

namespace ortool::prune {

class GraphBuilder {
 public:
  GraphBuilder(ir::Model& model, DependencyGraph& out) : model_(model), out_(out) {}

  ir::Model& model() { return model_; }
  ir::Graph& graph() { return *model_.graph; }
  int64_t opset() const;

  // The channels tracked on `v`, or null.
  const ChannelMap* map(const ir::Value* v) const;
  void set_map(ir::Value* v, ChannelMap m);

  // New atoms for `n` channels a layer makes (registered as the layer's output).
  std::vector<AtomId> layer_atoms(ir::Node* layer, int64_t n);
  // New pinned atoms for `n` channels nobody may remove.
  std::vector<AtomId> pinned_atoms(int64_t n, const std::string& reason);
  // Registers `layer` as making the channels `out` (which may be atoms of its input: depthwise).
  void add_layer(ir::Node* layer, std::vector<AtomId> out);

  void join(AtomId a, AtomId b) { out_.atoms.join(a, b); }
  // Joins entry i of `a` with entry i of `b` (same length).
  void join_entries(const ChannelMap& a, const ChannelMap& b);
  void pin(const ChannelMap& m, const std::string& reason);
  // Pins the channels of every tracked input of `n`: "<node>: <why>".
  void pin_inputs(const ir::Node& n, const std::string& why);

  void slice(ir::Node* n, int input, int64_t axis, const ChannelMap& m, SliceRole role);
  void slice(ir::Node* n, int input, int64_t axis, std::vector<AtomId> atoms, int64_t block, SliceRole role);
  void require_nonempty(std::vector<AtomId> atoms) { out_.nonempty.push_back(std::move(atoms)); }
  void fixup(Fixup f) { out_.fixups.push_back(std::move(f)); }
  void note(std::string s) { out_.notes.push_back(std::move(s)); }

  // Nodes a rule has taken care of together with an earlier one (a channel shuffle's Transpose
  // and second Reshape); the walk skips them.
  void mark_handled(const ir::Node* n) { handled_.insert(n); }
  bool handled(const ir::Node* n) const { return handled_.count(n) != 0; }

  // Rank of a value: its tracked map's, else its type's or constant's; -1 when unknown.
  int64_t rank(const ir::Value* v) const;
  // Dims when all are known numbers.
  std::optional<std::vector<int64_t>> dims(const ir::Value* v) const;
  // One dim (negative axes count from the end) when known.
  std::optional<int64_t> dim(const ir::Value* v, int64_t axis) const;

 private:
  ir::Model& model_;
  DependencyGraph& out_;
  std::unordered_map<const ir::Value*, size_t> map_index_;  // into out_.values
  std::unordered_set<const ir::Node*> handled_;
};

// The op rules: each records what the node does to the channels it reads; a node whose coupling
// cannot be proven has its tracked inputs pinned and its outputs left untracked.
void apply_op_rule(GraphBuilder& b, ir::Node& n);  // op_rules.cpp: dispatch, pass-through, broadcasting
// layer_rules.cpp: the layers that make channels.
void conv_rule(GraphBuilder& b, ir::Node& n);
void conv_transpose_rule(GraphBuilder& b, ir::Node& n);
void gemm_rule(GraphBuilder& b, ir::Node& n);
void matmul_rule(GraphBuilder& b, ir::Node& n);
// axis_rules.cpp: ops that select, move or reduce axes.
void concat_rule(GraphBuilder& b, ir::Node& n);
void split_rule(GraphBuilder& b, ir::Node& n);
void slice_rule(GraphBuilder& b, ir::Node& n);
void transpose_rule(GraphBuilder& b, ir::Node& n);
void squeeze_rule(GraphBuilder& b, ir::Node& n);
void unsqueeze_rule(GraphBuilder& b, ir::Node& n);
void reduce_rule(GraphBuilder& b, ir::Node& n);
void resize_rule(GraphBuilder& b, ir::Node& n);
void pad_rule(GraphBuilder& b, ir::Node& n);
void shape_rule(GraphBuilder& b, ir::Node& n);
// reshape_rules.cpp: Flatten, Reshape and the channel shuffle.
void flatten_rule(GraphBuilder& b, ir::Node& n);
void reshape_rule(GraphBuilder& b, ir::Node& n);

// Helpers shared by the rules.
// "node 'conv1' (Conv)" style description for pin reasons.
std::string where(const ir::Node& n);
// Normalizes `axis` against `rank`, nullopt when out of range.
std::optional<int64_t> norm_axis(int64_t axis, int64_t rank);
// Points input `input` of `n` at a new initializer holding `t` (named after the old value): the old
// constant may be shared with other nodes, so it is never edited.
void set_constant_input(ir::Graph& g, ir::Node* n, int input, Tensor t);
// Integer values of a node's constant input (an initializer or Constant), or nullopt.
std::optional<std::vector<int64_t>> constant_input_ints(const ir::Node& n, int input);

}  // namespace ortool::prune
