// Registration of the cpu provider's misc kernel family (kernels live in files beside this one).
#include "runtime/cpu/families.h"
#include "runtime/cpu/misc.h"

namespace ortool::rt::cpu {

void register_misc_kernels(KernelRegistry& r) {
  register_nms_ops(r);
  register_loss_ops(r);
  register_spectral_ops(r);
  register_random_ops(r);
  register_string_ops(r);
  register_string_ops_20(r);
  register_tfidf_ops(r);
  register_training_ops(r);
}

}  // namespace ortool::rt::cpu
