// Helpers shared by the fuzz targets (see fuzz_util.h).
#include "fuzz/fuzz_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <system_error>

namespace ortool::fuzz {

namespace fs = std::filesystem;

namespace {

// Removes the temporary folders when the process exits normally (libFuzzer's -runs/-max_total_time end).
struct TempDirs {
  std::map<std::string, fs::path, std::less<>> dirs;
  ~TempDirs() {
    std::error_code ec;
    for (const auto& [tag, dir] : dirs) fs::remove_all(dir, ec);
  }
};

TempDirs& temp_dirs() {
  static TempDirs d;
  return d;
}

bool valid_component(std::string_view c) {
  if (c.empty() || c == "." || c == "..") return false;
  for (char ch : c)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-')) return false;
  return true;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  int depth = 0;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    if (!valid_component(name.substr(start, end - start)) || ++depth > 3) return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

const fs::path& temp_dir(std::string_view tag) {
  TempDirs& d = temp_dirs();
  auto it = d.dirs.find(tag);
  if (it != d.dirs.end()) return it->second;
  // Inputs write and delete files thousands of times a second: memory (/dev/shm) is much faster than a disk.
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp && *tmp ? tmp : (::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  std::string pattern = base + "/ortool-fuzz-" + std::string(tag) + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) {
    std::perror("mkdtemp");
    std::abort();
  }
  return d.dirs.emplace(std::string(tag), fs::path(buf.data())).first->second;
}

Packed unpack(std::string_view in, size_t max_files) {
  Packed p;
  // Positions of markers: offset of the "@@ " itself.
  std::vector<size_t> marks;
  if (in.substr(0, 3) == "@@ ") marks.push_back(0);
  for (size_t pos = in.find("\n@@ "); pos != std::string_view::npos; pos = in.find("\n@@ ", pos + 1))
    marks.push_back(pos + 1);
  p.preamble = in.substr(0, marks.empty() ? in.size() : (marks[0] == 0 ? 0 : marks[0] - 1));
  for (size_t k = 0; k < marks.size() && p.files.size() < max_files; ++k) {
    size_t name_begin = marks[k] + 3;
    size_t name_end = in.find('\n', name_begin);
    if (name_end == std::string_view::npos) name_end = in.size();
    size_t body_begin = std::min(name_end + 1, in.size());
    size_t body_end = k + 1 < marks.size() ? marks[k + 1] - 1 : in.size();
    if (body_end < body_begin) body_end = body_begin;
    std::string_view name = in.substr(name_begin, name_end - name_begin);
    if (!valid_name(name)) continue;
    p.files.push_back({std::string(name), in.substr(body_begin, body_end - body_begin)});
  }
  return p;
}

void write_bytes(const fs::path& path, std::string_view bytes) {
  // POSIX calls rather than an ofstream (whose buffers cost more than the write): O_NOFOLLOW keeps a
  // last-component symlink out, O_NONBLOCK makes a FIFO fail rather than wait for a reader.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  ::close(fd);
}

std::string_view top_component(std::string_view name) { return name.substr(0, name.find('/')); }

void ScratchDir::clear() {
  std::error_code ec;
  for (const std::string& name : written_) fs::remove_all(dir_ / name, ec);
  written_.clear();
}

void ScratchDir::write(const std::vector<PackedFile>& files) {
  write_packed(dir_, files);
  for (const PackedFile& f : files) {
    const std::string top(top_component(f.name));
    if (std::find(written_.begin(), written_.end(), top) == written_.end()) written_.push_back(top);
  }
}

std::vector<fs::path> ScratchDir::subfolders() const {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const std::string& name : written_)
    if (fs::is_directory(fs::symlink_status(dir_ / name, ec))) out.push_back(dir_ / name);
  return out;
}

void write_packed(const fs::path& dir, const std::vector<PackedFile>& files) {
  for (const PackedFile& f : files) {
    fs::path p = dir / f.name;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec || fs::is_directory(p, ec)) continue;
    write_bytes(p, f.bytes);
  }
}

}  // namespace ortool::fuzz
