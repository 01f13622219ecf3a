// Registration of the cpu provider's tensor kernel family (kernels live in files beside this one).
#include "runtime/cpu/families.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

void register_tensor_kernels(KernelRegistry& r) {
  register_shape_ops(r);
  register_expand_ops(r);
  register_transpose_ops(r);
  register_concat_ops(r);
  register_slice_ops(r);
  register_gather_ops(r);
  register_scatter_ops(r);
  register_pad_ops(r);
  register_generator_ops(r);
  register_signal_generator_ops(r);
  register_index_ops(r);
  register_unique_ops(r);
}

}  // namespace ortool::rt::cpu
