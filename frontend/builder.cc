#include "frontend/builder.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/check.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"

namespace gptc {

const ir::TensorType& Tensor::type() const {
  GPTC_CHECK(valid()) << "type() of an invalid Tensor";
  return builder_->graph().value(id_).type;
}

int64_t Tensor::dim(int i) const {
  const int r = rank();
  const int axis = i < 0 ? i + r : i;
  GPTC_CHECK(axis >= 0 && axis < r) << "dim(" << i << ") of a rank-" << r << " tensor";
  return shape()[axis];
}

const std::string& Tensor::name() const {
  GPTC_CHECK(valid()) << "name() of an invalid Tensor";
  return builder_->graph().value(id_).name;
}

Tensor Tensor::named(const std::string& leaf) const {
  if (!valid()) return *this;
  builder_->Rename(id_, leaf);
  return *this;
}

Builder::Scope Builder::PushScope(const std::string& name) {
  Scope s(this, scopes_);
  scopes_.push_back(name);
  return s;
}

Builder::Scope Builder::EnterScope(const std::string& path) {
  Scope s(this, scopes_);
  scopes_ = {path};
  return s;
}

std::string Builder::ScopedName(const std::string& leaf) const {
  std::vector<std::string> parts = scopes_;
  parts.push_back(leaf);
  return absl::StrJoin(parts, ".");
}

std::string Builder::UniqueName(const std::string& base) {
  std::string name = base;
  for (int i = 1; taken_.contains(name); ++i) name = absl::StrCat(base, "_", i);
  taken_.insert(name);
  return name;
}

void Builder::Rename(ir::ValueId v, const std::string& leaf) {
  taken_.erase(graph_.value(v).name);  // the automatic name is given up, not kept as taken
  graph_.RenameValue(v, UniqueName(ScopedName(leaf)));
}

void Builder::Fail(absl::Status s) {
  if (status_.ok()) status_ = std::move(s);
}

Tensor Builder::Input(const std::string& name, ir::TensorType type) {
  if (taken_.contains(name)) {
    Fail(absl::InvalidArgumentError(absl::StrCat("input %", name, " is declared twice")));
    return Tensor();
  }
  return Tensor(this, graph_.AddInput(UniqueName(name), std::move(type)));
}

Tensor Builder::Param(const std::string& leaf, ir::TensorType type, ParamInit init, Decay decay) {
  const std::string name = ScopedName(leaf);
  if (taken_.contains(name)) {
    Fail(absl::InvalidArgumentError(absl::StrCat("parameter %", name, " is declared twice")));
    return Tensor();
  }
  const bool decays = decay == Decay::kYes || (decay == Decay::kIfMatrix && type.rank() >= 2);
  params_.push_back(ParamSpec{name, type, init, decays});
  return Tensor(this, graph_.AddParam(UniqueName(name), std::move(type), decays));
}

Tensor Builder::Constant(double value, ir::TensorType type) {
  return Tensor(this, graph_.AddValueNode(ir::Op::kConstant, {}, {{"value", value}},
                                          UniqueName(ScopedName("const")), std::move(type)));
}

Tensor Builder::Iota(ir::TensorType type, int axis) {
  const int r = type.rank();
  const int a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) {
    Fail(absl::InvalidArgumentError(
        absl::StrCat("iota: axis ", axis, " is out of range for ", ir::TypeToString(type))));
    return Tensor();
  }
  return Tensor(this, graph_.AddValueNode(ir::Op::kIota, {}, {{"axis", int64_t{a}}},
                                          UniqueName(ScopedName("iota")), std::move(type)));
}

Tensor Builder::Buffer(const std::string& leaf, const std::function<Tensor(Builder&)>& make) {
  const std::string name = ScopedName(leaf);
  if (taken_.contains(name)) {
    Fail(absl::InvalidArgumentError(absl::StrCat("buffer %", name, " is declared twice")));
    return Tensor();
  }
  Builder sub(name);
  Tensor value = make(sub);
  absl::StatusOr<ir::Graph> g = sub.Finish({value});
  if (!g.ok()) {
    Fail(absl::InvalidArgumentError(absl::StrCat("buffer %", name, ": ", g.status().message())));
    return Tensor();
  }
  for (const ir::Node& n : g->nodes())
    if (ir::HasTrait(n.op, ir::kDecl)) {
      Fail(absl::InvalidArgumentError(
          absl::StrCat("buffer %", name, " reads %", g->value(n.outputs[0]).name,
                       ": a buffer is made of fills (iota, constant) and ops on them")));
      return Tensor();
    }
  const ir::TensorType type = g->value(g->outputs()[0]).type;
  buffers_.push_back(BufferSpec{name, type, std::make_shared<const ir::Graph>(*std::move(g))});
  return Tensor(this, graph_.AddValueNode(ir::Op::kState, {}, {}, UniqueName(name), type));
}

Tensor Builder::RngKey() {
  if (!rng_key_.valid()) rng_key_ = Input("rng_key", ir::I32({2}));
  return rng_key_;
}

Tensor Builder::Apply(ir::Op op, const std::vector<Tensor>& inputs, ir::Attrs attrs) {
  std::vector<ir::ValueId> ids;
  std::vector<ir::TensorType> types;
  for (const Tensor& t : inputs) {
    if (!t.valid()) return Tensor();  // an earlier error; it is already recorded
    GPTC_CHECK(t.builder() == this) << "tensor %" << t.name() << " belongs to another Builder";
    ids.push_back(t.id());
    types.push_back(t.type());
  }
  if (!ok()) return Tensor();
  const std::string name = ScopedName(ir::OpName(op));
  auto out = ir::InferTypes(op, types, attrs);
  if (!out.ok()) {
    std::vector<std::string> args;
    for (const Tensor& t : inputs)
      args.push_back(absl::StrCat("%", t.name(), ": ", ir::TypeToString(t.type())));
    std::string call =
        absl::StrCat("%", name, " = ", ir::OpName(op), "(", absl::StrJoin(args, ", "), ")");
    if (!attrs.empty()) absl::StrAppend(&call, "  ", ir::AttrsToString(attrs));
    Fail(absl::InvalidArgumentError(absl::StrCat(out.status().message(), " in: ", call)));
    return Tensor();
  }
  GPTC_CHECK(out->size() == 1) << ir::OpName(op) << ": multi-output ops are not built by the DSL";
  return Tensor(this, graph_.AddValueNode(op, ids, std::move(attrs), UniqueName(name), (*out)[0]));
}

absl::StatusOr<ir::Graph> Builder::Finish(const std::vector<Tensor>& outputs) {
  if (!ok()) return status_;
  std::vector<ir::ValueId> ids;
  for (const Tensor& t : outputs) {
    if (!t.valid()) return absl::InvalidArgumentError("Finish: an output tensor is invalid");
    ids.push_back(t.id());
  }
  graph_.set_outputs(ids);
  absl::Status v = ir::Verify(graph_);
  GPTC_CHECK(v.ok()) << "the builder made a graph the verifier rejects: " << v;
  return graph_;
}

}  // namespace gptc
