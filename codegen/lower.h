// Lowering of one kernel to a Halide pipeline with a CPU schedule. Internal to codegen/:
// it includes Halide.h, which only codegen .cc files may include (see DESIGN.md).
//
// Halide numbers dimensions innermost first; the IR's shapes are row-major (outermost first).
// `Ctx::Input` and `Ctx::Output` take row-major "views" of the operands (a kernel may see an
// operand flattened, e.g. elementwise kernels see every operand as 1-D) and fix every
// dimension's min, extent and stride, so Halide compiles for the exact static shapes.
#pragma once

#include <Halide.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "codegen/kernel_spec.h"

namespace gptc::codegen::lower {

// The Halide type that holds an IR element type (bf16 is Halide's BFloat(16)).
Halide::Type HalideType(ir::DType t);

struct Ctx {
  Ctx(const KernelSpec& s, const Halide::Target& t, int variant = 0);

  const KernelSpec& spec;
  Halide::Target target;
  int vec;        // natural vector width for f32
  int registers;  // vector registers (32 with AVX-512, 16 with AVX2)
  // Schedule variants: a lowering with several candidate schedules (GEMM tiles) reports how
  // many it has and builds the one asked for; the compiler times them and keeps the fastest.
  int variant = 0;
  int num_variants = 1;
  std::string variant_name;  // describes the chosen schedule, e.g. "64x6 strips"

  std::vector<Halide::ImageParam> params;     // by input index
  std::vector<ir::Shape> views;               // inputs then outputs
  std::vector<std::vector<int64_t>> strides;  // by argument, when not row-major (strided views)
  std::vector<Halide::Func> outputs;
  // The IR results the outputs are, in order (each Tuple element one), when the kernel does
  // not produce every result; empty: all, in order. Inputs never given to Input() are not
  // arguments either (adamw binds each block through its first parameter).
  std::vector<int> bound_outputs;
  void BindOutputs(std::vector<int> results) { bound_outputs = std::move(results); }

  Halide::ImageParam Input(int i, const ir::Shape& view);
  // A strided operand: `strides` gives each axis of `view` its element stride.
  Halide::ImageParam Input(int i, const ir::Shape& view, const std::vector<int64_t>& strides);
  void Output(Halide::Func f, const ir::Shape& view);
  void Output(Halide::Func f, const ir::Shape& view, const std::vector<int64_t>& strides);
  // A Tuple-valued Func whose values are several results computed in one loop nest, all of
  // the same view. Halide lets only the first get bounds constraints; the others follow it.
  void OutputTuple(Halide::Func f, const ir::Shape& view);
  // The same with every result a strided view of its own (`strides[i]` for result i; empty:
  // row-major).
  void OutputTuple(Halide::Func f, const ir::Shape& view,
                   const std::vector<std::vector<int64_t>>& strides);
  Halide::Type type_of(const ir::TensorType& t) const;
  // `e` (f32) as result i stores it: rounded to bf16 when the node declares that result bf16
  // (a kStoresBF16 op whose body ends in a cast of it), else unchanged.
  Halide::Expr Stored(int result, Halide::Expr e) const;
  // A kStoresBF16 op's result i and the bf16 copies of it the node also yields (extra results
  // after the op's own): the values to store, and which results they are (for BindOutputs).
  std::vector<Halide::Expr> WithCopies(int result, Halide::Expr e) const;
  std::vector<int> ResultsOf(int result) const;
};

// Indexes a parameter with row-major coordinates.
Halide::Expr At(const Halide::ImageParam& p, std::vector<Halide::Expr> rowmajor);
// Splits a flat 1-D loop into parallel chunks and vectorises it.
void ScheduleFlat(Halide::Func f, Halide::Var x, int64_t n, int vec);
// Parallel over rows (split so that each task has some work), vectorised over columns.
// Kernels with less than `min_parallel` elements stay on one thread (a parallel loop costs a
// few microseconds to start).
void ScheduleRows(Halide::Func f, Halide::Var col, Halide::Var row, int64_t cols, int64_t rows,
                  int vec, Halide::Var* row_inner, int64_t min_parallel = 0);
// The rows of one of ScheduleRows' parallel tasks, or 0 when the rows stay on one thread.
int64_t RowsPerTask(int64_t rows, int64_t cols, int64_t min_parallel);
// A reduction over j in [0, n) of body(j), `vec` lanes at a time: each lane accumulates a
// strided partial in registers, then the lanes and the tail (n % vec) are combined. Halide's
// inline sum()/maximum() run one element at a time on a single dependency chain, which made
// row reductions the bottleneck of softmax and layernorm. `outer` are the result's
// variables (the row); schedule the result with compute_at like any Func.
enum class ReduceKind { kSum, kMax };
Halide::Func VecReduce(const std::string& name, ReduceKind kind,
                       const std::function<Halide::Expr(Halide::Expr)>& body, int64_t n, int vec,
                       const std::vector<Halide::Var>& outer);

// out(i, o) = the reduction over r in [0, len) of value(i, r, o) on an (outer, len, inner)
// domain, scheduled by shape (lower_reduce.cc). The caller registers it as an output.
Halide::Func ReduceAxis(
    ReduceKind kind,
    const std::function<Halide::Expr(Halide::Expr, Halide::Expr, Halide::Expr)>& value,
    int64_t outer, int64_t len, int64_t inner, int vec, Halide::Var i, Halide::Var o);

// The value of elementwise op `op` (or a constant) applied to `args`; a result of type `out`.
Halide::Expr ElementwiseExpr(ir::Op op, const ir::Attrs& attrs,
                             const std::vector<Halide::Expr>& args, ir::DType out);

absl::Status Elementwise(Ctx& c);
absl::Status MatMul(Ctx& c);
absl::Status Layout(Ctx& c);     // transpose, slice, concat, broadcast, expand
absl::Status Reduce(Ctx& c);     // sum, mean, max over one axis
absl::Status Lookup(Ctx& c);     // embedding, gather and their gradients
absl::Status Norm(Ctx& c);       // layernorm, add_layernorm and their gradients
absl::Status Softmax(Ctx& c);    // softmax, causal_mask, their fusions and gradients
absl::Status Loss(Ctx& c);       // cross-entropy, its fusion and gradients
absl::Status Dropout(Ctx& c);    // dropout, its mask hashed as ir/dropout_mask.h does
absl::Status Decode(Ctx& c);     // position_mask and cache_write (a KV cache's ops)
absl::Status Fusion(Ctx& c);     // the generic fusion: an elementwise body, maybe a final reduction
absl::Status Attention(Ctx& c);  // causal_attention and its gradient, one kernel each
absl::Status AdamW(Ctx& c);      // every parameter's AdamW update, one kernel

// Dispatches on the op. Fills c.params, c.views and c.outputs.
absl::Status Lower(Ctx& c);

}  // namespace gptc::codegen::lower
