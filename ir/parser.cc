#include "ir/parser.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ir/diagnostic.h"
#include "ir/lexer.h"
#include "ir/status_macros.h"

namespace gptc::ir {
namespace {

class Parser {
 public:
  Parser(std::string_view text, std::string_view file, std::vector<Token> toks,
         std::vector<SourceLoc>* locs)
      : text_(text), file_(file), toks_(std::move(toks)), locs_(locs) {}

  absl::StatusOr<Graph> Run();

 private:
  struct PendingUse {
    NodeId node;
    size_t slot;
    Token tok;
  };

  const Token& Peek(int ahead = 0) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  const Token& Next() { return toks_[std::min(pos_++, toks_.size() - 1)]; }
  bool IsPunct(const char* p, int ahead = 0) const {
    return Peek(ahead).kind == TokKind::kPunct && Peek(ahead).text == p;
  }
  bool IsIdent(const char* id) const { return Peek().kind == TokKind::kIdent && Peek().text == id; }

  absl::Status ErrorAt(const Token& t, const std::string& msg) const {
    return absl::InvalidArgumentError(Diagnostic(file_, text_, {t.line, t.col}, msg));
  }
  // Where node `n` (about to be added) is written: its first token.
  void Locate(const Token& t) {
    if (locs_ && !in_body_) locs_->push_back({t.line, t.col});
  }
  absl::Status Expected(const std::string& what) const {
    return ErrorAt(Peek(), absl::StrCat("expected ", what, ", found ", Describe(Peek())));
  }
  absl::Status ExpectPunct(const char* p) {
    if (!IsPunct(p)) return Expected(absl::StrCat("'", p, "'"));
    ++pos_;
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> ParseInt();
  absl::StatusOr<TensorType> ParseType();
  absl::StatusOr<Attr> ParseAttrValue();
  absl::Status ParseDecl();
  // `@arena[off, bytes]`, `@view(%base[, offset, [strides]])` or `@inplace(%base)`, if one
  // follows: the placement of value `v` (bases are resolved with the other operands).
  absl::Status ParsePlacement(ValueId v);
  absl::Status ParseStatement();
  // The `{ ... yield %a, %b }` of a fused node; its inputs are named after `operands`.
  absl::Status ParseBody(NodeId node, const std::vector<Token>& operands);
  absl::Status Define(const Token& name_tok, NodeId node);
  absl::StatusOr<ValueId> Resolve(const Token& t) const;
  // `%a, %b, ...` (possibly empty), as after `return` and `yield`.
  std::vector<Token> NameList();
  // Points every operand of the current graph at its value (uses before definitions are
  // allowed until here) and adds `outputs` as its results.
  absl::Status ResolveUsesAndOutputs(const std::vector<Token>& outputs);

  std::string_view text_, file_;
  std::vector<Token> toks_;
  std::vector<SourceLoc>* locs_;  // by node of the outer graph, if asked for
  size_t pos_ = 0;
  Graph graph_;
  absl::flat_hash_map<std::string, int> defined_line_;
  std::vector<PendingUse> uses_;
  // Body inputs take their types from the operands, known once the outer graph is resolved.
  struct PendingBody {
    NodeId node;
    std::shared_ptr<Graph> body;
  };
  std::vector<PendingBody> bodies_;
  struct PendingBase {
    ValueId value;
    Token base;
  };
  std::vector<PendingBase> bases_;
  bool in_body_ = false;
};

absl::Status Parser::ParsePlacement(ValueId v) {
  if (!IsPunct("@")) return absl::OkStatus();
  ++pos_;
  const Token kind = Peek();
  if (in_body_)
    return ErrorAt(kind, "a fused body's values live in registers and take no placement");
  if (kind.kind != TokKind::kIdent) return Expected("a placement such as @arena[0, 64]");
  ++pos_;
  Placement& p = graph_.mutable_value(v).place;
  if (kind.text == "view" || kind.text == "inplace") {
    RETURN_IF_ERROR(ExpectPunct("("));
    if (Peek().kind != TokKind::kName)
      return Expected("the value whose memory is used, such as %x");
    bases_.push_back({v, Next()});
    p = kind.text == "view" ? Placement::View(-1) : Placement::InPlace(-1);
    if (kind.text == "view" && IsPunct(",")) {
      ++pos_;
      ASSIGN_OR_RETURN(p.offset, ParseInt());
      RETURN_IF_ERROR(ExpectPunct(","));
      RETURN_IF_ERROR(ExpectPunct("["));
      while (!IsPunct("]")) {
        if (!p.strides.empty()) RETURN_IF_ERROR(ExpectPunct(","));
        ASSIGN_OR_RETURN(int64_t stride, ParseInt());
        p.strides.push_back(stride);
      }
      ++pos_;
    }
    return ExpectPunct(")");
  }
  auto region = RegionFromName(kind.text);
  if (!region)
    return ErrorAt(kind,
                   absl::StrCat("unknown placement '@", kind.text,
                                "' (expected arena, param, grad, state, input, view or inplace)"));
  RETURN_IF_ERROR(ExpectPunct("["));
  ASSIGN_OR_RETURN(int64_t offset, ParseInt());
  RETURN_IF_ERROR(ExpectPunct(","));
  ASSIGN_OR_RETURN(int64_t bytes, ParseInt());
  RETURN_IF_ERROR(ExpectPunct("]"));
  p = Placement::Memory(*region, offset, bytes);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Parser::ParseInt() {
  const Token& t = Peek();
  if (t.kind != TokKind::kNumber || t.text.find_first_of(".eE") != std::string::npos)
    return Expected("an integer");
  errno = 0;
  const long long v = std::strtoll(t.text.c_str(), nullptr, 10);
  if (errno == ERANGE) return ErrorAt(t, absl::StrCat("integer '", t.text, "' is out of range"));
  ++pos_;
  return static_cast<int64_t>(v);
}

absl::StatusOr<TensorType> Parser::ParseType() {
  const Token& t = Peek();
  if (t.kind != TokKind::kIdent) return Expected("a type such as f32[2,3]");
  auto dtype = DTypeFromName(t.text);
  if (!dtype) return ErrorAt(t, absl::StrCat("unknown dtype '", t.text, "' (expected f32 or i32)"));
  ++pos_;
  RETURN_IF_ERROR(ExpectPunct("["));
  Shape shape;
  while (!IsPunct("]")) {
    if (!shape.empty()) RETURN_IF_ERROR(ExpectPunct(","));
    const Token& dim_tok = Peek();
    ASSIGN_OR_RETURN(int64_t d, ParseInt());
    if (d < 0) return ErrorAt(dim_tok, absl::StrCat("negative dimension ", d));
    shape.push_back(d);
    // Kernels index with 32 bits.
    if (NumElements(shape) > kMaxElements)
      return ErrorAt(dim_tok, absl::StrCat("a tensor of more than ", kMaxElements,
                                           " elements (gptc indexes tensors with 32 bits)"));
  }
  ++pos_;
  return TensorType{*dtype, shape};
}

absl::StatusOr<Attr> Parser::ParseAttrValue() {
  const Token& t = Peek();
  if (IsPunct("[")) {
    ++pos_;
    std::vector<int64_t> v;
    while (!IsPunct("]")) {
      if (!v.empty()) RETURN_IF_ERROR(ExpectPunct(","));
      ASSIGN_OR_RETURN(int64_t x, ParseInt());
      v.push_back(x);
    }
    ++pos_;
    return Attr(v);
  }
  if (t.kind == TokKind::kString) {
    ++pos_;
    return Attr(t.text);
  }
  if (t.kind == TokKind::kIdent) {
    ++pos_;
    if (t.text == "true") return Attr(true);
    if (t.text == "false") return Attr(false);
    if (t.text == "inf") return Attr(HUGE_VAL);
    if (t.text == "nan") return Attr(std::nan(""));
    --pos_;
  }
  if (IsPunct("-") && Peek(1).kind == TokKind::kIdent && Peek(1).text == "inf") {
    pos_ += 2;
    return Attr(-HUGE_VAL);
  }
  if (t.kind != TokKind::kNumber)
    return Expected("an attribute value (number, true, false, [list])");
  if (t.text.find_first_of(".eE") == std::string::npos) {
    ASSIGN_OR_RETURN(int64_t v, ParseInt());
    return Attr(v);
  }
  ++pos_;
  return Attr(std::strtod(t.text.c_str(), nullptr));
}

absl::Status Parser::Define(const Token& name_tok, NodeId node) {
  auto [it, inserted] = defined_line_.emplace(name_tok.text, name_tok.line);
  if (!inserted)
    return ErrorAt(name_tok, absl::StrCat("%", name_tok.text, " is defined twice (first on line ",
                                          it->second, ")"));
  return absl::OkStatus();
}

absl::Status Parser::ParseDecl() {
  const Token name = Peek();
  if (name.kind != TokKind::kName) return Expected("a declaration such as %x: f32[2,3]");
  ++pos_;
  RETURN_IF_ERROR(ExpectPunct(":"));
  ASSIGN_OR_RETURN(TensorType type, ParseType());
  Op op = Op::kInput;
  if (IsIdent("param") || IsIdent("state")) {
    op = Next().text == "param" ? Op::kParam : Op::kState;
  }
  Attrs attrs;
  if (op == Op::kParam && IsIdent("decay")) {
    ++pos_;
    attrs.Set("decay", true);
  }
  RETURN_IF_ERROR(Define(name, graph_.num_nodes()));
  Locate(name);
  return ParsePlacement(graph_.AddValueNode(op, {}, std::move(attrs), name.text, type));
}

absl::Status Parser::ParseStatement() {
  std::vector<Token> names;
  do {
    if (!names.empty()) ++pos_;  // the ','
    if (Peek().kind != TokKind::kName) return Expected("a value name such as %x");
    names.push_back(Next());
  } while (IsPunct(","));
  RETURN_IF_ERROR(ExpectPunct("="));
  std::vector<TensorType> types;
  do {
    if (!types.empty()) ++pos_;
    ASSIGN_OR_RETURN(TensorType t, ParseType());
    types.push_back(t);
  } while (IsPunct(","));
  if (types.size() != names.size())
    return ErrorAt(names[0], absl::StrCat(names.size(), " names but ", types.size(), " types"));
  const Token op_tok = Peek();
  if (op_tok.kind != TokKind::kIdent) return Expected("an op name");
  auto op = OpFromName(op_tok.text);
  if (!op) return ErrorAt(op_tok, absl::StrCat("unknown op '", op_tok.text, "'"));
  if (HasTrait(*op, kDecl))
    return ErrorAt(op_tok,
                   absl::StrCat("'", op_tok.text, "' declarations belong in the graph signature"));
  ++pos_;
  RETURN_IF_ERROR(ExpectPunct("("));
  std::vector<Token> args;
  while (!IsPunct(")")) {
    if (!args.empty()) RETURN_IF_ERROR(ExpectPunct(","));
    if (Peek().kind != TokKind::kName) return Expected("an operand such as %x");
    args.push_back(Next());
  }
  ++pos_;
  Attrs attrs;
  while (Peek().kind == TokKind::kIdent && IsPunct("=", 1)) {
    const Token key = Next();
    ++pos_;
    if (attrs.Has(key.text))
      return ErrorAt(key, absl::StrCat("attribute '", key.text, "' is given twice"));
    ASSIGN_OR_RETURN(Attr v, ParseAttrValue());
    attrs.Set(key.text, std::move(v));
  }
  std::vector<std::pair<std::string, TensorType>> outs;
  for (size_t i = 0; i < names.size(); ++i) {
    RETURN_IF_ERROR(Define(names[i], graph_.num_nodes()));
    outs.emplace_back(names[i].text, types[i]);
  }
  // Operands are resolved after the whole body is read, so that a use before its definition
  // (or a cycle) reaches the verifier, which explains it, instead of failing here.
  Locate(names[0]);
  const NodeId node =
      graph_.AddNode(*op, std::vector<ValueId>(args.size(), -1), std::move(attrs), outs);
  for (size_t i = 0; i < args.size(); ++i) uses_.push_back({node, i, args[i]});
  for (size_t i = 0; i < names.size() && IsPunct("@"); ++i)
    RETURN_IF_ERROR(ParsePlacement(graph_.node(node).outputs[i]));
  if (IsPunct("{")) return ParseBody(node, args);
  return absl::OkStatus();
}

absl::Status Parser::ParseBody(NodeId node, const std::vector<Token>& operands) {
  const Token open = Next();  // '{'
  auto body = std::make_shared<Graph>(graph_.name() + "." +
                                      graph_.value(graph_.node(node).outputs[0]).name);
  // The body is parsed as a graph of its own: swap the outer scope out meanwhile.
  std::swap(graph_, *body);
  absl::flat_hash_map<std::string, int> outer_lines;
  std::vector<PendingUse> outer_uses;
  std::swap(defined_line_, outer_lines);
  std::swap(uses_, outer_uses);
  in_body_ = true;
  absl::Status status = [&]() -> absl::Status {
    for (const Token& t : operands) {
      if (defined_line_.contains(t.text))
        return ErrorAt(t, absl::StrCat("operand %", t.text, " appears twice in a fused node"));
      RETURN_IF_ERROR(Define(t, graph_.num_nodes()));
      graph_.AddInput(t.text, F32({}));  // typed from the operand after resolution
    }
    while (!IsIdent("yield")) {
      if (Peek().kind == TokKind::kEnd) return ErrorAt(open, "fused body has no 'yield'");
      RETURN_IF_ERROR(ParseStatement());
    }
    ++pos_;
    const std::vector<Token> yields = NameList();
    RETURN_IF_ERROR(ExpectPunct("}"));
    return ResolveUsesAndOutputs(yields);
  }();
  in_body_ = false;
  std::swap(graph_, *body);
  std::swap(defined_line_, outer_lines);
  std::swap(uses_, outer_uses);
  RETURN_IF_ERROR(status);
  bodies_.push_back({node, body});
  return absl::OkStatus();
}

std::vector<Token> Parser::NameList() {
  std::vector<Token> names;
  while (Peek().kind == TokKind::kName) {
    names.push_back(Next());
    if (!IsPunct(",")) break;
    ++pos_;
  }
  return names;
}

absl::Status Parser::ResolveUsesAndOutputs(const std::vector<Token>& outputs) {
  for (const PendingUse& u : uses_) {
    ASSIGN_OR_RETURN(ValueId v, Resolve(u.tok));
    graph_.mutable_nodes()[u.node].inputs[u.slot] = v;
  }
  for (const Token& t : outputs) {
    ASSIGN_OR_RETURN(ValueId v, Resolve(t));
    graph_.AddOutput(v);
  }
  return absl::OkStatus();
}

absl::StatusOr<ValueId> Parser::Resolve(const Token& t) const {
  auto v = graph_.FindValue(t.text);
  if (!v) return ErrorAt(t, absl::StrCat("undefined value %", t.text));
  return *v;
}

absl::StatusOr<Graph> Parser::Run() {
  if (!IsIdent("graph")) return Expected("'graph'");
  ++pos_;
  if (Peek().kind != TokKind::kIdent) return Expected("a graph name");
  graph_.set_name(Next().text);
  RETURN_IF_ERROR(ExpectPunct("("));
  while (!IsPunct(")")) {
    RETURN_IF_ERROR(ParseDecl());
    if (!IsPunct(")")) RETURN_IF_ERROR(ExpectPunct(","));
  }
  ++pos_;
  RETURN_IF_ERROR(ExpectPunct("{"));
  std::vector<std::pair<Token, Token>> updates;
  while (!IsIdent("return")) {
    if (Peek().kind == TokKind::kEnd) return Expected("'return'");
    if (IsIdent("update")) {
      ++pos_;
      if (Peek().kind != TokKind::kName) return Expected("the updated value such as %w");
      const Token target = Next();
      RETURN_IF_ERROR(ExpectPunct("<"));
      RETURN_IF_ERROR(ExpectPunct("-"));
      if (Peek().kind != TokKind::kName) return Expected("the new value such as %w.next");
      updates.emplace_back(target, Next());
      continue;
    }
    RETURN_IF_ERROR(ParseStatement());
  }
  ++pos_;
  const std::vector<Token> rets = NameList();
  RETURN_IF_ERROR(ExpectPunct("}"));
  if (Peek().kind != TokKind::kEnd) return Expected("end of input after the graph");
  RETURN_IF_ERROR(ResolveUsesAndOutputs(rets));
  for (PendingBody& b : bodies_) {
    const Node& n = graph_.node(b.node);
    for (size_t i = 0; i < n.inputs.size(); ++i)
      b.body->mutable_value(b.body->node(static_cast<NodeId>(i)).outputs[0]).type =
          graph_.value(n.inputs[i]).type;
    graph_.SetBody(b.node, std::move(b.body));
  }
  for (const PendingBase& b : bases_) {
    ASSIGN_OR_RETURN(ValueId base, Resolve(b.base));
    graph_.mutable_value(b.value).place.base = base;
  }
  for (const auto& [target, value] : updates) {
    ASSIGN_OR_RETURN(ValueId t, Resolve(target));
    ASSIGN_OR_RETURN(ValueId v, Resolve(value));
    graph_.AddUpdate(t, v);
  }
  return std::move(graph_);
}

}  // namespace

absl::StatusOr<Graph> ParseGraph(std::string_view text, std::string_view file,
                                 std::vector<SourceLoc>* locations) {
  if (locations) locations->clear();
  ASSIGN_OR_RETURN(std::vector<Token> toks, Lex(text, file));
  Parser p(text, file, std::move(toks), locations);
  return p.Run();
}

}  // namespace gptc::ir
