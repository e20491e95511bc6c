// Causal self-attention, forward and backward, one kernel each (after flash-attention 2, for
// a CPU's caches): one parallel task per (batch, head); inside it, queries go in blocks of
// QB rows (one vector). For a query block only the keys up to its last row are touched:
// every loop over keys stops at the diagonal block (an RDom `where` on the block index,
// which Halide turns into a loop bound), so the masked half of the products is never done.
// A block's scores (QB x keys) live in L1; the probabilities never reach memory in the
// forward, and the backward recomputes them.
//
// Layout: Funcs are indexed (..., ii, ib, h, b) with the query (or key) t = ib * QB + ii.
// Score-shaped Funcs are (ii, j, ib): the QB rows of a block are the vector lanes, so the
// row max and sum of the softmax are plain vector ops, and the q k^T product broadcasts k.
// Row-shaped results ([.., t, D]) are vectorised along D with register tiles of tm rows.
//
// The backward, per head: P and dS = P * (dP - rowsum(P * dP)) * scale are built block by
// block into per-head [T x T] buffers (zero above the diagonal), then
//   dq = dS k (keys up to the diagonal), dk = dS^T q and dv = P^T dy (queries from the
// diagonal on), each a register-tiled product over the head's buffers, computed per tile of
// the output. The three results are one Tuple so that a single parallel loop over heads
// computes them all.
//
// Grouped-query attention (attr kv_repeat = query heads per key/value head): k and v have
// H / kv_repeat heads and query head h reads head h / kv_repeat; the repeated [B, H, T, D]
// keys and values are never made. The backward's dk and dv stay per query head (the graph
// sums each group, as the repeat's gradient).
//
// Mixed precision (bf16 q, k, v: the templates' mixed-precision form): the operands are
// widened once per head, and the probabilities, dy and dS are rounded to bf16 where the body
// rounds them, so the kernel computes what the interpreter runs. With avx512_bf16 a variant
// runs every product on vdpbf16ps (the backward's dS and P stored in bf16, the operands in
// pairs); where AMX is on, the lowering also offers the AMX kernel (amx_attention.h).
#include <limits>

#include "absl/strings/str_cat.h"
#include "codegen/amx_attention.h"
#include "codegen/amx_gemm.h"
#include "codegen/lower.h"
#include "ir/literal.h"

namespace gptc::codegen::lower {

using namespace Halide;

namespace {

struct Dims {
  int64_t b, h, t, d;
  int qb;              // queries per block
  int nb;              // blocks
  int64_t repeat = 1;  // query heads per key/value head (grouped-query attention)
  // Mixed precision: q, k and v are bf16 and the products read bf16 operands (the templates'
  // mixed-precision form): the probabilities, dy and the score gradient are rounded where a
  // product reads them.
  bool bf16 = false;
};

// x rounded to bf16 and widened back (nearest even, as the body's cast).
Expr RoundBf16(Expr x) { return cast<float>(cast(BFloat(16), x)); }

// The largest power of two <= limit dividing t.
int BlockRows(int64_t t, int limit) {
  int q = 1;
  while (q * 2 <= limit && t % (q * 2) == 0) q *= 2;
  return q;
}

// The plan's element strides of input i or result `out` (empty: row-major).
std::vector<int64_t> InputStrides(const Ctx& c, int i) {
  return i < static_cast<int>(c.spec.input_strides.size()) ? c.spec.input_strides[i]
                                                           : std::vector<int64_t>();
}
std::vector<int64_t> OutputStrides(const Ctx& c, int out) {
  return out < static_cast<int>(c.spec.output_strides.size()) ? c.spec.output_strides[out]
                                                              : std::vector<int64_t>();
}

// The backward's results in the node's order: dq, dk and dv, then the bf16 copy of each that
// the node yields besides (StoreCastsInProducers), as {IR result, which of the three}. Every
// variant binds them in this order: the tuner times all of them on the same buffers.
std::vector<std::pair<int, int>> GradResults(const Ctx& c) {
  std::vector<std::pair<int, int>> r = {{0, 0}, {1, 1}, {2, 2}};
  for (int i = 0; i < 3; ++i) {
    const std::vector<int> of = c.ResultsOf(i);
    for (size_t k = 1; k < of.size(); ++k) r.emplace_back(of[k], i);
  }
  return r;
}

// Operand i as stored, Halide dimensions (d, t, h, b) of [B, H, T, D] (k and v: H / repeat
// heads), strided when the plan made it a view (q, k and v read out of the qkv projection);
// one parameter per operand, however many Funcs read it.
ImageParam Param(Ctx& c, int i, const Dims& n) {
  if (i < static_cast<int>(c.params.size()) && c.params[i].defined()) return c.params[i];
  const int64_t heads = i == 1 || i == 2 ? n.h / n.repeat : n.h;
  return c.Input(i, {n.b, heads, n.t, n.d}, InputStrides(c, i));
}

// Operand i as the FMA kernel reads it: bf16 operands widened to f32, and dy
// rounded in the mixed-precision form. Those are added to `per_head` (unless `once`: read
// once per element, they are widened as read), to be computed once per head (the products
// read each key and value many times; widening a bf16 broadcast in the inner loop made the
// kernels 35% slower).
Func Operand(Ctx& c, int i, const Dims& n, std::vector<Func>& per_head, bool once = false) {
  ImageParam x = Param(c, i, n);
  const bool round_dy = n.bf16 && i == 3 && x.type() == Float(32);
  if (x.type() == Float(32) && !round_dy) return x;
  Var d("d"), t("t"), h("h"), b("b");
  Func f(absl::StrCat(x.name(), "_f32"));
  f(d, t, h, b) = round_dy ? RoundBf16(x(d, t, h, b)) : cast<float>(x(d, t, h, b));
  if (once) return f;
  if (n.d >= c.vec) f.vectorize(d, c.vec, TailStrategy::GuardWithIf);
  per_head.push_back(f);
  return f;
}

// Keys or values as each query head h reads them: head h / repeat of the operand (grouped-
// query attention reads a key/value head for its whole group, never a repeated copy).
Func KeyValue(const std::string& name, Ctx& c, int i, const Dims& n, std::vector<Func>& per_head) {
  Func x = Operand(c, i, n, per_head);
  if (n.repeat == 1) return x;
  Var d("d"), t("t"), h("h"), b("b");
  Func f(name);
  f(d, t, h, b) = x(d, t, h / static_cast<int>(n.repeat), b);
  return f;
}

// Row-major [B, H, NB, QB, D] strides of a result, seen in blocks of queries.
std::vector<int64_t> BlockedStrides(const Ctx& c, int out, const Dims& n) {
  std::vector<int64_t> s = OutputStrides(c, out);
  if (s.empty()) s = ir::Strides({n.b, n.h, n.t, n.d});
  return {s[0], s[1], s[2] * n.qb, s[2], s[3]};
}

// Rows of a register tile for a row-shaped product vectorised along D: about 16
// accumulators (of 32 AVX-512 registers), a divisor of QB.
int TileRows(const Dims& n, int vec) {
  const int64_t vectors = std::max<int64_t>(1, n.d / vec);
  int tm = n.qb;
  while (tm > 1 && vectors * tm > 16) tm /= 2;
  return tm;
}

struct Vars {
  Var d{"d"}, ii{"ii"}, j{"j"}, ib{"ib"}, h{"h"}, b{"b"};
};

// x(dd, t, h, b) of a block's row: t = ib * QB + ii.
Expr Row(const Dims& n, Expr ii, Expr ib) { return ib * n.qb + ii; }

// The block's rows of x transposed: xt(ii, dd, ib, h, b) = x[t][dd], so that the rows are
// the vector lanes. Transposed vec x vec through registers (dense loads along D, shuffles,
// dense stores along the rows) when the sizes allow, as the GEMM's repacking does.
Func Transposed(const std::string& name, Func x, const Dims& n, const Vars& v, int vec) {
  Func rows(name + "_rows"), xt(name);
  rows(v.d, v.ii, v.ib, v.h, v.b) = x(v.d, Row(n, v.ii, v.ib), v.h, v.b);
  xt(v.ii, v.d, v.ib, v.h, v.b) = rows(v.d, v.ii, v.ib, v.h, v.b);
  if (n.qb % vec == 0 && n.d % vec == 0) {
    Var iix("iix"), dx("dx");
    xt.tile(v.ii, v.d, iix, dx, vec, vec).vectorize(iix).unroll(dx);
    rows.compute_at(xt, v.ii).vectorize(v.d).unroll(v.ii);
  } else if (n.qb >= vec) {
    xt.vectorize(v.ii, vec, TailStrategy::GuardWithIf);
  }
  return xt;
}

// s(ii, j, ib, h, b) = sum_dd a[t][dd] * y[j][dd] for the keys j of block ib's range (the
// range is set by the consumers' loops): `at` is a transposed by Transposed(). A register
// tile of one vector of rows x tn keys; the keys' values are broadcast.
Func RowsTimesKeys(const std::string& name, Func at, Func y, const Dims& n, const Vars& v,
                   int vec) {
  RDom rd(0, static_cast<int>(n.d), name + "_rd");
  Func acc(name + "_acc"), s(name);
  acc(v.ii, v.j, v.ib, v.h, v.b) = 0.0f;
  acc(v.ii, v.j, v.ib, v.h, v.b) += at(v.ii, rd, v.ib, v.h, v.b) * y(rd, v.j, v.h, v.b);
  s(v.ii, v.j, v.ib, v.h, v.b) = acc(v.ii, v.j, v.ib, v.h, v.b);
  const int tn = std::min(8, n.qb);  // keys per tile; divides every block's key range
  Var jo("jo"), ji("ji");
  // RoundUp: every block's key range is a multiple of tn, and a constant tile keeps the
  // accumulators in registers.
  s.split(v.j, jo, ji, tn, TailStrategy::RoundUp).reorder(v.ii, ji, jo);
  if (n.qb >= vec) s.vectorize(v.ii, vec, TailStrategy::GuardWithIf);
  s.unroll(ji);
  acc.compute_at(s, jo);
  acc.update().reorder(v.ii, v.j, rd);
  if (n.qb >= vec) {
    acc.vectorize(v.ii, vec, TailStrategy::GuardWithIf);
    acc.update().vectorize(v.ii, vec, TailStrategy::GuardWithIf);
  }
  acc.unroll(v.j);
  acc.update().unroll(v.j);
  return s;
}

// The softmax of block ib's scores, unnormalised: e = exp((s - max) * scale) over the
// visible keys (0 elsewhere), and l = its row sums. Every reduction stops at the diagonal.
struct BlockSoftmax {
  Func m, e, l;
};
BlockSoftmax Softmax(Func s, const Dims& n, const Vars& v, float scale, int vec) {
  BlockSoftmax r{Func("m"), Func("e"), Func("l")};
  const Expr t = Row(n, v.ii, v.ib);
  RDom rm(0, static_cast<int>(n.t), "rm"), rl(0, static_cast<int>(n.t), "rl");
  rm.where(rm < (v.ib + 1) * n.qb);
  rl.where(rl < (v.ib + 1) * n.qb);
  r.m(v.ii, v.ib, v.h, v.b) = -std::numeric_limits<float>::infinity();
  r.m(v.ii, v.ib, v.h, v.b) =
      max(r.m(v.ii, v.ib, v.h, v.b),
          select(rm <= t, s(v.ii, rm, v.ib, v.h, v.b), -std::numeric_limits<float>::infinity()));
  r.e(v.ii, v.j, v.ib, v.h, v.b) = select(
      v.j <= t, exp((s(v.ii, v.j, v.ib, v.h, v.b) - r.m(v.ii, v.ib, v.h, v.b)) * scale), 0.0f);
  r.l(v.ii, v.ib, v.h, v.b) = 0.0f;
  r.l(v.ii, v.ib, v.h, v.b) += r.e(v.ii, rl, v.ib, v.h, v.b);
  if (n.qb >= vec) {
    for (Func f : {r.m, r.l}) {
      f.vectorize(v.ii, vec, TailStrategy::GuardWithIf);
      f.update().vectorize(v.ii, vec, TailStrategy::GuardWithIf);
    }
    r.e.vectorize(v.ii, vec, TailStrategy::GuardWithIf);
  }
  return r;
}

// A row-shaped accumulator's register tile: vectorised along D, its tm rows unrolled.
void ScheduleTile(Func acc, const Dims& n, const Vars& v, int vec, int tm) {
  for (Stage st : {Stage(acc), acc.update()}) {
    if (n.d >= vec) st.vectorize(v.d, vec, TailStrategy::GuardWithIf).unroll(v.d);
    if (tm > 1) st.unroll(v.ii);
  }
}

// out(dd, ii, ib, h, b) = sum over keys j <= the block's last row of w(ii, j, ib) * y[j][dd]
// (w zero past each row's own diagonal). Vectorised along D, tm rows a register tile;
// returns the accumulator, to be computed at the consumer's row-tile loop.
Func WeightsTimesRows(const std::string& name, Func w, Func y, const Dims& n, const Vars& v,
                      int vec, int tm) {
  RDom rj(0, static_cast<int>(n.t), name + "_rj");
  rj.where(rj < (v.ib + 1) * n.qb);
  Func acc(name);
  acc(v.d, v.ii, v.ib, v.h, v.b) = 0.0f;
  acc(v.d, v.ii, v.ib, v.h, v.b) += w(v.ii, rj, v.ib, v.h, v.b) * y(v.d, rj, v.h, v.b);
  acc.update().reorder(v.d, v.ii, rj, v.ib);
  ScheduleTile(acc, n, v, vec, tm);
  return acc;
}

// out(dd, jj, jb, h, b) = sum over queries i >= key block jb of w(i, j) * y[i][dd], where
// w is a per-head [T x T] buffer (ii, j, ib) zero above the diagonal: the transposed
// products dk = dS^T q and dv = P^T dy.
Func TransposedWeightsTimesRows(const std::string& name, Func w, Func y, const Dims& n,
                                const Vars& v, int vec, int tm) {
  RDom r(0, n.qb, 0, n.nb, name + "_r");  // r.x: query row in its block, r.y: query block
  r.where(r.y >= v.ib);
  Func acc(name);
  const Expr j = Row(n, v.ii, v.ib);
  acc(v.d, v.ii, v.ib, v.h, v.b) = 0.0f;
  acc(v.d, v.ii, v.ib, v.h, v.b) += w(r.x, j, r.y, v.h, v.b) * y(v.d, Row(n, r.x, r.y), v.h, v.b);
  acc.update().reorder(v.d, v.ii, r.x, r.y, v.ib);
  ScheduleTile(acc, n, v, vec, tm);
  return acc;
}

// A block's scratch (its scores, softmax, transposed rows): computed per block, stored once
// per head at the size of the largest block, on the stack (a few KB; a size that varies
// with the block would be a heap allocation per block).
void BlockScratch(Func f, LoopLevel block, Func head_loop, const Dims& n) {
  f.compute_at(block).store_at(head_loop, Var("bh"));
  if (n.qb * n.t * 4 <= 64 * 1024) f.store_in(MemoryType::Stack);
}

// Parallel over (batch, head); the block loop and the row tiles of tm rows inside.
// Returns the row-tile loop, where register accumulators are computed.
Var ScheduleRowsOut(Func out, const Dims& n, const Vars& v, int vec, int tm) {
  Var bh("bh"), io("io"), iin("iin");
  out.split(v.ii, io, iin, tm, TailStrategy::GuardWithIf)
      .reorder(v.d, iin, io, v.ib, v.h, v.b)
      .fuse(v.h, v.b, bh)
      .parallel(bh);
  if (n.d >= vec) out.vectorize(v.d, vec, TailStrategy::GuardWithIf);
  if (tm > 1) out.unroll(iin);
  return io;
}

absl::Status Forward(Ctx& c, const Dims& n, float scale) {
  const Vars v;
  std::vector<Func> per_head;
  Func q = Operand(c, 0, n, per_head, /*once=*/true);  // read by the transpose alone
  Func k = KeyValue("k", c, 1, n, per_head), val = KeyValue("v", c, 2, n, per_head);
  const int tm = TileRows(n, c.vec);
  Func qt = Transposed("qt", q, n, v, c.vec);
  Func s = RowsTimesKeys("s", qt, k, n, v, c.vec);
  BlockSoftmax sm = Softmax(s, n, v, scale, c.vec);
  // f32: the unnormalised weights, divided once per output; bf16: the probabilities as the
  // product reads them, rounded.
  Func w("w");
  w(v.ii, v.j, v.ib, v.h, v.b) =
      RoundBf16(sm.e(v.ii, v.j, v.ib, v.h, v.b) / sm.l(v.ii, v.ib, v.h, v.b));
  if (n.qb >= c.vec) w.vectorize(v.ii, c.vec, TailStrategy::GuardWithIf);
  Func o = WeightsTimesRows("o", n.bf16 ? w : sm.e, val, n, v, c.vec, tm);
  Func out("out");
  out(v.d, v.ii, v.ib, v.h, v.b) =
      c.Stored(0, n.bf16 ? o(v.d, v.ii, v.ib, v.h, v.b)
                         : o(v.d, v.ii, v.ib, v.h, v.b) / sm.l(v.ii, v.ib, v.h, v.b));
  const Var io = ScheduleRowsOut(out, n, v, c.vec, tm);
  o.compute_at(out, io);
  for (Func f : {qt, s, sm.m, sm.e, sm.l}) BlockScratch(f, LoopLevel(out, v.ib), out, n);
  if (n.bf16) BlockScratch(w, LoopLevel(out, v.ib), out, n);
  for (Func f : per_head) f.compute_at(out, Var("bh"));
  c.Output(out, {n.b, n.h, n.nb, n.qb, n.d}, BlockedStrides(c, 0, n));
  return absl::OkStatus();
}

// s(ii, j, ib) = sum_dd x[t][dd] y[j][dd] on vdpbf16ps for block ib's queries t (the lanes):
// x's rows moved in 32-bit pairs (the returned `pairs`, block scratch like s), y's pair
// broadcast from its row. x and y are bf16 (d, t, h, b) Funcs.
struct DotScores {
  Func s, pairs;
};
DotScores ScoresOnDot(const std::string& name, Func x, Func y, const Dims& n, const Vars& v) {
  Var p("p"), dp("dp");
  Func rows(name + "_rows"), pairs(name + "_pairs");
  rows(p, dp, v.ii, v.ib, v.h, v.b) = x(2 * dp + p, Row(n, v.ii, v.ib), v.h, v.b);
  pairs(p, v.ii, dp, v.ib, v.h, v.b) = rows(p, dp, v.ii, v.ib, v.h, v.b);
  RDom r(0, 2, 0, static_cast<int>(n.d / 2), name + "_r");
  Func acc(name + "_acc"), s(name);
  acc(v.ii, v.j, v.ib, v.h, v.b) = 0.0f;
  acc(v.ii, v.j, v.ib, v.h, v.b) += cast<float>(pairs(r.x, v.ii, r.y, v.ib, v.h, v.b)) *
                                    cast<float>(y(2 * r.y + r.x, v.j, v.h, v.b));
  s(v.ii, v.j, v.ib, v.h, v.b) = acc(v.ii, v.j, v.ib, v.h, v.b);
  Var jo("jo"), ji("ji");
  s.split(v.j, jo, ji, 8, TailStrategy::RoundUp).reorder(v.ii, ji, jo).vectorize(v.ii).unroll(ji);
  acc.compute_at(s, jo).vectorize(v.ii).unroll(v.j);
  acc.update().reorder(r.x, v.ii, v.j, r.y).atomic().vectorize(r.x).vectorize(v.ii).unroll(v.j);
  rows.compute_at(pairs, v.ii).vectorize(p).vectorize(dp);
  return {s, pairs};
}

// k or v as bf16 (d, t, h, b) for query head h (grouped-query: head h / repeat).
Func KeyValueBf16(const std::string& name, Ctx& c, int i, const Dims& n) {
  ImageParam x = Param(c, i, n);
  Var d("d"), t("t"), h("h"), b("b");
  Func f(name);
  f(d, t, h, b) = x(d, t, h / static_cast<int>(n.repeat), b);
  return f;
}

// Head-dim pairs of a bf16 (d, t, h, b) Func for vdpbf16ps: xp(p, d, tp) = x[2 tp + p][d], lanes
// (p, d): a vector of 16 head dims holds both rows of a pair. Per head, added to `per_head`.
Func RowPairs(const std::string& name, Func x, const Vars& v, int vec,
              std::vector<Func>& per_head) {
  Var p("p"), tp("tp"), vo("vo"), vi("vi");
  Func rows(name + "_rows"), xp(name);
  rows(v.d, p, tp, v.h, v.b) = x(v.d, 2 * tp + p, v.h, v.b);
  xp(p, v.d, tp, v.h, v.b) = rows(v.d, p, tp, v.h, v.b);
  xp.split(v.d, vo, vi, vec).vectorize(p).vectorize(vi);
  rows.compute_at(xp, vo).vectorize(v.d, vec).unroll(p);
  per_head.push_back(xp);
  return xp;
}

// The backward's three products on vdpbf16ps, for the mixed-precision form whose operands are
// all bf16 values: dq = dS k, dk = dS^T q, dv = P^T dy, each accumulating f32 over pairs of the
// reduction (vdpbf16ps: acc[lane] += a pair . b pair). Head dims are the lanes; k, q and dy in
// row pairs (RowPairs); dS and P broadcast a pair: for dk and dv two adjacent queries of the
// per-head buffers (queries are their fastest axis), for dq two adjacent keys of a per-block
// copy of dS (`ds_pairs`).
struct DotProducts {
  Func dq, dk, dv, ds_pairs;
  std::vector<Func> per_head;
};
// `kb` and `dyb` are k and dy as the scores' products read them (bf16 (d, t, h, b) Funcs).
DotProducts ProductsOnDot(Ctx& c, const Dims& n, const Vars& v, Func p, Func ds, Func kb, Func dyb,
                          int tm) {
  DotProducts r;
  Var pr("pr"), jp("jp");
  Func kp = RowPairs("kp", kb, v, c.vec, r.per_head);
  Func qp = RowPairs("qp", Param(c, 0, n), v, c.vec, r.per_head);
  Func dyp = RowPairs("dyp", dyb, v, c.vec, r.per_head);
  // dS of block ib's queries with pairs of keys adjacent: dsq(pr, ii, jp) = dS[ii][2 jp + pr].
  r.ds_pairs = Func("ds_pairs");
  r.ds_pairs(pr, v.ii, jp, v.ib, v.h, v.b) = ds(v.ii, 2 * jp + pr, v.ib, v.h, v.b);
  r.ds_pairs.vectorize(pr).vectorize(v.ii, c.vec);
  auto schedule = [&](Func acc, RVar pair, std::vector<VarOrRVar> order) {
    acc.vectorize(v.d, c.vec).unroll(v.d);
    if (tm > 1) acc.unroll(v.ii);
    Stage u = acc.update();
    u.reorder(order).atomic().vectorize(pair).vectorize(v.d, c.vec).unroll(v.d);
    if (tm > 1) u.unroll(v.ii);
  };
  // dq(d, ii, ib) = sum over key pairs up to block ib's last row.
  RDom rq(0, 2, 0, static_cast<int>(n.t / 2), "rq");
  rq.where(rq.y < (v.ib + 1) * (n.qb / 2));
  r.dq = Func("dq");
  r.dq(v.d, v.ii, v.ib, v.h, v.b) = 0.0f;
  r.dq(v.d, v.ii, v.ib, v.h, v.b) += cast<float>(r.ds_pairs(rq.x, v.ii, rq.y, v.ib, v.h, v.b)) *
                                     cast<float>(kp(rq.x, v.d, rq.y, v.h, v.b));
  schedule(r.dq, rq.x, {rq.x, v.d, v.ii, rq.y, v.ib});
  // dk and dv of keys (ii, ib) = (jj, jb): sum over query pairs of the blocks from jb on.
  RDom rk(0, 2, 0, n.qb / 2, 0, n.nb, "rk");  // pair member, pair in block, query block
  rk.where(rk.z >= v.ib);
  const Expr j = Row(n, v.ii, v.ib), query = 2 * rk.y + rk.x, pair = rk.z * (n.qb / 2) + rk.y;
  r.dk = Func("dk");
  r.dk(v.d, v.ii, v.ib, v.h, v.b) = 0.0f;
  r.dk(v.d, v.ii, v.ib, v.h, v.b) +=
      cast<float>(ds(query, j, rk.z, v.h, v.b)) * cast<float>(qp(rk.x, v.d, pair, v.h, v.b));
  schedule(r.dk, rk.x, {rk.x, v.d, v.ii, rk.y, rk.z, v.ib});
  r.dv = Func("dv");
  r.dv(v.d, v.ii, v.ib, v.h, v.b) = 0.0f;
  r.dv(v.d, v.ii, v.ib, v.h, v.b) +=
      cast<float>(p(query, j, rk.z, v.h, v.b)[1]) * cast<float>(dyp(rk.x, v.d, pair, v.h, v.b));
  schedule(r.dv, rk.x, {rk.x, v.d, v.ii, rk.y, rk.z, v.ib});
  return r;
}

// `dot`: S = q k^T and dP = dy v^T on vdpbf16ps (ScoresOnDot; mixed-precision form only), and
// the three products too (ProductsOnDot).
absl::Status Backward(Ctx& c, const Dims& n, float scale, bool dot = false) {
  const Vars v;
  std::vector<Func> per_head;
  Func q = Operand(c, 0, n, per_head), dy = Operand(c, 3, n, per_head);
  Func k = KeyValue("k", c, 1, n, per_head), val = KeyValue("v", c, 2, n, per_head);
  const int tm = TileRows(n, c.vec);

  // P, block by block into a per-head buffer; zero above the diagonal.
  Func qt, s, dyt, dp;
  Func kb, dyb;  // dot: k and dy as the products read them
  if (dot) {
    // The bf16 operands: q, k and v as stored, dy as the body rounds it.
    dyb = Func("dy_bf16");
    Var d("d"), t("t"), h("h"), b("b");
    dyb(d, t, h, b) = cast(BFloat(16), dy(d, t, h, b));
    kb = KeyValueBf16("k_bf16", c, 1, n);
    const DotScores ss = ScoresOnDot("s", c.params[0], kb, n, v);
    const DotScores sp = ScoresOnDot("dp", dyb, KeyValueBf16("v_bf16", c, 2, n), n, v);
    qt = ss.pairs, s = ss.s, dyt = sp.pairs, dp = sp.s;
  } else {
    qt = Transposed("qt", q, n, v, c.vec);
    s = RowsTimesKeys("s", qt, k, n, v, c.vec);
    dyt = Transposed("dyt", dy, n, v, c.vec);
    dp = RowsTimesKeys("dp", dyt, val, n, v, c.vec);
  }
  BlockSoftmax sm = Softmax(s, n, v, scale, c.vec);
  RDom rp(0, static_cast<int>(n.t), "rp");
  rp.where(rp < (v.ib + 1) * n.qb);
  Func p("p");
  // No initial value: every element the products below read is written by the update (the
  // masked ones as 0), so the pure stage is a no-op (undef) rather than a pass of stores.
  // On vdpbf16ps, P is written twice in the same pass: f32 for dS, bf16 for dv's product.
  const Expr pv = sm.e(v.ii, rp, v.ib, v.h, v.b) / sm.l(v.ii, v.ib, v.h, v.b);
  if (dot) {
    p(v.ii, v.j, v.ib, v.h, v.b) = Tuple(undef<float>(), undef(BFloat(16)));
    p(v.ii, rp, v.ib, v.h, v.b) = Tuple(pv, cast(BFloat(16), pv));
  } else {
    p(v.ii, v.j, v.ib, v.h, v.b) = undef<float>();
    p(v.ii, rp, v.ib, v.h, v.b) = pv;
  }
  // P in f32 at (ii, j), whichever form p has.
  auto pf = [&](Expr ii, Expr j) {
    return dot ? Expr(p(ii, j, v.ib, v.h, v.b)[0]) : Expr(p(ii, j, v.ib, v.h, v.b));
  };

  // dS = P * (dP - rowsum(P * dP)) * scale with dP = dy v^T, likewise.
  RDom rr(0, static_cast<int>(n.t), "rr"), rs(0, static_cast<int>(n.t), "rs");
  rr.where(rr < (v.ib + 1) * n.qb);
  rs.where(rs < (v.ib + 1) * n.qb);
  Func rowdot("rowdot"), ds("ds");
  rowdot(v.ii, v.ib, v.h, v.b) = 0.0f;
  rowdot(v.ii, v.ib, v.h, v.b) += pf(v.ii, rr) * dp(v.ii, rr, v.ib, v.h, v.b);
  // dS: f32 rounded to bf16 values, or bf16 itself where the products read it on vdpbf16ps.
  ds(v.ii, v.j, v.ib, v.h, v.b) = dot ? undef(BFloat(16)) : undef<float>();
  const Expr dsv =
      pf(v.ii, rs) * (dp(v.ii, rs, v.ib, v.h, v.b) - rowdot(v.ii, v.ib, v.h, v.b)) * scale;
  ds(v.ii, rs, v.ib, v.h, v.b) = dot ? cast(BFloat(16), dsv) : n.bf16 ? RoundBf16(dsv) : dsv;
  // The probabilities as dv's product reads them (on vdpbf16ps: p's bf16 half).
  Func pw("pw");
  if (!dot) pw(v.ii, v.j, v.ib, v.h, v.b) = RoundBf16(p(v.ii, v.j, v.ib, v.h, v.b));

  // The three products, register-tiled: each accumulator is computed per tile of tm rows of
  // the output, one after the other (so each has the registers to itself), and written out
  // as one Tuple: no per-head result buffers and no copy.
  Func dq, dk, dv;
  std::vector<Func> pair_blocks;  // dot: dS in pairs of keys, per block of queries
  if (dot) {
    const DotProducts d3 = ProductsOnDot(c, n, v, p, ds, kb, dyb, tm);
    dq = d3.dq, dk = d3.dk, dv = d3.dv;
    pair_blocks = {d3.ds_pairs};
    per_head.insert(per_head.end(), d3.per_head.begin(), d3.per_head.end());
  } else {
    dq = WeightsTimesRows("dq", ds, k, n, v, c.vec, tm);
    dk = TransposedWeightsTimesRows("dk", ds, q, n, v, c.vec, tm);
    dv = TransposedWeightsTimesRows("dv", n.bf16 ? pw : p, dy, n, v, c.vec, tm);
  }
  // dq, dk and dv and any bf16 copies of them, each rounded where the node stores bf16.
  Func grad("grad");
  const std::vector<Expr> at = {v.d, v.ii, v.ib, v.h, v.b};
  const Expr products[3] = {dq(at), dk(at), dv(at)};
  std::vector<Expr> values;
  std::vector<int> results;
  std::vector<std::vector<int64_t>> strides;
  for (const auto& [result, of] : GradResults(c)) {
    values.push_back(c.Stored(result, products[of]));
    results.push_back(result);
    strides.push_back(BlockedStrides(c, result, n));
  }
  grad(v.d, v.ii, v.ib, v.h, v.b) = Tuple(values);
  c.BindOutputs(results);

  // Per head: P and dS (with the block's scores, softmax and dP computed at each block of
  // their update loops), then the products, each its own nest with register accumulators.
  Var bh("bh");
  const Var io = ScheduleRowsOut(grad, n, v, c.vec, tm);
  for (Func f : {p, ds}) {
    f.compute_at(grad, bh);
    if (n.qb >= c.vec) {
      f.vectorize(v.ii, c.vec, TailStrategy::GuardWithIf);
      f.update().vectorize(v.ii, c.vec, TailStrategy::GuardWithIf);
    }
  }
  p.update().reorder(v.ii, rp, v.ib);
  ds.update().reorder(v.ii, rs, v.ib);
  for (Func f : {qt, s, sm.m, sm.e, sm.l}) BlockScratch(f, LoopLevel(p, v.ib), grad, n);
  for (Func f : {dyt, dp, rowdot}) BlockScratch(f, LoopLevel(ds, v.ib), grad, n);
  if (n.qb >= c.vec) {
    rowdot.vectorize(v.ii, c.vec, TailStrategy::GuardWithIf);
    rowdot.update().vectorize(v.ii, c.vec, TailStrategy::GuardWithIf);
  }
  for (Func f : {dq, dk, dv}) f.compute_at(grad, io);
  for (Func f : pair_blocks) f.compute_at(grad, v.ib);
  for (Func f : per_head) f.compute_at(grad, bh);
  c.OutputTuple(grad, {n.b, n.h, n.nb, n.qb, n.d}, strides);
  return absl::OkStatus();
}

// The mixed-precision forward with both products on vdpbf16ps (on Zen 4 it retires twice the
// FLOPs of an f32 FMA; on Intel half, so the tuner keeps whichever is faster). q k^T: the
// block's 16 queries are the lanes, each a pair of head dims (q's rows moved in 32-bit pairs),
// times k's pair broadcast from its row. p v: head dims are the lanes, v's keys interleaved in
// pairs per head, times the rounded probabilities' pair broadcast. The softmax stays f32.
absl::Status ForwardDot(Ctx& c, const Dims& n, float scale) {
  const Vars v;
  Var p("p"), jp("jp");
  ImageParam q = Param(c, 0, n);
  Func vin = KeyValueBf16("v_bf16", c, 2, n);
  const DotScores sd = ScoresOnDot("s", q, KeyValueBf16("k_bf16", c, 1, n), n, v);
  Func s = sd.s;
  BlockSoftmax sm = Softmax(s, n, v, scale, c.vec);
  // The probabilities rounded, pairs of keys adjacent per query: wb(p, ii, jp).
  Func wb("wb");
  wb(p, v.ii, jp, v.ib, v.h, v.b) =
      cast(BFloat(16), sm.e(v.ii, 2 * jp + p, v.ib, v.h, v.b) / sm.l(v.ii, v.ib, v.h, v.b));
  wb.vectorize(p).vectorize(v.ii);
  // v's keys in pairs per head dim: vp(p, d, jp) = v[2 jp + p][d], lanes (p, d).
  Func vrows("vrows"), vp("vp");
  vrows(v.d, p, jp, v.h, v.b) = vin(v.d, 2 * jp + p, v.h, v.b);
  vp(p, v.d, jp, v.h, v.b) = vrows(v.d, p, jp, v.h, v.b);
  RDom ro(0, 2, 0, static_cast<int>(n.t / 2), "ro");
  ro.where(ro.y < (v.ib + 1) * (n.qb / 2));
  const int tm = TileRows(n, c.vec);
  Func oacc("oacc"), out("out");
  oacc(v.d, v.ii, v.ib, v.h, v.b) = 0.0f;
  oacc(v.d, v.ii, v.ib, v.h, v.b) += cast<float>(wb(ro.x, v.ii, ro.y, v.ib, v.h, v.b)) *
                                     cast<float>(vp(ro.x, v.d, ro.y, v.h, v.b));
  out(v.d, v.ii, v.ib, v.h, v.b) = c.Stored(0, oacc(v.d, v.ii, v.ib, v.h, v.b));
  const Var io = ScheduleRowsOut(out, n, v, c.vec, tm);
  oacc.compute_at(out, io).vectorize(v.d, c.vec).unroll(v.d);
  if (tm > 1) oacc.unroll(v.ii);
  oacc.update()
      .reorder(ro.x, v.d, v.ii, ro.y, v.ib)
      .atomic()
      .vectorize(ro.x)
      .vectorize(v.d, c.vec)
      .unroll(v.d);
  if (tm > 1) oacc.update().unroll(v.ii);
  for (Func f : {sd.pairs, s, sm.m, sm.e, sm.l, wb}) BlockScratch(f, LoopLevel(out, v.ib), out, n);
  Var vo("vo"), vi("vi");
  vp.compute_at(out, Var("bh")).split(v.d, vo, vi, c.vec).vectorize(p).vectorize(vi);
  vrows.compute_at(vp, vo).vectorize(v.d, c.vec).unroll(p);
  c.Output(out, {n.b, n.h, n.nb, n.qb, n.d}, BlockedStrides(c, 0, n));
  return absl::OkStatus();
}

// The AMX kernel as an extern stage over the operands' whole buffers; its results are the
// kernel's (one per result, at the plan's strides).
absl::Status Amx(Ctx& c, const Dims& n, float scale) {
  const bool emulated = AmxGemmMode() == AmxMode::kEmulated;
  c.variant_name = emulated ? "amx (emulated)" : "amx";
  const bool grad = c.spec.op == ir::Op::kCausalAttentionGrad;
  std::vector<ExternFuncArgument> args = {Expr(emulated ? 1 : 0), Expr(static_cast<int>(n.repeat)),
                                          Expr(scale)};
  for (int i = 0; i < (grad ? 4 : 3); ++i) args.push_back(Param(c, i, n));
  auto strides = [&](int out) { return OutputStrides(c, out); };
  Func f(grad ? "amx_attention_grad" : "amx_attention");
  if (!grad) {
    f.define_extern("gptc_amx_attention", args, c.type_of(c.spec.outputs[0]), 4);
    c.Output(f, {n.b, n.h, n.t, n.d}, strides(0));
  } else {
    // dq, dk, dv, then the bf16 copy of each where the node yields copies (of all three).
    std::vector<int> results;
    std::vector<Type> types;
    std::vector<std::vector<int64_t>> out_strides;
    for (const auto& [r, of] : GradResults(c)) {
      results.push_back(r);
      types.push_back(c.type_of(c.spec.outputs[r]));
      out_strides.push_back(strides(r));
    }
    f.define_extern(
        results.size() > 3 ? "gptc_amx_attention_grad_copies" : "gptc_amx_attention_grad", args,
        types, 4);
    c.BindOutputs(results);
    c.OutputTuple(f, {n.b, n.h, n.t, n.d}, out_strides);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Attention(Ctx& c) {
  const ir::Shape& qs = c.spec.inputs[0].shape;
  if (qs.size() != 4)
    return absl::InvalidArgumentError("causal_attention: q, k and v must be [B, H, T, D]");
  Dims n{qs[0], qs[1], qs[2], qs[3], 0, 0};
  n.qb = BlockRows(n.t, c.vec);
  n.nb = static_cast<int>(n.t / n.qb);
  n.repeat = c.spec.attrs.GetInt("kv_repeat").value_or(1);
  n.bf16 = c.spec.inputs[0].dtype == ir::DType::kBF16;
  const float scale = static_cast<float>(*c.spec.attrs.GetFloat("scale"));
  // The mixed-precision form's other candidates: the forward on vdpbf16ps (blocks of 16
  // queries, head dims in whole vectors), and the AMX kernel (amx_attention.h), last.
  const bool dot =
      n.bf16 && n.qb == 16 && n.d % 16 == 0 && c.target.has_feature(Target::AVX512_SapphireRapids);
  // The AMX kernel writes the op's own results (f32 or bf16), and bf16 copies besides of
  // all three gradients or of none.
  const int results = static_cast<int>(c.spec.outputs.size());
  const int own = ir::GetOpInfo(c.spec.op).num_outputs;
  const bool copies_fit =
      results == own || (c.spec.op == ir::Op::kCausalAttentionGrad && results == 2 * own);
  const bool amx =
      n.bf16 && copies_fit && AmxGemmMode() != AmxMode::kOff && AmxAttentionFits(n.t, n.d);
  c.num_variants = 1 + (dot ? 1 : 0) + (amx ? 1 : 0);
  if (c.variant < 0 || c.variant >= c.num_variants)
    return absl::InvalidArgumentError(
        absl::StrCat("causal_attention has no schedule variant ", c.variant));
  if (c.num_variants > 1) c.variant_name = "halide";
  if (amx && c.variant == c.num_variants - 1) return Amx(c, n, scale);
  if (dot && c.variant == 1) {
    c.variant_name = "halide bf16 dot";
    if (c.spec.op == ir::Op::kCausalAttentionGrad) return Backward(c, n, scale, /*dot=*/true);
    return ForwardDot(c, n, scale);
  }
  if (c.spec.op == ir::Op::kCausalAttention) return Forward(c, n, scale);
  return Backward(c, n, scale);
}

}  // namespace gptc::codegen::lower
