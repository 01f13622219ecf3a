// AtomicFile: nothing visible while a file is written, leftovers of killed writers removed, two files
// replaced together only after both are on disk.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include "lib/file_util.h"
#include "tests/lib/io_test_util.h"

using namespace ortool;
using ortool::testing::TempDir;

namespace {

std::set<std::string> names_in(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

bool supports_unnamed_files(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// A pid that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

}  // namespace

TEST_CASE("AtomicFile: while the new file is written, the folder shows only the old one (where O_TMPFILE works)") {
  TempDir dir;
  auto target = dir / "m.onnx";
  REQUIRE(write_file_atomic(target, std::string_view("old")).is_ok());
  const bool unnamed = supports_unnamed_files(dir.path());
  std::set<std::string> during;
  Status st = write_file_atomic(target, [&](FileWriter& w) -> Status {
    TRY(w.write(std::string_view("new contents")));
    during = names_in(dir.path());
    return Status::ok();
  });
  REQUIRE(st.is_ok());
  if (unnamed) {
    CHECK(during == std::set<std::string>{"m.onnx"});
  } else {
    CHECK(during.size() == 2);  // the old file and one dot-file
  }
  CHECK(names_in(dir.path()) == std::set<std::string>{"m.onnx"});
  CHECK(ortool::testing::read_bytes(target) == "new contents");
}

TEST_CASE("AtomicFile: temporary files of a dead writer are removed, those of a live one are kept") {
  TempDir dir;
  auto target = dir / "m.onnx";
  const std::string dead = ".m.onnx.tmp-" + std::to_string(dead_pid()) + "-0-1f";
  const std::string live = ".m.onnx.tmp-" + std::to_string(::getpid()) + "-999-2f";
  const std::string other = ".other.onnx.tmp-" + std::to_string(dead_pid()) + "-0-3f";
  for (const auto& n : {dead, live, other}) ortool::testing::write_bytes(dir / n, "partial");
  REQUIRE(write_file_atomic(target, std::string_view("new")).is_ok());
  CHECK(names_in(dir.path()) == std::set<std::string>{"m.onnx", live, other});
}

namespace {

// A new file for `target` with `text` written, not yet synced or published.
AtomicFile written(const std::filesystem::path& target, std::string_view text) {
  auto f = AtomicFile::create(target);
  REQUIRE(f.is_ok());
  REQUIRE(f->writer().write(text).is_ok());
  return std::move(f).value();
}

}  // namespace

TEST_CASE("AtomicFile: sync then publish replaces two files; a failed second file leaves both old ones") {
  TempDir dir;
  auto model = dir / "m.onnx", data = dir / "m.onnx.data";
  REQUIRE(write_file_atomic(model, std::string_view("old model")).is_ok());
  REQUIRE(write_file_atomic(data, std::string_view("old data")).is_ok());
  {
    AtomicFile d = written(data, "new data");
    AtomicFile m = written(model, "new model");
    REQUIRE(d.sync().is_ok());
    // The model file fails before it is synced: neither file is replaced.
  }
  CHECK(ortool::testing::read_bytes(model) == "old model");
  CHECK(ortool::testing::read_bytes(data) == "old data");
  CHECK(names_in(dir.path()) == std::set<std::string>{"m.onnx", "m.onnx.data"});

  AtomicFile d = written(data, "new data");
  CHECK(d.publish().code() == StatusCode::kInternal);  // not synced yet: refused, nothing replaced
  CHECK(ortool::testing::read_bytes(data) == "old data");
}

TEST_CASE("AtomicFile: sync and publish in order replace both files") {
  TempDir dir;
  auto model = dir / "m.onnx", data = dir / "m.onnx.data";
  REQUIRE(write_file_atomic(model, std::string_view("old model")).is_ok());
  AtomicFile d = written(data, "new data");
  AtomicFile m = written(model, "new model");
  REQUIRE(d.sync().is_ok());
  REQUIRE(m.sync().is_ok());
  REQUIRE(d.publish().is_ok());
  REQUIRE(m.publish().is_ok());
  CHECK(ortool::testing::read_bytes(model) == "new model");
  CHECK(ortool::testing::read_bytes(data) == "new data");
  CHECK(names_in(dir.path()) == std::set<std::string>{"m.onnx", "m.onnx.data"});
}
