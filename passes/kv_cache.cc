#include "passes/kv_cache.h"

#include <numeric>

#include "absl/strings/str_cat.h"
#include "ir/emitter.h"
#include "ir/printer.h"
#include "ir/shape_inference.h"
#include "ir/status_macros.h"

namespace gptc::passes {
namespace {

using ir::Node;
using ir::Op;
using ir::Shape;
using ir::ValueId;

constexpr int kNone = -1;  // a value without the sequence axis

int64_t Product(const Shape& s, int from, int to) {
  return std::accumulate(s.begin() + from, s.begin() + to, int64_t{1}, std::multiplies<>());
}

class Deriver {
 public:
  Deriver(const ir::Graph& in, KvGraph which)
      : in_(in),
        which_(which),
        out_(in.name()),
        e_(out_),
        map_(in.num_values(), -1),
        seq_(in.num_values(), kNone),
        used_(in.num_values(), false) {}

  absl::StatusOr<ir::Graph> Run() {
    for (const Node& n : in_.nodes())
      for (ValueId v : n.inputs) used_[v] = true;
    for (ValueId v : in_.outputs()) used_[v] = true;
    pos_ = e_.Decl(Op::kInput, ir::I32({1}), "position");
    for (const Node& n : in_.nodes()) RETURN_IF_ERROR(Visit(n));
    if (T_ < 0)
      return absl::InvalidArgumentError("kv-cache: the graph has no token input i32[1, T]");
    std::vector<ValueId> outs;
    for (ValueId v : in_.outputs()) outs.push_back(map_[v]);
    out_.set_outputs(outs);
    for (const auto& [cache, fresh] : writes_) out_.AddUpdate(cache, fresh);
    out_.set_name(which_ == KvGraph::kDecode ? "decode_step" : "prefill_step");
    return std::move(out_);
  }

 private:
  absl::Status Err(const Node& n, const std::string& why) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "kv-cache: ", why,
        " in: ", ir::PrintNode(in_, static_cast<ir::NodeId>(&n - in_.nodes().data()))));
  }
  const Shape& ShapeOf(ValueId old) const { return in_.value(old).type.shape; }
  const std::string& NameOf(ValueId old) const { return in_.value(old).name; }

  absl::Status Visit(const Node& n) {
    if (n.op == Op::kInput) return Input(n);
    if (n.op == Op::kParam || n.op == Op::kState) {
      map_[n.outputs[0]] = e_.Decl(n.op, in_.value(n.outputs[0]).type, NameOf(n.outputs[0]));
      return absl::OkStatus();
    }
    if (ir::FamilyOf(n.op) == ir::Family::kFill) return Fill(n);
    if (n.outputs.size() != 1)
      return Err(n, "only single-result ops are expected in a forward graph");
    std::vector<ValueId> ins;
    int seq = kNone;
    for (ValueId v : n.inputs) ins.push_back(map_[v]);
    ir::Attrs attrs = n.attrs;
    Op op = n.op;
    ASSIGN_OR_RETURN(seq, Rewrite(n, op, ins, attrs));
    if (op == Op::kEmbedding && ins.size() == 1)
      ins.push_back(pos_);  // the learned-position lookup
    std::vector<ir::TensorType> types;
    for (ValueId v : ins) types.push_back(out_.value(v).type);
    if (auto t = ir::InferTypes(op, types, attrs); !t.ok())
      return Err(n, std::string(t.status().message()));
    const ValueId v = e_.Emit(op, ins, attrs, NameOf(n.outputs[0]));
    if (seq != kNone && out_.value(v).type.shape[seq] != S_)
      return Err(
          n, absl::StrCat("the sequence axis ", seq, " of the result does not have length ", S_));
    map_[n.outputs[0]] = v;
    seq_[n.outputs[0]] = seq;
    return absl::OkStatus();
  }

  // Token inputs carry the sequence on axis 1; unused inputs (the targets) are dropped.
  absl::Status Input(const Node& n) {
    const ValueId v = n.outputs[0];
    if (!used_[v]) return absl::OkStatus();
    const ir::TensorType& t = in_.value(v).type;
    if (t.dtype != ir::DType::kI32 || t.rank() != 2 || t.shape[0] != 1)
      return Err(n, "every used input must be a token sequence i32[1, T]");
    if (T_ >= 0 && t.shape[1] != T_) return Err(n, "token inputs of different lengths");
    T_ = t.shape[1];
    S_ = which_ == KvGraph::kDecode ? 1 : T_;
    map_[v] = e_.Decl(Op::kInput, ir::I32({1, S_}), NameOf(v));
    seq_[v] = 1;
    return absl::OkStatus();
  }

  // Fills are copied. A constant beside the sequence is resized where it is read
  // (ElementwiseSeq); positions made by iota would have to start at the runtime position when
  // decoding, which the pass does not do yet, so it refuses them.
  absl::Status Fill(const Node& n) {
    const ir::TensorType& t = in_.value(n.outputs[0]).type;
    switch (ir::As<ir::FillOp>(n.op)) {
      case ir::FillOp::kConstant: {
        ASSIGN_OR_RETURN(double value, n.attrs.GetFloat("value"));
        map_[n.outputs[0]] = e_.Constant(value, t, NameOf(n.outputs[0]));
        return absl::OkStatus();
      }
      case ir::FillOp::kIota:
        for (int64_t d : t.shape)
          if (d == T_) return Err(n, "an iota as long as the sequence cannot be decoded yet");
        map_[n.outputs[0]] = out_.AddValueNode(Op::kIota, {}, n.attrs, NameOf(n.outputs[0]), t);
        return absl::OkStatus();
    }
    return Err(n, "unknown fill");
  }

  absl::Status NotForward(const Node& n) {
    return Err(n, "a forward graph returning only the logits is expected (run dce first)");
  }

  // Layer norm and softmax normalise over the last axis, which must not be the sequence.
  absl::StatusOr<int> NormalisedSeq(const Node& n, int s0, int rank_out) {
    if (s0 == rank_out - 1) return Err(n, "normalising over the sequence axis");
    return s0;
  }

  absl::StatusOr<int> LayoutSeq(const Node& n, int s0, Op& op, std::vector<ValueId>& ins,
                                ir::Attrs& attrs) {
    switch (ir::As<ir::LayoutOp>(n.op)) {
      case ir::LayoutOp::kReshape:
        return ReshapeSeq(n, attrs);
      case ir::LayoutOp::kTranspose: {
        ASSIGN_OR_RETURN(std::vector<int64_t> perm, attrs.GetInts("perm"));
        for (int i = 0; i < static_cast<int>(perm.size()); ++i)
          if (perm[i] == s0) return i;
        return kNone;
      }
      case ir::LayoutOp::kSlice:
        return SliceSeq(n, op, ins, attrs);
      case ir::LayoutOp::kConcat: {
        ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
        for (ValueId v : n.inputs)
          if (seq_[v] != s0) return Err(n, "operands carry the sequence on different axes");
        if (s0 != kNone && axis == s0) return Err(n, "concatenating along the sequence axis");
        return s0;
      }
      case ir::LayoutOp::kBroadcast:
        return BroadcastSeq(n, attrs);
      case ir::LayoutOp::kExpand: {
        ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
        return s0 == kNone ? kNone : (axis <= s0 ? s0 + 1 : s0);
      }
    }
    return Err(n, "unknown layout op");
  }

  // Rewrites node `n` for the new sequence length: may change the op, operands and attrs.
  // Returns the result's sequence axis.
  absl::StatusOr<int> Rewrite(const Node& n, Op& op, std::vector<ValueId>& ins, ir::Attrs& attrs) {
    const int s0 = n.inputs.empty() ? kNone : seq_[n.inputs[0]];
    const int rank_out = static_cast<int>(in_.value(n.outputs[0]).type.rank());
    if (ir::HasTrait(n.op, ir::kFused)) return Err(n, "derive the KV-cache graphs before fusion");
    // Every family is listed (no default): a new op must decide how the sequence passes
    // through it.
    using F = ir::Family;
    switch (ir::FamilyOf(n.op)) {
      case F::kUnary:
      case F::kBinary:
      case F::kTernary:
      case F::kCast:
        return ElementwiseSeq(n, ins);
      case F::kNorm:
        switch (ir::As<ir::NormOp>(n.op)) {
          case ir::NormOp::kLayerNorm:
            return NormalisedSeq(n, s0, rank_out);
          case ir::NormOp::kLayerNormGrad:
          case ir::NormOp::kAddLayerNorm:
          case ir::NormOp::kAddLayerNormGrad:
            return NotForward(n);
        }
        break;
      case F::kSoftmax:
        switch (ir::As<ir::SoftmaxOp>(n.op)) {
          case ir::SoftmaxOp::kSoftmax:
            return NormalisedSeq(n, s0, rank_out);
          case ir::SoftmaxOp::kCausalMask:
            if (s0 != rank_out - 2) return Err(n, "the queries must be the sequence axis");
            if (which_ == KvGraph::kDecode) {  // queries now start at the runtime position
              op = Op::kPositionMask;
              ins.push_back(pos_);
            }
            return s0;
          case ir::SoftmaxOp::kSoftmaxGrad:
          case ir::SoftmaxOp::kScaleMaskSoftmax:
          case ir::SoftmaxOp::kScaleMaskSoftmaxGrad:
            return NotForward(n);
        }
        break;
      case F::kLookup:
        switch (ir::As<ir::LookupOp>(n.op)) {
          case ir::LookupOp::kEmbedding:
            return seq_[n.inputs[1]];
          case ir::LookupOp::kGather:
            return GatherSeq(n, attrs);
          case ir::LookupOp::kEmbeddingGrad:
          case ir::LookupOp::kGatherGrad:
            return NotForward(n);
        }
        break;
      case F::kLinalg:
        return MatMul(n, ins, attrs);
      case F::kLayout:
        return LayoutSeq(n, s0, op, ins, attrs);
      case F::kReduction: {
        ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
        if (s0 != kNone && axis == s0) return Err(n, "reducing over the sequence axis");
        return s0 == kNone ? kNone : (axis < s0 ? s0 - 1 : s0);
      }
      case F::kRandom:
        return Err(n, "dropout belongs in training graphs (sampling builds its graphs without it)");
      case F::kLoss:
      case F::kDecode:
        return NotForward(n);
      case F::kCollective:
        return Err(n, "a train step's gradient all_reduce has no place in a decoding graph");
      case F::kActivation:  // fused families: rejected above
      case F::kAttention:
      case F::kOptimizer:
      case F::kFusion:
      case F::kDecl:  // declarations: Visit() copies them
      case F::kFill:
        break;
    }
    return Err(n, "unexpected declaration");
  }

  // gather(x, idx) along `axis`: the sequence comes from the indices (positions picking rows of
  // a table) at their place in the result, or passes through from x on another axis.
  absl::StatusOr<int> GatherSeq(const Node& n, const ir::Attrs& attrs) {
    ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
    const int sx = seq_[n.inputs[0]], si = seq_[n.inputs[1]];
    const int idx_rank = static_cast<int>(ShapeOf(n.inputs[1]).size());
    if (sx != kNone && si != kNone)
      return Err(n, "both the table and the indices carry the sequence");
    if (sx == axis) return Err(n, "gathering along the sequence axis");
    if (si != kNone) return static_cast<int>(axis) + si;
    if (sx == kNone) return kNone;
    return sx < axis ? sx : sx + idx_rank - 1;
  }

  // Operands of an elementwise op carry the sequence on one axis. A constant (a fill, such as
  // a norm's epsilon) has none of its own: it takes the new length where the others carry it.
  absl::StatusOr<int> ElementwiseSeq(const Node& n, std::vector<ValueId>& ins) {
    int seq = kNone;
    for (ValueId v : n.inputs) {
      if (IsFill(v)) continue;
      if (seq != kNone && seq_[v] != kNone && seq_[v] != seq)
        return Err(n, "operands carry the sequence on different axes");
      if (seq_[v] != kNone) seq = seq_[v];
    }
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const ValueId v = n.inputs[i];
      if (seq == kNone || seq_[v] == seq) continue;
      if (!IsFill(v))  // a value without the sequence beside one with it: shapes would differ
        return Err(n, "operands carry the sequence on different axes");
      ir::TensorType t = in_.value(v).type;
      t.shape[seq] = S_;
      ASSIGN_OR_RETURN(double value, in_.node(in_.value(v).producer).attrs.GetFloat("value"));
      ins[i] = e_.Constant(value, t, NameOf(v));
    }
    return seq;
  }
  bool IsFill(ValueId v) const { return in_.node(in_.value(v).producer).op == Op::kConstant; }

  // An attention matmul (its right operand carries the sequence: keys or values) reads the
  // cache: the new rows are written at the position first. Other matmuls pass the sequence
  // through their rows or batch axes.
  absl::StatusOr<int> MatMul(const Node& n, std::vector<ValueId>& ins, const ir::Attrs& attrs) {
    const int sa = seq_[n.inputs[0]], sb = seq_[n.inputs[1]];
    const int ra = static_cast<int>(ShapeOf(n.inputs[0]).size()),
              rb = static_cast<int>(ShapeOf(n.inputs[1]).size());
    ASSIGN_OR_RETURN(bool ta, attrs.GetBool("transpose_a"));
    if (sa == kNone) {
      if (sb != kNone) return Err(n, "only the left operand may start without the sequence");
      return kNone;
    }
    if (sa == ra - 1 || (ta && sa == ra - 2))
      return Err(n, "contracting over the queries' sequence axis");
    if (sb == kNone) return sa;
    if (sb != rb - 2 || sa != ra - 2)
      return Err(n, "keys or values must carry the sequence on axis -2");
    // Keys or values that are another value repeated (grouped-query attention's key/value
    // heads, each read by several query heads: expand then reshape) are cached before the
    // repeat, so the cache holds each head once; decode repeats what it reads.
    std::vector<const Node*> repeat;
    ValueId fresh = n.inputs[1];
    while (const Node* r = Replication(fresh)) {
      repeat.insert(repeat.begin(), r);
      fresh = r->inputs[0];
    }
    const ValueId cache =
        e_.Decl(Op::kState, in_.value(fresh).type, absl::StrCat(kKvCachePrefix, NameOf(fresh)));
    ValueId written =
        e_.Emit(Op::kCacheWrite, {cache, map_[fresh], pos_}, {}, NameOf(fresh) + ".cached");
    writes_.push_back({cache, written});
    // Prefill reads the keys it just computed (the same values, no wait on the cache copy);
    // decode reads every cached row.
    if (which_ == KvGraph::kDecode) {
      for (const Node* r : repeat)
        written = e_.Emit(r->op, {written}, r->attrs, NameOf(r->outputs[0]) + ".cached");
      ins[1] = written;
    }
    return sa;
  }

  // The node that makes v by repeating its one operand without touching the sequence axis
  // (an expand that adds an axis before it, or a reshape that merges axes before it); else
  // null.
  const Node* Replication(ValueId v) const {
    const Node& r = in_.node(in_.value(v).producer);
    if (r.op != Op::kExpand && r.op != Op::kReshape) return nullptr;
    const ValueId x = r.inputs[0];
    const int sx = seq_[x], sv = seq_[v];
    if (sx == kNone || sv == kNone) return nullptr;
    // The axes after the sequence are the same, so only axes before it were added or merged.
    const Shape& from = ShapeOf(x);
    const Shape& to = ShapeOf(v);
    if (from.size() - sx != to.size() - sv) return nullptr;
    for (size_t k = 0; sx + k < from.size(); ++k)
      if (from[sx + k] != to[sv + k]) return nullptr;
    if (r.op == Op::kReshape && Product(from, 0, sx) != Product(to, 0, sv)) return nullptr;
    return &r;
  }

  // A reshape keeps the sequence as an axis of its own: the output axis of the same length
  // with the same number of elements before it.
  absl::StatusOr<int> ReshapeSeq(const Node& n, ir::Attrs& attrs) {
    const int s0 = seq_[n.inputs[0]];
    if (s0 == kNone) return kNone;
    const Shape& from = ShapeOf(n.inputs[0]);
    Shape to = ShapeOf(n.outputs[0]);
    const int64_t before = Product(from, 0, s0);
    for (int a = 0; a < static_cast<int>(to.size()); ++a) {
      if (to[a] == T_ && Product(to, 0, a) == before) {
        to[a] = S_;
        attrs.Set("shape", std::vector<int64_t>(to.begin(), to.end()));
        return a;
      }
    }
    return Err(n, "the reshape merges or splits the sequence axis");
  }

  // A broadcast moves the sequence by the axes it prepends; one that creates it (a bias
  // repeated over [1, T, C]) creates it on the new axis of length T.
  absl::StatusOr<int> BroadcastSeq(const Node& n, ir::Attrs& attrs) {
    const int s0 = seq_[n.inputs[0]];
    Shape to = ShapeOf(n.outputs[0]);
    const int added = static_cast<int>(to.size() - ShapeOf(n.inputs[0]).size());
    int seq = s0 == kNone ? kNone : s0 + added;
    if (seq == kNone) {
      for (int a = 0; a < added; ++a) {
        if (to[a] != T_) continue;
        if (seq != kNone) return Err(n, "more than one new axis could be the sequence");
        seq = a;
      }
    }
    if (seq != kNone) {
      to[seq] = S_;
      attrs.Set("shape", std::vector<int64_t>(to.begin(), to.end()));
    }
    return seq;
  }

  // A slice [0, T) of a parameter (learned positions) or of a buffer (a rotary table) is a
  // table of positions: decode looks up row pos (an embedding of the position), prefill
  // keeps the slice.
  absl::StatusOr<int> SliceSeq(const Node& n, Op& op, std::vector<ValueId>& ins, ir::Attrs& attrs) {
    const int s0 = seq_[n.inputs[0]];
    ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis"));
    if (s0 != kNone) {
      if (axis == s0) return Err(n, "slicing the sequence axis");
      return s0;
    }
    const Op table = in_.node(in_.value(n.inputs[0]).producer).op;
    const bool positions = (table == Op::kParam || table == Op::kState) && axis == 0 &&
                           ShapeOf(n.inputs[0]).size() == 2 && *attrs.GetInt("start") == 0 &&
                           *attrs.GetInt("end") == T_;
    if (!positions) return kNone;
    if (which_ == KvGraph::kDecode) {
      op = Op::kEmbedding;  // Visit() appends the position as the ids
      attrs = {};
      ins.resize(1);
    }
    return 0;
  }

  const ir::Graph& in_;
  const KvGraph which_;
  ir::Graph out_;
  ir::Emitter e_;
  std::vector<ValueId> map_;
  std::vector<int> seq_;
  std::vector<bool> used_;
  std::vector<std::pair<ValueId, ValueId>> writes_;  // (cache state, written cache)
  ValueId pos_ = -1;
  int64_t T_ = -1, S_ = -1;
};

}  // namespace

absl::StatusOr<ir::Graph> DeriveKvGraph(const ir::Graph& forward, KvGraph which) {
  return Deriver(forward, which).Run();
}

}  // namespace gptc::passes
