// File helpers: regular-file checks, bounded reads, memory maps and atomic (temp + rename) writes.
#include "lib/file_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <random>

namespace ortool {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) {
  switch (err) {
    case ENOENT: return "no such file or directory";
    case ENOSPC: return "disk full (no space left on device)";
    case EDQUOT: return "disk quota exceeded";
    case EACCES: return "permission denied";
    case EROFS: return "read-only file system";
    default: return std::strerror(err);
  }
}

Status errno_status(const fs::path& path, std::string_view what, int err) {
  return io_error("{}: {}: {}", path.string(), what, errno_text(err));
}

}  // namespace

std::string_view file_kind_name(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Result<OpenedFile> open_regular_file(const fs::path& path, bool no_follow) {
  // stat first so a FIFO or device is refused before open() could block or have side effects.
  struct stat st {};
  int rc = no_follow ? ::lstat(path.c_str(), &st) : ::stat(path.c_str(), &st);
  if (rc != 0) {
    if (errno == ENOENT) return Status(StatusCode::kNotFound, fmt::format("{}: no such file", path.string()));
    return errno_status(path, "cannot open", errno);
  }
  if (!S_ISREG(st.st_mode))
    return invalid("{}: not a regular file ({})", path.string(), file_kind_name(st.st_mode));
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (no_follow ? O_NOFOLLOW : 0);
  OpenedFile f;
  f.fd = UniqueFd(::open(path.c_str(), flags));
  if (!f.fd.valid()) {
    if (errno == ELOOP) return invalid("{}: is a symbolic link", path.string());
    return errno_status(path, "cannot open", errno);
  }
  // fstat again on the descriptor: the path may have been swapped between stat and open.
  if (::fstat(f.fd.get(), &f.st) != 0) return errno_status(path, "cannot stat", errno);
  if (!S_ISREG(f.st.st_mode))
    return invalid("{}: not a regular file ({})", path.string(), file_kind_name(f.st.st_mode));
  return f;
}

MappedFile::~MappedFile() {
  if (data_ && size_) ::munmap(data_, size_);
}

Result<std::shared_ptr<MappedFile>> MappedFile::map(int fd, size_t size, const fs::path& path) {
  std::shared_ptr<MappedFile> m(new MappedFile());
  if (size == 0) return m;
  // Private and writable (copy-on-write): a tensor someone writes to by mistake changes only its own
  // pages, never the file, and does not crash on a read-only page.
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return errno_status(path, "cannot map file", errno);
  m->data_ = static_cast<std::byte*>(p);
  m->size_ = size;
  return m;
}

Result<std::shared_ptr<MappedFile>> MappedFile::open(const fs::path& path, uint64_t max_bytes) {
  ASSIGN_OR_RETURN(OpenedFile f, open_regular_file(path));
  auto size = static_cast<uint64_t>(f.st.st_size);
  if (size > max_bytes) return resource_limit("{}: file of {} bytes exceeds the {}-byte limit", path.string(), size, max_bytes);
  return map(f.fd.get(), static_cast<size_t>(size), path);
}

Result<std::string> read_file(const fs::path& path, uint64_t max_bytes) {
  ASSIGN_OR_RETURN(OpenedFile f, open_regular_file(path));
  auto size = static_cast<uint64_t>(f.st.st_size);
  if (size > max_bytes) return resource_limit("{}: file of {} bytes exceeds the {}-byte limit", path.string(), size, max_bytes);
  std::string out;
  out.resize(static_cast<size_t>(size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(f.fd.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(path, "read failed", errno);
    }
    if (n == 0) break;  // the file shrank while reading
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

Status FileWriter::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    // Writes of over 2 GiB are split: Linux caps one write() at about 2 GiB anyway.
    size_t chunk = std::min<size_t>(n, size_t{1} << 30);
    ssize_t w = ::write(fd_, p, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_status(target_, "write failed", errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
    written_ += static_cast<uint64_t>(w);
  }
  return Status::ok();
}

Status FileWriter::write_zeros(size_t n) {
  static const char kZeros[4096] = {};
  while (n > 0) {
    size_t chunk = std::min(n, sizeof(kZeros));
    TRY(write(kZeros, chunk));
    n -= chunk;
  }
  return Status::ok();
}

AtomicFile::AtomicFile(UniqueFd fd, fs::path target, fs::path temp)
    : fd_(std::move(fd)), target_(std::move(target)), temp_(std::move(temp)), writer_(fd_.get(), target_) {}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : fd_(std::move(o.fd_)),
      target_(std::move(o.target_)),
      temp_(std::move(o.temp_)),
      writer_(fd_.get(), target_),
      synced_(o.synced_),
      committed_(o.committed_) {
  o.committed_ = true;  // the moved-from object owns nothing to clean up
  o.temp_.clear();
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (committed_) return;
  fd_ = UniqueFd();  // an unnamed file vanishes with its last descriptor
  if (!temp_.empty()) ::unlink(temp_.c_str());
  committed_ = true;
}

namespace {

// ".<target>.tmp-<pid>-<counter>-<random>": the pid lets a later write tell a dead writer's leftovers.
std::string temp_name(const fs::path& target) {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  return fmt::format(".{}.tmp-{}-{}-{:x}", target.filename().string(), ::getpid(), counter++, rd());
}

// Removes temporary files of `target` left by writers that no longer run (killed, or on a file system
// without O_TMPFILE). A file of a live process, or one we cannot parse, is left alone.
void remove_dead_writers_temps(const fs::path& dir, const fs::path& target) {
  const std::string prefix = "." + target.filename().string() + ".tmp-";
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return;
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const char* digits = name.c_str() + prefix.size();
    char* end = nullptr;
    errno = 0;
    const long pid = std::strtol(digits, &end, 10);
    if (errno != 0 || end == digits || *end != '-' || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    ::unlink(it->path().c_str());
  }
}

// O_TMPFILE needs a way to name the file later: linkat through /proc/self/fd (or AT_EMPTY_PATH as root).
bool can_link_unnamed() {
  static const bool ok = ::access("/proc/self/fd", X_OK) == 0 || ::geteuid() == 0;
  return ok;
}

}  // namespace

Result<AtomicFile> AtomicFile::create(const fs::path& target) {
  if (target.empty()) return invalid("empty output path");
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return io_error("{}: output folder '{}' does not exist", target.string(), dir.string());
    return errno_status(target, "cannot use the output folder", errno);
  }
  if (!S_ISDIR(st.st_mode)) return io_error("{}: '{}' is not a folder", target.string(), dir.string());
  struct stat tst {};
  if (::stat(target.c_str(), &tst) == 0) {
    if (S_ISDIR(tst.st_mode)) return io_error("{}: is a directory", target.string());
    if (!S_ISREG(tst.st_mode))
      return io_error("{}: refusing to replace {}", target.string(), file_kind_name(tst.st_mode));
  }
  remove_dead_writers_temps(dir, target);
  auto open_failed = [&](int err) -> Status {
    if (err == EACCES || err == EROFS)
      return io_error("{}: cannot write into folder '{}': {}", target.string(), dir.string(), errno_text(err));
    return errno_status(target, "cannot create a temporary file", err);
  };
  // 0666 & ~umask, like any new file; an existing target's mode is copied.
  if (can_link_unnamed()) {
    int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0) {
      if (S_ISREG(tst.st_mode)) (void)::fchmod(fd, tst.st_mode & 07777);
      return AtomicFile(UniqueFd(fd), target, fs::path());
    }
    // Not supported by this file system (or kernel): fall back to a named temporary file.
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT) return open_failed(errno);
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path temp = dir / temp_name(target);
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return open_failed(errno);
    }
    if (S_ISREG(tst.st_mode)) (void)::fchmod(fd, tst.st_mode & 07777);
    return AtomicFile(UniqueFd(fd), target, temp);
  }
  return io_error("{}: cannot create a unique temporary file", target.string());
}

Status AtomicFile::sync() {
  if (committed_) return internal_error("{}: atomic file used after commit", target_.string());
  if (::fsync(fd_.get()) != 0) {
    Status st = errno_status(target_, "fsync failed", errno);
    discard();
    return st;
  }
  synced_ = true;
  return Status::ok();
}

Status AtomicFile::publish() {
  if (committed_) return internal_error("{}: atomic file committed twice", target_.string());
  if (!synced_) return internal_error("{}: atomic file published before sync", target_.string());
  fs::path dir = target_.parent_path();
  if (dir.empty()) dir = ".";
  if (temp_.empty()) {
    // Name the unnamed file beside the target; the name lives only until the rename below.
    const std::string proc = fmt::format("/proc/self/fd/{}", fd_.get());
    for (int attempt = 0; attempt < 100 && temp_.empty(); ++attempt) {
      fs::path temp = dir / temp_name(target_);
      int rc = ::linkat(fd_.get(), "", AT_FDCWD, temp.c_str(), AT_EMPTY_PATH);
      if (rc != 0 && errno != EEXIST) rc = ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, temp.c_str(), AT_SYMLINK_FOLLOW);
      if (rc == 0) {
        temp_ = temp;
      } else if (errno != EEXIST) {
        Status st = errno_status(target_, "cannot name the new file", errno);
        discard();
        return st;
      }
    }
    if (temp_.empty()) {
      discard();
      return io_error("{}: cannot create a unique temporary file", target_.string());
    }
  }
  if (::close(fd_.release()) != 0) {
    Status st = errno_status(target_, "close failed", errno);
    discard();
    return st;
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    Status st = errno_status(target_, "cannot replace the file", errno);
    discard();
    return st;
  }
  committed_ = true;
  // Make the rename itself durable; failure here does not undo the write, so it is ignored.
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) (void)::fsync(dfd.get());
  return Status::ok();
}

Status AtomicFile::commit() {
  TRY(sync());
  return publish();
}

Status write_file_atomic(const fs::path& path, std::string_view bytes) {
  return write_file_atomic(path, [&](FileWriter& w) { return w.write(bytes); });
}

Status write_file_atomic(const fs::path& path, const std::function<Status(FileWriter&)>& writer) {
  ASSIGN_OR_RETURN(AtomicFile f, AtomicFile::create(path));
  TRY(writer(f.writer()));
  return f.commit();
}

Status check_not_same_file(const fs::path& in, const fs::path& out, bool force) {
  if (force) return Status::ok();
  std::error_code ec;
  if (!fs::exists(out, ec)) return Status::ok();
  if (fs::equivalent(in, out, ec) && !ec)
    return invalid("{}: refusing to overwrite the input file '{}' (use --force)", out.string(), in.string());
  return Status::ok();
}

}  // namespace ortool
