// File helpers for untrusted paths: regular-file checks, bounded reads, memory maps, atomic writes.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lib/status.h"

namespace ortool {

// "a directory", "a FIFO", "a character device", ... for messages about non-regular files.
std::string_view file_kind_name(mode_t mode);

// An open file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// An opened regular file and its fstat result.
struct OpenedFile {
  UniqueFd fd;
  struct stat st {};
};

// Opens `path` read-only without blocking on FIFOs and refuses anything but a regular file
// ("<path>: not a regular file (a FIFO)"). With `no_follow`, a symlink as the last component is refused.
Result<OpenedFile> open_regular_file(const std::filesystem::path& path, bool no_follow = false);

// A private memory map of a whole file (the file is never written); empty files map to no memory.
class MappedFile {
 public:
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  // Maps an already opened regular file of `size` bytes.
  static Result<std::shared_ptr<MappedFile>> map(int fd, size_t size, const std::filesystem::path& path_for_messages);
  // Opens and maps `path` (regular files only), refusing files over `max_bytes`.
  static Result<std::shared_ptr<MappedFile>> open(const std::filesystem::path& path, uint64_t max_bytes = UINT64_MAX);

  const std::byte* data() const { return data_; }
  // Writable copy-on-write pages: writes never reach the file.
  std::byte* mutable_data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  MappedFile() = default;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

// Reads a whole regular file, refusing directories, FIFOs, devices and files over `max_bytes`.
Result<std::string> read_file(const std::filesystem::path& path, uint64_t max_bytes = UINT64_MAX);

// Sequential writer handed to write_file_atomic's callback; errors name the final path.
class FileWriter {
 public:
  FileWriter(int fd, std::filesystem::path target) : fd_(fd), target_(std::move(target)) {}
  Status write(const void* data, size_t n);
  Status write(std::string_view s) { return write(s.data(), s.size()); }
  Status write_zeros(size_t n);
  uint64_t bytes_written() const { return written_; }
  const std::filesystem::path& target() const { return target_; }

 private:
  int fd_;
  std::filesystem::path target_;
  uint64_t written_ = 0;
};

// A new file beside `target` that replaces it only on commit(); dropped otherwise. Where the file system
// allows (O_TMPFILE: ext4, xfs, btrfs, tmpfs) the file has no name until it is published, so a process
// killed mid-write leaves nothing behind; elsewhere it is a dot-file that the next write to the same
// target removes once its writer is gone.
// Use write_file_atomic for one file; to replace several files together, sync() each, then publish() each:
// the files are then out of step only between two rename calls.
class AtomicFile {
 public:
  ~AtomicFile();
  AtomicFile(AtomicFile&&) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  AtomicFile& operator=(AtomicFile&&) = delete;
  static Result<AtomicFile> create(const std::filesystem::path& target);
  FileWriter& writer() { return writer_; }
  // fsync: the new contents are on disk; the target is still untouched.
  Status sync();
  // Gives the synced file a name and renames it over the target. On failure the target is untouched.
  Status publish();
  Status commit();  // sync() then publish()

 private:
  AtomicFile(UniqueFd fd, std::filesystem::path target, std::filesystem::path temp);
  void discard();
  UniqueFd fd_;
  std::filesystem::path target_;
  std::filesystem::path temp_;  // empty while the file is unnamed (O_TMPFILE)
  FileWriter writer_;
  bool synced_ = false;
  bool committed_ = false;
};

// Writes `path` atomically: temporary file in the same folder, write, fsync, rename. On any
// failure (missing or read-only folder, disk full, writer error) the old file stays as it was.
Status write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
Status write_file_atomic(const std::filesystem::path& path, const std::function<Status(FileWriter&)>& writer);

// Refuses writing `out` when it is the same file as `in` (same inode), unless `force`.
Status check_not_same_file(const std::filesystem::path& in, const std::filesystem::path& out, bool force);

}  // namespace ortool
