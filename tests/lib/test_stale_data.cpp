// Tests of lib/stale_data: the data files a replaced model referred to, removed only when unused.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "lib/model_io.h"
#include "lib/stale_data.h"

namespace fs = std::filesystem;
using namespace ortool;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("ortool_stale_test_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("external_data_of lists a model's data files, nothing for inline or missing models") {
  TempDir tmp;
  auto m = load_model(fs::path(ORTOOL_SOURCE_DIR) / "testdata" / "small_convnet.onnx");
  REQUIRE(m.is_ok());
  SaveOptions ext;
  ext.external_data = true;
  ext.threshold = 512;
  REQUIRE(save_model(**m, tmp.path / "a.onnx", ext).is_ok());
  REQUIRE(save_model(**m, tmp.path / "b.onnx").is_ok());
  auto files = external_data_of(tmp.path / "a.onnx");
  REQUIRE(files.size() == 1);
  CHECK(files[0].filename() == "a.onnx.data");
  CHECK(external_data_of(tmp.path / "b.onnx").empty());
  CHECK(external_data_of(tmp.path / "missing.onnx").empty());
  std::ofstream(tmp.path / "broken.onnx") << "not a model";
  CHECK(external_data_of(tmp.path / "broken.onnx").empty());
}

TEST_CASE("remove_stale_data removes only what nothing keeps") {
  TempDir tmp;
  for (const char* n : {"old.data", "kept.data", "same.data"}) std::ofstream(tmp.path / n) << "x";
  // "same.data" is kept under another spelling of the same file.
  StaleRemoval r = remove_stale_data({tmp.path / "old.data", tmp.path / "kept.data", tmp.path / "same.data"},
                                     {tmp.path / "kept.data", tmp.path / "." / "same.data"});
  REQUIRE(r.removed.size() == 1);
  CHECK(r.removed[0].filename() == "old.data");
  CHECK(r.errors.empty());
  CHECK_FALSE(fs::exists(tmp.path / "old.data"));
  CHECK(fs::exists(tmp.path / "kept.data"));
  CHECK(fs::exists(tmp.path / "same.data"));
}
