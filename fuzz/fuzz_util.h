// Helpers shared by the fuzz targets: a private temporary folder, and several files packed into one input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ortool::fuzz {

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A folder of this process's own under $TMPDIR (else /dev/shm, else /tmp), made on first use and removed at exit;
// `tag` names it, so a leftover shows which target made it.
const std::filesystem::path& temp_dir(std::string_view tag);

// One input holding several files, for the readers of folders:
//
//   <preamble>\n@@ name1\n<bytes of name1>\n@@ sub/name2\n<bytes of name2>...
//
// A marker is "@@ " at the start of the input or after a newline; the name runs to the end of its
// line. Names are relative paths of [A-Za-z0-9._-] components (no "." or "..", at most 3 deep and 64
// characters); files with other names are dropped, so nothing is ever written outside the folder.
struct PackedFile {
  std::string name;
  std::string_view bytes;
};
struct Packed {
  std::string_view preamble;  // the bytes before the first marker (targets read options from it)
  std::vector<PackedFile> files;
};
Packed unpack(std::string_view input, size_t max_files = 16);

// Writes the files under `dir` (creating subfolders); a file that cannot be written is skipped
// (a name used both as a file and as a folder).
void write_packed(const std::filesystem::path& dir, const std::vector<PackedFile>& files);

// Writes `bytes` to `path`, replacing it; never through a symlink, a FIFO or a device (skipped).
void write_bytes(const std::filesystem::path& path, std::string_view bytes);

// A folder whose files change with every input. Emptying it by listing it (clear_dir) cost the folder
// targets more than the readers they test (under ASan each listing allocates and clears a 32 KiB
// buffer, and libFuzzer runs thousands of inputs a second); this removes the previous input's top-level
// entries by name instead. The readers under test never write, so nothing else appears in it.
class ScratchDir {
 public:
  explicit ScratchDir(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& path() const { return dir_; }
  // Removes what the last write() made (files and folders).
  void clear();
  // Writes `files` as write_packed does, remembering their top-level names for clear().
  void write(const std::vector<PackedFile>& files);
  // The top-level folders the last write() made.
  std::vector<std::filesystem::path> subfolders() const;

 private:
  std::filesystem::path dir_;
  std::vector<std::string> written_;  // top-level names
};

// The first component of a packed file's name ("sub" for "sub/name").
std::string_view top_component(std::string_view name);

}  // namespace ortool::fuzz
