// Registration of the cpu provider's reduce kernel family (kernels live in files beside this one).
#include "runtime/cpu/families.h"
#include "runtime/cpu/reduce.h"

namespace ortool::rt::cpu {

namespace {
const std::vector<DType> kFloats = {DType::Float, DType::Double, DType::Float16, DType::BFloat16};

std::vector<DType> with(std::vector<DType> base, std::initializer_list<DType> more) {
  base.insert(base.end(), more);
  return base;
}
}  // namespace

void register_reduce_kernels(KernelRegistry& r) {
  const auto reduce_types = with(kFloats, {DType::Int32, DType::Int64, DType::UInt32, DType::UInt64, DType::Int8,
                                           DType::UInt8});
  const auto all_numeric = with(kFloats, {DType::Int8, DType::UInt8, DType::Int16, DType::UInt16, DType::Int32,
                                          DType::UInt32, DType::Int64, DType::UInt64});
  const auto cumsum_types = with(kFloats, {DType::Int32, DType::Int64, DType::UInt32, DType::UInt64});

  // Axes are an attribute up to opset 12 (ReduceSum) / 17 (the others), an input after; the kernel
  // reads the opset.
  const std::pair<const char*, ReduceOp> reductions[] = {
      {"ReduceL1", ReduceOp::L1},           {"ReduceL2", ReduceOp::L2},
      {"ReduceLogSum", ReduceOp::LogSum},   {"ReduceLogSumExp", ReduceOp::LogSumExp},
      {"ReduceMax", ReduceOp::Max},         {"ReduceMean", ReduceOp::Mean},
      {"ReduceMin", ReduceOp::Min},         {"ReduceProd", ReduceOp::Prod},
      {"ReduceSum", ReduceOp::Sum},         {"ReduceSumSquare", ReduceOp::SumSquare},
  };
  for (const auto& [name, op] : reductions) {
    auto types = reduce_types;
    if (op == ReduceOp::Max || op == ReduceOp::Min) types.push_back(DType::Bool);
    r.add(KernelDef{"", name, 1, INT32_MAX, types, 0, reduce_kernel(op)});
  }
  r.add(KernelDef{"", "ArgMax", 1, INT32_MAX, all_numeric, 0, arg_reduce_kernel(true)});
  r.add(KernelDef{"", "ArgMin", 1, INT32_MAX, all_numeric, 0, arg_reduce_kernel(false)});
  r.add(KernelDef{"", "TopK", 1, INT32_MAX, all_numeric, 0, topk_kernel()});
  r.add(KernelDef{"", "CumSum", 11, INT32_MAX, cumsum_types, 0, cumsum_kernel()});

  r.add(KernelDef{"", "BatchNormalization", 1, INT32_MAX, kFloats, 0, batch_norm_kernel()});
  r.add(KernelDef{"", "InstanceNormalization", 1, INT32_MAX, kFloats, 0, instance_norm_kernel()});
  r.add(KernelDef{"", "LayerNormalization", 17, INT32_MAX, kFloats, 0, layer_norm_kernel()});
  // What fuse_layer_norm makes below opset 17 for the runtime alone (PassContext::runtime_ops).
  r.add(KernelDef{std::string(kRuntimeDomain), "LayerNormalization", 1, INT32_MAX, kFloats, 0, layer_norm_kernel()});
  r.add(KernelDef{"", "GroupNormalization", 18, INT32_MAX, kFloats, 0, group_norm_kernel()});
  r.add(KernelDef{"", "RMSNormalization", 23, INT32_MAX, kFloats, 0, rms_norm_kernel()});
  r.add(KernelDef{"", "LpNormalization", 1, INT32_MAX, kFloats, 0, lp_norm_kernel()});
  r.add(KernelDef{"", "MeanVarianceNormalization", 9, INT32_MAX, kFloats, 0, mvn_kernel()});
  r.add(KernelDef{"", "LRN", 1, INT32_MAX, kFloats, 0, lrn_kernel()});
}

}  // namespace ortool::rt::cpu
