// StateStore: the persistent tensors of a model (parameters and optimiser state) in 64-byte
// aligned host memory, by name. Executables of the same model (train, eval, sample) bind
// their declarations to it, so they always see the same parameters. A planned graph declares
// its @param and @state regions as blocks: the tensors of one block are contiguous, at the
// plan's offsets, so all parameters (or all moments) are one piece of memory. Memory never
// moves once declared.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/literal.h"

namespace gptc {

// Owning, zero-initialised, 64-byte aligned memory (misalignment cost 10% in DESIGN.md).
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes);
  AlignedBuffer(AlignedBuffer&& o) noexcept { swap(o); }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    swap(o);
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  ~AlignedBuffer();
  void swap(AlignedBuffer& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(bytes_, o.bytes_);
  }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// Copies between Literals (double) and f32/i32 host memory.
void LiteralToHost(const ir::Literal& lit, void* dst);
ir::Literal HostToLiteral(const ir::TensorType& type, const void* src);

class StateStore {
 public:
  struct Entry {
    ir::TensorType type;
    void* data = nullptr;
    size_t bytes = 0;
  };
  // Adds a zero tensor, or checks that an existing one has this type.
  absl::Status Declare(const std::string& name, const ir::TensorType& type);
  // Adds tensors as one zeroed block of `bytes`, each at its byte offset (64-byte aligned);
  // names declared before keep their memory (and must have the same type).
  struct BlockItem {
    std::string name;
    ir::TensorType type;
    int64_t offset;
  };
  absl::Status DeclareBlock(const std::vector<BlockItem>& items, int64_t bytes);
  absl::Status Set(const std::string& name, const ir::Literal& value);
  absl::StatusOr<ir::Literal> Get(const std::string& name) const;
  Entry* Find(const std::string& name);
  const std::map<std::string, Entry>& entries() const { return entries_; }

 private:
  absl::Status CheckType(const std::string& name, const ir::TensorType& type) const;
  std::map<std::string, Entry> entries_;
  std::vector<AlignedBuffer> blocks_;
};

}  // namespace gptc
