#include "runtime/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/read_file.h"
#include "ir/status_macros.h"
#include "nlohmann/json.hpp"

namespace gptc {
namespace {

struct Entry {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<int64_t> offsets;
};

// The header's tensors by name, read with nlohmann::json; every way it can be malformed is an
// error naming the file and what is wrong.
absl::StatusOr<std::map<std::string, Entry>> ReadHeader(const std::string& path,
                                                        const std::string& text) {
  auto error = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat("safetensors file ", path, ": ", what));
  };
  nlohmann::json header;
  std::set<std::string> seen;  // the parser keeps the last of repeated keys: catch them here
  std::string twice;
  auto on_key = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 &&
        !seen.insert(parsed.get<std::string>()).second && twice.empty())
      twice = parsed.get<std::string>();
    return true;
  };
  try {
    header = nlohmann::json::parse(text, on_key);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts from 1 within the header, which starts after the 8-byte length.
    return error(absl::StrCat("header byte ", 8 + e.byte - 1, " is not JSON (",
                              std::string(e.what()).substr(std::string(e.what()).find(':') + 2),
                              ")"));
  } catch (const nlohmann::json::exception& e) {  // a number too large, found by fuzzing
    return error(absl::StrCat("the header is not JSON gptc can read (",
                              std::string(e.what()).substr(std::string(e.what()).find(']') + 2),
                              ")"));
  }
  if (!header.is_object()) return error("the header is not a JSON object");
  if (!twice.empty()) return error(absl::StrCat("tensor '", twice, "' appears twice"));
  auto ints = [](const nlohmann::json& j, std::vector<int64_t>& out) {
    if (!j.is_array()) return false;
    for (const nlohmann::json& v : j) {
      if (!v.is_number_unsigned() || v.get<uint64_t>() > (uint64_t{1} << 53)) return false;
      out.push_back(static_cast<int64_t>(v.get<uint64_t>()));
    }
    return true;
  };
  std::map<std::string, Entry> out;
  for (const auto& [name, t] : header.items()) {
    if (name == "__metadata__") {
      if (!t.is_object()) return error("__metadata__ is not an object");
      for (const auto& kv : t.items())
        if (!kv.value().is_string())
          return error(absl::StrCat("__metadata__ '", kv.key(), "' is not a string"));
      continue;
    }
    if (!t.is_object()) return error(absl::StrCat("tensor '", name, "' is not an object"));
    Entry e;
    for (const auto& [key, v] : t.items()) {
      if (key == "dtype" && v.is_string()) {
        e.dtype = v.get<std::string>();
      } else if (key == "shape" && ints(v, e.shape)) {
      } else if (key == "data_offsets" && ints(v, e.offsets)) {
      } else if (key == "dtype" || key == "shape" || key == "data_offsets") {
        return error(absl::StrCat("tensor '", name, "' has a malformed ", key));
      } else {
        return error(absl::StrCat("tensor '", name, "' has an unknown field '", key, "'"));
      }
    }
    out[name] = std::move(e);
  }
  return out;
}

}  // namespace

absl::Status WriteSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();  // metadata first, then in order
  if (!metadata.empty()) h["__metadata__"] = metadata;
  int64_t offset = 0;
  for (const NamedTensor& t : tensors) {
    const int64_t bytes = static_cast<int64_t>(t.data.size() * sizeof(float));
    h[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  // Bytes that are not UTF-8 (a metadata value from a flag) become U+FFFD: JSON is UTF-8.
  std::string header = h.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
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
  ASSIGN_OR_RETURN(auto entries, ReadHeader(path, file.substr(8, n)));
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
      std::memcpy(t.data.data(), file.data() + 8 + n + e.offsets[0],
                  static_cast<size_t>(elems) * 4);
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
