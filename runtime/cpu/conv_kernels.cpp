// Registration of the cpu provider's conv kernel family (kernels live in files beside this one).
#include "runtime/cpu/conv.h"
#include "runtime/cpu/families.h"

namespace ortool::rt::cpu {

void register_conv_kernels(KernelRegistry& r) {
  using namespace conv_family;
  register_conv(r);
  register_conv_transpose(r);
  register_conv_integer(r);
  register_pool(r);
  register_pool_global(r);
  register_pool_unpool(r);
  register_roi_align(r);
  register_roi_max_pool(r);
  register_resize(r);
  register_space_depth(r);
  register_grid_sample(r);
  register_col2im(r);
  register_affine_grid(r);
  register_deform_conv(r);
}

}  // namespace ortool::rt::cpu
