// Factories of every pass, one per file in passes/; the registry in pass_manager.cpp lists them.
#pragma once

#include <memory>

#include "passes/pass.h"

namespace ortool::passes {

std::unique_ptr<Pass> make_constant_folding();
std::unique_ptr<Pass> make_constant_to_initializer();
std::unique_ptr<Pass> make_eliminate_common_subexpressions();
std::unique_ptr<Pass> make_eliminate_dead_code();
std::unique_ptr<Pass> make_eliminate_identity();
std::unique_ptr<Pass> make_eliminate_neutral_elements();
std::unique_ptr<Pass> make_eliminate_noop();
std::unique_ptr<Pass> make_fold_shape_computation();
std::unique_ptr<Pass> make_fuse_conv_add();
std::unique_ptr<Pass> make_fuse_conv_bn();
std::unique_ptr<Pass> make_fuse_conv_mul();
std::unique_ptr<Pass> make_fuse_gemm_bn();
std::unique_ptr<Pass> make_fuse_layer_norm();
std::unique_ptr<Pass> make_fuse_matmul_add();
std::unique_ptr<Pass> make_fuse_pad_into_conv();
std::unique_ptr<Pass> make_trim_conv_taps();
std::unique_ptr<Pass> make_split_dilated_conv();
std::unique_ptr<Pass> make_fuse_relu_clip();
std::unique_ptr<Pass> make_fuse_transpose_into_gemm();
std::unique_ptr<Pass> make_fuse_transpose_pairs();
std::unique_ptr<Pass> make_push_transposes();
std::unique_ptr<Pass> make_shape_inference();
std::unique_ptr<Pass> make_share_duplicate_constants();
std::unique_ptr<Pass> make_unique_weight_dequantize();
std::unique_ptr<Pass> make_drop_qdq_around_moves();

}  // namespace ortool::passes
