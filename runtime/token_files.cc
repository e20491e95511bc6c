#include "runtime/token_files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ir/read_file.h"
#include "ir/status_macros.h"
#include "ir/write_file.h"

namespace gptc {
namespace {

namespace fs = std::filesystem;

template <typename T>
std::string Narrow(const std::vector<int32_t>& ids) {
  std::string out(ids.size() * sizeof(T), '\0');
  for (size_t i = 0; i < ids.size(); ++i) {
    const T v = static_cast<T>(ids[i]);
    std::memcpy(&out[i * sizeof(T)], &v, sizeof(T));  // little-endian on x86
  }
  return out;
}

}  // namespace

bool IsTokenDirectory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::exists(fs::path(path) / "train.bin", ec);
}

absl::Status WriteTokenFiles(const std::string& dir, const std::vector<int32_t>& train,
                             const std::vector<int32_t>& val, const TextTokenizer& tok) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const bool wide = tok.vocab_size() > 65536;
  for (const auto& [name, ids] :
       {std::make_pair("train.bin", &train), std::make_pair("val.bin", &val)}) {
    const std::string bytes = wide ? Narrow<uint32_t>(*ids) : Narrow<uint16_t>(*ids);
    RETURN_IF_ERROR(ir::WriteFileAtomically((fs::path(dir) / name).string(), bytes));
  }
  nlohmann::json meta = {{"format", "gptc-tokens"},
                         {"version", 1},
                         {"dtype", wide ? "uint32" : "uint16"},
                         {"vocab_size", tok.vocab_size()},
                         {"tokenizer", tok.name()},
                         {"train_tokens", train.size()},
                         {"val_tokens", val.size()}};
  if (tok.name() == kBpeTokenizer) {
    const std::string state = tok.state();
    RETURN_IF_ERROR(ir::WriteFileAtomically((fs::path(dir) / "tokenizer.bpe").string(), state));
    meta["tokenizer_file"] = "tokenizer.bpe";
  } else if (tok.name() == "char") {
    meta["alphabet_hex"] = absl::BytesToHexString(tok.state());
  }
  const std::string text = meta.dump(2) + "\n";
  return ir::WriteFileAtomically((fs::path(dir) / "meta.json").string(), text);
}

absl::StatusOr<std::unique_ptr<MappedTokens>> MappedTokens::Open(const std::string& path,
                                                                 int bytes_per_token) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("token file ", path, " cannot be opened"));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return absl::NotFoundError(absl::StrCat("token file ", path, " cannot be read"));
  }
  std::unique_ptr<MappedTokens> m(new MappedTokens());
  m->path_ = path;
  m->width_ = bytes_per_token;
  m->bytes_ = static_cast<size_t>(st.st_size);
  if (m->bytes_ % bytes_per_token != 0) {
    ::close(fd);
    return absl::DataLossError(absl::StrCat("token file ", path, " has ", m->bytes_,
                                            " bytes, not a whole number of ", bytes_per_token,
                                            "-byte tokens"));
  }
  m->size_ = static_cast<int64_t>(m->bytes_ / bytes_per_token);
  if (m->bytes_ > 0) {
    void* p = mmap(nullptr, m->bytes_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return absl::ResourceExhaustedError(absl::StrCat("cannot map token file ", path));
    }
    madvise(p, m->bytes_, MADV_RANDOM);  // windows at random offsets: no read-ahead
    m->base_ = static_cast<const unsigned char*>(p);
  }
  ::close(fd);  // the mapping keeps the file
  return m;
}

MappedTokens::~MappedTokens() {
  if (base_) munmap(const_cast<unsigned char*>(base_), bytes_);
}

void MappedTokens::Read(int64_t start, int64_t n, int32_t* out) const {
  const unsigned char* p = base_ + start * width_;
  if (width_ == 2) {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      out[i] = v;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      uint32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      out[i] = static_cast<int32_t>(v);
    }
  }
  // Hand the pages back: they stay in the page cache, not in this process's resident set.
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t lo = reinterpret_cast<uintptr_t>(p) / page * page;
  const uintptr_t hi = reinterpret_cast<uintptr_t>(p + n * width_);
  madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

absl::StatusOr<TokenFiles> OpenTokenFiles(const std::string& dir) {
  TokenFiles f;
  const fs::path meta_path = fs::path(dir) / "meta.json";
  std::error_code ec;
  if (fs::exists(meta_path, ec)) {
    const std::string text = ir::ReadFile(meta_path.string()).value_or("");
    nlohmann::json m = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    auto bad = [&](const std::string& what) {
      return absl::DataLossError(absl::StrCat(meta_path.string(), ": ", what));
    };
    if (!m.is_object()) return bad("not a JSON object");
    if (!m.contains("dtype") || !m["dtype"].is_string() ||
        (m["dtype"] != "uint16" && m["dtype"] != "uint32"))
      return bad("dtype must be \"uint16\" or \"uint32\"");
    f.meta.bytes_per_token = m["dtype"] == "uint16" ? 2 : 4;
    if (!m.contains("vocab_size") || !m["vocab_size"].is_number_integer() ||
        m["vocab_size"].get<int64_t>() < 1)
      return bad("vocab_size must be a positive integer");
    f.meta.vocab_size = m["vocab_size"].get<int64_t>();
    if (!m.contains("tokenizer") || !m["tokenizer"].is_string()) return bad("no tokenizer named");
    f.meta.tokenizer = m["tokenizer"].get<std::string>();
    if (f.meta.tokenizer == kBpeTokenizer) {
      const fs::path tp = fs::path(dir) / "tokenizer.bpe";
      std::optional<std::string> t = ir::ReadFile(tp.string());
      if (!t) return bad(absl::StrCat("the tokenizer file ", tp.string(), " is missing"));
      f.meta.tokenizer_state = *std::move(t);
    } else if (f.meta.tokenizer == "char") {
      if (!m.contains("alphabet_hex") || !m["alphabet_hex"].is_string())
        return bad("no alphabet_hex");
      f.meta.tokenizer_state = absl::HexStringToBytes(m["alphabet_hex"].get<std::string>());
    }
  } else if (fs::exists(fs::path(dir) / "meta.pkl", ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir,
        " has nanoGPT's meta.pkl (a character vocabulary in a Python pickle), which gptc "
        "does not read: prepare the text with `gptc prepare --tokenizer=char`"));
  }
  ASSIGN_OR_RETURN(
      f.train, MappedTokens::Open((fs::path(dir) / "train.bin").string(), f.meta.bytes_per_token));
  ASSIGN_OR_RETURN(
      f.val, MappedTokens::Open((fs::path(dir) / "val.bin").string(), f.meta.bytes_per_token));
  return f;
}

}  // namespace gptc
