// Builder: records DSL calls into an ir::Graph, checking shapes as it goes.
//
//   Builder b("forward");
//   Tensor x = b.Input("tokens", ir::I32({4, 32}));
//   { auto scope = b.PushScope("h.0"); ... }   // names inside become `h.0.<leaf>`
//   absl::StatusOr<ir::Graph> g = b.Finish({loss});
//
// The first error (a shape mismatch, say) is kept and returned by Finish(); later calls on
// invalid tensors do nothing. Error text names the op, the shapes and the would-be IR line.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "frontend/buffer.h"
#include "frontend/param_init.h"
#include "frontend/tensor.h"
#include "ir/graph.h"

namespace gptc {

class Builder {
 public:
  explicit Builder(std::string graph_name = "forward") : graph_(std::move(graph_name)) {}
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  Tensor Input(const std::string& name, ir::TensorType type);
  // A trainable parameter named in the current scope (`h.0.attn.c_attn.w`); `decay` says
  // whether AdamW's weight decay applies to it.
  Tensor Param(const std::string& leaf, ir::TensorType type, ParamInit init,
               Decay decay = Decay::kIfMatrix);
  Tensor Constant(double value, ir::TensorType type);
  // Each element's index along `axis` (negative counts from the end), as f32 or i32.
  Tensor Iota(ir::TensorType type, int axis);
  // A buffer named in the current scope (frontend/buffer.h): `make` builds its value in a
  // Builder of its own from fills and ops on them (no inputs, no parameters), e.g.
  //   b.Buffer("rope.cos", [&](Builder& g) { return Cos(Scale(g.Iota(F32({T, D}), 0), 0.1)); })
  // The result is state of this graph that backends fill once; it is not trained.
  Tensor Buffer(const std::string& leaf, const std::function<Tensor(Builder&)>& make);
  // Random ops (dropout): the step's key, input %rng_key i32[2] = (seed, step), declared on
  // first use; and a new site number for each random op, so no two draw the same bits.
  Tensor RngKey();
  int64_t NextRngSite() { return next_rng_site_++; }

  // Adds one op named `<scope>.<op>` (unique). Shapes are checked by the IR's shape rules.
  Tensor Apply(ir::Op op, const std::vector<Tensor>& inputs, ir::Attrs attrs = {});

  // RAII scope: names made while it lives are prefixed with the scope path and a '.'.
  // On destruction the previous scope path comes back.
  class [[nodiscard]] Scope {
   public:
    Scope(Builder* b, std::vector<std::string> saved) : b_(b), saved_(std::move(saved)) {}
    Scope(Scope&& o) noexcept : b_(o.b_), saved_(std::move(o.saved_)) { o.b_ = nullptr; }
    Scope(const Scope&) = delete;
    ~Scope() {
      if (b_) b_->scopes_ = std::move(saved_);
    }

   private:
    Builder* b_;
    std::vector<std::string> saved_;
  };
  // Nests `name` under the current scope.
  Scope PushScope(const std::string& name);
  // Makes `path` the whole scope (modules re-enter the path they were built under).
  Scope EnterScope(const std::string& path);
  std::string ScopedName(const std::string& leaf) const;
  // `base`, or `base_1`, `base_2`, ... if taken. Records the result as taken.
  std::string UniqueName(const std::string& base);
  // Names value v `<scope>.<leaf>` (made unique), releasing its previous name.
  void Rename(ir::ValueId v, const std::string& leaf);

  // Records an error (the first one wins).
  void Fail(absl::Status s);
  const absl::Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }

  // Sets the graph's outputs, verifies it and returns a copy; or the first recorded error.
  absl::StatusOr<ir::Graph> Finish(const std::vector<Tensor>& outputs);

  const ir::Graph& graph() const { return graph_; }
  const std::vector<ParamSpec>& params() const { return params_; }
  const std::vector<BufferSpec>& buffers() const { return buffers_; }

 private:
  ir::Graph graph_;
  std::vector<std::string> scopes_;
  absl::flat_hash_set<std::string> taken_;
  std::vector<ParamSpec> params_;
  std::vector<BufferSpec> buffers_;
  absl::Status status_;
  Tensor rng_key_;
  int64_t next_rng_site_ = 0;
};

}  // namespace gptc
