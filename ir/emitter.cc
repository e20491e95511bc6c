#include "ir/emitter.h"

#include "absl/strings/str_cat.h"
#include "ir/check.h"
#include "ir/printer.h"
#include "ir/shape_inference.h"

namespace gptc::ir {

Emitter::Emitter(Graph& g) : g_(g) {
  for (const Value& v : g.values()) names_.insert(v.name);
}

std::string Emitter::Unique(const std::string& base) {
  std::string name = base;
  for (int i = 1; names_.contains(name); ++i) name = absl::StrCat(base, "_", i);
  names_.insert(name);
  return name;
}

void Emitter::Rename(ValueId v, const std::string& name) {
  GPTC_CHECK(!names_.contains(name)) << "name %" << name << " is taken";
  names_.insert(name);
  g_.RenameValue(v, name);
}

std::vector<ValueId> Emitter::EmitMulti(Op op, std::vector<ValueId> inputs, Attrs attrs,
                                        const std::vector<std::string>& names) {
  std::vector<TensorType> in;
  for (ValueId v : inputs) in.push_back(g_.value(v).type);
  auto types = InferTypes(op, in, attrs);
  if (!types.ok()) {
    std::string args;
    for (ValueId v : inputs)
      absl::StrAppend(&args, " ", ValueRef(g_, v), ": ", TypeToString(g_.value(v).type));
    GPTC_CHECK(false) << "a pass built an ill-typed node: " << types.status().message()
                      << "; operands:" << args;
  }
  GPTC_CHECK(types->size() == names.size()) << OpName(op) << ": wrong number of names";
  std::vector<std::pair<std::string, TensorType>> outs;
  for (size_t i = 0; i < names.size(); ++i) outs.emplace_back(Unique(names[i]), (*types)[i]);
  const NodeId n = g_.AddNode(op, std::move(inputs), std::move(attrs), outs);
  return g_.node(n).outputs;
}

ValueId Emitter::Emit(Op op, std::vector<ValueId> inputs, Attrs attrs, const std::string& name) {
  return EmitMulti(op, std::move(inputs), std::move(attrs), {name})[0];
}

ValueId Emitter::Constant(double value, TensorType type, const std::string& name) {
  return g_.AddValueNode(Op::kConstant, {}, {{"value", value}}, Unique(name), std::move(type));
}

ValueId Emitter::Decl(Op kind, TensorType type, const std::string& name) {
  return g_.AddValueNode(kind, {}, {}, Unique(name), std::move(type));
}

}  // namespace gptc::ir
