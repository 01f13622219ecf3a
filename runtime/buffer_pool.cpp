// BufferPool: exact-size recycling of 64-byte aligned blocks, returned by the buffers' destructors.
#include "runtime/buffer_pool.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace ortool::rt {

namespace {
// 16 bytes of slack past the end: XNNPACK's vector loads may read (never write) that far
// (XNN_EXTRA_BYTES), so a tensor must not end right at a block's end.
size_t capacity_for(size_t bytes) { return (bytes + 16 + 63) / 64 * 64; }
}  // namespace

class PooledBuffer final : public Buffer {
 public:
  PooledBuffer(std::shared_ptr<BufferPool> pool, std::byte* block, size_t size, size_t capacity)
      : pool_(std::move(pool)), data_(block), size_(size), capacity_(capacity) {}
  ~PooledBuffer() override { pool_->give_back(data_, capacity_); }
  std::byte* data() override { return data_; }
  size_t size() const override { return size_; }

 private:
  std::shared_ptr<BufferPool> pool_;
  std::byte* data_;
  size_t size_, capacity_;
};

BufferPool::~BufferPool() {
  for (auto& [cap, block] : free_) std::free(block);
}

std::shared_ptr<Buffer> BufferPool::take(size_t bytes, bool zero) {
  size_t cap = capacity_for(bytes);
  std::byte* block = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Best fit among blocks up to twice the size: exact sizes alone kept ~3x the live peak on
    // CNNs (every stage has its own sizes); a looser bound wastes what the big blocks hold.
    auto it = free_.lower_bound(cap);
    if (it != free_.end() && it->first <= 2 * cap) {
      const size_t fit = it->first;
      auto newest = std::prev(free_.upper_bound(fit));
      cap = fit;
      block = newest->second;
      free_.erase(newest);
    }
  }
  if (!block) {
    block = static_cast<std::byte*>(std::aligned_alloc(64, cap));
    if (!block) throw std::bad_alloc();
    std::lock_guard<std::mutex> lock(mu_);
    reserved_ += cap;
    peak_ = std::max(peak_, reserved_);
  }
  if (zero) {
    std::memset(block, 0, bytes);
  } else {
#ifdef ORTOOL_POISON_BUFFERS
    std::memset(block, 0xFF, bytes);
#endif
  }
  try {
    return std::make_shared<PooledBuffer>(shared_from_this(), block, bytes, cap);
  } catch (...) {
    give_back(block, cap);
    throw;
  }
}

void BufferPool::give_back(std::byte* block, size_t capacity) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    free_.emplace(capacity, block);
  } catch (...) {  // no memory for the map node: let the block go instead
    std::free(block);
    reserved_ -= capacity;
  }
}

size_t BufferPool::reserved_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reserved_;
}

size_t BufferPool::peak_reserved_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}

void BufferPool::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  peak_ = reserved_;
}

void BufferPool::trim() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [cap, block] : free_) {
    std::free(block);
    reserved_ -= cap;
  }
  free_.clear();
}

}  // namespace ortool::rt
