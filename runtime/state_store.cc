#include "runtime/state_store.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ir/check.h"

namespace gptc {

// Large buffers are anonymous mappings: zero pages the kernel supplies on first touch, so a
// baby-sized arena costs nothing until used (a memset of it took 0.17 s of a warm start).
constexpr size_t kMapThreshold = size_t{1} << 20;

AlignedBuffer::AlignedBuffer(size_t bytes) : bytes_(bytes) {
  const size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  if (rounded >= kMapThreshold) {
    void* p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    GPTC_CHECK(p != MAP_FAILED) << "out of memory mapping " << rounded << " bytes";
    data_ = p;  // page-aligned, so 64-byte aligned
    return;
  }
  data_ = std::aligned_alloc(64, rounded);
  GPTC_CHECK(data_ != nullptr) << "out of memory allocating " << rounded << " bytes";
  std::memset(data_, 0, rounded);
}

AlignedBuffer::~AlignedBuffer() {
  if (!data_) return;
  const size_t rounded = std::max<size_t>(64, (bytes_ + 63) / 64 * 64);
  if (rounded >= kMapThreshold) {
    munmap(data_, rounded);
  } else {
    std::free(data_);
  }
}

void LiteralToHost(const ir::Literal& lit, void* dst) {
  switch (lit.type.dtype) {
    case ir::DType::kF32: {
      float* d = static_cast<float*>(dst);
      for (int64_t i = 0; i < lit.size(); ++i) d[i] = static_cast<float>(lit.data[i]);
      return;
    }
    case ir::DType::kBF16: {
      uint16_t* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < lit.size(); ++i)
        d[i] = ir::RoundedBF16Bits(static_cast<float>(lit.data[i]));
      return;
    }
    case ir::DType::kI32: {
      int32_t* d = static_cast<int32_t*>(dst);
      for (int64_t i = 0; i < lit.size(); ++i) d[i] = static_cast<int32_t>(lit.data[i]);
      return;
    }
  }
}

ir::Literal HostToLiteral(const ir::TensorType& type, const void* src) {
  ir::Literal lit(type);
  switch (type.dtype) {
    case ir::DType::kF32: {
      const float* s = static_cast<const float*>(src);
      for (int64_t i = 0; i < lit.size(); ++i) lit.data[i] = s[i];
      break;
    }
    case ir::DType::kBF16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < lit.size(); ++i) lit.data[i] = ir::BF16Value(s[i]);
      break;
    }
    case ir::DType::kI32: {
      const int32_t* s = static_cast<const int32_t*>(src);
      for (int64_t i = 0; i < lit.size(); ++i) lit.data[i] = s[i];
      break;
    }
  }
  return lit;
}

absl::Status StateStore::CheckType(const std::string& name, const ir::TensorType& type) const {
  auto it = entries_.find(name);
  if (it != entries_.end() && it->second.type != type)
    return absl::InvalidArgumentError(absl::StrCat("state %", name, " is ",
                                                   ir::TypeToString(it->second.type), ", not ",
                                                   ir::TypeToString(type)));
  return absl::OkStatus();
}

absl::Status StateStore::Declare(const std::string& name, const ir::TensorType& type) {
  return DeclareBlock({{name, type, 0}}, type.bytes());
}

absl::Status StateStore::DeclareBlock(const std::vector<BlockItem>& items, int64_t bytes) {
  bool any_new = false;
  for (const BlockItem& i : items) {
    if (absl::Status s = CheckType(i.name, i.type); !s.ok()) return s;
    const int64_t need = i.type.bytes();
    if (i.offset < 0 || i.offset % 64 != 0 || i.offset + need > bytes)
      return absl::InvalidArgumentError(absl::StrCat("state %", i.name, " at byte ", i.offset,
                                                     " does not fit a block of ", bytes, " bytes"));
    any_new |= entries_.count(i.name) == 0;
  }
  if (!any_new) return absl::OkStatus();
  AlignedBuffer& block = blocks_.emplace_back(static_cast<size_t>(bytes));
  for (const BlockItem& i : items) {
    if (entries_.count(i.name) != 0) continue;  // declared by an earlier graph
    entries_.emplace(i.name, Entry{i.type, static_cast<char*>(block.data()) + i.offset,
                                   static_cast<size_t>(i.type.bytes())});
  }
  return absl::OkStatus();
}

absl::Status StateStore::Set(const std::string& name, const ir::Literal& value) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return absl::NotFoundError(absl::StrCat("no state named %", name));
  if (it->second.type != value.type)
    return absl::InvalidArgumentError(absl::StrCat("state %", name, " is ",
                                                   ir::TypeToString(it->second.type), ", given ",
                                                   ir::TypeToString(value.type)));
  LiteralToHost(value, it->second.data);
  return absl::OkStatus();
}

absl::StatusOr<ir::Literal> StateStore::Get(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return absl::NotFoundError(absl::StrCat("no state named %", name));
  return HostToLiteral(it->second.type, it->second.data);
}

StateStore::Entry* StateStore::Find(const std::string& name) {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace gptc
