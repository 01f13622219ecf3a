// Registration functions of the tensor family's files (shape, indexing, data movement, generators).
#pragma once

#include "runtime/registry.h"

namespace ortool::rt::cpu {

void register_shape_ops(KernelRegistry& r);      // shape_ops.cpp: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze
void register_expand_ops(KernelRegistry& r);     // shape_ops_expand.cpp: Expand, Tile
void register_transpose_ops(KernelRegistry& r);  // transpose.cpp: Transpose
void register_concat_ops(KernelRegistry& r);     // concat.cpp: Concat, Split
void register_slice_ops(KernelRegistry& r);      // slice.cpp: Slice
void register_gather_ops(KernelRegistry& r);     // gather.cpp: Gather, GatherElements, GatherND
void register_scatter_ops(KernelRegistry& r);    // scatter.cpp: Scatter, ScatterElements, ScatterND
void register_pad_ops(KernelRegistry& r);        // pad.cpp: Pad, CenterCropPad
void register_generator_ops(KernelRegistry& r);  // generators.cpp: Constant, ConstantOfShape, Range, EyeLike
// generators_signal.cpp: HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix
void register_signal_generator_ops(KernelRegistry& r);
void register_index_ops(KernelRegistry& r);      // index_ops.cpp: NonZero, Compress, OneHot, Trilu, ReverseSequence
void register_unique_ops(KernelRegistry& r);     // unique.cpp: Unique

}  // namespace ortool::rt::cpu
