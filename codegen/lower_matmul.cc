// Batched GEMM with a register-tiled micro-kernel (after Halide's apps/linear_algebra and the
// measurements in DESIGN.md): the output is cut into TN x TM tiles (TN columns = 1-2 vectors,
// TM rows), each tile's accumulators stay in registers across the whole reduction, the B row
// is a vector load and the A element a broadcast. A transposed B is copied into the layout
// the micro-kernel wants once per call (compute_root), so all forms share the micro-kernel.
#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

absl::Status MatMul(Ctx& c) {
  const bool ta = *c.spec.attrs.GetBool("transpose_a");
  const bool tb = *c.spec.attrs.GetBool("transpose_b");
  const ir::Shape& as = c.spec.inputs[0].shape;
  const ir::Shape& bs = c.spec.inputs[1].shape;
  const ir::Shape& os = c.spec.outputs[0].shape;
  int64_t m = os[os.size() - 2];
  const int64_t n = os.back();
  const int64_t k = ta ? as[as.size() - 2] : as.back();
  int64_t batch = ir::NumElements(ir::Shape(os.begin(), os.end() - 2));
  const bool shared_b = bs.size() == 2;
  // x W with a shared W: the batch folds into the rows, one large GEMM.
  if (shared_b && !ta) {
    m *= batch;
    batch = 1;
  }
  const int64_t b_batch = shared_b ? 1 : batch;
  ImageParam A = c.Input(0, ta ? ir::Shape{batch, k, m} : ir::Shape{batch, m, k});
  ImageParam B = c.Input(1, tb ? ir::Shape{b_batch, n, k} : ir::Shape{b_batch, k, n});

  Var i("i"), j("j"), b("b");
  Func a_op("a_op"), b_op("b_op");  // a_op(kk, i, b) = op(A)[b][i][kk]; b_op(j, kk, b) = op(B)[b][kk][j]
  Var kk("kk");
  Expr bb = shared_b ? Expr(0) : Expr(b);
  a_op(kk, i, b) = ta ? A(i, kk, b) : A(kk, i, b);
  b_op(j, kk, b) = tb ? B(kk, j, bb) : B(j, kk, bb);

  RDom r(0, static_cast<int>(k), "r");
  Func acc("acc"), out("out");
  acc(j, i, b) = 0.0f;
  acc(j, i, b) += a_op(r, i, b) * b_op(j, r, b);
  out(j, i, b) = acc(j, i, b);

  const int vec = c.vec;
  // Tile: two vectors of columns by 6 rows (12 accumulators of the 16 AVX2 registers), or one
  // vector by 12 rows for narrow outputs; never larger than the matrix (ShiftInwards needs it).
  const int tn = n >= 2 * vec ? 2 * vec : (n >= vec ? vec : static_cast<int>(n));
  const int tm = static_cast<int>(std::min<int64_t>(m, tn == 2 * vec ? 6 : 12));
  Var jo("jo"), io("io"), ji("ji"), ii("ii");
  out.tile(j, i, jo, io, ji, ii, tn, tm, TailStrategy::ShiftInwards);
  acc.compute_at(out, jo);
  acc.update().reorder(j, i, r);
  if (tn >= vec) {
    out.vectorize(ji, vec).unroll(ji).unroll(ii);
    acc.vectorize(j, vec).unroll(j).unroll(i);
    acc.update().vectorize(j, vec).unroll(j).unroll(i);
  }
  if (batch > 1) {
    out.parallel(b);
  } else {
    out.parallel(io);
  }
  // A transposed needs no copy: the micro-kernel reads one A element per row of the tile,
  // and for A^T those TM elements are adjacent in memory.
  if (tb) b_op.compute_root().vectorize(j, vec, TailStrategy::GuardWithIf).parallel(b);
  c.Output(out, {batch, m, n});
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
