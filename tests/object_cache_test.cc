// The on-disk kernel cache: a stored object reads back; truncated, corrupted or mismatched
// entries read as misses (and are rebuilt by the caller), never as objects; and end to end,
// a second process compiles nothing and a corrupted entry is rebuilt.
#include "codegen/object_cache.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/str_cat.h"
#include "codegen/kernel_compiler.h"
#include "codegen/kernel_spec.h"
#include "gtest/gtest.h"
#include "ir/parser.h"
#include "tests/run_process.h"

namespace gptc {
namespace {

namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + name;
  fs::remove_all(dir);
  return dir;
}

TEST(ObjectCache, RoundTripAndCorruption) {
  codegen::ObjectCache cache(FreshDir("cache_unit"));
  ASSERT_TRUE(cache.enabled());
  const std::string key = "matmul(f32[2,3], f32[3,4]) -> f32[2,4]|schedule=1";
  EXPECT_FALSE(cache.Load(key).has_value());
  cache.Store(key, std::string("\x7f"
                               "ELF object bytes",
                               17));
  ASSERT_TRUE(cache.Load(key).has_value());
  EXPECT_EQ(*cache.Load(key), std::string("\x7f"
                                          "ELF object bytes",
                                          17));
  EXPECT_FALSE(cache.Load(key + "x").has_value());  // another key: a miss

  const std::string path = cache.PathFor(key);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto rewrite = [&](const std::string& b) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << b;
  };
  rewrite(bytes.substr(0, bytes.size() - 3));  // truncated
  EXPECT_FALSE(cache.Load(key).has_value());
  std::string flipped = bytes;
  flipped.back() ^= 0x40;  // one bit of the object
  rewrite(flipped);
  EXPECT_FALSE(cache.Load(key).has_value());
  rewrite("");  // empty file
  EXPECT_FALSE(cache.Load(key).has_value());
  cache.Store(key, "fresh");  // a miss is overwritten by the rebuilt object
  EXPECT_EQ(*cache.Load(key), "fresh");
}

using testing::ProcessResult;

ProcessResult Train(const std::string& cache_dir, const std::string& extra = "") {
  return testing::RunCommand(
      std::string(GPTC_BINARY) +
      " train --config=tiny --n-layer=1 --block-size=8 --batch-size=2 --steps=2"
      " --eval-batches=1 --sample-tokens=0 --out-dir=none --cache-dir=" +
      cache_dir + " " + extra);
}

// "N kernels compiled, M from the cache" from gptc's compile line.
std::pair<int, int> Counts(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"((\d+) kernels compiled, (\d+) from the cache)")))
    return {-1, -1};
  return {std::stoi(m[1]), std::stoi(m[2])};
}

TEST(ObjectCache, SecondProcessCompilesNothingAndCorruptEntriesAreRebuilt) {
  const std::string dir = FreshDir("cache_e2e");
  ProcessResult cold = Train(dir);
  ASSERT_EQ(cold.code, 0) << cold.out;
  auto [compiled, hits] = Counts(cold.out);
  EXPECT_GT(compiled, 10) << cold.out;
  EXPECT_EQ(hits, 0);
  EXPECT_NE(cold.out.find("Halide runtime compiled"), std::string::npos);

  ProcessResult warm = Train(dir);
  ASSERT_EQ(warm.code, 0) << warm.out;
  EXPECT_EQ(Counts(warm.out), std::make_pair(0, compiled)) << warm.out;
  EXPECT_NE(warm.out.find("(warm)"), std::string::npos);
  EXPECT_NE(warm.out.find("Halide runtime from the cache"), std::string::npos);

  // Truncate one kernel entry: exactly that kernel is compiled again, the run still works.
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path());
  ASSERT_FALSE(entries.empty());
  std::sort(entries.begin(), entries.end());
  fs::resize_file(entries[entries.size() / 2], 100);
  ProcessResult repaired = Train(dir);
  ASSERT_EQ(repaired.code, 0) << repaired.out;
  auto [c2, h2] = Counts(repaired.out);
  // The damaged entry may have been the runtime's; then no kernel is recompiled.
  EXPECT_EQ(c2 + h2, compiled);
  EXPECT_LE(c2, 1);
  EXPECT_EQ(Counts(Train(dir).out), std::make_pair(0, compiled));  // and it is whole again

  ProcessResult bypass = Train(dir, "--no-cache");
  EXPECT_EQ(Counts(bypass.out), std::make_pair(compiled, 0)) << bypass.out;
}

// A GEMM with several candidate schedules, and a compiler caching in `dir`.
struct Tunable {
  codegen::KernelSpec spec;
  std::unique_ptr<codegen::KernelCompiler> compiler;
  int variants = 0;
};
Tunable MakeTunable(const std::string& dir) {
  auto g = ir::ParseGraph(
      "graph g(%a: f32[600,77], %b: f32[600,50]) {\n"
      "  %y = f32[77,50] matmul(%a, %b) transpose_a=true\n  return %y\n}");
  EXPECT_TRUE(g.ok()) << g.status();
  Tunable t{codegen::KernelSpec::FromNode(*g, g->nodes().back()), nullptr, 0};
  codegen::CompilerOptions o;
  o.cache_dir = dir;
  auto compiler = codegen::KernelCompiler::Create(o);
  EXPECT_TRUE(compiler.ok()) << compiler.status();
  t.compiler = std::move(*compiler);
  auto variants = t.compiler->NumVariants(t.spec);
  EXPECT_TRUE(variants.ok()) << variants.status();
  t.variants = variants.ok() ? *variants : 0;
  return t;
}

// A recorded tuning choice whose variant no longer has the recorded schedule (a candidate
// list reordered by a new build) is tuned again in the same process: the kernel built to
// check it is reused as that variant's candidate, not linked twice (a duplicate definition
// in the JIT, which failed the installed example once).
TEST(ObjectCache, AStaleTuningChoiceIsTunedAgain) {
  const std::string dir = FreshDir("stale_choice");
  Tunable t = MakeTunable(dir);
  ASSERT_GT(t.variants, 2);
  codegen::ObjectCache cache(dir);
  const std::string key = t.compiler->ChoiceKey(t.spec);
  cache.Store(key, "1|a schedule this build does not have");
  auto kernel = t.compiler->Get(t.spec);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  const std::optional<std::string> rec = cache.Load(key);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->find("a schedule this build does not have"), std::string::npos) << *rec;
  EXPECT_NE(rec->find((*kernel)->schedule), std::string::npos) << *rec;
  EXPECT_EQ(t.compiler->stats().tuned, 1);
}

// A valid choice recorded by this build is used as it is (one kernel built, none timed);
// the same choice recorded when the tuned kernels' sources were different (an older gptc,
// whose candidates ran at other speeds) is not: the GEMM is tuned again.
TEST(ObjectCache, ChoicesAreKeyedByTheTunedKernelsSources) {
  const std::string dir = FreshDir("choice_sources");
  std::string last_schedule;
  {
    Tunable probe = MakeTunable(dir);  // its object is loaded below, not compiled again
    ASSERT_GT(probe.variants, 2);
    auto last = probe.compiler->Build(probe.spec, probe.variants - 1);
    ASSERT_TRUE(last.ok()) << last.status();
    last_schedule = (*last)->schedule;
  }
  codegen::ObjectCache cache(dir);
  Tunable current = MakeTunable(dir);
  const std::string key = current.compiler->ChoiceKey(current.spec);
  ASSERT_NE(key.find("|tuned="), std::string::npos) << key;
  const std::string record = absl::StrCat(current.variants - 1, "|", last_schedule);
  cache.Store(key, record);
  auto used = current.compiler->Get(current.spec);
  ASSERT_TRUE(used.ok()) << used.status();
  EXPECT_EQ((*used)->schedule, last_schedule);
  EXPECT_EQ(current.compiler->stats().tuned, 0);

  const std::string other_dir = FreshDir("choice_sources_old");
  codegen::ObjectCache old_cache(other_dir);
  Tunable upgraded = MakeTunable(other_dir);
  std::string old_key = upgraded.compiler->ChoiceKey(upgraded.spec);
  const size_t at = old_key.find("|tuned=") + 7;
  old_key.replace(at, old_key.find('|', at) - at, "0123456789abcdef");
  old_cache.Store(old_key, record);
  auto retuned = upgraded.compiler->Get(upgraded.spec);
  ASSERT_TRUE(retuned.ok()) << retuned.status();
  EXPECT_EQ(upgraded.compiler->stats().tuned, 1);
  EXPECT_TRUE(old_cache.Load(upgraded.compiler->ChoiceKey(upgraded.spec)).has_value());
}

}  // namespace
}  // namespace gptc
