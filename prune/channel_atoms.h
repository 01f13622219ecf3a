// Channel atoms: one per channel a layer makes, joined when they must be removed together, pinned
// when they must stay (a graph output, an op whose coupling cannot be proven).
//
// A union-find: join(a, b) puts two atoms in one unit, the thing a pruning plan keeps or removes
// whole. Joined atoms are either the same channel seen by two layers (a residual Add) or different
// channels whose removal must go together (the columns of a channel shuffle, the groups of a
// grouped convolution). A pin on any atom of a unit pins the unit; the first reason is kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ortool::prune {

using AtomId = int32_t;

class AtomTable {
 public:
  // `n` new atoms, each its own unit; returns the first id (ids are consecutive).
  AtomId add(int64_t n);
  // `n` new atoms pinned with `reason` (channels nobody may remove: a graph input's, a constant's).
  AtomId add_pinned(int64_t n, const std::string& reason);
  size_t size() const { return parent_.size(); }

  // The unit's representative atom (path-compressing).
  AtomId find(AtomId a);
  void join(AtomId a, AtomId b);
  // Pins the unit of `a`; the first reason a unit gets is the one reported.
  void pin(AtomId a, const std::string& reason);

  // After the last join and pin: representatives computed once, so the const queries below work.
  void freeze();
  AtomId root(AtomId a) const { return frozen_root_[static_cast<size_t>(a)]; }
  bool pinned(AtomId a) const { return !reason_[static_cast<size_t>(root(a))].empty(); }
  const std::string& pin_reason(AtomId a) const { return reason_[static_cast<size_t>(root(a))]; }

 private:
  std::vector<AtomId> parent_;
  std::vector<std::string> reason_;  // meaningful at representatives; empty when not pinned
  std::vector<AtomId> frozen_root_;
};

}  // namespace ortool::prune
