// Registration of the cpu provider's control kernel family (kernels live in files beside this one).
#include "runtime/cpu/control.h"
#include "runtime/cpu/families.h"

namespace ortool::rt::cpu {

void register_control_kernels(KernelRegistry& r) {
  register_if_ops(r);
  register_loop_ops(r);
  register_scan_ops(r);
  register_sequence_ops(r);
  register_sequence_split_ops(r);
  register_sequence_map_ops(r);
  register_optional_ops(r);
}

}  // namespace ortool::rt::cpu
