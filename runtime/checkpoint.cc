#include "runtime/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ir/read_file.h"
#include "ir/status_macros.h"

namespace gptc {
namespace {

constexpr char kMagic[8] = {'G', 'P', 'T', 'C', 'C', 'K', 'P', 'T'};
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 8;

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

template <typename T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

// Reads the payload in order; every read is bounds-checked and names what was being read.
class Reader {
 public:
  Reader(const std::string& path, const std::string& data) : path_(path), data_(data) {}
  template <typename T>
  absl::StatusOr<T> Get(const char* what) {
    if (pos_ + sizeof(T) > data_.size()) return Truncated(what);
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  absl::StatusOr<std::string> Bytes(uint64_t n, const char* what) {
    if (n > data_.size() - pos_) return Truncated(what);
    std::string s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }
  size_t size() const { return data_.size(); }

 private:
  absl::Status Truncated(const char* what) const {
    return absl::DataLossError(absl::StrCat("checkpoint ", path_, ": ", what, " at byte ",
                                            kHeaderBytes + pos_,
                                            " runs past the end of the payload"));
  }
  const std::string& path_;
  const std::string& data_;
  size_t pos_ = 0;
};

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += d[c >> 4], out += d[c & 15];
  return out;
}

absl::StatusOr<std::string> Unhex(const std::string& path, const std::string& s) {
  if (s.size() % 2)
    return absl::DataLossError(absl::StrCat("checkpoint ", path, ": the vocabulary is malformed"));
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      const char c = s[i + k];
      const int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (x < 0)
        return absl::DataLossError(
            absl::StrCat("checkpoint ", path, ": the vocabulary is malformed"));
      v = v * 16 + x;
    }
    out += static_cast<char>(v);
  }
  return out;
}

std::string Meta(const Checkpoint& c) {
  std::string m = absl::StrCat("arch=", c.arch, "\nname=", c.model_name, "\n");
  for (const auto& [k, v] : c.config) absl::StrAppend(&m, "config.", k, "=", Hex(v), "\n");
  absl::StrAppend(&m, "tokenizer=", Hex(c.tokenizer), "\nvocabulary=", Hex(c.vocabulary),
                  "\nstep=", c.step, "\nrng=", Hex(c.rng_state),
                  "\nbest_val_loss=", c.best_val_loss, "\n");
  for (const auto& [k, v] : c.flags) absl::StrAppend(&m, "flag.", k, "=", Hex(v), "\n");
  return m;
}

// Version 1 checkpoints predate model families: they are GPT's, with its config keys at the
// top level (bias and dropout absent in the first ones written).
void ReadVersion1Config(const std::map<std::string, std::string>& kv, Checkpoint& c) {
  c.arch = "gpt";
  for (const char* key : {"vocab", "block_size", "n_layer", "n_head", "n_embd", "batch_size",
                          "layernorm_eps", "dropout"})
    if (auto it = kv.find(key); it != kv.end()) c.config[key] = it->second;
  if (auto it = kv.find("bias"); it != kv.end())
    c.config["bias"] = it->second == "0" ? "false" : "true";
}

absl::Status ParseMeta(const std::string& path, const std::string& text, uint32_t version,
                       Checkpoint& c) {
  std::map<std::string, std::string> kv;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos)
      return absl::DataLossError(
          absl::StrCat("checkpoint ", path, ": malformed metadata line '", line, "'"));
    kv[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  auto need = [&](const char* key) -> absl::StatusOr<std::string> {
    auto it = kv.find(key);
    if (it == kv.end())
      return absl::DataLossError(
          absl::StrCat("checkpoint ", path, ": metadata has no '", key, "'"));
    return it->second;
  };
  ASSIGN_OR_RETURN(c.model_name, need("name"));
  if (version == 1) {
    ReadVersion1Config(kv, c);
  } else {
    ASSIGN_OR_RETURN(c.arch, need("arch"));
  }
  ASSIGN_OR_RETURN(std::string step, need("step"));
  ASSIGN_OR_RETURN(std::string best, need("best_val_loss"));
  if (!absl::SimpleAtoi(step, &c.step) || !absl::SimpleAtod(best, &c.best_val_loss))
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path, ": malformed step or best_val_loss"));
  if (auto it = kv.find("tokenizer"); it != kv.end()) {  // older checkpoints: "char"
    ASSIGN_OR_RETURN(c.tokenizer, Unhex(path, it->second));
  }
  ASSIGN_OR_RETURN(std::string vocab, need("vocabulary"));
  ASSIGN_OR_RETURN(c.vocabulary, Unhex(path, vocab));
  ASSIGN_OR_RETURN(std::string rng, need("rng"));
  ASSIGN_OR_RETURN(c.rng_state, Unhex(path, rng));
  for (const auto& [k, v] : kv) {
    if (k.rfind("flag.", 0) == 0) {
      ASSIGN_OR_RETURN(c.flags[k.substr(5)], Unhex(path, v));
    } else if (version > 1 && k.rfind("config.", 0) == 0) {
      ASSIGN_OR_RETURN(c.config[k.substr(7)], Unhex(path, v));
    }
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// The payload as a list of byte ranges (metadata, names, shapes, and the tensors' own
// memory), so it can be checksummed and written without a copy.
struct Pieces {
  std::string small;  // lengths, names, dims: appended here, referenced by offset
  std::vector<std::pair<int64_t, std::pair<const char*, size_t>>>
      parts;  // (offset in small or -1, external)
  void Small(const void* p, size_t n) {
    parts.push_back({static_cast<int64_t>(small.size()), {nullptr, n}});
    small.append(static_cast<const char*>(p), n);
  }
  template <typename T>
  void Value(T v) {
    Small(&v, sizeof(T));
  }
  void External(const void* p, size_t n) {
    parts.push_back({-1, {static_cast<const char*>(p), n}});
  }
  template <typename F>
  void ForEach(F f) const {
    for (const auto& [off, ext] : parts) f(off >= 0 ? small.data() + off : ext.first, ext.second);
  }
};

absl::Status WriteAll(int fd, const char* p, size_t n, size_t& done) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) return absl::ResourceExhaustedError(std::strerror(errno));
    p += w, n -= static_cast<size_t>(w), done += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteCheckpoint(const std::string& path, const Checkpoint& c) {
  Pieces pieces;
  const std::string meta = Meta(c);
  pieces.Value<uint64_t>(meta.size());
  pieces.Small(meta.data(), meta.size());
  pieces.Value<uint32_t>(static_cast<uint32_t>(c.tensors.size()));
  for (const Checkpoint::Tensor& t : c.tensors) {
    pieces.Value<uint32_t>(static_cast<uint32_t>(t.name.size()));
    pieces.Small(t.name.data(), t.name.size());
    pieces.Value<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) pieces.Value<int64_t>(d);
    pieces.External(t.values(), static_cast<size_t>(t.size()) * sizeof(float));
  }
  uint64_t bytes = 0, sum = 1469598103934665603ull;
  pieces.ForEach([&](const char* p, size_t n) {
    bytes += n;
    for (size_t i = 0; i < n; ++i)
      sum = (sum ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
  });
  std::string header(kMagic, 8);
  Put<uint32_t>(header, kCheckpointVersion);
  Put<uint64_t>(header, bytes);
  Put<uint64_t>(header, sum);

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write checkpoint ", tmp, ": ", std::strerror(errno)));
  size_t done = 0;
  absl::Status s = WriteAll(fd, header.data(), header.size(), done);
  // Fault injection for the kill tests: stall once the write is half done, so a SIGKILL can
  // be aimed inside it (tests/kill_test.cc). Unset in normal use.
  const char* stall = std::getenv("GPTC_CHECKPOINT_WRITE_STALL_MS");
  bool stalled = false;
  pieces.ForEach([&](const char* p, size_t n) {
    if (s.ok()) s = WriteAll(fd, p, n, done);
    if (stall && !stalled && done >= (header.size() + bytes) / 2) {
      stalled = true;
      ::usleep(static_cast<useconds_t>(1000 * std::atoi(stall)));
    }
  });
  if (!s.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return absl::ResourceExhaustedError(absl::StrCat(
        "writing checkpoint ", tmp, " failed after ", done, " of ", header.size() + bytes,
        " bytes: ", s.message(), "; the previous checkpoint ", path, " is untouched"));
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return absl::ResourceExhaustedError(
        absl::StrCat("flushing checkpoint ", tmp, " failed: ", std::strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  }
  // The rename itself must reach the disk for the new checkpoint to survive a power cut.
  const std::string dir =
      path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path) {
  // A run's directory (gptc train --out-dir) means its latest checkpoint, as nanoGPT's
  // out_dir means out_dir/ckpt.pt.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    const std::string latest = path + (path.back() == '/' ? "" : "/") + "ckpt.bin";
    if (!std::filesystem::exists(latest, ec))
      return absl::NotFoundError(absl::StrCat("checkpoint ", path, " is a directory without ",
                                              "ckpt.bin (gptc train --out-dir writes ckpt.bin "
                                              "and best.bin there)"));
    return ReadCheckpoint(latest);
  }
  std::optional<std::string> file = ir::ReadFile(path);
  if (!file)
    return absl::NotFoundError(
        absl::StrCat("checkpoint ", path, " does not exist or cannot be read"));
  return ParseCheckpoint(path, *std::move(file));
}

absl::StatusOr<Checkpoint> ParseCheckpoint(const std::string& path, std::string file) {
  if (file.size() >= 8 && std::memcmp(file.data(), kMagic, 8) != 0)
    return absl::DataLossError(absl::StrCat(
        "checkpoint ", path, " is not a gptc checkpoint (it does not start with GPTCCKPT)"));
  if (file.size() < kHeaderBytes)
    return absl::DataLossError(absl::StrCat("checkpoint ", path, " is truncated: ", file.size(),
                                            " bytes, shorter than the ", kHeaderBytes,
                                            "-byte header"));
  uint32_t version;
  uint64_t bytes, sum;
  std::memcpy(&version, file.data() + 8, 4);
  std::memcpy(&bytes, file.data() + 12, 8);
  std::memcpy(&sum, file.data() + 20, 8);
  if (version < 1 || version > kCheckpointVersion)
    return absl::DataLossError(absl::StrCat("checkpoint ", path, " has format version ", version,
                                            "; this gptc reads 1 to ", kCheckpointVersion));
  if (bytes != file.size() - kHeaderBytes)  // checked before the payload is touched
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path, " is truncated or padded: the header promises ", bytes,
                     " payload bytes, the file has ", file.size() - kHeaderBytes));
  file.erase(0, kHeaderBytes);  // the payload, in place
  const std::string& payload = file;
  if (Fnv1a(payload) != sum)
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path, " is corrupt: its checksum does not match"));
  Reader r(path, payload);
  Checkpoint c;
  ASSIGN_OR_RETURN(uint64_t meta_len, r.Get<uint64_t>("the metadata length"));
  ASSIGN_OR_RETURN(std::string meta, r.Bytes(meta_len, "the metadata"));
  RETURN_IF_ERROR(ParseMeta(path, meta, version, c));
  ASSIGN_OR_RETURN(uint32_t count, r.Get<uint32_t>("the tensor count"));
  for (uint32_t i = 0; i < count; ++i) {
    Checkpoint::Tensor t;
    ASSIGN_OR_RETURN(uint32_t name_len, r.Get<uint32_t>("a tensor name length"));
    ASSIGN_OR_RETURN(t.name, r.Bytes(name_len, "a tensor name"));
    ASSIGN_OR_RETURN(uint32_t rank, r.Get<uint32_t>("a tensor rank"));
    if (rank > 8)
      return absl::DataLossError(
          absl::StrCat("checkpoint ", path, ": tensor ", t.name, " has rank ", rank));
    uint64_t elems = 1;
    for (uint32_t d = 0; d < rank; ++d) {
      ASSIGN_OR_RETURN(int64_t dim, r.Get<int64_t>("a tensor dimension"));
      // Each bound keeps the product from overflowing (and the allocation sane).
      if (dim < 0 || dim > ir::kMaxElements ||
          (elems *= static_cast<uint64_t>(dim)) > static_cast<uint64_t>(ir::kMaxElements))
        return absl::DataLossError(absl::StrCat("checkpoint ", path, ": tensor ", t.name,
                                                " has dimension ", dim, ", too large"));
      t.shape.push_back(dim);
    }
    ASSIGN_OR_RETURN(std::string data, r.Bytes(elems * sizeof(float), "tensor data"));
    t.data.resize(elems);
    if (!data.empty())  // memcpy to an empty vector's null data is undefined (found by fuzzing)
      std::memcpy(t.data.data(), data.data(), data.size());
    c.tensors.push_back(std::move(t));
  }
  if (r.pos() != r.size())
    return absl::DataLossError(absl::StrCat("checkpoint ", path, ": ", r.size() - r.pos(),
                                            " bytes after the last tensor"));
  return c;
}

}  // namespace gptc
