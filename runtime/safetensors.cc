#include "runtime/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/read_file.h"
#include "ir/status_macros.h"

namespace gptc {
namespace {

// A JSON reader for the safetensors header: objects, arrays, strings, integers.
class Json {
 public:
  Json(const std::string& path, const std::string& text) : path_(path), s_(text) {}

  struct Entry {
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<int64_t> offsets;
  };
  absl::StatusOr<std::map<std::string, Entry>> Header() {
    std::map<std::string, Entry> out;
    RETURN_IF_ERROR(Expect('{'));
    if (Peek() == '}') return ++i_, out;
    while (true) {
      ASSIGN_OR_RETURN(std::string name, String());
      RETURN_IF_ERROR(Expect(':'));
      if (name == "__metadata__") {
        RETURN_IF_ERROR(SkipStringMap());
      } else {
        if (out.count(name)) return Error(absl::StrCat("tensor '", name, "' appears twice"));
        ASSIGN_OR_RETURN(out[name], Tensor(name));
      }
      if (Peek() == ',') {
        ++i_;
        continue;
      }
      RETURN_IF_ERROR(Expect('}'));
      return out;
    }
  }

 private:
  absl::Status Error(const std::string& what) const {
    return absl::DataLossError(
        absl::StrCat("safetensors file ", path_, ": header byte ", 8 + i_, ": ", what));
  }
  char Peek() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  absl::Status Expect(char c) {
    if (Peek() != c) return Error(absl::StrCat("expected '", std::string(1, c), "'"));
    ++i_;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> String() {
    RETURN_IF_ERROR(Expect('"'));
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_++];
    }
    if (i_ >= s_.size()) return Error("unterminated string");
    ++i_;
    return out;
  }
  absl::StatusOr<std::vector<int64_t>> Ints() {
    RETURN_IF_ERROR(Expect('['));
    std::vector<int64_t> out;
    if (Peek() == ']') return ++i_, out;
    while (true) {
      Peek();
      size_t j = i_;
      while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
      if (j == i_ || j - i_ > 15) return Error("expected a non-negative integer");
      out.push_back(std::stoll(s_.substr(i_, j - i_)));
      i_ = j;
      if (Peek() == ',') {
        ++i_;
        continue;
      }
      RETURN_IF_ERROR(Expect(']'));
      return out;
    }
  }
  absl::Status SkipStringMap() {
    RETURN_IF_ERROR(Expect('{'));
    if (Peek() == '}') return ++i_, absl::OkStatus();
    while (true) {
      RETURN_IF_ERROR(String().status());
      RETURN_IF_ERROR(Expect(':'));
      RETURN_IF_ERROR(String().status());
      if (Peek() == ',') {
        ++i_;
        continue;
      }
      return Expect('}');
    }
  }
  absl::StatusOr<Entry> Tensor(const std::string& name) {
    Entry e;
    RETURN_IF_ERROR(Expect('{'));
    while (true) {
      ASSIGN_OR_RETURN(std::string key, String());
      RETURN_IF_ERROR(Expect(':'));
      if (key == "dtype") {
        ASSIGN_OR_RETURN(e.dtype, String());
      } else if (key == "shape") {
        ASSIGN_OR_RETURN(e.shape, Ints());
      } else if (key == "data_offsets") {
        ASSIGN_OR_RETURN(e.offsets, Ints());
      } else {
        return Error(absl::StrCat("tensor '", name, "' has an unknown field '", key, "'"));
      }
      if (Peek() == ',') {
        ++i_;
        continue;
      }
      RETURN_IF_ERROR(Expect('}'));
      return e;
    }
  }

  const std::string& path_;
  const std::string& s_;
  size_t i_ = 0;
};

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

absl::Status WriteSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  std::vector<std::string> fields;
  if (!metadata.empty()) {
    std::vector<std::string> kv;
    for (const auto& [k, v] : metadata) kv.push_back(Quote(k) + ":" + Quote(v));
    fields.push_back("\"__metadata__\":{" + absl::StrJoin(kv, ",") + "}");
  }
  int64_t offset = 0;
  for (const NamedTensor& t : tensors) {
    const int64_t bytes = static_cast<int64_t>(t.data.size() * sizeof(float));
    fields.push_back(absl::StrCat(Quote(t.name), ":{\"dtype\":\"F32\",\"shape\":[",
                                  absl::StrJoin(t.shape, ","), "],\"data_offsets\":[", offset, ",",
                                  offset + bytes, "]}"));
    offset += bytes;
  }
  std::string header = "{" + absl::StrJoin(fields, ",") + "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    const uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << header;
    for (const NamedTensor& t : tensors)
      out.write(reinterpret_cast<const char*>(t.data.data()),
                static_cast<std::streamsize>(t.data.size() * sizeof(float)));
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<NamedTensor>> ReadSafetensors(const std::string& path) {
  std::optional<std::string> file = ir::ReadFile(path);
  if (!file)
    return absl::NotFoundError(
        absl::StrCat("safetensors file ", path, " does not exist or cannot be read"));
  return ParseSafetensors(path, *file);
}

absl::StatusOr<std::vector<NamedTensor>> ParseSafetensors(const std::string& path,
                                                          const std::string& file) {
  if (file.size() < 8)
    return absl::DataLossError(
        absl::StrCat("safetensors file ", path, " is shorter than its 8-byte header length"));
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  if (n > file.size() - 8)
    return absl::DataLossError(absl::StrCat("safetensors file ", path, ": the header claims ", n,
                                            " bytes, the file has ", file.size() - 8,
                                            " after the length"));
  const std::string header = file.substr(8, n);
  Json json(path, header);
  ASSIGN_OR_RETURN(auto entries, json.Header());
  const int64_t data_bytes = static_cast<int64_t>(file.size() - 8 - n);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::vector<NamedTensor> out;
  for (const auto& entry : entries) {
    const std::string& name =
        entry.first;  // not a structured binding: lambdas capture it (clang 14)
    const auto& e = entry.second;
    auto bad = [&](const std::string& what) {
      return absl::DataLossError(
          absl::StrCat("safetensors file ", path, ": tensor '", name, "' ", what));
    };
    if (e.dtype != "F32")
      return bad(
          absl::StrCat("has dtype ", e.dtype.empty() ? "(none)" : e.dtype, "; gptc reads F32"));
    if (e.offsets.size() != 2 || e.offsets[0] > e.offsets[1])
      return bad("has malformed data_offsets");
    if (e.offsets[1] > data_bytes)
      return bad(absl::StrCat("claims bytes [", e.offsets[0], ", ", e.offsets[1],
                              ") of a data section of ", data_bytes,
                              " bytes (the file is truncated or the header lies)"));
    int64_t elems = 1;
    for (int64_t d : e.shape) {  // each bound keeps the product from overflowing
      if (d < 0 || d > ir::kMaxElements || (elems *= d) > ir::kMaxElements)
        return bad(absl::StrCat("has shape ", ir::ShapeToString(e.shape),
                                ", not a tensor gptc can hold (at most 2^31-1 elements)"));
    }
    if (elems * 4 != e.offsets[1] - e.offsets[0])
      return bad(absl::StrCat("has shape ", ir::ShapeToString(e.shape), " (", elems * 4,
                              " bytes) but data_offsets [", e.offsets[0], ", ", e.offsets[1], ")"));
    ranges.emplace_back(e.offsets[0], e.offsets[1]);
    NamedTensor t{name, e.shape, std::vector<float>(static_cast<size_t>(elems))};
    if (elems > 0)  // memcpy of an empty vector's null data is undefined (found by fuzzing)
      std::memcpy(t.data.data(), file.data() + 8 + n + e.offsets[0], static_cast<size_t>(elems) * 4);
    out.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      return absl::DataLossError(absl::StrCat(
          "safetensors file ", path, ": data ranges [", ranges[i - 1].first, ", ",
          ranges[i - 1].second, ") and [", ranges[i].first, ", ", ranges[i].second, ") overlap"));
  return out;
}

}  // namespace gptc
