#include "passes/chunk_xent.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ir/emitter.h"
#include "ir/fused_ops.h"
#include "ir/printer.h"
#include "ir/status_macros.h"
#include "passes/dce.h"
#include "passes/fusion_group.h"

namespace gptc::passes {

using ir::NodeId;
using ir::Op;
using ir::ValueId;

namespace {

// A matmul's transpose flag (absent means false).
bool Flag(const ir::Node& n, const char* name) { return *n.attrs.GetBool(name); }

// One output head and its loss, as the fuse pass left them.
struct Head {
  NodeId logits_mm = -1, fwd = -1;          // matmul(x, w^T), softmax_xent
  NodeId bwd = -1, dx_mm = -1, dw_mm = -1;  // softmax_xent_grad, dlogits w, dlogits^T x
  NodeId dl_reshape = -1;                   // dlogits as [N, V], when it has more axes
  ValueId x = -1, w = -1, targets = -1, dloss = -1;
  // The loss's gradient is known before the forward runs (autodiff's constant seed, or a value
  // computed earlier): each chunk's gradients are then computed with its forward, from the
  // same logits, and the backward has nothing left to do; else the backward recomputes them.
  bool early = false;
  int64_t rows = 0, vocab = 0, chunk = 0, chunks = 0;
  std::vector<ValueId> x_chunks, t_chunks;  // in the rebuilt graph
};

// Reads the graph through the fuse pass's FusionContext (readers and escaping values).
class Matcher {
 public:
  explicit Matcher(const ir::Graph& g) : g_(g), c_(g) {}

  // Whether v is computed before node `at`, or by a node that reads nothing (a constant), which
  // can be computed anywhere.
  bool AvailableAt(ValueId v, NodeId at) const {
    const NodeId p = g_.value(v).producer;
    return p < at || g_.node(p).inputs.empty();
  }

  // Why `fwd` cannot be chunked, or "" with `h` filled in.
  std::string Match(NodeId fwd, Head* h) const {
    const ir::Node& f = g_.node(fwd);
    const ValueId logits = f.inputs[0];
    const NodeId mm = g_.value(logits).producer;
    const ir::Node& m = g_.node(mm);
    if (m.op != Op::kMatMul || Flag(m, "transpose_a") || !Flag(m, "transpose_b") ||
        g_.value(m.inputs[1]).type.shape.size() != 2)
      return "the logits are not matmul(x, w) with transpose_b (an output head)";
    if (c_.Escapes(logits)) return "the logits are returned";
    h->logits_mm = mm;
    h->fwd = fwd;
    h->x = m.inputs[0];
    h->w = m.inputs[1];
    h->targets = f.inputs[1];
    const ir::Shape& ls = g_.value(logits).type.shape;
    h->vocab = ls.back();
    h->rows = ir::NumElements(ls) / h->vocab;
    for (NodeId r : c_.Consumers(logits)) {
      if (r == fwd) continue;
      const ir::Node& b = g_.node(r);
      if (b.op != Op::kSoftmaxXentGrad || h->bwd >= 0 || b.inputs[0] != logits ||
          b.inputs[1] != h->targets)
        return absl::StrCat("the logits are also read by: ", ir::PrintNode(g_, r));
      h->bwd = r;
      h->dloss = b.inputs[2];
    }
    if (h->bwd < 0) return "";
    h->early = AvailableAt(h->dloss, fwd);
    return MatchGradients(h);
  }

 private:
  // dlogits must be read only by dx = matmul(dlogits, w) and dw = matmul(dlogits^T, x), the
  // latter maybe through reshapes to [N, V] and [N, C].
  std::string MatchGradients(Head* h) const {
    const ValueId dl = g_.node(h->bwd).outputs[0];
    if (c_.Escapes(dl)) return "the logits' gradient is returned";
    for (NodeId r : c_.Consumers(dl)) {
      const ir::Node& n = g_.node(r);
      if (n.op == Op::kMatMul && n.inputs[0] == dl && n.inputs[1] == h->w &&
          !Flag(n, "transpose_a") && !Flag(n, "transpose_b") && h->dx_mm < 0) {
        h->dx_mm = r;
      } else if (n.op == Op::kReshape && h->dl_reshape < 0 && !c_.Escapes(n.outputs[0]) &&
                 c_.Consumers(n.outputs[0]).size() == 1 &&
                 IsWeightGradient(c_.Consumers(n.outputs[0])[0], n.outputs[0], h)) {
        h->dl_reshape = r;
        h->dw_mm = c_.Consumers(n.outputs[0])[0];
      } else if (!IsWeightGradient(r, dl, h) || h->dw_mm >= 0) {
        return absl::StrCat("the logits' gradient is also read by: ", ir::PrintNode(g_, r));
      } else {
        h->dw_mm = r;
      }
    }
    if (h->dx_mm < 0 || h->dw_mm < 0)
      return "the logits' gradient does not feed both the input's and the weight's gradient";
    return "";
  }

  // matmul(dl^T, x) with x the head's input (maybe reshaped): the weight's gradient.
  bool IsWeightGradient(NodeId r, ValueId dl, const Head* h) const {
    const ir::Node& n = g_.node(r);
    if (n.op != Op::kMatMul || n.inputs[0] != dl || !Flag(n, "transpose_a") ||
        Flag(n, "transpose_b"))
      return false;
    ValueId xr = n.inputs[1];
    while (xr != h->x && g_.node(g_.value(xr).producer).op == Op::kReshape)
      xr = g_.node(g_.value(xr).producer).inputs[0];
    return xr == h->x;
  }

  const ir::Graph& g_;
  const FusionContext c_;
};

// The largest divisor of `rows` whose logits fit in `bytes` (at least 1).
int64_t ChunkRows(int64_t rows, int64_t vocab, int64_t bytes) {
  for (int64_t r = rows; r > 1; --r)
    if (rows % r == 0 && r * vocab * 4 <= bytes) return r;
  return 1;
}

// A fused node of op `op` whose body `build` writes (from the body's inputs, declared as the
// operands), as the fuse pass would have made it.
absl::StatusOr<ValueId> EmitFused(
    ir::Emitter& e, Op op, const std::vector<ValueId>& ins, const std::string& name,
    const std::function<ValueId(ir::Emitter&, const std::vector<ValueId>&)>& build) {
  ir::Graph& g = e.graph();
  auto body = std::make_shared<ir::Graph>(ir::OpName(op));
  ir::Emitter be(*body);
  std::vector<ValueId> in;
  for (ValueId v : ins) in.push_back(body->AddInput(g.value(v).name, g.value(v).type));
  const ValueId r = build(be, in);
  body->AddOutput(r);
  ASSIGN_OR_RETURN(ir::Attrs attrs, ir::FusedAttrs(op, *body));
  const NodeId n = g.AddNode(op, ins, std::move(attrs), {{e.Unique(name), body->value(r).type}});
  g.SetBody(n, body);
  return g.node(n).outputs[0];
}

// softmax_xent(logits, targets) or softmax_xent_grad(logits, targets, dloss).
absl::StatusOr<ValueId> FusedXent(ir::Emitter& e, Op op, const std::vector<ValueId>& ins,
                                  const std::string& name) {
  return EmitFused(e, op, ins, name, [op](ir::Emitter& be, const std::vector<ValueId>& in) {
    const ValueId p = be.Emit(Op::kSoftmax, {in[0]}, {}, "probs");
    if (op == Op::kSoftmaxXent) return be.Emit(Op::kXent, {p, in[1]}, {}, "loss");
    const ValueId dp = be.Emit(Op::kXentGrad, {p, in[1], in[2]}, {}, "d.probs");
    return be.Emit(Op::kSoftmaxGrad, {p, dp}, {}, "d.logits");
  });
}

// sum + a^T b in one GEMM that writes over `sum` (matmul_add).
absl::StatusOr<ValueId> AccumulateATB(ir::Emitter& e, ValueId a, ValueId b, ValueId sum,
                                      const std::string& name) {
  return EmitFused(
      e, Op::kMatMulAdd, {a, b, sum}, name, [](ir::Emitter& be, const std::vector<ValueId>& in) {
        const ValueId p = be.Emit(Op::kMatMul, {in[0], in[1]}, {{"transpose_a", true}}, "product");
        return be.Emit(Op::kAdd, {p, in[2]}, {}, "sum");
      });
}

ValueId Rows(ir::Emitter& e, ValueId v, ir::Shape shape, const std::string& name) {
  if (e.type(v).shape == shape) return v;
  return e.Emit(Op::kReshape, {v}, {{"shape", shape}}, name);
}

struct Gradients {
  ValueId dx, dw;
};

// Where the gradients go: the names of the values they replace and x's shape.
struct GradientNames {
  ir::Shape x_shape;
  std::string dx, dw;
};

// One chunk's gradients from its logits: dlogits, dx_k (collected in `dxs`) and dw += its
// part (`dw`: -1 before the first chunk; the last chunk's takes the final name).
absl::Status ChunkGradients(ir::Emitter& e, const Head& h, int64_t k, ValueId logits, ValueId w,
                            ValueId dchunk, const GradientNames& names, std::vector<ValueId>& dxs,
                            ValueId& dw) {
  ASSIGN_OR_RETURN(ValueId dl, FusedXent(e, Op::kSoftmaxXentGrad, {logits, h.t_chunks[k], dchunk},
                                         absl::StrCat("d.logits.c", k)));
  dxs.push_back(e.Emit(Op::kMatMul, {dl, w}, {}, absl::StrCat("d.xent.x.c", k)));
  if (k == 0) {
    dw = e.Emit(Op::kMatMul, {dl, h.x_chunks[k]}, {{"transpose_a", true}}, "d.w.sum");
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(
      dw, AccumulateATB(e, dl, h.x_chunks[k], dw, k + 1 == h.chunks ? names.dw : "d.w.sum"));
  return absl::OkStatus();
}

// dx from its chunks: concatenated, in x's shape, under its name.
ValueId JoinRows(ir::Emitter& e, const std::vector<ValueId>& dxs, const GradientNames& names) {
  const ValueId rows = e.Emit(Op::kConcat, dxs, {{"axis", int64_t{0}}},
                              names.x_shape.size() == 2 ? names.dx : "d.xent.x");
  return Rows(e, rows, names.x_shape, names.dx);
}

// The scale of the loss's gradient for each chunk: each chunk's loss is the mean over its own
// rows, and the loss the mean of theirs.
ValueId ChunkScale(ir::Emitter& e, const Head& h, ValueId dloss) {
  return e.Emit(Op::kScale, {dloss}, {{"factor", 1.0 / static_cast<double>(h.chunks)}}, "d.loss.c");
}

// The forward over chunks, with each chunk's gradients too when h.early (`grads` then set);
// returns the loss (named as the one it replaces).
absl::StatusOr<ValueId> EmitForward(ir::Emitter& e, Head& h, ValueId x, ValueId w, ValueId t,
                                    ValueId dloss, const std::string& loss_name,
                                    const GradientNames& names, Gradients* grads) {
  const int64_t width = e.type(x).shape.back();
  const ValueId x2 = Rows(e, x, {h.rows, width}, "xent.x");
  const ValueId t2 = Rows(e, t, {h.rows}, "xent.targets");
  const ValueId dchunk = h.early ? ChunkScale(e, h, dloss) : -1;
  ValueId sum = -1, dw = -1;
  std::vector<ValueId> dxs;
  for (int64_t k = 0; k < h.chunks; ++k) {
    const ir::Attrs cut{{"axis", int64_t{0}}, {"start", k * h.chunk}, {"end", (k + 1) * h.chunk}};
    h.x_chunks.push_back(e.Emit(Op::kSlice, {x2}, cut, absl::StrCat("xent.x.c", k)));
    h.t_chunks.push_back(e.Emit(Op::kSlice, {t2}, cut, absl::StrCat("xent.targets.c", k)));
    const ValueId logits = e.Emit(Op::kMatMul, {h.x_chunks.back(), w}, {{"transpose_b", true}},
                                  absl::StrCat("logits.c", k));
    ASSIGN_OR_RETURN(ValueId loss, FusedXent(e, Op::kSoftmaxXent, {logits, h.t_chunks.back()},
                                             absl::StrCat("loss.c", k)));
    sum = k == 0 ? loss : e.Emit(Op::kAdd, {sum, loss}, {}, "loss.sum");
    if (h.early) RETURN_IF_ERROR(ChunkGradients(e, h, k, logits, w, dchunk, names, dxs, dw));
  }
  if (h.early) *grads = Gradients{JoinRows(e, dxs, names), dw};
  return e.Emit(Op::kScale, {sum}, {{"factor", 1.0 / static_cast<double>(h.chunks)}}, loss_name);
}

// The backward over chunks where the loss's gradient comes later: the logits recomputed per
// chunk.
absl::StatusOr<Gradients> EmitBackward(ir::Emitter& e, const Head& h, ValueId w, ValueId dloss,
                                       const GradientNames& names) {
  const ValueId dchunk = ChunkScale(e, h, dloss);
  std::vector<ValueId> dxs;
  ValueId dw = -1;
  for (int64_t k = 0; k < h.chunks; ++k) {
    const ValueId logits = e.Emit(Op::kMatMul, {h.x_chunks[k], w}, {{"transpose_b", true}},
                                  absl::StrCat("logits.c", k, ".again"));
    RETURN_IF_ERROR(ChunkGradients(e, h, k, logits, w, dchunk, names, dxs, dw));
  }
  return Gradients{JoinRows(e, dxs, names), dw};
}

}  // namespace

absl::StatusOr<ir::Graph> ChunkCrossEntropy(const ir::Graph& g, const ChunkXentOptions& options,
                                            std::ostream* explain) {
  const int64_t min_bytes = options.min_bytes, chunk_bytes = options.chunk_bytes;
  const Matcher matcher(g);
  std::vector<Head> heads;
  std::vector<int> head_of(g.num_nodes(), -1);  // the head whose rewrite replaces the node
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    if (g.node(id).op != Op::kSoftmaxXent) continue;
    Head h;
    const std::string why = matcher.Match(id, &h);
    const std::string at = ir::ValueRef(g, g.node(id).outputs[0]);
    if (!why.empty()) {
      if (explain) *explain << "refuse chunked_xent at " << at << ": " << why << "\n";
      continue;
    }
    h.early = h.early && options.gradients_with_forward;
    h.chunk = ChunkRows(h.rows, h.vocab, chunk_bytes);
    h.chunks = h.rows / h.chunk;
    const int64_t logits_bytes = h.rows * h.vocab * 4;
    if (logits_bytes < min_bytes) {
      if (explain)
        *explain << absl::StrFormat(
            "refuse chunked_xent at %s: the logits (%d x %d, %.1f MiB) are below %.1f MiB, "
            "where the memory saved is worth a GEMM more\n",
            at, h.rows, h.vocab, logits_bytes / 1048576.0, min_bytes / 1048576.0);
      continue;
    }
    if (h.chunks < 2) {
      if (explain)
        *explain << absl::StrFormat(
            "refuse chunked_xent at %s: the logits (%d x %d, %.1f MiB) fit in one chunk\n", at,
            h.rows, h.vocab, logits_bytes / 1048576.0);
      continue;
    }
    if (explain)
      *explain << absl::StrFormat(
          "chunk chunked_xent: %s over %d chunks of %d rows (logits %.1f MiB -> %.1f MiB per "
          "chunk%s)\n",
          at, h.chunks, h.chunk, logits_bytes / 1048576.0, logits_bytes / 1048576.0 / h.chunks,
          h.bwd < 0 ? ""
          : h.early ? ", gradients with the forward"
                    : ", backward recomputes them");
    const int index = static_cast<int>(heads.size());
    for (NodeId n : {h.logits_mm, h.fwd, h.bwd, h.dx_mm, h.dw_mm, h.dl_reshape})
      if (n >= 0) head_of[n] = index;
    heads.push_back(h);
  }
  if (heads.empty()) return g;

  // Copy the graph in order; the forward chunks replace softmax_xent and the backward chunks
  // softmax_xent_grad, where the originals ran (with an early gradient, all of it where
  // softmax_xent was). The replaced values' names are reused.
  ir::Graph out(g.name());
  ir::Emitter e(out);
  for (NodeId id = 0; id < g.num_nodes(); ++id)
    if (head_of[id] < 0)
      for (ValueId v : g.node(id).outputs) e.Unique(g.value(v).name);
  std::vector<ValueId> map(g.num_values(), -1);
  std::vector<bool> copied(g.num_nodes(), false);
  auto copy = [&](NodeId id) {
    const ir::Node& n = g.node(id);
    std::vector<ValueId> ins;
    for (ValueId v : n.inputs) ins.push_back(map[v]);
    std::vector<std::pair<std::string, ir::TensorType>> outs;
    for (ValueId v : n.outputs) outs.emplace_back(g.value(v).name, g.value(v).type);
    const NodeId nn = out.AddNode(n.op, std::move(ins), n.attrs, outs);
    out.SetBody(nn, n.body);
    for (size_t k = 0; k < n.outputs.size(); ++k) map[n.outputs[k]] = out.node(nn).outputs[k];
    copied[id] = true;
  };
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (copied[id]) continue;
    if (head_of[id] < 0) {
      copy(id);
      continue;
    }
    Head& h = heads[head_of[id]];
    GradientNames names;
    if (h.bwd >= 0)
      names = {g.value(h.x).type.shape, g.value(g.node(h.dx_mm).outputs[0]).name,
               g.value(g.node(h.dw_mm).outputs[0]).name};
    auto set_gradients = [&](const Gradients& grads) {
      map[g.node(h.dx_mm).outputs[0]] = grads.dx;
      map[g.node(h.dw_mm).outputs[0]] = grads.dw;
    };
    if (id == h.fwd) {
      if (h.early && map[h.dloss] < 0) copy(g.value(h.dloss).producer);  // a constant
      Gradients grads{-1, -1};
      ASSIGN_OR_RETURN(map[n.outputs[0]], EmitForward(e, h, map[h.x], map[h.w], map[h.targets],
                                                      h.early ? map[h.dloss] : -1,
                                                      g.value(n.outputs[0]).name, names, &grads));
      if (h.early) set_gradients(grads);
    } else if (id == h.bwd && !h.early) {
      ASSIGN_OR_RETURN(Gradients grads, EmitBackward(e, h, map[h.w], map[h.dloss], names));
      set_gradients(grads);
    }
  }
  for (ValueId v : g.outputs()) out.AddOutput(map[v]);
  for (const ir::Graph::Update& u : g.updates()) out.AddUpdate(map[u.target], map[u.value]);
  // The reshape of x that only the old weight gradient read is now dead.
  return DeadCodeElimination(out);
}

}  // namespace gptc::passes
