#include "ir/fusion_layout.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gptc::ir {
namespace {

int64_t Elems(const Graph& b, ValueId v) {
  return std::max<int64_t>(1, b.value(v).type.num_elements());
}

absl::Status Bad(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("fusion: ", why));
}

bool Allowed(Op op) {
  return HasTrait(op, kElementwise) || op == Op::kConstant || op == Op::kBroadcast ||
         op == Op::kReshape || op == Op::kExpand || HasTrait(op, kReduction);
}

}  // namespace

int64_t RowLength(const Graph& b, const Node& n) {
  const ValueId full = n.op == Op::kExpand ? n.outputs[0] : n.inputs[0];
  const Shape& s = b.value(full).type.shape;
  const int64_t axis = *n.attrs.GetInt("axis");
  return axis == static_cast<int64_t>(s.size()) - 1 ? s.back() : -1;
}

bool IsColumnSum(const Graph& b, const Node& n) {
  return n.op == Op::kSum && *n.attrs.GetInt("axis") == 0 && b.value(n.inputs[0]).type.rank() == 2;
}

namespace {

// A column sum over a full value seen as exactly [rows, cols].
bool SumsColumns(const Graph& b, const Node& n, int64_t rows, int64_t cols) {
  return IsColumnSum(b, n) && b.value(n.inputs[0]).type.shape == Shape{rows, cols};
}

absl::StatusOr<FusionLayout> Rows(const Graph& body, int64_t cols) {
  FusionLayout l;
  l.kind = FusionLayout::Kind::kRows;
  l.cols = cols;
  int64_t n = 1;
  for (ValueId v = 0; v < body.num_values(); ++v) n = std::max(n, Elems(body, v));
  if (n % cols != 0) return Bad("the largest value does not split into rows");
  l.rows = n / cols;
  using S = FusionLayout::Space;
  l.space.assign(body.num_values(), S::kOperand);
  for (ValueId v = 0; v < body.num_values(); ++v) {
    const int64_t e = Elems(body, v);
    l.space[v] = e == n ? S::kFull : e == l.rows ? S::kRow : e == 1 ? S::kScalar : S::kOperand;
  }
  // Values computed from the row reductions (which a column sum cannot read: it runs over
  // all rows, outside the loop that computes them).
  std::vector<bool> after_rows(body.num_values(), false);
  for (NodeId id = 0; id < body.num_nodes(); ++id) {
    const Node& nd = body.node(id);
    bool a = HasTrait(nd.op, kReduction) || nd.op == Op::kExpand;
    for (ValueId v : nd.inputs) a = a || after_rows[v];
    for (ValueId v : nd.outputs) after_rows[v] = a;
  }
  for (NodeId id = 0; id < body.num_nodes(); ++id) {
    const Node& nd = body.node(id);
    if (HasTrait(nd.op, kDecl)) continue;
    auto in = [&](int i) { return l.space[nd.inputs[i]]; };
    const std::string at = absl::StrCat(OpName(nd.op), " %", body.value(nd.outputs[0]).name);
    if (SumsColumns(body, nd, l.rows, cols)) {
      if (in(0) != S::kFull || after_rows[nd.inputs[0]])
        return Bad(at + " sums columns of a value computed from the row reductions");
      l.space[nd.outputs[0]] = S::kColumn;
      continue;
    }
    const S out = l.space[nd.outputs[0]];
    for (size_t i = 0; i < nd.inputs.size(); ++i)
      if (in(i) == S::kColumn) return Bad(at + " reads a column sum, which is a result only");
    if (out == S::kOperand) return Bad(at + " is neither full, a row nor a scalar");
    if (HasTrait(nd.op, kReduction) || nd.op == Op::kExpand) {
      if (RowLength(body, nd) != cols)
        return Bad(at + " is not along rows of " + std::to_string(cols));
      const bool red = nd.op != Op::kExpand;
      if (in(0) != (red ? S::kFull : S::kRow) || out != (red ? S::kRow : S::kFull))
        return Bad(at + (red ? " must take a full value to a row value"
                             : " must take a row value to a full one"));
    } else if (nd.op == Op::kBroadcast) {
      const int64_t e = Elems(body, nd.inputs[0]), span = out == S::kFull ? cols : l.rows;
      const bool operand = HasTrait(body.node(body.value(nd.inputs[0]).producer).op, kDecl);
      if (in(0) != S::kScalar &&
          !(operand && (e % span == 0 || span % e == 0) && out != S::kScalar))
        return Bad(at + " must repeat a scalar or an operand that tiles its rows");
    } else {
      for (size_t i = 0; i < nd.inputs.size(); ++i)
        if (in(i) != out) return Bad(at + " mixes full, row and scalar values");
    }
  }
  S last = S::kFull;  // yields: full values, then row values, then column sums
  for (ValueId v : body.outputs()) {
    const S s = l.space[v];
    if (s != S::kFull && s != S::kRow && s != S::kColumn)
      return Bad("a rows body yields full, row or column values only");
    if (static_cast<int>(s) < static_cast<int>(last))
      return Bad("a rows body yields its full values, then row values, then column sums");
    last = s;
  }
  return l;
}

}  // namespace

absl::StatusOr<FusionLayout> LayOutFusion(const Graph& body) {
  std::vector<NodeId> ops;
  int64_t cols = 0;
  bool rows = false;
  for (NodeId id = 0; id < body.num_nodes(); ++id) {
    const Node& n = body.node(id);
    if (HasTrait(n.op, kDecl)) continue;
    if (!Allowed(n.op))
      return Bad(absl::StrCat("body op ", OpName(n.op),
                              " is not elementwise, a broadcast, an expand or a reduction"));
    ops.push_back(id);
    if (n.op == Op::kExpand || (HasTrait(n.op, kReduction) && !IsColumnSum(body, n))) {
      const int64_t len = RowLength(body, n);
      if (n.op == Op::kExpand) rows = true;
      if (len > 1 && cols == 0) cols = len;
      if (len != cols) cols = -1;  // not one row length: only a final reduction fits
    }
  }
  if (body.outputs().empty()) return Bad("body yields nothing");
  if (ops.empty()) return FusionLayout{};
  int reductions = 0;
  bool broadcast_rows = false;  // a broadcast of more than a scalar
  for (NodeId id : ops) {
    const Node& n = body.node(id);
    reductions += HasTrait(n.op, kReduction);
    broadcast_rows |= n.op == Op::kBroadcast && Elems(body, n.inputs[0]) > 1;
  }
  const NodeId last = ops.back();
  const bool final_reduction = reductions == 1 && !rows && !broadcast_rows &&
                               HasTrait(body.node(last).op, kReduction) &&
                               body.outputs() == std::vector<ValueId>{body.node(last).outputs[0]};
  if (final_reduction) {
    FusionLayout l;
    l.kind = FusionLayout::Kind::kReduction;
    l.reduction = last;
    return l;
  }
  if (reductions == 0 && !rows) return FusionLayout{};
  if (cols <= 1)
    return Bad(
        "reductions and expands inside a body must all be along the last axis, of one length");
  return Rows(body, cols);
}

}  // namespace gptc::ir
