// Channel atoms: union-find with pins (see channel_atoms.h).
#include "prune/channel_atoms.h"

namespace ortool::prune {

AtomId AtomTable::add(int64_t n) {
  AtomId first = static_cast<AtomId>(parent_.size());
  for (int64_t i = 0; i < n; ++i) {
    parent_.push_back(static_cast<AtomId>(parent_.size()));
    reason_.emplace_back();
  }
  return first;
}

AtomId AtomTable::add_pinned(int64_t n, const std::string& reason) {
  AtomId first = add(n);
  for (int64_t i = 0; i < n; ++i) reason_[static_cast<size_t>(first + i)] = reason;
  return first;
}

AtomId AtomTable::find(AtomId a) {
  AtomId r = a;
  while (parent_[static_cast<size_t>(r)] != r) r = parent_[static_cast<size_t>(r)];
  while (parent_[static_cast<size_t>(a)] != r) {
    AtomId next = parent_[static_cast<size_t>(a)];
    parent_[static_cast<size_t>(a)] = r;
    a = next;
  }
  return r;
}

void AtomTable::join(AtomId a, AtomId b) {
  AtomId ra = find(a), rb = find(b);
  if (ra == rb) return;
  // The smaller id stays the representative, so units are numbered by their first atom.
  if (rb < ra) std::swap(ra, rb);
  parent_[static_cast<size_t>(rb)] = ra;
  if (reason_[static_cast<size_t>(ra)].empty()) reason_[static_cast<size_t>(ra)] = std::move(reason_[static_cast<size_t>(rb)]);
  reason_[static_cast<size_t>(rb)].clear();
}

void AtomTable::pin(AtomId a, const std::string& reason) {
  std::string& r = reason_[static_cast<size_t>(find(a))];
  if (r.empty()) r = reason.empty() ? "pinned" : reason;
}

void AtomTable::freeze() {
  frozen_root_.resize(parent_.size());
  for (size_t i = 0; i < parent_.size(); ++i) frozen_root_[i] = find(static_cast<AtomId>(i));
}

}  // namespace ortool::prune
