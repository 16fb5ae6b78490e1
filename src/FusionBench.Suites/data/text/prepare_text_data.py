#!/usr/bin/python3
"""Regenerate the 8-task real-text classification suite committed next to this script.

Offline derivation only: nothing here runs when the project runs. Run it with Debian's interpreter
(/usr/bin/python3, which has numpy), not a pyenv build:

    /usr/bin/python3 prepare_text_data.py            # writes <task>.{train,test}.tsv.gz and tasks.json here
    /usr/bin/python3 prepare_text_data.py --check    # rebuild into a temp dir and compare bytes with the committed files

Needs (Debian 12 "bookworm", `apt-get update` once if a package is not found):

    apt-get install -y --no-install-recommends python3 python3-numpy \
        r-base-core r-cran-modeldata r-cran-janeaustenr \
        fortunes fortunes-min wordnet-base \
        wamerican wfrench wngerman wspanish witalian wportuguese wdutch

plus the bookworm (12.15) main amd64 `Packages` index in /var/lib/apt/lists (present after `apt-get update`;
its SHA-256 is checked, see DEBIAN_PACKAGES_SHA256). Nothing comes from npm or PyPI. The two R data sets are
exported by export_r_data.R (next to this script) through `Rscript`. Source package versions are checked with
dpkg-query and the script stops if one differs from the version the committed files were built from
(--allow-other-versions builds anyway; the outputs then differ).

Output format (see PROVENANCE.md): UTF-8, one example per line, `label<TAB>text`, label = class index, text with
tabs/newlines replaced by spaces; gzip with mtime 0, no file name, level 9. Per task at most 3000 train and 400
test examples, seed 0 (numpy RandomState, whose stream is frozen), no text (compared after NFD accent
stripping, case-folding and keeping letters and digits only) in both splits nor twice in one split, texts with
conflicting labels dropped, and train items that share a group (source package, fortune entry, product, long
common opening) with a test item dropped.
"""

import argparse
import gzip
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
N_TRAIN = 3000
N_TEST = 400

FORTUNE_DIR = "/usr/share/games/fortunes"
WORDNET_DIR = "/usr/share/wordnet"
DICT_DIR = "/usr/share/dict"
APT_LISTS = "/var/lib/apt/lists"
DEBIAN_PACKAGES_INDEX = "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"
# SHA-256 of the uncompressed bookworm main/binary-amd64/Packages of Debian 12.15 (InRelease Date
# Sat, 11 Jul 2026 10:16:37 UTC), as listed in that InRelease file.
DEBIAN_PACKAGES_SHA256 = "515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f"
DEBIAN_RELEASE = "Debian 12.15 (bookworm), main/binary-amd64/Packages, InRelease Date Sat, 11 Jul 2026 10:16:37 UTC"

# Package versions the committed files were built from.
VERSIONS = {
    "r-base-core": "4.2.2.20221110-2",
    "r-cran-modeldata": "1.1.0-1",
    "r-cran-janeaustenr": "1.0.0-1",
    "fortunes": "1:1.99.1-7.3",
    "fortunes-min": "1:1.99.1-7.3",
    "wordnet-base": "1:3.0-37",
    "wamerican": "2020.12.07-2",
    "wfrench": "1.2.7-2",
    "wngerman": "20161207-11",
    "wspanish": "1.0.30",
    "witalian": "1.10",
    "wportuguese": "20220621-1",
    "wdutch": "1:2.20.19-2",
}
# Tools (recorded in tasks.json, not checked).
TOOLS = ["python3", "python3-numpy", "r-base-core"]

# ----------------------------------------------------------------------------------------------------------------
# Text helpers


def clean_space(s):
    """Tabs, newlines and every other whitespace run become one space; trimmed."""
    return " ".join(s.split())


def fold(s):
    """Dedupe key: NFD, combining marks (Mn) dropped, case-folded, then only letters and digits kept (so "ball-and-paddle
    game" and "Ball and paddle game" are one text)."""
    s = unicodedata.normalize("NFD", s)
    s = "".join(c for c in s if unicodedata.category(c) != "Mn")
    return "".join(c for c in s.casefold() if c.isalnum())


def prefix_group(text, n=40):
    """Near-duplicate group: the first n characters of the fold key (texts sharing a long opening, e.g. two parts of
    one fortune series or one reviewer's template), or None for shorter texts."""
    k = fold(text)
    return "prefix:" + k[:n] if len(k) >= n else None


def groups(*keys):
    return frozenset(k for k in keys if k is not None)


def n_words(s):
    return len(s.split())


def resolve_overstrike(line):
    """Render backspace overstriking as a terminal would ("_\\bI" -> "I", "____\\b\\b\\b\\bonly" -> "only")."""
    if "\b" not in line:
        return line
    buf, pos = [], 0
    for ch in line:
        if ch == "\b":
            pos = max(0, pos - 1)
        elif pos < len(buf):
            if buf[pos] == "_" or ch != "_":
                buf[pos] = ch
            pos += 1
        else:
            buf.append(ch)
            pos += 1
    return "".join(buf)


def read_fortune_file(name):
    """Entries of a fortune file (separated by lines holding only '%'), overstriking resolved, lines kept."""
    with open(os.path.join(FORTUNE_DIR, name), encoding="utf-8") as f:
        raw = f.read()
    entries, cur = [], []
    for line in raw.split("\n"):
        if line == "%":
            if cur:
                entries.append(cur)
            cur = []
        else:
            cur.append(resolve_overstrike(line))
    if any(l.strip() for l in cur):
        entries.append(cur)
    return [[l.rstrip() for l in e] for e in entries if any(l.strip() for l in e)]


# ----------------------------------------------------------------------------------------------------------------
# Sampling helpers (all deterministic given the RandomState)


def dedupe(items):
    """items: list of (label, text, groups) with groups a frozenset of group keys. Drops texts whose fold key occurs with more than one label, and keeps the
    first occurrence (source order) of every other key."""
    labels = {}
    for lab, text, _ in items:
        labels.setdefault(fold(text), set()).add(lab)
    seen, out = set(), []
    for lab, text, grp in items:
        k = fold(text)
        if len(labels[k]) > 1 or k in seen or not k:
            continue
        seen.add(k)
        out.append((lab, text, grp))
    return out


def allocate(counts, total, balanced):
    """Per-class quotas summing to min(total, sum(counts)). Proportional to counts (largest remainder, ties to the lower
    class index) or balanced (equal shares, water-filled around classes that have too few)."""
    k = len(counts)
    total = min(total, sum(counts))
    quota = [0] * k
    if balanced:
        active = [c for c in range(k) if counts[c] > 0]
        remaining = total
        while True:
            share = remaining / len(active)
            small = [c for c in active if counts[c] <= share]
            if not small:
                break
            for c in small:
                quota[c] = counts[c]
                remaining -= counts[c]
                active.remove(c)
        exact = {c: remaining / len(active) for c in active}
    else:
        n = sum(counts)
        active = [c for c in range(k) if counts[c] > 0]
        remaining = total
        exact = {c: total * counts[c] / n for c in active}
    for c in active:
        quota[c] = int(exact[c])
    left = total - sum(quota)
    order = sorted(active, key=lambda c: (-(exact[c] - int(exact[c])), c))
    for c in order:
        if left == 0:
            break
        if quota[c] < counts[c]:
            quota[c] += 1
            left -= 1
    assert sum(quota) == total and all(quota[c] <= counts[c] for c in range(k))
    return quota


def draw(pool, n_classes, total, balanced, rng):
    """Stratified draw without replacement. Returns (chosen, rest), both lists of pool items in a stable order."""
    by_class = [[it for it in pool if it[0] == c] for c in range(n_classes)]
    quota = allocate([len(b) for b in by_class], total, balanced)
    chosen, rest = [], []
    for c in range(n_classes):
        perm = rng.permutation(len(by_class[c]))
        chosen.extend(by_class[c][i] for i in perm[: quota[c]])
        rest.extend(by_class[c][i] for i in sorted(perm[quota[c]:]))
    return chosen, rest


def split(n_classes, rng, pool=None, train_pool=None, test_pool=None, balanced=False):
    """Test first (stratified), then train from what is left after removing every item that shares a fold key or a
    group with a test item. Either one pool, or separate train/test pools (given splits, block-disjoint splits)."""
    if pool is not None:
        pool = dedupe(pool)
        test, rest = draw(pool, n_classes, N_TEST, balanced, rng)
    else:
        test_pool = dedupe(test_pool)
        test, _ = draw(test_pool, n_classes, N_TEST, balanced, rng)
        rest = dedupe(train_pool)
    test_keys = {fold(t) for _, t, _ in test}
    test_groups = frozenset().union(*(g for _, _, g in test))
    rest = [it for it in rest if fold(it[1]) not in test_keys and not (it[2] & test_groups)]
    train, _ = draw(rest, n_classes, N_TRAIN, balanced, rng)
    train = [train[i] for i in rng.permutation(len(train))]
    test = [test[i] for i in rng.permutation(len(test))]
    return [(l, t) for l, t, _ in train], [(l, t) for l, t, _ in test]


# ----------------------------------------------------------------------------------------------------------------
# Tasks. Each builder returns (train, test, meta); train/test are lists of (label, text).


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, **kw).stdout


def read_r_exports(workdir):
    out = os.path.join(workdir, "r")
    run(["Rscript", "--vanilla", os.path.join(HERE, "export_r_data.R"), out])

    def unesc(s):
        return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[m.group(1)], s)

    def rows(name):
        with open(os.path.join(out, name), encoding="utf-8") as f:
            return [[unesc(x) for x in line.rstrip("\n").split("\t")] for line in f]

    return rows


FOOD_CLASSES = ["great", "other"]


def clean_review(s):
    s = re.sub(r"<br\s*/?>", " ", s, flags=re.I)
    s = re.sub(r"</?(a|p|span|i|b|em|strong)\b[^>]*>", " ", s, flags=re.I)
    s = html.unescape(s)
    return clean_space(s)


def build_food(rows, rng):
    pools = {}
    for split_name in ("train", "test"):
        items = []
        for score, product, review in rows("food_%s.tsv" % split_name):
            text = clean_review(review)
            if "\ufffd" in text or not text:  # a few reviews carry U+FFFD (mojibake in the source): dropped
                continue
            items.append((FOOD_CLASSES.index(score), text, groups("product:" + product, prefix_group(text))))
        pools[split_name] = items
    train, test = split(2, rng, train_pool=pools["train"], test_pool=pools["test"])
    return train, test, {
        "classes": FOOD_CLASSES,
        "prompts": ["A glowing five-star review of a food product.",
                    "A mixed or negative review of a food product."],
        "sources": [{"registry": "debian", "package": "r-cran-modeldata"}],
        "licence": "r-cran-modeldata: MIT. Review text (Amazon fine-food reviews, SNAP): no clear licence; internal benchmark use only.",
        "derivation": "modeldata training_data -> train pool, testing_data -> test pool; score great=0 / other=1; "
                      "<br />, <a>, <p>, <span> tags removed, HTML entities unescaped, whitespace collapsed; reviews with "
                      "U+FFFD dropped; proportional stratified draw; train items sharing a product id or their first 40 folded "
                      "characters with a test item dropped.",
    }


AUSTEN_NOVELS = [
    ("sense_and_sensibility", "sensesensibility", "Sense and Sensibility"),
    ("pride_and_prejudice", "prideprejudice", "Pride and Prejudice"),
    ("mansfield_park", "mansfieldpark", "Mansfield Park"),
    ("emma", "emma", "Emma"),
    ("northanger_abbey", "northangerabbey", "Northanger Abbey"),
    ("persuasion", "persuasion", "Persuasion"),
]
HEADING = re.compile(r"^\s*(chapter|volume)\s+([ivxlc]+|\d+)\.?\s*$", re.I)
END_MARK = re.compile(r"^\s*(finis|the end|a note on the text)\s*$", re.I)
LINES_PER_CHUNK = 3
CHUNKS_PER_BLOCK = 20
TEST_EVERY = 10


def build_austen(rows, rng):
    train_pool, test_pool = [], []
    for label, (_, rname, _) in enumerate(AUSTEN_NOVELS):
        lines = [r[1] for r in rows("austen_%s.tsv" % rname)]
        start = next(i for i, l in enumerate(lines) if HEADING.match(l) and l.strip().lower().startswith("chapter"))
        end = next((i for i in range(len(lines) - 1, start, -1) if END_MARK.match(lines[i])), len(lines))
        body = [clean_space(l) for l in lines[start:end]]
        body = [l for l in body if l and not HEADING.match(l) and re.search(r"[A-Za-z]", l)]
        chunks = [" ".join(body[i:i + LINES_PER_CHUNK]) for i in range(0, len(body) - LINES_PER_CHUNK + 1, LINES_PER_CHUNK)]
        for ci, text in enumerate(chunks):
            block, pos = divmod(ci, CHUNKS_PER_BLOCK)
            if block % TEST_EVERY == TEST_EVERY - 1:
                # Test block; its first and last chunk are dropped so that test and train chunks are never adjacent.
                if 0 < pos < CHUNKS_PER_BLOCK - 1:
                    test_pool.append((label, text, groups()))
            else:
                train_pool.append((label, text, groups()))
    train, test = split(len(AUSTEN_NOVELS), rng, train_pool=train_pool, test_pool=test_pool, balanced=True)
    return train, test, {
        "classes": [c for c, _, _ in AUSTEN_NOVELS],
        "prompts": ["A passage from Jane Austen's %s." % t for _, _, t in AUSTEN_NOVELS],
        "sources": [{"registry": "debian", "package": "r-cran-janeaustenr"}],
        "licence": "r-cran-janeaustenr: MIT; the novels are public domain.",
        "derivation": "Per novel: lines from the first chapter heading to the closing FINIS/THE END/A NOTE ON THE TEXT; "
                      "chapter/volume headings and lines without letters dropped; empty lines dropped; consecutive "
                      "non-overlapping chunks of 3 lines joined by spaces; blocks of 20 chunks, every 10th block "
                      "(block % 10 == 9) is test, minus its first and last chunk (a one-chunk gap to train); "
                      "class-balanced draw from the train and test blocks.",
    }


FORTUNE_CLASSES = ["computers", "politics", "science", "art", "work", "men-women", "food", "sports", "law",
                   "education", "drugs", "love"]
FORTUNE_PROMPTS = {
    "computers": "A joke or quotation about computers.",
    "politics": "A joke or quotation about politics.",
    "science": "A joke or quotation about science.",
    "art": "A joke or quotation about art.",
    "work": "A joke or quotation about work.",
    "men-women": "A joke or quotation about men and women.",
    "food": "A joke or quotation about food.",
    "sports": "A joke or quotation about sports.",
    "law": "A joke or quotation about the law.",
    "education": "A joke or quotation about education.",
    "drugs": "A joke or quotation about drugs.",
    "love": "A joke or quotation about love.",
}
# The word-order task reads only these files (none of them is a fortune-task topic).
ORDER_FILES = ["cookie", "people", "miscellaneous", "platitudes", "wisdom", "humorists", "literature", "kids",
               "medicine", "pets", "fortunes"]
assert not set(ORDER_FILES) & set(FORTUNE_CLASSES)


def build_fortune(rng):
    pool = []
    for label, name in enumerate(FORTUNE_CLASSES):
        for e in read_fortune_file(name):
            text = clean_space(" ".join(e))
            pool.append((label, text, groups(prefix_group(text))))
    train, test = split(len(FORTUNE_CLASSES), rng, pool=pool)
    return train, test, {
        "classes": FORTUNE_CLASSES,
        "prompts": [FORTUNE_PROMPTS[c] for c in FORTUNE_CLASSES],
        "sources": [{"registry": "debian", "package": "fortunes"}],
        "licence": "BSD (University of California, fortune-mod); see /usr/share/doc/fortunes/copyright.",
        "derivation": "usr/share/games/fortunes/<topic> for the 12 topics; entries split on lines holding only '%'; "
                      "backspace overstriking resolved; the whole entry (attribution included) with whitespace "
                      "collapsed; entries found in two topics dropped; proportional stratified draw; train entries sharing "
                      "their first 40 folded characters with a test entry dropped (multi-part fortunes).",
    }


ABBREV = {"mr.", "mrs.", "ms.", "dr.", "st.", "jr.", "sr.", "vs.", "etc.", "e.g.", "i.e.", "prof.", "gen.", "col.",
          "capt.", "lt.", "sgt.", "rev.", "mt.", "no.", "vol.", "fig.", "u.s.", "u.k.", "inc.", "co.", "ltd."}
SENT_END = re.compile(r"[.!?][\"')\]]*$")
SENT_START = re.compile(r"^[\"'(\[`]*[A-Z]")


def sentences(text):
    words = text.split()
    out, cur = [], []
    for i, w in enumerate(words):
        cur.append(w)
        nxt = words[i + 1] if i + 1 < len(words) else None
        if SENT_END.search(w) and w.lower().strip("\"'()[]") not in ABBREV and not re.fullmatch(r"[\"'(]*[A-Z]\.", w):
            if nxt is None or SENT_START.match(nxt):
                out.append(cur)
                cur = []
    return [" ".join(s) for s in out if SENT_START.match(s[0])]  # the unterminated tail is dropped


def strip_punct(sentence):
    """Lower-case; apostrophes between two letters are deleted (don't -> dont), every other character that is not a
    letter or digit becomes a space, so no punctuation at all is left."""
    s = sentence.lower().replace("\u2019", "'")
    s = re.sub(r"(?<=[^\W\d_])'(?=[^\W\d_])", "", s)
    return clean_space("".join(c if c.isalnum() else " " for c in s))


def build_order(rng):
    fortune_entries = {fold(" ".join(e)) for name in FORTUNE_CLASSES for e in read_fortune_file(name)}
    pool, bags = [], set()
    for name in ORDER_FILES:
        for ei, e in enumerate(read_fortune_file(name)):
            if fold(" ".join(e)) in fortune_entries:
                continue
            body = []
            for l in e:
                if l.strip().startswith("--"):  # attribution: it and what follows are dropped
                    break
                body.append(l)
            for s in sentences(clean_space(" ".join(body))):
                t = strip_punct(s)
                if not 8 <= n_words(t) <= 25 or not re.search(r"[a-z]", t):
                    continue
                bag = " ".join(sorted(t.split()))
                if bag in bags:
                    continue
                bags.add(bag)
                pool.append((0, t, groups("%s/%d" % (name, ei))))
    pool = dedupe(pool)
    perm = rng.permutation(len(pool))
    test = [pool[i] for i in perm[:N_TEST]]
    test_groups = frozenset().union(*(g for _, _, g in test))
    rest = [pool[i] for i in perm[N_TEST:] if not (pool[i][2] & test_groups)][:N_TRAIN]

    def jumble(items):
        out = []
        shuffled = set(rng.permutation(len(items))[: len(items) // 2].tolist())
        for i, (_, t, _) in enumerate(items):
            if i in shuffled:
                w = t.split()
                while True:
                    j = " ".join(w[k] for k in rng.permutation(len(w)))
                    if j != t:
                        break
                out.append((1, j))
            else:
                out.append((0, t))
        return out

    train, test = jumble(rest), jumble(test)
    return train, test, {
        "classes": ["ordered", "shuffled"],
        "prompts": ["A well-formed English sentence.", "A random jumble of words."],
        "sources": [{"registry": "debian", "package": "fortunes"}, {"registry": "debian", "package": "fortunes-min"}],
        "licence": "BSD (University of California, fortune-mod); see /usr/share/doc/fortunes/copyright.",
        "derivation": "Fortune files " + ", ".join(ORDER_FILES) + " (disjoint from the fortune task's files; entries "
                      "also present in a fortune-task file skipped); attribution lines ('-- ...') dropped; sentences "
                      "split at . ! ? followed by a capitalised word (common abbreviations and initials kept); "
                      "lower-cased, apostrophes inside words deleted (don't -> dont), every other non-alphanumeric "
                      "character replaced by a space; 8-25 words; one sentence per bag of words; 400 test then 3000 train sentences (train "
                      "sentences from a fortune that also gave a test sentence dropped); in each split a random half "
                      "has its words permuted (never the identity) -> shuffled=1, the rest ordered=0.",
    }


LEXNAMES = ["adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
            "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
            "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
            "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
            "noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition",
            "verb.communication", "verb.competition", "verb.consumption", "verb.contact", "verb.creation",
            "verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social", "verb.stative",
            "verb.weather", "adj.ppl"]  # lexnames(5WN), WordNet 3.0
WN_PROMPTS = {
    "noun.act": "This noun means an act or action.",
    "noun.animal": "This noun means an animal.",
    "noun.artifact": "This noun means a man-made object.",
    "noun.attribute": "This noun means a quality or attribute.",
    "noun.body": "This noun means a part of the body.",
    "noun.cognition": "This noun means an idea or a way of thinking.",
    "noun.communication": "This noun means a kind of communication.",
    "noun.event": "This noun means an event.",
    "noun.feeling": "This noun means a feeling or emotion.",
    "noun.food": "This noun means a food or drink.",
    "noun.group": "This noun means a group of people or things.",
    "noun.location": "This noun means a place.",
    "noun.object": "This noun means a natural object.",
    "noun.person": "This noun means a person.",
    "noun.phenomenon": "This noun means a natural phenomenon.",
    "noun.plant": "This noun means a plant.",
    "noun.possession": "This noun means property or money.",
    "noun.process": "This noun means a natural process.",
    "noun.quantity": "This noun means a quantity or unit of measure.",
    "noun.relation": "This noun means a relation between things.",
    "noun.shape": "This noun means a shape.",
    "noun.state": "This noun means a state or condition.",
    "noun.substance": "This noun means a substance or material.",
    "noun.time": "This noun means a time or period.",
    "verb.body": "This verb is about grooming, dressing or the body.",
    "verb.change": "This verb is about changing something.",
    "verb.cognition": "This verb is about thinking or judging.",
    "verb.communication": "This verb is about speaking or communicating.",
    "verb.competition": "This verb is about fighting or competing.",
    "verb.consumption": "This verb is about eating or drinking.",
    "verb.contact": "This verb is about touching or hitting.",
    "verb.creation": "This verb is about making or creating something.",
    "verb.emotion": "This verb is about feelings.",
    "verb.motion": "This verb is about moving.",
    "verb.perception": "This verb is about seeing, hearing or sensing.",
    "verb.possession": "This verb is about buying, selling or owning.",
    "verb.social": "This verb is about social or political life.",
    "verb.stative": "This verb is about being or having.",
}


def build_wordnet(pos, min_synsets, rng):
    rows = []
    with open(os.path.join(WORDNET_DIR, "data." + pos), encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            head, _, gloss = line.partition(" | ")
            lex = LEXNAMES[int(head.split()[1])]
            definition = clean_space(gloss.split(";")[0])
            if definition and not definition.startswith('"'):
                rows.append((lex, definition))
    counts = {}
    for lex, _ in rows:
        counts[lex] = counts.get(lex, 0) + 1
    classes = [l for l in LEXNAMES if counts.get(l, 0) >= min_synsets]
    pool = [(classes.index(lex), d, groups()) for lex, d in rows if lex in classes]
    train, test = split(len(classes), rng, pool=pool)
    word = "noun" if pos == "noun" else "verb"
    return train, test, {
        "classes": [c.split(".", 1)[1] for c in classes],
        "prompts": [WN_PROMPTS[c] for c in classes],
        "sources": [{"registry": "debian", "package": "wordnet-base"}],
        "licence": "WordNet 3.0 licence (Princeton University; permissive, keep the copyright notice); see /usr/share/doc/wordnet-base/copyright.",
        "derivation": "usr/share/wordnet/data.%s: one example per synset, text = gloss before the first ';' "
                      "(glosses starting with a quoted example skipped), label = lexicographer file (lex_filenum, "
                      "names from lexnames(5WN)); the %d %s files with >= %d synsets; definitions shared by two "
                      "files dropped; proportional stratified draw." % (pos, len(classes), word, min_synsets),
    }


LANGS = [("en", "american-english", "wamerican", "An English word."),
         ("fr", "french", "wfrench", "A French word."),
         ("de", "ngerman", "wngerman", "A German word."),
         ("es", "spanish", "wspanish", "A Spanish word."),
         ("it", "italian", "witalian", "An Italian word."),
         ("pt", "portuguese", "wportuguese", "A Portuguese word."),
         ("nl", "dutch", "wdutch", "A Dutch word.")]


def build_langid(rng):
    words = {}
    for code, fname, _, _ in LANGS:
        with open(os.path.join(DICT_DIR, fname), encoding="utf-8") as f:
            words[code] = [l.strip() for l in f if l.strip()]
    keys = {code: {fold(w) for w in ws} for code, ws in words.items()}
    pool = []
    for label, (code, _, _, _) in enumerate(LANGS):
        others = set().union(*(keys[c] for c, _, _, _ in LANGS if c != code))
        for w in words[code]:
            if len(w) < 5 or not w.isalpha():
                continue
            # Lower-case entries only (proper names and acronyms out); German also keeps capitalised nouns.
            if not (w == w.lower() or (code == "de" and w[0].isupper() and w[1:] == w[1:].lower())):
                continue
            if fold(w) in others:
                continue
            pool.append((label, w.lower(), groups()))
    train, test = split(len(LANGS), rng, pool=pool, balanced=True)
    return train, test, {
        "classes": [c for c, _, _, _ in LANGS],
        "prompts": [p for _, _, _, p in LANGS],
        "sources": [{"registry": "debian", "package": p} for _, _, p, _ in LANGS],
        "licence": "Word lists: wamerican SCOWL (permissive, Kevin Atkinson et al.); wspanish public domain; wdutch "
                   "OpenTaal BSD or CC BY 3.0; wfrench GPL-2+; wngerman (igerman98) GPL-2+; witalian GPL-3+; "
                   "wportuguese GPL-2+ or LGPL-2.1+ or MPL-1.1. Only single words are taken.",
        "derivation": "usr/share/dict/{american-english,french,ngerman,spanish,italian,portuguese,dutch}: entries of "
                      ">= 5 characters, all letters (str.isalpha), lower-case (German: also capitalised nouns), whose "
                      "accent-folded lower-case form (NFD, Mn dropped, casefold) is in no other of the 7 lists; "
                      "the text is the word lower-cased with its accents kept; class-balanced draw.",
    }


DEBSEC_CLASSES = ["games", "science", "sound", "graphics", "net", "mail", "editors", "math", "database", "admin",
                  "text", "web"]
DEBSEC_PROMPTS = {
    "games": "Software package for games.",
    "science": "Software package for science.",
    "sound": "Software package for sound and music.",
    "graphics": "Software package for graphics and images.",
    "net": "Software package for networking.",
    "mail": "Software package for email.",
    "editors": "Software package for editing files.",
    "math": "Software package for mathematics.",
    "database": "Software package for databases.",
    "admin": "Software package for system administration.",
    "text": "Software package for text processing.",
    "web": "Software package for the web.",
}


def read_packages_index():
    path = os.path.join(APT_LISTS, DEBIAN_PACKAGES_INDEX)
    for ext in ("", ".lz4", ".xz", ".gz", ".zst"):
        if os.path.exists(path + ext):
            return run(["/usr/lib/apt/apt-helper", "cat-file", path + ext])
    sys.exit("no %s* in %s: run apt-get update" % (DEBIAN_PACKAGES_INDEX, APT_LISTS))


def build_debsec(rng, raw):
    pool = []
    for stanza in raw.decode("utf-8").split("\n\n"):
        fields, last = {}, None
        for line in stanza.split("\n"):
            if line[:1] in (" ", "\t"):
                continue  # continuation lines (Tag:, long fields); the short description is the Description line
            if ":" in line:
                last, _, v = line.partition(":")
                fields[last] = v.strip()
        sec = fields.get("Section")
        desc = clean_space(fields.get("Description", ""))
        if sec not in DEBSEC_CLASSES or not desc:
            continue
        if re.search(r"transitional|dummy package", desc, re.I):
            continue
        source = fields.get("Source", fields.get("Package", "")).split(" ")[0]
        # Stem: the description without parenthesised parts and without a " - suffix" ("foo - common files").
        stem = fold(re.split(r"\s+--?\s+", re.sub(r"\([^)]*\)", " ", desc))[0])
        pool.append((DEBSEC_CLASSES.index(sec), desc, groups("src:" + source, "stem:" + stem if stem else None)))
    train, test = split(len(DEBSEC_CLASSES), rng, pool=pool)
    return train, test, {
        "classes": DEBSEC_CLASSES,
        "prompts": [DEBSEC_PROMPTS[c] for c in DEBSEC_CLASSES],
        "sources": [{"registry": "debian", "package": "bookworm/main/binary-amd64/Packages (archive index)",
                     "version": DEBIAN_RELEASE, "sha256": DEBIAN_PACKAGES_SHA256}],
        "licence": "Debian package metadata (short descriptions written by each package's maintainers, distributed in "
                   "the Debian archive index); used as short factual blurbs.",
        "derivation": "bookworm main binary-amd64 Packages: the one-line Description -> Section, for packages whose "
                      "Section is one of the 12 classes; descriptions mentioning 'transitional' or 'dummy package' "
                      "dropped; descriptions found in two sections dropped; proportional stratified draw; train "
                      "packages dropped when they come from the source package of a test package or share its stem "
                      "(the description without parenthesised parts and ' - ...' suffix), so no sibling leaks.",
    }


# ----------------------------------------------------------------------------------------------------------------
# Output


def tsv_bytes(examples):
    buf = io.StringIO()
    for lab, text in examples:
        text = clean_space(text.replace("\t", " "))
        assert text and "\n" not in text and "\t" not in text
        buf.write("%d\t%s\n" % (lab, text))
    return buf.getvalue().encode("utf-8")


def write_gz(path, data):
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(data)


def dpkg_version(pkg):
    try:
        return run(["dpkg-query", "-W", "-f", "${Version}", pkg], stderr=subprocess.DEVNULL).decode()
    except subprocess.CalledProcessError:
        return None


def check_versions(allow_other):
    found, bad = {}, []
    for pkg, want in VERSIONS.items():
        have = dpkg_version(pkg)
        found[pkg] = have
        if have != want:
            bad.append("%s: want %s, have %s" % (pkg, want, have or "not installed"))
    if bad:
        msg = "source packages differ from the ones the committed files were built from:\n  " + "\n  ".join(bad)
        if not allow_other or any(found[p] is None for p in VERSIONS):
            sys.exit(msg + "\n(install them, see the top of this script; --allow-other-versions builds anyway)")
        print("warning: " + msg, file=sys.stderr)
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=HERE, help="output folder (default: next to this script)")
    ap.add_argument("--check", action="store_true", help="build into a temp folder and compare with --out")
    ap.add_argument("--allow-other-versions", action="store_true")
    args = ap.parse_args()

    versions = check_versions(args.allow_other_versions)
    raw_packages = read_packages_index()
    sha = hashlib.sha256(raw_packages).hexdigest()
    if sha != DEBIAN_PACKAGES_SHA256:
        msg = ("the bookworm main Packages index has SHA-256 %s, not %s (a different point release); debsec would differ"
               % (sha, DEBIAN_PACKAGES_SHA256))
        if not args.allow_other_versions:
            sys.exit(msg)
        print("warning: " + msg, file=sys.stderr)

    work = tempfile.mkdtemp(prefix="fbtext-")
    try:
        out = os.path.join(work, "out") if args.check else args.out
        os.makedirs(out, exist_ok=True)
        rows = read_r_exports(work)
        builders = [
            ("food", lambda r: build_food(rows, r)),
            ("austen", lambda r: build_austen(rows, r)),
            ("fortune", build_fortune),
            ("wn_noun", lambda r: build_wordnet("noun", 300, r)),
            ("wn_verb", lambda r: build_wordnet("verb", 100, r)),
            ("langid", build_langid),
            ("debsec", lambda r: build_debsec(r, raw_packages)),
            ("order", build_order),
        ]
        tasks = []
        for name, build in builders:
            rng = np.random.RandomState(SEED)  # one independent stream per task
            train, test, meta = build(rng)
            assert not {fold(t) for _, t in train} & {fold(t) for _, t in test}, name
            files = {}
            for split_name, ex in (("train", train), ("test", test)):
                data = tsv_bytes(ex)
                fn = "%s.%s.tsv.gz" % (name, split_name)
                write_gz(os.path.join(out, fn), data)
                files[split_name] = (fn, ex, hashlib.sha256(data).hexdigest())
            for s in meta["sources"]:
                if s["package"] in versions:
                    s["version"] = versions[s["package"]]
            k = len(meta["classes"])
            entry = {"name": name, "classes": meta["classes"], "prompts": meta["prompts"],
                     "sources": meta["sources"], "licence": meta["licence"]}
            for split_name in ("train", "test"):
                fn, ex, digest = files[split_name]
                counts = [sum(1 for l, _ in ex if l == c) for c in range(k)]
                entry[split_name] = {
                    "file": fn, "count": len(ex), "class_counts": counts,
                    "majority_share": round(max(counts) / len(ex), 4),
                    "mean_words": round(sum(n_words(t) for _, t in ex) / len(ex), 2),
                    "sha256_uncompressed": digest,
                }
            entry["derivation"] = meta["derivation"]
            tasks.append(entry)
            print("%-8s classes=%-2d train=%d test=%d majority(train/test)=%.1f%%/%.1f%% mean words=%.1f"
                  % (name, k, len(train), len(test), 100 * entry["train"]["majority_share"],
                     100 * entry["test"]["majority_share"], entry["train"]["mean_words"]))
        manifest = {"description": "FusionBench 8-task real-text classification suite; generated by prepare_text_data.py",
                    "format": "gzip, UTF-8, one example per line: label<TAB>text (label = index into classes)",
                    "seed": SEED,
                    "tools": {p: dpkg_version(p) for p in TOOLS},
                    "tasks": tasks}
        with open(os.path.join(out, "tasks.json"), "w", encoding="utf-8", newline="\n") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=2)
            f.write("\n")
        if args.check:
            diff = []
            for fn in sorted(os.listdir(out)):
                a, b = os.path.join(out, fn), os.path.join(args.out, fn)
                if not os.path.exists(b) or open(a, "rb").read() != open(b, "rb").read():
                    diff.append(fn)
            if diff:
                sys.exit("differs from %s: %s" % (args.out, ", ".join(diff)))
            print("all %d files identical to %s" % (len(os.listdir(out)), args.out))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
