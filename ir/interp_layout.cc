// Data movement: reshape, transpose, slice, concat, broadcast.
#include "ir/interp_kernels.h"

namespace gptc::ir::interp {
namespace {

// Flat index of `out_index` mapped through perm into the input: out axis i is input axis perm[i].
Literal Transpose(const Literal& x, const std::vector<int64_t>& perm, const TensorType& out) {
  Literal r(out);
  const std::vector<int64_t> in_strides = Strides(x.shape());
  const int rank = out.rank();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t flat = 0; flat < r.size(); ++flat) {
    int64_t src = 0;
    for (int i = 0; i < rank; ++i) src += idx[i] * in_strides[perm[i]];
    r.data[flat] = x.data[src];
    for (int i = rank - 1; i >= 0; --i) {  // odometer increment over the output index
      if (++idx[i] < out.shape[i]) break;
      idx[i] = 0;
    }
  }
  return r;
}

// Views x as (outer, axis, inner) and copies x[:, start:end, :] into r at offset dst_start.
void CopyAxisRange(const Literal& x, int axis, int64_t start, int64_t end, Literal& r,
                   int64_t dst_start) {
  const AxisSplit split = SplitAround(x.shape(), axis);
  const int64_t outer = split.outer, inner = split.inner;
  const int64_t src_axis = x.shape()[axis], dst_axis = r.shape()[axis];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t a = start; a < end; ++a)
      for (int64_t i = 0; i < inner; ++i)
        r.data[(o * dst_axis + dst_start + (a - start)) * inner + i] =
            x.data[(o * src_axis + a) * inner + i];
}

}  // namespace

absl::StatusOr<Literal> Layout(const Node& n, const Args& in, const TensorType& out) {
  const Literal& x = *in[0];
  switch (As<LayoutOp>(n.op)) {
    case LayoutOp::kReshape:
      return Literal(out, x.data);
    case LayoutOp::kTranspose:
      return Transpose(x, *n.attrs.GetInts("perm"), out);
    case LayoutOp::kSlice: {
      Literal r(out);
      const int axis = static_cast<int>(*n.attrs.GetInt("axis"));
      CopyAxisRange(x, axis, *n.attrs.GetInt("start"), *n.attrs.GetInt("end"), r, 0);
      return r;
    }
    case LayoutOp::kConcat: {
      Literal r(out);
      const int axis = static_cast<int>(*n.attrs.GetInt("axis"));
      int64_t offset = 0;
      for (const Literal* part : in) {
        CopyAxisRange(*part, axis, 0, part->shape()[axis], r, offset);
        offset += part->shape()[axis];
      }
      return r;
    }
    case LayoutOp::kExpand: {  // out[o, a, i] = x[o, i] for every a on the new axis
      Literal r(out);
      const int axis = static_cast<int>(*n.attrs.GetInt("axis"));
      const int64_t size = *n.attrs.GetInt("size");
      int64_t inner = 1;
      for (int i = axis; i < x.type.rank(); ++i) inner *= x.shape()[i];
      const int64_t outer = x.size() / inner;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t a = 0; a < size; ++a)
          for (int64_t i = 0; i < inner; ++i)
            r.data[(o * size + a) * inner + i] = x.data[o * inner + i];
      return r;
    }
    case LayoutOp::kBroadcast: {
      Literal r(out);  // the input repeats over the leading axes
      for (int64_t i = 0; i < r.size(); ++i) r.data[i] = x.data[i % x.size()];
      return r;
    }
  }
  return absl::InternalError("not a layout op");
}

}  // namespace gptc::ir::interp
