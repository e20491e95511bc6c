// One malformed text per class of parse error, each with its exact message.
#include "gtest/gtest.h"
#include "ir/parser.h"

namespace gptc {
namespace {

struct Case {
  const char* what;
  const char* text;
  const char* message;
};

const Case kCases[] = {
    {"missing graph keyword", "grph g() {\n  return\n}",
     "line 1, column 1: expected 'graph', found 'grph'\n  grph g() {"},
    {"unknown op", "graph g(%a: f32[2]) {\n  %b = f32[2] frob(%a)\n  return %b\n}",
     "line 2, column 15: unknown op 'frob'\n    %b = f32[2] frob(%a)"},
    {"unknown dtype", "graph g(%a: f16[2]) {\n  return %a\n}",
     "line 1, column 13: unknown dtype 'f16' (expected f32 or i32)\n  graph g(%a: f16[2]) {"},
    {"undefined operand", "graph g(%a: f32[2]) {\n  %b = f32[2] add(%a, %zz)\n  return %b\n}",
     "line 2, column 23: undefined value %zz\n    %b = f32[2] add(%a, %zz)"},
    {"undefined return", "graph g(%a: f32[2]) {\n  return %q\n}",
     "line 2, column 10: undefined value %q\n    return %q"},
    {"duplicate definition",
     "graph g(%a: f32[2]) {\n  %b = f32[2] neg(%a)\n  %b = f32[2] neg(%a)\n  return %b\n}",
     "line 3, column 3: %b is defined twice (first on line 2)\n    %b = f32[2] neg(%a)"},
    {"names and types differ", "graph g(%a: f32[2]) {\n  %b, %c = f32[2] neg(%a)\n  return %b\n}",
     "line 2, column 3: 2 names but 1 types\n    %b, %c = f32[2] neg(%a)"},
    {"malformed number", "graph g(%a: f32[2x]) {\n  return %a\n}",
     "line 1, column 17: malformed number '2x'\n  graph g(%a: f32[2x]) {"},
    {"stray character", "graph g(%a: f32[2]) {\n  %b = f32[2] neg(%a) $\n  return %b\n}",
     "line 2, column 23: unexpected character '$'\n    %b = f32[2] neg(%a) $"},
    {"missing comma between operands",
     "graph g(%a: f32[2]) {\n  %b = f32[2] add(%a %a)\n  return %b\n}",
     "line 2, column 22: expected ',', found '%a'\n    %b = f32[2] add(%a %a)"},
    {"unterminated graph", "graph g(%a: f32[2]) {\n  %b = f32[2] neg(%a)\n",
     "line 3, column 1: expected 'return', found end of input\n  "},
    {"bad attribute value",
     "graph g(%a: f32[2]) {\n  %b = f32[2] scale(%a) factor=%a\n  return %b\n}",
     "line 2, column 32: expected an attribute value (number, true, false, [list]), found '%a'\n"
     "    %b = f32[2] scale(%a) factor=%a"},
    {"attribute given twice",
     "graph g(%a: f32[2]) {\n  %b = f32[2] scale(%a) factor=1.0 factor=2.0\n  return %b\n}",
     "line 2, column 36: attribute 'factor' is given twice\n"
     "    %b = f32[2] scale(%a) factor=1.0 factor=2.0"},
    {"declaration in the body", "graph g(%a: f32[2]) {\n  %w = f32[2] param()\n  return %w\n}",
     "line 2, column 15: 'param' declarations belong in the graph signature\n"
     "    %w = f32[2] param()"},
    {"text after the graph", "graph g(%a: f32[2]) {\n  return %a\n} extra",
     "line 3, column 3: expected end of input after the graph, found 'extra'\n  } extra"},
    {"negative dimension", "graph g(%a: f32[-2]) {\n  return %a\n}",
     "line 1, column 17: negative dimension -2\n  graph g(%a: f32[-2]) {"},
    {"fused body without yield",
     "graph g(%a: f32[2]) {\n  %b = f32[2] fusion(%a) {\n    %b = f32[2] neg(%a)\n  }\n  return "
     "%b\n}",
     "line 4, column 3: expected a value name such as %x, found '}'\n    }"},
    {"fused body never closed",
     "graph g(%a: f32[2]) {\n  %b = f32[2] fusion(%a) {\n    %b = f32[2] neg(%a)\n",
     "line 2, column 26: fused body has no 'yield'\n    %b = f32[2] fusion(%a) {"},
    {"operand twice in a fused node",
     "graph g(%a: f32[2]) {\n  %b = f32[2] fusion(%a, %a) {\n    %b = f32[2] add(%a, %a)\n    "
     "yield %b\n  }\n"
     "  return %b\n}",
     "line 2, column 26: operand %a appears twice in a fused node\n    %b = f32[2] fusion(%a, %a) "
     "{"},
    {"fused body reads an outer value",
     "graph g(%a: f32[2], %c: f32[2]) {\n  %b = f32[2] fusion(%a) {\n    %b = f32[2] add(%a, %c)\n "
     "   yield %b\n  }\n"
     "  return %b\n}",
     "line 3, column 25: undefined value %c\n      %b = f32[2] add(%a, %c)"},
    {"unterminated string", "graph g(%a: f32[2]) {\n  %b = f32[2] fusion(%a) pattern=\"elem\n",
     "line 2, column 34: unterminated string\n    %b = f32[2] fusion(%a) pattern=\"elem"},
};

TEST(ParserErrors, EachClassHasItsMessage) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.what);
    auto g = ir::ParseGraph(c.text);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(std::string(g.status().message()), c.message);
  }
}

}  // namespace
}  // namespace gptc
