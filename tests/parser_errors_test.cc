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
     "<input>:1:1: error: expected 'graph', found 'grph'\ngrph g() {\n^"},
    {"unknown op", "graph g(%a: f32[2]) {\n  %b = f32[2] frob(%a)\n  return %b\n}",
     "<input>:2:15: error: unknown op 'frob'\n  %b = f32[2] frob(%a)\n              ^"},
    {"unknown dtype", "graph g(%a: f16[2]) {\n  return %a\n}",
     "<input>:1:13: error: unknown dtype 'f16' (expected f32 or i32)\ngraph g(%a: f16[2]) {\n      "
     "      ^"},
    {"undefined operand", "graph g(%a: f32[2]) {\n  %b = f32[2] add(%a, %zz)\n  return %b\n}",
     "<input>:2:23: error: undefined value %zz\n  %b = f32[2] add(%a, %zz)\n                      "
     "^"},
    {"undefined return", "graph g(%a: f32[2]) {\n  return %q\n}",
     "<input>:2:10: error: undefined value %q\n  return %q\n         ^"},
    {"duplicate definition",
     "graph g(%a: f32[2]) {\n  %b = f32[2] neg(%a)\n  %b = f32[2] neg(%a)\n  return %b\n}",
     "<input>:3:3: error: %b is defined twice (first on line 2)\n  %b = f32[2] neg(%a)\n  ^"},
    {"names and types differ", "graph g(%a: f32[2]) {\n  %b, %c = f32[2] neg(%a)\n  return %b\n}",
     "<input>:2:3: error: 2 names but 1 types\n  %b, %c = f32[2] neg(%a)\n  ^"},
    {"malformed number", "graph g(%a: f32[2x]) {\n  return %a\n}",
     "<input>:1:17: error: malformed number '2x'\ngraph g(%a: f32[2x]) {\n                ^"},
    {"stray character", "graph g(%a: f32[2]) {\n  %b = f32[2] neg(%a) $\n  return %b\n}",
     "<input>:2:23: error: unexpected character '$'\n  %b = f32[2] neg(%a) $\n                     "
     " ^"},
    {"missing comma between operands",
     "graph g(%a: f32[2]) {\n  %b = f32[2] add(%a %a)\n  return %b\n}",
     "<input>:2:22: error: expected ',', found '%a'\n  %b = f32[2] add(%a %a)\n                    "
     " ^"},
    {"unterminated graph", "graph g(%a: f32[2]) {\n  %b = f32[2] neg(%a)\n",
     "<input>:3:1: error: expected 'return', found end of input\n\n^"},
    {"bad attribute value",
     "graph g(%a: f32[2]) {\n  %b = f32[2] scale(%a) factor=%a\n  return %b\n}",
     "<input>:2:32: error: expected an attribute value (number, true, false, [list]), found '%a'\n "
     " %b = f32[2] scale(%a) factor=%a\n                               ^"},
    {"attribute given twice",
     "graph g(%a: f32[2]) {\n  %b = f32[2] scale(%a) factor=1.0 factor=2.0\n  return %b\n}",
     "<input>:2:36: error: attribute 'factor' is given twice\n  %b = f32[2] scale(%a) factor=1.0 "
     "factor=2.0\n                                   ^"},
    {"declaration in the body", "graph g(%a: f32[2]) {\n  %w = f32[2] param()\n  return %w\n}",
     "<input>:2:15: error: 'param' declarations belong in the graph signature\n  %w = f32[2] "
     "param()\n              ^"},
    {"text after the graph", "graph g(%a: f32[2]) {\n  return %a\n} extra",
     "<input>:3:3: error: expected end of input after the graph, found 'extra'\n} extra\n  ^"},
    {"negative dimension", "graph g(%a: f32[-2]) {\n  return %a\n}",
     "<input>:1:17: error: negative dimension -2\ngraph g(%a: f32[-2]) {\n                ^"},
    {"fused body without yield",
     "graph g(%a: f32[2]) {\n  %b = f32[2] fusion(%a) {\n    %b = f32[2] neg(%a)\n  }\n  return "
     "%b\n}",
     "<input>:4:3: error: expected a value name such as %x, found '}'\n  }\n  ^"},
    {"fused body never closed",
     "graph g(%a: f32[2]) {\n  %b = f32[2] fusion(%a) {\n    %b = f32[2] neg(%a)\n",
     "<input>:2:26: error: fused body has no 'yield'\n  %b = f32[2] fusion(%a) {\n                 "
     "        ^"},
    {"operand twice in a fused node",
     "graph g(%a: f32[2]) {\n  %b = f32[2] fusion(%a, %a) {\n    %b = f32[2] add(%a, %a)\n    "
     "yield %b\n  }\n"
     "  return %b\n}",
     "<input>:2:26: error: operand %a appears twice in a fused node\n  %b = f32[2] fusion(%a, %a) "
     "{\n                         ^"},
    {"fused body reads an outer value",
     "graph g(%a: f32[2], %c: f32[2]) {\n  %b = f32[2] fusion(%a) {\n    %b = f32[2] add(%a, %c)\n "
     "   yield %b\n  }\n"
     "  return %b\n}",
     "<input>:3:25: error: undefined value %c\n    %b = f32[2] add(%a, %c)\n                       "
     " ^"},
    {"unterminated string", "graph g(%a: f32[2]) {\n  %b = f32[2] fusion(%a) pattern=\"elem\n",
     "<input>:2:34: error: unterminated string\n  %b = f32[2] fusion(%a) pattern=\"elem\n          "
     "                       ^"},
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
