// Fuzzes the IR text path: parse, verify, print, parse again. Whatever parses must not crash
// the verifier or printer, and the printed text must read back and print identically.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto g = gptc::ir::ParseGraph(text);
  if (!g.ok()) return 0;
  (void)gptc::ir::Verify(*g);  // any verdict, but no crash
  const std::string printed = gptc::ir::PrintGraph(*g);
  auto again = gptc::ir::ParseGraph(printed);
  if (!again.ok()) {
    std::cerr << "printed text does not parse: " << again.status() << "\n" << printed;
    std::abort();
  }
  if (gptc::ir::PrintGraph(*again) != printed) {
    std::cerr << "printing is not stable:\n"
              << printed << "\n---\n"
              << gptc::ir::PrintGraph(*again);
    std::abort();
  }
  return 0;
}
