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
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "codegen/amx_gemm.h"
#include "codegen/gemm_tiles.h"
#include "codegen/lower.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

// An operand element as f32: bf16 operands (mixed precision) are widened as they are read,
// and the product accumulates in f32.
Expr F32(Expr e) { return e.type().is_float() && e.type().bits() == 32 ? e : cast<float>(e); }

// The parallel loop: batches when there are enough of them, else the outer loop of the nest,
// else the inner one (a single strip or block would leave a core idle).
constexpr int kMinTasks = 4;

// The batch of a GEMM as two loops: `bo` over the outer batch axis and `h` over the inner
// one (attention's [B, H] heads), so a strided operand (a head's q read out of the qkv
// projection) needs no division of a flat batch index.
struct Batch {
  int64_t nb = 1, nh = 1;
  Var h{"h"}, bo{"bo"};
  int64_t size() const { return nb * nh; }
};

// Parallelises `f` (a Func's pure definition, or a Stage) over the batch when it has enough of
// them; returns false otherwise.
template <typename F>
bool ParallelBatch(F f, const Batch& bt) {
  if (bt.nb >= kMinTasks || (bt.nb > 1 && bt.nb >= bt.nh)) {
    f.parallel(bt.bo);
  } else if (bt.nh >= kMinTasks || bt.nh > 1) {
    f.parallel(bt.h);
  } else {
    return false;
  }
  return bt.size() >= kMinTasks;
}

// What a result element stores: the accumulator plus any addend, rounded to bf16 when the
// node stores bf16 (a matmul_bias whose cast kernel StoreCastsInProducers folded in).
Expr Epilogue(Expr acc, Func addend, Var j, Var i, Var h, Var bo, Type store) {
  Expr v = addend.defined() ? acc + addend(j, i, h, bo) : acc;
  return v.type() == store ? v : cast(store, v);
}

// The kPacked nest (Goto's BLAS): the reduction in chunks of kc, outermost; per chunk, B's
// chunk packed into panels of tn columns, each kc x tn contiguous (bp(jj, kk, jt)), shared by
// every block of rows; per block of mb rows, A's chunk packed into panels of tm rows, each
// kc x tm contiguous (ap(ii, kk, it)). The micro-kernel then streams two contiguous panels
// instead of one row of B and tm elements of A per step, each a different page when the
// operands are wide (the weight gradients' A^T.B read rows 9-12 KB apart at GPT-2's size).
// Panels past m or n are zero, so any shape works; the accumulators stay in one tiled buffer
// between chunks, and `out` copies them out through the epilogue.
Func BuildPackedGemm(Func a_op, Func b_op, bool a_along_k, Func addend, const Batch& bt, int64_t m,
                     int64_t n, int64_t k, const GemmTile& t, int vec, Var i, Var j, Type store) {
  const Var h = bt.h, bo = bt.bo;
  const int64_t tiles_n = (n + t.tn - 1) / t.tn, tiles_m = (m + t.tm - 1) / t.tm;
  Var jj("jj"), ii("ii"), jt("jt"), it("it"), kk("kk");
  Func ap("ap"), bp("bp"), acc("acc"), out("out");
  const Expr col = jt * t.tn + jj, row = it * t.tm + ii;
  bp(jj, kk, jt, h, bo) =
      select(col < static_cast<int>(n), b_op(min(col, static_cast<int>(n - 1)), kk, h, bo), 0.0f);
  ap(ii, kk, it, h, bo) =
      select(row < static_cast<int>(m), a_op(kk, min(row, static_cast<int>(m - 1)), h, bo), 0.0f);
  RDom r(0, static_cast<int>(k), "r");
  acc(jj, ii, jt, it, h, bo) = 0.0f;
  acc(jj, ii, jt, it, h, bo) += ap(ii, r, it, h, bo) * bp(jj, r, jt, h, bo);
  const Expr acc_at = acc(j % t.tn, i % t.tm, j / t.tn, i / t.tm, h, bo);
  out(j, i, h, bo) = Epilogue(acc_at, addend, j, i, h, bo, store);

  // The copy out, rows in parallel; vectorised along the columns.
  Var io("io"), iin("iin");
  if (!ParallelBatch(out, bt)) out.split(i, io, iin, 16, TailStrategy::GuardWithIf).parallel(io);
  if (n >= vec) out.vectorize(j, vec, TailStrategy::GuardWithIf);
  acc.compute_root();
  if (t.tn >= vec) acc.vectorize(jj, vec);
  ParallelBatch(acc, bt);
  RVar ro("ro"), ri("ri");
  Var itb("itb"), iti("iti");
  Stage u = acc.update();
  const int tiles_per_block = std::max(1, t.mb / t.tm);
  u.split(r, ro, ri, t.kc, TailStrategy::GuardWithIf)
      .split(it, itb, iti, tiles_per_block, TailStrategy::GuardWithIf)
      .reorder(jj, ii, ri, iti, jt, itb, ro, h, bo);
  const bool batch_parallel = ParallelBatch(u, bt);
  if (t.tn >= vec) u.vectorize(jj, vec).unroll(jj);
  u.unroll(ii);
  // Blocks of rows in parallel, or, when there are few (the logits' input gradient has 256
  // rows: blocks of 192 and 64 would leave a core idle a quarter of the time), panels of
  // columns.
  const int64_t blocks = (tiles_m + tiles_per_block - 1) / tiles_per_block;
  if (!batch_parallel) {
    if (blocks >= kMinTasks || blocks >= tiles_n) {
      u.parallel(itb);
    } else {
      u.parallel(jt);
    }
  }
  // B's chunk, every panel, once per chunk (its panels in parallel); A's chunk of a block of
  // rows, once per block.
  bp.compute_at(acc, ro);
  if (t.tn >= vec) bp.vectorize(jj, vec);
  if (!batch_parallel && tiles_n > 1) bp.parallel(jt);
  // A packed reading along its contiguous axis: rows of A^T (A as stored), or each row's run
  // of K.
  ap.compute_at(acc, itb);
  if (a_along_k) {
    ap.reorder(kk, ii, it);
  } else {
    ap.reorder(ii, it, kk);
    if (t.tm > 1) ap.unroll(ii);
  }
  return out;
}

// out(j, i, h, bo) = sum_r a_op(r, i, h, bo) * b_op(j, r, h, bo) (+ addend(j, i, h, bo)) for
// i < m, j < n, scheduled as tile t. `b_transposed`: b_op reads a transposed operand through
// b_rows, to be repacked. The addend (a bias, or matmul_add's matrix) is added as the
// accumulators are written out, each element read just before its result is written.
Func BuildGemm(Func a_op, Func b_op, Func b_rows, bool b_transposed, bool b_strided, bool a_along_k,
               Func addend, const Batch& bt, int64_t m, int64_t n, int64_t k, const GemmTile& t,
               int vec, Var i, Var j, Var kk, Type store) {
  if (t.nest == GemmTile::kPacked)
    return BuildPackedGemm(a_op, b_op, a_along_k, addend, bt, m, n, k, t, vec, i, j, store);
  const bool vectorized = t.tn >= vec;
  const Var h = bt.h, bo = bt.bo;
  RDom r(0, static_cast<int>(k), "r");
  Func acc("acc"), out("out");
  acc(j, i, h, bo) = 0.0f;
  acc(j, i, h, bo) += a_op(r, i, h, bo) * b_op(j, r, h, bo);
  out(j, i, h, bo) = Epilogue(acc(j, i, h, bo), addend, j, i, h, bo, store);

  auto parallelize = [&](Var outer, int64_t outer_n, Var inner, int64_t inner_n) {
    if (ParallelBatch(out, bt)) return;
    if (outer_n >= kMinTasks || outer_n >= inner_n) {
      out.parallel(outer);
    } else {
      out.parallel(inner);
    }
  };
  const int64_t strips = (n + t.tn - 1) / t.tn;
  Var jo("jo"), io("io"), ji("ji"), ii("ii");
  if (t.nest == GemmTile::kKBlocks) {
    // Blocks of tn columns x mb rows; inside, reduction chunks of kc, each over every tile.
    out.tile(j, i, jo, io, ji, ii, t.tn, t.mb, TailStrategy::ShiftInwards)
        .reorder(ji, ii, io, jo, h, bo);
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
      out.reorder(ji, ii, io, jo, h, bo);
      parallelize(jo, strips, io, (m + t.tm - 1) / t.tm);
    } else {  // kRowBlocks: row blocks outermost, then strips, then the block's row tiles
      Var iob("iob"), ioi("ioi");
      out.split(io, iob, ioi, t.mb / t.tm, TailStrategy::GuardWithIf)
          .reorder(ji, ii, ioi, jo, iob, h, bo);
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
      ParallelBatch(b_op, bt);
    }
    if (vectorized && k >= vec) {
      b_op.tile(j, kk, jx, kx, vec, vec, TailStrategy::ShiftInwards).vectorize(jx).unroll(kx);
      b_rows.compute_at(b_op, j).vectorize(kk).unroll(j);
    }
  } else if (b_strided) {
    // A strided B (a head of v read out of the qkv projection: rows of D floats, far apart)
    // is copied into a contiguous panel per strip, like a transposed B: the micro-kernel then
    // streams through a few pages instead of one page per row (TLB misses cost ~25%).
    if (t.nest == GemmTile::kStrips) {
      b_op.compute_at(out, jo);
    } else {
      b_op.compute_root();
      ParallelBatch(b_op, bt);
    }
    if (vectorized) b_op.vectorize(j, vec, TailStrategy::GuardWithIf);
  }
  return out;
}

// The 4-D view [nb, nh, rows, cols] of a GEMM operand or result of IR shape `shape`, with
// element strides when the memory plan made it a strided view (`ir_strides`, one per IR
// axis), else none (row-major).
struct View4 {
  ir::Shape view;
  std::vector<int64_t> strides;
};
View4 MakeView4(const ir::Shape& shape, const std::vector<int64_t>& ir_strides, const Batch& bt,
                bool shared) {
  const int64_t rows = shape[shape.size() - 2], cols = shape.back();
  View4 v{{shared ? 1 : bt.nb, shared ? 1 : bt.nh, rows, cols}, {}};
  if (ir_strides.empty()) return v;
  const size_t r = ir_strides.size();
  const int64_t sr = ir_strides[r - 2], sc = ir_strides[r - 1];
  if (r == 4) v.strides = {ir_strides[0], ir_strides[1], sr, sc};
  if (r == 3) v.strides = {ir_strides[0], 1, sr, sc};
  if (r == 2) v.strides = {1, 1, sr, sc};
  return v;
}

// The bf16 dot-product tiles: tn columns (vectors of 16) by tm rows of f32 accumulators;
// `swap` computes A^T B as (B^T A)^T, as the f32 tiles may (the top of this file).
struct DotTile {
  int tn, tm;
  bool swap = false;
};
constexpr DotTile kDotTiles[] = {{32, 8}, {48, 8}, {64, 6}};

// Whether out = A B with bf16 operands can use vdpbf16ps tiles: K in pairs, whole vectors of
// columns, at least one tile of each kind.
bool UseDotBF16(const Ctx& c, int64_t m, int64_t n, int64_t k) {
  return c.spec.inputs[0].dtype == ir::DType::kBF16 &&
         c.target.has_feature(Target::AVX512_SapphireRapids) && k % 2 == 0 && n % 16 == 0 &&
         n >= 64 && m >= 8;
}

// bf16 x bf16 -> f32 with vdpbf16ps (acc[16 lanes] += a pair . b pair per lane): B is packed
// per column strip with each pair of K rows interleaved, bp(p, j, k2) = b(j, 2 k2 + p), so a
// strip's pairs load as whole vectors; A's pair (a[i][2 k2], a[i][2 k2 + 1]) is one 32-bit
// broadcast, read in place when A is row-major, else from a pair-packed copy. Halide makes a
// VectorReduce of the pair sum vectorised atomically, which its x86 backend emits as
// vdpbf16ps with the accumulator folded in.
Func BuildDotBF16(Func a_raw, Func b_raw, bool pack_a, bool b_rows_dense, Func addend,
                  const Batch& bt, int64_t m, int64_t n, int64_t k, const DotTile& t, Var i, Var j,
                  int vec, Type store) {
  const Var h = bt.h, bo = bt.bo;
  Var p("p"), k2("k2");
  Func ap("ap"), bp("bp"), acc("acc"), out("out");
  // Packing reads the two rows of a pair as dense vectors into a staging Func and interleaves
  // them (a strided 2-element gather per lane is 16 scalar loads).
  Func b_rows("b_rows");
  // A packed (transposed or strided A) tile-major: each tile of tm rows holds its pairs for the
  // whole reduction contiguously, ap(p, ti, k2, tt) = a[tt tm + ti][2 k2 + p], so the
  // micro-kernel's broadcasts stream through one panel; row-major by rows of A they were
  // 2 x m bytes apart, a new page per step at wide m (GPT-2's head: 200 KB).
  Var ti("ti"), tt("tt");
  ap(p, ti, k2, tt, h, bo) = a_raw(2 * k2 + p, min(tt * t.tm + ti, static_cast<int>(m - 1)), h, bo);
  b_rows(j, p, k2, h, bo) = b_raw(j, 2 * k2 + p, h, bo);
  bp(p, j, k2, h, bo) = b_rows_dense ? b_rows(j, p, k2, h, bo) : b_raw(j, 2 * k2 + p, h, bo);
  RDom r(0, 2, 0, static_cast<int>(k / 2), "r");
  acc(j, i, h, bo) = 0.0f;
  const Expr a_pair =
      pack_a ? Expr(ap(r.x, i % t.tm, r.y, i / t.tm, h, bo)) : Expr(a_raw(2 * r.y + r.x, i, h, bo));
  acc(j, i, h, bo) += cast<float>(a_pair) * cast<float>(bp(r.x, j, r.y, h, bo));
  out(j, i, h, bo) = Epilogue(acc(j, i, h, bo), addend, j, i, h, bo, store);
  Var jo("jo"), io("io"), ji("ji"), ii("ii");
  out.tile(j, i, jo, io, ji, ii, t.tn, t.tm, TailStrategy::ShiftInwards)
      .reorder(ji, ii, io, jo, h, bo)
      .vectorize(ji, vec)
      .unroll(ji)
      .unroll(ii);
  const int64_t strips = n / t.tn;
  if (!ParallelBatch(out, bt)) {
    if (strips >= kMinTasks || strips >= (m + t.tm - 1) / t.tm) {
      out.parallel(jo);
    } else {
      out.parallel(io);
    }
  }
  acc.compute_at(out, io).vectorize(j, vec).unroll(j).unroll(i);
  acc.update()
      .reorder(r.x, j, i, r.y)
      .atomic()
      .vectorize(r.x)
      .vectorize(j, vec)
      .unroll(j)
      .unroll(i);
  Var vo("vo"), vi("vi");
  bp.compute_at(out, jo).split(j, vo, vi, vec).vectorize(p).vectorize(vi);
  if (b_rows_dense)
    b_rows.compute_at(bp, vo).vectorize(j, vec, TailStrategy::GuardWithIf).unroll(p);
  if (pack_a) {
    ap.compute_root().reorder(p, ti, tt, k2).vectorize(p).unroll(ti);
    if (!ParallelBatch(ap, bt)) ap.parallel(k2, static_cast<int>(std::max<int64_t>(1, k / 2 / 8)));
  }
  return out;
}

// The result of a swapped A^T B from its product prod = B^T A ([n, m]): the transposed copy
// (vec x vec tiles through registers), with the epilogue (bias, rounding) applied as stored.
Func SwappedBack(Func prod, Func addend, const Batch& bt, int64_t m, int64_t n, int vec,
                 Type store) {
  Var i("i"), j("j");
  const Var h = bt.h, bo = bt.bo;
  prod.compute_root();
  Func out("out");
  out(j, i, h, bo) = Epilogue(prod(i, j, h, bo), addend, j, i, h, bo, store);
  Var jo("jo"), io("io"), ji("ji"), ii("ii");
  if (n >= vec && m >= vec) {
    out.tile(j, i, jo, io, ji, ii, vec, vec, TailStrategy::ShiftInwards).vectorize(ji).unroll(ii);
    if (!ParallelBatch(out, bt)) out.parallel(io);
  }
  return out;
}

// Whether tile t covers an m x n result in whole tiles (no edge tile shifted inwards over
// results another tile writes). The swapped product's transposed copy tiles vec x vec.
bool WholeTiles(const GemmTile& t, int64_t m, int64_t n, int vec) {
  if (t.swap) return n < vec || m < vec || (n % vec == 0 && m % vec == 0);
  if (t.nest == GemmTile::kPacked) return true;  // its copy out writes each result once
  return n % t.tn == 0 && m % (t.nest == GemmTile::kKBlocks ? t.mb : t.tm) == 0;
}

// Whether a bf16 GEMM gets AMX candidates: where the tiles run (or are emulated for tests)
// and the product is big enough to be tuned at all.
bool UseAmx(const Ctx& c, int64_t batch, int64_t m, int64_t n, int64_t k) {
  return c.spec.inputs[0].dtype == ir::DType::kBF16 && AmxGemmMode() != AmxMode::kOff &&
         2.0 * batch * m * n * k >= kGemmTuneFlops;
}

}  // namespace

absl::Status MatMul(Ctx& c) {
  const bool ta = *c.spec.attrs.GetBool("transpose_a");
  const bool tb = *c.spec.attrs.GetBool("transpose_b");
  const ir::Shape& as = c.spec.inputs[0].shape;
  const ir::Shape& bs = c.spec.inputs[1].shape;
  const ir::Shape& os = c.spec.outputs[0].shape;
  auto strides_of = [](const std::vector<std::vector<int64_t>>& ss, size_t i) {
    return i < ss.size() ? ss[i] : std::vector<int64_t>();
  };
  const std::vector<int64_t> sa = strides_of(c.spec.input_strides, 0),
                             sb = strides_of(c.spec.input_strides, 1),
                             so = strides_of(c.spec.output_strides, 0);
  if (os.size() > 4 && (!sa.empty() || !sb.empty() || !so.empty()))
    return absl::InvalidArgumentError("matmul: strided operands take at most two batch axes");
  int64_t m = os[os.size() - 2];
  const int64_t n = os.back();
  const int64_t k = ta ? as[as.size() - 2] : as.back();
  Batch bt;
  if (os.size() >= 4) {
    bt.nh = os[os.size() - 3];
    bt.nb = ir::NumElements(ir::Shape(os.begin(), os.end() - 3));
  } else if (os.size() == 3) {
    bt.nb = os[0];
  }
  const bool shared_b = bs.size() == 2;
  // x W with a shared W: the batch folds into the rows, one large GEMM.
  if (shared_b && !ta && sa.empty() && so.empty()) {
    m *= bt.size();
    bt.nb = bt.nh = 1;
  }
  const ir::Shape a_shape = ta ? ir::Shape{bt.size(), k, m} : ir::Shape{bt.size(), m, k};
  const View4 va = MakeView4(sa.empty() ? a_shape : as, sa, bt, false);
  const View4 vb = MakeView4(bs, sb, bt, shared_b);
  const View4 vo = MakeView4(so.empty() ? ir::Shape{m, n} : os, so, bt, false);
  ImageParam A = c.Input(0, va.view, va.strides);
  ImageParam B = c.Input(1, vb.view, vb.strides);
  // What the result adds: matmul_bias's vector along the columns, or matmul_add's matrix of
  // the result's shape (dense, whatever the result's strides).
  Func addend;
  ImageParam bv;
  {
    Var ja("ja"), ia("ia"), ha("ha"), ba("ba");
    if (c.spec.op == ir::Op::kMatMulBias) {
      bv = c.Input(2, {n});
      addend = Func("bias");
      addend(ja, ia, ha, ba) = bv(ja);
    } else if (c.spec.op == ir::Op::kMatMulAdd) {
      ImageParam cv = c.Input(2, vo.view);
      addend = Func("addend");
      addend(ja, ia, ha, ba) = cv(ja, ia, ha, ba);
    }
  }

  // bf16 operands have two paths: vdpbf16ps tiles, and f32 FMA tiles on the operands widened
  // as they are read. Both are candidates and the tuner keeps the faster for the shape, so a
  // bf16 GEMM is never slower than its f32 form where the dot-product units are slow (a Xeon's
  // vdpbf16ps retires half an FMA's FLOPs; Zen 4's twice).
  // The result's type: f32, or bf16 where the node stores it rounded (kStoresBF16).
  const Type store = c.type_of(c.spec.outputs[0]);
  std::vector<GemmTile> candidates = GemmCandidates({bt.size(), m, n, k, tb}, c.vec, c.registers);
  if (ta && !tb && (!shared_b || bt.size() == 1) && candidates.size() > 1) {
    std::vector<GemmTile> swapped = GemmCandidates({bt.size(), n, m, k}, c.vec, c.registers);
    swapped.resize(std::min<size_t>(swapped.size(), 2));
    for (GemmTile& t : swapped) t.swap = true;
    candidates.insert(candidates.end(), swapped.begin(), swapped.end());
  }
  std::vector<DotTile> dots;
  if (UseDotBF16(c, m, n, k)) dots.assign(std::begin(kDotTiles), std::end(kDotTiles));
  // A^T B swapped on the dot tiles too: a weight gradient with few columns (the MLP's first
  // layer, C of them against 4C rows) gets the wide side as the tiles' columns, and a narrow
  // one (n < 64 or not whole vectors) gets dot tiles at all. Not for matmul_add, which may
  // write over its addend (the transposed copy's edge tiles shift inwards).
  if (ta && !tb && (!shared_b || bt.size() == 1) && c.spec.op != ir::Op::kMatMulAdd &&
      UseDotBF16(c, n, m, k))
    for (const DotTile& t : {DotTile{64, 6, true}, DotTile{32, 8, true}}) dots.push_back(t);
  // matmul_add may write over its addend (the planner places it in place). An edge tile
  // shifted inwards computes some results twice, the second time from an addend already
  // overwritten, so it gets only the schedules whose tiles cover the result exactly.
  if (c.spec.op == ir::Op::kMatMulAdd) {
    auto partial = [&](const GemmTile& t) { return !WholeTiles(t, m, n, c.vec); };
    candidates.erase(std::remove_if(candidates.begin(), candidates.end(), partial),
                     candidates.end());
    dots.erase(std::remove_if(dots.begin(), dots.end(),
                              [&](const DotTile& t) { return n % t.tn != 0 || m % t.tm != 0; }),
               dots.end());
    if (candidates.empty()) {  // one vector of columns (or one column) by one row always fits
      GemmTile t;
      t.tn = n % c.vec == 0 ? c.vec : 1;
      candidates.push_back(t);
    }
  }
  const int dot_variants = static_cast<int>(dots.size());
  if (!dots.empty()) candidates.resize(std::min<size_t>(candidates.size(), 2));  // the best two
  // AMX tiles come last, so the other variants keep their numbers on every CPU. The tile
  // kernel adds a bias but not a matrix: matmul_add has no AMX variant.
  const std::vector<AmxBlocking> amx =
      UseAmx(c, bt.size(), m, n, k) && c.spec.op != ir::Op::kMatMulAdd
          ? AmxBlockingCandidates(m, n, k)
          : std::vector<AmxBlocking>();
  if (!amx.empty()) candidates.resize(std::min<size_t>(candidates.size(), 2));
  const int fma_end = dot_variants + static_cast<int>(candidates.size());
  c.num_variants = fma_end + static_cast<int>(amx.size());
  if (c.variant < 0 || c.variant >= c.num_variants)
    return absl::InvalidArgumentError(absl::StrCat("matmul has no schedule variant ", c.variant));
  if (c.variant >= fma_end) {
    // The AOT tile kernel as an extern stage (amx_gemm.h): it reads the operands' 4-D views
    // through their buffers and writes the whole result.
    const AmxBlocking& blk = amx[c.variant - fma_end];
    const bool emulated = AmxGemmMode() == AmxMode::kEmulated;
    c.variant_name =
        absl::StrCat(emulated ? "amx (emulated) " : "amx ", blk.mb, "x", blk.nb, " kc=", blk.kc);
    const int form = (ta ? 1 : 0) | (tb ? 2 : 0) | (emulated ? 4 : 0);
    std::vector<ExternFuncArgument> args = {Expr(form), Expr(blk.mb), Expr(blk.nb), Expr(blk.kc), A,
                                            B};
    if (bv.defined()) args.push_back(bv);  // matmul_bias (matmul_add has no AMX variant)
    Func out("amx_matmul");
    out.define_extern(bv.defined() ? "gptc_amx_matmul_bias" : "gptc_amx_matmul", args, store, 4);
    c.Output(out, vo.view, vo.strides);
    return absl::OkStatus();
  }
  if (c.variant < dot_variants) {
    const DotTile& t = dots[c.variant];
    c.variant_name = absl::StrCat(t.swap ? "swapped " : "", "bf16 dot ", t.tn, "x", t.tm);
    Var i("i"), j("j"), kk("kk");
    const Var h = bt.h, bo = bt.bo;
    Expr bh = shared_b ? Expr(0) : Expr(h), bb = shared_b ? Expr(0) : Expr(bo);
    Func a_raw("a_raw"), b_raw("b_raw");
    if (t.swap) {
      // out^T = B^T A: B [K, n] stored is the swapped product's transposed A (packed
      // tile-major), A [K, m] its row-major B; then out is the product's transposed copy.
      a_raw(kk, i, h, bo) = B(i, kk, bh, bb);
      b_raw(j, kk, h, bo) = A(j, kk, h, bo);
      Func prod = BuildDotBF16(a_raw, b_raw, /*pack_a=*/true, /*b_rows_dense=*/true, Func(), bt, n,
                               m, k, t, i, j, c.vec, Float(32));
      c.Output(SwappedBack(prod, addend, bt, m, n, c.vec, store), vo.view, vo.strides);
      return absl::OkStatus();
    }
    a_raw(kk, i, h, bo) = ta ? A(i, kk, h, bo) : A(kk, i, h, bo);
    b_raw(j, kk, h, bo) = tb ? B(kk, j, bh, bb) : B(j, kk, bh, bb);
    Func out = BuildDotBF16(a_raw, b_raw, ta || !sa.empty(), !tb, addend, bt, m, n, k, t, i, j,
                            c.vec, store);
    c.Output(out, vo.view, vo.strides);
    return absl::OkStatus();
  }
  const GemmTile& t = candidates[c.variant - dot_variants];
  c.variant_name = absl::StrCat(
      c.spec.inputs[0].dtype == ir::DType::kBF16 ? "f32 fma of bf16 " : "", t.Describe());

  Var i("i"), j("j"), kk("kk");
  const Var h = bt.h, bo = bt.bo;
  Expr bh = shared_b ? Expr(0) : Expr(h), bb = shared_b ? Expr(0) : Expr(bo);
  Func a_op("a_op"), b_op("b_op"), b_rows("b_rows");
  if (t.swap) {
    // out^T = B^T A: rows of the swapped product are out's columns. Both operands are read
    // as stored ([K, n] and [K, m], contiguous along their columns).
    a_op(kk, i, h, bo) = F32(B(i, kk, bh, bb));
    b_op(j, kk, h, bo) = F32(A(j, kk, h, bo));
    Func prod = BuildGemm(a_op, b_op, b_rows, false, !sa.empty(), /*a_along_k=*/false, Func(), bt,
                          n, m, k, t, c.vec, i, j, kk, Float(32));
    c.Output(SwappedBack(prod, addend, bt, m, n, c.vec, store), vo.view, vo.strides);
    return absl::OkStatus();
  }
  // a_op(kk, i, h, bo) = op(A)[bo][h][i][kk]; b_op(j, kk, h, bo) = op(B)[bo][h][kk][j]
  a_op(kk, i, h, bo) = F32(ta ? A(i, kk, h, bo) : A(kk, i, h, bo));
  if (tb) {
    b_rows(kk, j, h, bo) = F32(B(kk, j, bh, bb));  // rows of B as stored, read densely along kk
    b_op(j, kk, h, bo) = b_rows(kk, j, h, bo);
  } else {
    b_op(j, kk, h, bo) = F32(B(j, kk, bh, bb));
  }
  Func out = BuildGemm(a_op, b_op, b_rows, tb, !tb && !sb.empty(), /*a_along_k=*/!ta, addend, bt, m,
                       n, k, t, c.vec, i, j, kk, store);
  c.Output(out, vo.view, vo.strides);
  return absl::OkStatus();
}

}  // namespace gptc::codegen::lower
