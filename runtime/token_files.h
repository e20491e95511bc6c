// Token files in nanoGPT's format: DIR/train.bin and DIR/val.bin are raw little-endian token
// ids, uint16 (uint32 when the vocabulary passes 65535), as nanoGPT's prepare.py scripts write
// them and its train.py reads them with np.memmap. gptc adds DIR/meta.json (the id type, the
// vocabulary size and the tokenizer: a trained BPE's file beside it as tokenizer.bpe, the char
// tokenizer's alphabet in hex); a directory without it is nanoGPT's GPT-2 data (uint16, gpt2).
//
// The files are read memory-mapped, and each window's pages are handed back after it is
// copied (madvise DONTNEED), so data of any size costs no resident memory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/text_tokenizer.h"

namespace gptc {

struct TokenFilesMeta {
  int bytes_per_token = 2;  // 2: uint16, 4: uint32
  int64_t vocab_size = 50257;
  std::string tokenizer = "gpt2";  // TextTokenizer::name()
  std::string tokenizer_state;     // TextTokenizer::state()
};

// Writes the two splits and meta.json (each file under a temporary name, then renamed).
absl::Status WriteTokenFiles(const std::string& dir, const std::vector<int32_t>& train,
                             const std::vector<int32_t>& val, const TextTokenizer& tok);

// One split, mapped.
class MappedTokens {
 public:
  static absl::StatusOr<std::unique_ptr<MappedTokens>> Open(const std::string& path,
                                                            int bytes_per_token);
  ~MappedTokens();
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Tokens [start, start + n) into out; their pages are released afterwards.
  void Read(int64_t start, int64_t n, int32_t* out) const;

 private:
  MappedTokens() = default;
  std::string path_;
  const unsigned char* base_ = nullptr;
  size_t bytes_ = 0;
  int64_t size_ = 0;
  int width_ = 2;
};

struct TokenFiles {
  TokenFilesMeta meta;
  std::unique_ptr<MappedTokens> train, val;
};

// `dir` holds train.bin and val.bin (and meta.json, or not: nanoGPT's GPT-2 data). A missing
// file, a malformed meta.json, or a file whose size is not a whole number of tokens is an
// error naming the file.
absl::StatusOr<TokenFiles> OpenTokenFiles(const std::string& dir);
bool IsTokenDirectory(const std::string& path);

}  // namespace gptc
