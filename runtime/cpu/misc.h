// Registration functions of the misc family's files (detection, random, strings, training).
#pragma once

#include "runtime/registry.h"

namespace ortool::rt::cpu {

void register_nms_ops(KernelRegistry& r);       // nms.cpp: NonMaxSuppression
void register_loss_ops(KernelRegistry& r);      // loss.cpp: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
void register_spectral_ops(KernelRegistry& r);  // spectral.cpp: DFT, STFT
void register_random_ops(KernelRegistry& r);    // random.cpp: RandomNormal/Uniform(Like), Bernoulli, Multinomial
void register_string_ops(KernelRegistry& r);    // string_ops.cpp: StringNormalizer
void register_string_ops_20(KernelRegistry& r); // string_ops_20.cpp: StringConcat, RegexFullMatch, StringSplit
void register_tfidf_ops(KernelRegistry& r);     // string_tfidf.cpp: TfIdfVectorizer
void register_training_ops(KernelRegistry& r);  // training.cpp: Adagrad, Adam, Momentum (preview.training)

}  // namespace ortool::rt::cpu
