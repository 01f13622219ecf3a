// Fuzz target: external tensor data (lib/external_data.h) as a model and a .pb file resolve it. The input
// packs the model bytes (preamble) and the data files of its folder (fuzz_util.h); beside them always sit
// traps: a symlink and a hard link to a file outside the folder, a symlink to a folder outside, a
// symlink loop and a FIFO. Paths must never resolve outside the folder; sizes and offsets never past a file.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_util.h"
#include "lib/external_data.h"
#include "lib/onnx_import.h"
#include "lib/tensor_proto.h"

using namespace ortool;

namespace {

namespace fs = std::filesystem;

// The traps' names in the model folder.
const char* const kTraps[] = {"link_out.bin", "link_dir", "loop_a", "loop_b", "hard.bin", "fifo.bin"};

void add_traps(const fs::path& dir) {
  std::error_code ec;
  fs::create_symlink("../outside/secret.bin", dir / "link_out.bin", ec);
  fs::create_directory_symlink("../outside", dir / "link_dir", ec);
  fs::create_symlink("loop_b", dir / "loop_a", ec);
  fs::create_symlink("loop_a", dir / "loop_b", ec);
  fs::create_hard_link(dir.parent_path() / "outside" / "secret.bin", dir / "hard.bin", ec);
  ::mkfifo((dir / "fifo.bin").c_str(), 0600);
}

// <tmp>/outside/secret.bin and <tmp>/model/, whose traps stay from one input to the next (making them
// again per input cost more than the reader under test); the packed files change per input.
struct Folder {
  fuzz::ScratchDir model;
  std::string canonical;  // the model folder's real path and a slash
  bool traps_missing = true;
};

Folder& setup() {
  static Folder* f = [] {
    const fs::path& root = fuzz::temp_dir("external-data");
    fs::create_directories(root / "outside");
    fuzz::write_bytes(root / "outside" / "secret.bin", std::string(4096, 'S'));
    fs::create_directories(root / "model");
    auto* folder = new Folder{fuzz::ScratchDir(root / "model"), fs::canonical(root / "model").string() + "/"};
    return folder;
  }();
  return *f;
}

// Puts this input's files in the folder, beside every trap whose name no file takes. A file named as a
// trap (or under it: "link_dir/x") replaces it: the trap is removed first, so nothing is ever written
// through a symlink or into the hard-linked secret, and made again for the next input.
void lay_out(Folder& f, const std::vector<fuzz::PackedFile>& files) {
  const fs::path& dir = f.model.path();
  f.model.clear();
  if (f.traps_missing) add_traps(dir);
  f.traps_missing = false;
  std::error_code ec;
  for (const fuzz::PackedFile& file : files)
    for (const char* trap : kTraps)
      if (fuzz::top_component(file.name) == trap) {
        fs::remove(dir / trap, ec);
        f.traps_missing = true;
      }
  f.model.write(files);
}

// Whatever resolved must have come from inside the folder: the secret's bytes are all 'S'.
void check_not_secret(const std::vector<fs::path>& files, const std::string& prefix) {
  for (const fs::path& f : files) {
    if (f.string().compare(0, prefix.size(), prefix) != 0) {
      std::fprintf(stderr, "external data read from '%s', outside '%s'\n", f.c_str(), prefix.c_str());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Folder& folder = setup();
  const fs::path& dir = folder.model.path();
  fuzz::Packed packed = fuzz::unpack(fuzz::as_view(data, size));
  lay_out(folder, packed.files);

  ExternalDataContext ctx(dir);
  ImportOptions o;
  o.source_name = (dir / "model.onnx").string();
  o.external_data = &ctx;
  (void)import_model_proto(packed.preamble, o);
  check_not_secret(ctx.files(), folder.canonical);
  // A .pb tensor file with external data resolves against its own folder the same way.
  ExternalDataContext pb_ctx(dir);
  (void)tensor_from_proto_bytes(packed.preamble, &pb_ctx);
  check_not_secret(pb_ctx.files(), folder.canonical);
  return 0;
}
