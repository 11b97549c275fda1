// Entry points of the kernels; each decodes its arguments from the call scratch (addon.cc).
#pragma once
#include "common.h"

namespace gb {
void k_unary(Reader& r);
void k_binary(Reader& r);
void k_compare(Reader& r);
void k_where(Reader& r);
void k_copy(Reader& r);
void k_fill(Reader& r);
void k_reduce(Reader& r);
void k_argreduce(Reader& r);
void k_matmul(Reader& r);
void k_gather(Reader& r);
void k_scatter_add(Reader& r);
void k_index_select(Reader& r);
void k_index_add(Reader& r);
void k_log_softmax(Reader& r);
void k_log_softmax_backward(Reader& r);
void k_nll_loss(Reader& r);
void k_nll_loss_backward(Reader& r);
}  // namespace gb
