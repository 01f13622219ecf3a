// Fuzz target: .npy bytes -> tensor (lib/npy.h), header alone and whole file; a tensor read must
// encode and read back to the same type and dims.
#include <cstdio>
#include <cstdlib>
#include <span>

#include "fuzz/fuzz_util.h"
#include "lib/npy.h"

using namespace ortool;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  // As rt::open_samples reads a batch file: the header, from a file that may be longer than the bytes.
  (void)parse_npy_header(bytes, size, "fuzz.npy");
  (void)parse_npy_header(bytes, uint64_t{size} + 4096, "fuzz.npy");
  auto t = parse_npy(bytes, "fuzz.npy");
  if (!t.is_ok()) return 0;
  auto encoded = encode_npy(*t);
  if (!encoded.is_ok()) return 0;
  auto back = parse_npy(std::span<const std::byte>(reinterpret_cast<const std::byte*>(encoded->data()), encoded->size()),
                        "encoded.npy");
  if (!back.is_ok() || back->dtype() != t->dtype() || back->dims() != t->dims()) {
    std::fprintf(stderr, "encode_npy output does not read back: %s\n",
                 back.is_ok() ? "type or dims differ" : back.status().message().c_str());
    std::abort();
  }
  return 0;
}
