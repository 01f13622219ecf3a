// External tensor data: parsing the keys, keeping paths inside the model folder, mmap, write layout.
#include "lib/external_data.h"

#include <sys/stat.h>

#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "lib/int4.h"

namespace ortool {

namespace fs = std::filesystem;

namespace {

Result<int64_t> parse_non_negative(std::string_view key, const std::string& text, std::string_view tensor) {
  if (text.empty()) return invalid("tensor '{}': external data '{}' is empty", tensor, key);
  if (text[0] == '-') return invalid("tensor '{}': external data '{}' is negative ({})", tensor, key, text);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range)
    return invalid("tensor '{}': external data '{}' is too large ({})", tensor, key, text);
  if (ec != std::errc() || end != text.data() + text.size())
    return invalid("tensor '{}': external data '{}' is not a number ('{}')", tensor, key, text);
  return v;
}

// realpath(3) as a Result; "" components are fine, the path must exist.
Result<fs::path> real_path(const fs::path& p) {
  char* r = ::realpath(p.c_str(), nullptr);
  if (!r) return io_error("{}: {}", p.string(), errno == ENOENT ? "no such file or directory" : std::strerror(errno));
  fs::path out(r);
  std::free(r);
  return out;
}

bool is_strictly_inside(const fs::path& dir, const fs::path& p) {
  std::string d = dir.string();
  std::string s = p.string();
  if (d.empty() || d.back() != '/') d += '/';
  return s.size() > d.size() && s.compare(0, d.size(), d) == 0;
}

}  // namespace

Result<ExternalDataRef> parse_external_data(const std::vector<std::pair<std::string, std::string>>& entries,
                                            std::string_view tensor) {
  ExternalDataRef ref;
  bool seen_location = false, seen_offset = false, seen_length = false, seen_checksum = false;
  auto once = [&](bool& seen, std::string_view key) -> Status {
    if (seen) return invalid("tensor '{}': external data key '{}' given twice", tensor, key);
    seen = true;
    return Status::ok();
  };
  for (const auto& [key, value] : entries) {
    if (key == "location") {
      TRY(once(seen_location, key));
      ref.location = value;
    } else if (key == "offset") {
      TRY(once(seen_offset, key));
      ASSIGN_OR_RETURN(ref.offset, parse_non_negative(key, value, tensor));
    } else if (key == "length") {
      TRY(once(seen_length, key));
      ASSIGN_OR_RETURN(ref.length, parse_non_negative(key, value, tensor));
    } else if (key == "checksum") {
      TRY(once(seen_checksum, key));
      ref.checksum = value;
    } else {
      return invalid("tensor '{}': unknown external data key '{}'", tensor, key);
    }
  }
  if (!seen_location) return invalid("tensor '{}': external data has no 'location'", tensor);
  TRY(check_external_location(ref.location).with_context(fmt::format("tensor '{}'", tensor)));
  return ref;
}

Status check_external_location(std::string_view loc) {
  if (loc.empty()) return invalid("external data location is empty");
  if (loc.find('\0') != std::string_view::npos) return invalid("external data location contains a NUL byte");
  if (loc.front() == '/' || loc.front() == '\\')
    return invalid("external data location '{}' is an absolute path", loc);
  // Backslashes count as separators here too, so a Windows-style "..\x" is refused as well.
  bool only_dots = true;
  size_t start = 0;
  while (start <= loc.size()) {
    size_t end = loc.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = loc.size();
    std::string_view part = loc.substr(start, end - start);
    if (part == "..") return invalid("external data location '{}' contains '..'", loc);
    if (!part.empty() && part != ".") only_dots = false;
    start = end + 1;
  }
  if (only_dots) return invalid("external data location '{}' names the model folder itself", loc);
  return Status::ok();
}

ExternalDataContext::ExternalDataContext(fs::path model_dir) : model_dir_(std::move(model_dir)) {
  if (model_dir_.empty()) model_dir_ = ".";
}

std::vector<fs::path> ExternalDataContext::files() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<fs::path> out;
  for (const auto& [k, v] : cache_) out.emplace_back(k);
  return out;
}

Result<std::shared_ptr<MappedFile>> ExternalDataContext::open_data_file(const ExternalDataRef& ref,
                                                                        std::string_view tensor) const {
  TRY(check_external_location(ref.location).with_context(fmt::format("tensor '{}'", tensor)));
  std::lock_guard<std::mutex> lock(mu_);
  if (canonical_dir_.empty()) {
    auto dir = real_path(model_dir_);
    if (!dir) return dir.status().with_context(fmt::format("tensor '{}': model folder", tensor));
    canonical_dir_ = *dir;
  }
  const fs::path& dir = canonical_dir_;
  fs::path full = model_dir_ / ref.location;
  auto real = real_path(full);
  if (!real)
    return Status(StatusCode::kNotFound, fmt::format("tensor '{}': external data file '{}' not found ({})", tensor,
                                                     ref.location, full.string()));
  // realpath resolved every symlink, file or folder: the result must still be inside the model folder.
  if (!is_strictly_inside(dir, *real))
    return invalid("tensor '{}': external data location '{}' resolves to '{}', outside the model folder '{}'", tensor,
                   ref.location, real->string(), dir.string());
  std::string key = real->string();
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  // The canonical path has no symlinks left; O_NOFOLLOW keeps a swapped-in last-component symlink out.
  auto opened = open_regular_file(*real, /*no_follow=*/true);
  if (!opened)
    return opened.status().with_context(fmt::format("tensor '{}': external data location '{}'", tensor, ref.location));
  if (opened->st.st_nlink > 1)
    return invalid("tensor '{}': external data file '{}' is a hard link ({} links); refusing it since it may be "
                   "a file from outside the model folder",
                   tensor, ref.location, static_cast<uint64_t>(opened->st.st_nlink));
  auto mapped = MappedFile::map(opened->fd.get(), static_cast<size_t>(opened->st.st_size), *real);
  if (!mapped) return mapped.status().with_context(fmt::format("tensor '{}'", tensor));
  cache_[key] = *mapped;
  return *mapped;
}

Result<std::shared_ptr<Buffer>> ExternalDataContext::load(const ExternalDataRef& ref, std::string_view tensor,
                                                          size_t nbytes, size_t elem_size) const {
  ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, open_data_file(ref, tensor));
  auto size = static_cast<uint64_t>(file->size());
  auto offset = static_cast<uint64_t>(ref.offset);
  if (offset > size)
    return invalid("tensor '{}': external data offset {} is past the end of '{}' ({} bytes)", tensor, offset,
                   ref.location, size);
  if (ref.length >= 0 && static_cast<uint64_t>(ref.length) != nbytes)
    return invalid("tensor '{}': external data length {} does not match the tensor's size of {} bytes", tensor,
                   ref.length, nbytes);
  if (nbytes > size - offset)
    return invalid("tensor '{}': external data [{}, {}+{}) goes past the end of '{}' ({} bytes)", tensor, offset, offset,
                   nbytes, ref.location, size);
  if (nbytes == 0) return Buffer::allocate(0);
  std::byte* p = file->mutable_data() + offset;
  // A view only when elements are naturally aligned; an odd offset gets a private aligned copy.
  size_t align = std::min<size_t>(elem_size == 0 ? 1 : elem_size, 16);
  if (reinterpret_cast<uintptr_t>(p) % align == 0) return Buffer::view(file, p, nbytes);
  auto copy = Buffer::allocate(nbytes);
  std::memcpy(copy->data(), p, nbytes);
  return copy;
}

size_t ExternalDataLayout::add(const Tensor* t) {
  uint64_t len = dtype_wire_bytes(t->dtype(), static_cast<size_t>(t->numel()));
  uint64_t align = len >= 65536 ? 4096 : 64;
  uint64_t off = (total_bytes + align - 1) / align * align;
  entries.push_back({t, off, len});
  total_bytes = off + len;
  return entries.size() - 1;
}

Status ExternalDataLayout::write(FileWriter& w) const {
  uint64_t pos = 0;
  for (const Entry& e : entries) {
    TRY(w.write_zeros(static_cast<size_t>(e.offset - pos)));
    if (dtype_is_4bit(e.tensor->dtype())) {
      std::vector<uint8_t> packed(static_cast<size_t>(e.length));
      pack_4bit(e.tensor->data<uint8_t>(), static_cast<size_t>(e.tensor->numel()), packed.data());
      TRY(w.write(packed.data(), packed.size()));
    } else {
      TRY(w.write(e.tensor->raw(), static_cast<size_t>(e.length)));
    }
    pos = e.offset + e.length;
  }
  return Status::ok();
}

}  // namespace ortool
