#include "tests/fixture.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace gptc::testing {
namespace {

class Reader {
 public:
  Reader(std::string bytes, std::string path) : b_(std::move(bytes)), path_(std::move(path)) {}
  template <typename T>
  absl::StatusOr<T> Get() {
    T v;
    if (pos_ + sizeof(T) > b_.size()) return Truncated();
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  absl::StatusOr<std::string> Bytes(size_t n) {
    if (n > b_.size() - pos_) return Truncated();
    std::string s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  absl::Status Error(const std::string& msg) const {
    return absl::DataLossError(absl::StrCat("fixture '", path_, "' at byte ", pos_, ": ", msg));
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  absl::Status Truncated() const { return Error("truncated"); }
  std::string b_, path_;
  size_t pos_ = 0;
};

#define FIX_ASSIGN(lhs, expr)                   \
  auto lhs##_or = (expr);                       \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto lhs = *lhs##_or

}  // namespace

std::string TestDataPath(const std::string& name) {
  return std::string(GPTC_SOURCE_DIR) + "/tests/testdata/" + name;
}

absl::StatusOr<ir::LiteralMap> ReadFixture(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("fixture '", path, "' cannot be opened"));
  std::stringstream ss;
  ss << in.rdbuf();
  Reader r(ss.str(), path);
  FIX_ASSIGN(magic, r.Bytes(8));
  if (magic != "GPTCFIX1") return r.Error("bad magic (not a gptc fixture)");
  FIX_ASSIGN(count, r.Get<uint32_t>());
  ir::LiteralMap out;
  for (uint32_t i = 0; i < count; ++i) {
    FIX_ASSIGN(name_len, r.Get<uint32_t>());
    FIX_ASSIGN(name, r.Bytes(name_len));
    FIX_ASSIGN(dtype, r.Get<uint8_t>());
    FIX_ASSIGN(rank, r.Get<uint32_t>());
    if (dtype > 1 || rank > 8) return r.Error("bad dtype or rank for '" + name + "'");
    ir::Shape shape;
    for (uint32_t d = 0; d < rank; ++d) {
      FIX_ASSIGN(dim, r.Get<int64_t>());
      if (dim < 0 || dim > (1 << 28)) return r.Error("bad dimension for '" + name + "'");
      shape.push_back(dim);
    }
    ir::Literal lit(dtype == 0 ? ir::F32(shape) : ir::I32(shape));
    for (double& x : lit.data) {
      if (dtype == 0) {
        FIX_ASSIGN(v, r.Get<float>());
        x = v;
      } else {
        FIX_ASSIGN(v, r.Get<int32_t>());
        x = v;
      }
    }
    out[name] = std::move(lit);
  }
  if (!r.done()) return r.Error("trailing bytes");
  return out;
}

double RelativeMaxDiff(const ir::Literal& got, const ir::Literal& want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.data.size(); ++i) {
    diff = std::max(diff, std::abs(got.data[i] - want.data[i]));
    scale = std::max(scale, std::abs(want.data[i]));
  }
  return diff / scale;
}

}  // namespace gptc::testing
