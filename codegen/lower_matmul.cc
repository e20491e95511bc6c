// Batched GEMM: out[b] = op(A[b]) x op(B[b]) with op = identity or transpose, lowered with a
// register-tiled micro-kernel (after Halide's apps/linear_algebra and the measurements in
// DESIGN.md) inside one of the loop nests of gemm_tiles.h, chosen per shape.
//
// The micro-kernel: a tn x tm tile of accumulators stays in registers across the reduction;
// each step loads tn/vec vectors of a B row and broadcasts tm elements of A. Every form
// reads B as rows of contiguous columns: a transposed B is repacked first (per column strip,
// or once per call for the blocked nests), with 16x16 block transposes done in registers. A
// transposed A needs no copy: the tm elements the micro-kernel broadcasts are adjacent.
//
// A^T B may also be computed swapped, as (B^T A)^T: the same kernel with the operands'
// roles exchanged, then one transposed copy of the (small) result. For a weight gradient
// with a wide A (the MLP's 4C columns) the swapped product has the long, contiguous side as
// its columns, which the micro-kernel streams better; the tuner decides per shape.
#include "absl/strings/str_cat.h"
#include "codegen/gemm_tiles.h"
#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

// The parallel loop: batches when there are enough of them, else the outer loop of the nest,
// else the inner one (a single strip or block would leave a core idle).
constexpr int kMinTasks = 4;

// out(j, i, b) = sum_r a_op(r, i, b) * b_op(j, r, b) (+ bias(j)) for i < m, j < n, scheduled
// as tile t. `b_transposed`: b_op reads a transposed operand through b_rows, to be repacked.
// A bias is added as the accumulators are written out: no extra pass over the result.
Func BuildGemm(Func a_op, Func b_op, Func b_rows, bool b_transposed, Func bias, int64_t batch, int64_t m, int64_t n,
               int64_t k, const GemmTile& t, int vec, Var i, Var j, Var b, Var kk) {
  const bool vectorized = t.tn >= vec;
  RDom r(0, static_cast<int>(k), "r");
  Func acc("acc"), out("out");
  acc(j, i, b) = 0.0f;
  acc(j, i, b) += a_op(r, i, b) * b_op(j, r, b);
  out(j, i, b) = bias.defined() ? acc(j, i, b) + bias(j) : acc(j, i, b);

  auto parallelize = [&](Var outer, int64_t outer_n, Var inner, int64_t inner_n) {
    if (batch >= kMinTasks) {
      out.parallel(b);
    } else if (outer_n >= kMinTasks || outer_n >= inner_n) {
      out.parallel(outer);
    } else {
      out.parallel(inner);
    }
  };
  const int64_t strips = (n + t.tn - 1) / t.tn;
  Var jo("jo"), io("io"), ji("ji"), ii("ii");
  if (t.nest == GemmTile::kKBlocks) {
    // Blocks of tn columns x mb rows; inside, reduction chunks of kc, each over every tile.
    out.tile(j, i, jo, io, ji, ii, t.tn, t.mb, TailStrategy::ShiftInwards).reorder(ji, ii, io, jo, b);
    if (vectorized) out.vectorize(ji, vec);
    parallelize(jo, strips, io, (m + t.mb - 1) / t.mb);
    acc.compute_at(out, io);
    if (vectorized) acc.vectorize(j, vec);
    RVar ro("ro"), ri("ri");
    Var jt("jt"), it("it"), jj("jj"), iii("iii");
    Stage u = acc.update();
    u.split(r, ro, ri, t.kc, TailStrategy::GuardWithIf)
        .tile(j, i, jt, it, jj, iii, t.tn, t.tm, TailStrategy::GuardWithIf)
        .reorder(jj, iii, ri, jt, it, ro);
    if (vectorized) u.vectorize(jj, vec).unroll(jj);
    u.unroll(iii);
  } else {
    out.tile(j, i, jo, io, ji, ii, t.tn, t.tm, TailStrategy::ShiftInwards);
    if (t.nest == GemmTile::kStrips) {
      out.reorder(ji, ii, io, jo, b);
      parallelize(jo, strips, io, (m + t.tm - 1) / t.tm);
    } else {  // kRowBlocks: row blocks outermost, then strips, then the block's row tiles
      Var iob("iob"), ioi("ioi");
      out.split(io, iob, ioi, t.mb / t.tm, TailStrategy::GuardWithIf).reorder(ji, ii, ioi, jo, iob, b);
      parallelize(iob, (m + t.mb - 1) / t.mb, jo, strips);
      io = ioi;
    }
    acc.compute_at(out, io);
    if (vectorized) {
      out.vectorize(ji, vec).unroll(ji);
      acc.vectorize(j, vec).unroll(j);
      acc.update().vectorize(j, vec).unroll(j);
    }
    out.unroll(ii);
    acc.unroll(i);
    acc.update().reorder(j, i, r).unroll(i);
  }
  if (b_transposed) {
    // Repack B^T into rows: per column strip in the strip nest (the strip is then contiguous
    // and reused by every row tile), once per call otherwise. Transposed in vec x vec blocks
    // through registers: dense loads along K, shuffles, dense stores along N.
    Var jx("jx"), kx("kx");
    if (t.nest == GemmTile::kStrips) {
      b_op.compute_at(out, jo);
    } else {
      b_op.compute_root();
      if (batch > 1) b_op.parallel(b);
    }
    if (vectorized && k >= vec) {
      b_op.tile(j, kk, jx, kx, vec, vec, TailStrategy::ShiftInwards).vectorize(jx).unroll(kx);
      b_rows.compute_at(b_op, j).vectorize(kk).unroll(j);
    }
  }
  return out;
}

}  // namespace

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
  Func bias;  // matmul_bias: a vector along the output's columns
  if (c.spec.op == ir::Op::kMatMulBias) {
    ImageParam bv = c.Input(2, {n});
    Var jb("jb");
    bias = Func("bias");
    bias(jb) = bv(jb);
  }

  std::vector<GemmTile> candidates = GemmCandidates({batch, m, n, k}, c.vec, c.registers);
  if (ta && !tb && (!shared_b || batch == 1) && candidates.size() > 1) {
    std::vector<GemmTile> swapped = GemmCandidates({batch, n, m, k}, c.vec, c.registers);
    swapped.resize(std::min<size_t>(swapped.size(), 2));
    for (GemmTile& t : swapped) t.swap = true;
    candidates.insert(candidates.end(), swapped.begin(), swapped.end());
  }
  c.num_variants = static_cast<int>(candidates.size());
  if (c.variant < 0 || c.variant >= c.num_variants)
    return absl::InvalidArgumentError(absl::StrCat("matmul has no schedule variant ", c.variant));
  const GemmTile& t = candidates[c.variant];
  c.variant_name = t.Describe();

  Var i("i"), j("j"), b("b"), kk("kk");
  Expr bb = shared_b ? Expr(0) : Expr(b);
  Func a_op("a_op"), b_op("b_op"), b_rows("b_rows");
  if (t.swap) {
    // out^T = B^T A: rows of the swapped product are out's columns. Both operands are read
    // as stored ([K, n] and [K, m], contiguous along their columns).
    a_op(kk, i, b) = B(i, kk, bb);
    b_op(j, kk, b) = A(j, kk, b);
    Func prod = BuildGemm(a_op, b_op, b_rows, false, Func(), batch, n, m, k, t, c.vec, i, j, b, kk);
    prod.compute_root();
    Func out("out");
    out(j, i, b) = bias.defined() ? prod(i, j, b) + bias(j) : prod(i, j, b);
    Var jo("jo"), io("io"), ji("ji"), ii("ii");
    if (n >= c.vec && m >= c.vec) {
      out.tile(j, i, jo, io, ji, ii, c.vec, c.vec, TailStrategy::ShiftInwards).vectorize(ji).unroll(ii);
      out.parallel(batch >= kMinTasks ? b : io);
    }
    c.Output(out, {batch, m, n});
    return absl::OkStatus();
  }
  // a_op(kk, i, b) = op(A)[b][i][kk]; b_op(j, kk, b) = op(B)[b][kk][j]
  a_op(kk, i, b) = ta ? A(i, kk, b) : A(kk, i, b);
  if (tb) {
    b_rows(kk, j, b) = B(kk, j, bb);  // rows of B as stored, read densely along kk
    b_op(j, kk, b) = b_rows(kk, j, b);
  } else {
    b_op(j, kk, b) = B(j, kk, bb);
  }
  Func out = BuildGemm(a_op, b_op, b_rows, tb, bias, batch, m, n, k, t, c.vec, i, j, b, kk);
  c.Output(out, {batch, m, n});
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
