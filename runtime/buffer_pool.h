// BufferPool: the session's arena of tensor buffers, recycled by size as values die (liveness reuse).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "lib/tensor.h"

namespace ortool::rt {

// Buffers handed out by a pool go back to it when their last holder lets go (a released slot, a
// dropped output), so the next tensor of that size reuses the block instead of asking malloc and
// faulting in fresh pages. A request takes the smallest free block that fits and is at most twice
// its size (rounded up to 64 bytes), the most recently freed of that size first (still in cache). The pool is shared: buffers keep it alive, so outputs may outlive the session.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  static std::shared_ptr<BufferPool> create() { return std::shared_ptr<BufferPool>(new BufferPool()); }
  ~BufferPool();

  // A 64-byte aligned buffer of `bytes`; zero-filled when `zero`, else its content is unspecified
  // (builds with ORTOOL_POISON_BUFFERS fill it with 0xFF bytes, NaN as float, so a kernel that
  // leaves elements unwritten shows in tests). Throws std::bad_alloc like Buffer::allocate.
  std::shared_ptr<Buffer> take(size_t bytes, bool zero);

  // Bytes of every block the pool owns, in use or free: the arena's size.
  size_t reserved_bytes() const;
  // The largest reserved_bytes() since the last reset_peak().
  size_t peak_reserved_bytes() const;
  void reset_peak();
  // Frees the blocks not in use.
  void trim();

 private:
  BufferPool() = default;
  friend class PooledBuffer;
  void give_back(std::byte* block, size_t capacity);

  mutable std::mutex mu_;
  std::multimap<size_t, std::byte*> free_;  // capacity -> block; within a capacity, newest last
  size_t reserved_ = 0;
  size_t peak_ = 0;
};

}  // namespace ortool::rt
