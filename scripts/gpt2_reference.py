#!/usr/bin/env python3
"""GPT-2's tokenizer from a reference implementation, for gptc's tokenizer tests.

Built from the local vocabulary files (encoder.json, vocab.bpe; nothing is downloaded):
tiktoken where installed, else Hugging Face tokenizers. Exit code 77 when neither is.

  gpt2_reference.py DIR encode FILE      ids of FILE's text (UTF-8), space-separated
  gpt2_reference.py DIR fixture OUT      tests/testdata/gpt2_tokens.txt: the corpus below
                                         with its ids (hex text <TAB> ids per line)
  gpt2_reference.py DIR time FILE        seconds to encode FILE on one thread (best of 3)
"""
import os
import sys
import time

PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# Unicode, whitespace and contractions: the cases where pre-tokenizers differ.
CORPUS = [
    "Hello, world!",
    "I'm sure you'll see they've done what we'd said it's for. DON'T SHOUT'S",
    "  leading spaces, trailing spaces   ",
    "tabs\tand\nnewlines\n\n\nand \r\n windows",
    "a  b   c    d \t e",
    "numbers 123 4567 89.01 1,000,000 and 2nd 3rd",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber stra\u00dfe",
    "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3002\u4e2d\u6587\u5b57\u7b26",
    "\u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442, \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
    "emoji \U0001F600\U0001F44D\U0001F3FD and \u2764\ufe0f!!",
    "combining e\u0301 and a\u0308 marks",
    "non-breaking\u00a0space and thin\u2009space and ideographic\u3000space",
    "next line\u0085\u0085after, a\u0085 b, \u00a0\u00a0x, line\u2028separator",
    "symbols: @#$%^&*()_+-=[]{}|;:\",.<>/?`~",
    "'quoted' \"double\" 'tis o'clock rock'n'roll",
    "ROMEO:\nBut, soft! what light through yonder window breaks?\n",
    "    def f(x):\n        return x ** 2\n",
    "\u0661\u0662\u0663 Arabic-Indic digits and \u2160\u2161 Roman numerals",
    "mixed123abc456 under_score CamelCase",
    "end with newline\n",
    " ",
    "",
]


def load(directory):
    enc_path = os.path.join(directory, "encoder.json")
    bpe_path = os.path.join(directory, "vocab.bpe")
    try:
        import tiktoken
        from tiktoken.load import data_gym_to_mergeable_bpe_ranks
        ranks = data_gym_to_mergeable_bpe_ranks(bpe_path, enc_path)
        enc = tiktoken.Encoding(name="gpt2-local", pat_str=PATTERN, mergeable_ranks=ranks,
                                special_tokens={"<|endoftext|>": 50256})
        return "tiktoken " + tiktoken.__version__, enc.encode_ordinary
    except ImportError:
        pass
    try:
        import tokenizers
        from tokenizers import Tokenizer, models, pre_tokenizers
        tok = Tokenizer(models.BPE.from_file(enc_path, bpe_path))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        return "tokenizers " + tokenizers.__version__, lambda s: tok.encode(s).ids
    except ImportError:
        return None, None


def main():
    directory, mode = sys.argv[1], sys.argv[2]
    name, encode = load(directory)
    if encode is None:
        print("neither tiktoken nor tokenizers is installed", file=sys.stderr)
        sys.exit(77)
    if mode == "encode":
        with open(sys.argv[3], encoding="utf-8") as f:
            print(" ".join(map(str, encode(f.read()))))
    elif mode == "time":
        with open(sys.argv[3], encoding="utf-8") as f:
            text = f.read()
        best = 1e9
        for _ in range(3):
            start = time.perf_counter()
            encode(text)
            best = min(best, time.perf_counter() - start)
        print(f"{best:.4f} {name}")
    elif mode == "fixture":
        with open(sys.argv[3], "w") as f:
            f.write(f"# GPT-2 token ids by {name} from the vocabulary files "
                    "(scripts/gpt2_reference.py fixture): hex of the UTF-8 text, a tab, the ids\n")
            for text in CORPUS:
                f.write(text.encode("utf-8").hex() + "\t" + " ".join(map(str, encode(text))) + "\n")
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
