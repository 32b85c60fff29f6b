#!/usr/bin/env python3
"""Builds src/search/products.tsv, qudao's product lexicon: the everyday names of the
products that Sichuan's farms, pastures, forests and workshops sell on qudao, so that
search understands 洋芋 as well as 马铃薯, 蘋果 as well as 苹果 and "yak" as well as 牦牛肉.

Sources:

* tools/lexicon_curated.tsv: the curated list, one product a line with its category (a
  slug of src/catalog/taxonomy.toml), its other Chinese names (dialect, regional and trade
  names, varieties) and its English names. Every product and name there was chosen by hand.
* pypinyin 0.55.0 (PyPI): the toneless pinyin of each term (lazy_pinyin, Style.NORMAL,
  joined without spaces, lower case, ü written as v), as pypinyin reads it.
* opencc-python-reimplemented 0.1.7 (PyPI), which ships OpenCC's dictionaries as text:
  the traditional forms of every Chinese name. Simplified text is converted as OpenCC's
  s2t does it (the longest phrase of STPhrases.txt, otherwise STCharacters.txt); where a
  character has several traditional candidates and no OpenCC phrase decides, the first
  candidate is taken, except for the few characters in CHARACTER_CHOICES below whose
  meaning in product names is another of OpenCC's candidates (干 "dried" → 乾, 姜
  "ginger" → 薑, ...). When OpenCC's Taiwan variants (TWVariants.txt) give another
  spelling (麪 → 麵, 糉 → 粽), that form is listed too. A form is kept only when search,
  which folds text character by character through TSCharacters.txt (the table that
  tools/traditional.py writes to src/search/traditional.txt), reads it back as one of the
  product's names; names themselves must be what search reads (菜苔, not 菜薹).
* jieba 0.42.1 (PyPI), its dict.txt (word, frequency, part of speech): the run reports
  which terms jieba knows as nouns (n, nz), which it tags otherwise and which it lacks,
  and writes src/search/frequencies.tsv: dict.txt's frequency of every Chinese name of the
  lexicon and the taxonomy that it lists. Search reads pinyin initials (ht, yy) as the
  most frequent name they abbreviate, as input methods order their candidates.

The file is checked before it is written: categories are taxonomy slugs, no Chinese or
English name belongs to two products, no name equals a name or alias of another category
of the taxonomy, names are well formed, and generic words are not used as names. Any
broken rule stops the run with a list of what is wrong.

    python3 -m pip install pypinyin==0.55.0 opencc-python-reimplemented==0.1.7 jieba==0.42.1
    python3 tools/lexicon.py

The output is the same on every run: rows sorted by category (taxonomy order), then pinyin.
"""

import re
import sys
import tomllib
import unicodedata
from collections import Counter, defaultdict
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CURATED = ROOT / "tools" / "lexicon_curated.tsv"
TAXONOMY = ROOT / "src" / "catalog" / "taxonomy.toml"
OUTPUT = ROOT / "src" / "search" / "products.tsv"
FREQUENCIES = ROOT / "src" / "search" / "frequencies.tsv"

PACKAGES = {
    "pypinyin": "0.55.0",
    "opencc-python-reimplemented": "0.1.7",
    "jieba": "0.42.1",
}

COLUMNS = ["term", "category", "also", "traditional", "pinyin", "english"]

# Characters with several traditional forms in STCharacters.txt whose meaning in product
# names is not OpenCC's first candidate. Each choice must be one of OpenCC's candidates.
CHARACTER_CHOICES = {
    "干": "乾",  # dried: 笋干 筍乾, 牛肉干 牛肉乾
    "姜": "薑",  # ginger: 仔姜 仔薑, 沙姜 沙薑
    "面": "麪",  # flour and noodles: 苞谷面 苞穀麪
    "谷": "穀",  # grain: 苞谷 苞穀
    "术": "朮",  # the herbs 白术, 莪术
    "朴": "朴",  # the tree of 厚朴 (not 樸 "plain")
    "栗": "栗",  # chestnut (not 慄 "shiver")
    "斗": "斗",  # 枫斗, the dried dendrobium (not 鬥 "fight")
    "坛": "罈",  # pickle jar (not 壇 "altar")
    "制": "製",  # processed herbs: 制首乌 製首烏
    "吃": "吃",  # 冷吃兔 (喫 is an old variant)
    "岳": "岳",  # the place 安岳
    "于": "于",  # the place 于潜 of 于术
    "厘": "厘",  # 车厘子, written 車厘子 where it is used
}

# Words too generic to name one product.
GENERIC = {"特产", "土特产", "农产品", "新鲜", "野生", "有机", "礼盒", "干货", "山货", "高原",
           "农家", "土货", "原生态", "纯天然", "绿色食品", "散装", "包邮", "精品"}
GENERIC_INSIDE = {"特产", "农产品", "有机", "礼盒", "干货", "山货", "包邮"}

# CJK characters of the Basic Multilingual Plane, as search's is_han accepts them.
HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}$")
ENGLISH = re.compile(r"^[a-z]+(?:[ -][a-z]+)*$")
PINYIN = re.compile(r"^[a-z]+$")


def fail(problems):
    print(f"tools/lexicon.py: {len(problems)} problem(s); {OUTPUT.relative_to(ROOT)} not written",
          file=sys.stderr)
    for problem in problems:
        print("  " + problem, file=sys.stderr)
    sys.exit(1)


def check_versions():
    problems = []
    for name, wanted in PACKAGES.items():
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            found = None
        if found != wanted:
            problems.append(f"{name}=={wanted} is needed, found {found or 'nothing'}: "
                            f"python3 -m pip install {name}=={wanted}")
    if problems:
        fail(problems)


def read_taxonomy():
    """Returns the category slugs in taxonomy order and, per slug, its Chinese names
    (zh and aliases) and English names (en and english), as written in taxonomy.toml."""
    with TAXONOMY.open("rb") as f:
        categories = tomllib.load(f)["category"]
    order, chinese, english = [], {}, {}
    for c in categories:
        order.append(c["slug"])
        chinese[c["slug"]] = [c["zh"], *c.get("aliases", [])]
        english[c["slug"]] = [c["en"].lower(), *(e.lower() for e in c.get("english", []))]
    return order, chinese, english


def read_curated():
    rows, problems = [], []
    header_seen = False
    for number, line in enumerate(CURATED.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if not header_seen:
            if fields != ["term", "category", "also", "english"]:
                problems.append(f"lexicon_curated.tsv:{number}: header expected")
            header_seen = True
            continue
        if len(fields) != 4:
            problems.append(f"lexicon_curated.tsv:{number}: 4 fields expected, got {len(fields)}")
            continue
        term, category, also, english = (f.strip() for f in fields)
        if unicodedata.normalize("NFC", line) != line:
            problems.append(f"lexicon_curated.tsv:{number}: not NFC")
        rows.append({
            "line": number,
            "term": term,
            "category": category,
            "also": [a for a in also.split("|") if a] if also else [],
            "english": [e for e in english.split("|") if e] if english else [],
        })
    if problems:
        fail(problems)
    return rows


class OpenCCData:
    """OpenCC's text dictionaries, as shipped by opencc-python-reimplemented."""

    def __init__(self):
        import opencc
        folder = Path(opencc.__file__).resolve().parent / "dictionary"
        self.st_phrases = self._load(folder / "STPhrases.txt")
        self.st_characters = self._load(folder / "STCharacters.txt")
        self.ts_phrases = self._load(folder / "TSPhrases.txt")
        self.ts_characters = self._load(folder / "TSCharacters.txt")
        self.tw_variants = self._load(folder / "TWVariants.txt")
        for simplified, traditional in CHARACTER_CHOICES.items():
            if traditional not in self.st_characters.get(simplified, [simplified]):
                fail([f"CHARACTER_CHOICES: {traditional} is not an OpenCC form of {simplified}"])
        # Search folds text character by character through OpenCC's first simplified
        # candidate in TSCharacters.txt (src/search/traditional.txt, written by
        # tools/traditional.py from the same data; BMP characters only, plus 菓 → 果).
        self.folding = {"菓": "果"}
        for traditional, candidates in self.ts_characters.items():
            simplified = candidates[0]
            if (len(traditional) == 1 and len(simplified) == 1 and traditional != simplified
                    and ord(traditional) <= 0xFFFF and ord(simplified) <= 0xFFFF):
                self.folding[traditional] = simplified
        self.longest_st = max(map(len, self.st_phrases))
        self.longest_ts = max(map(len, self.ts_phrases))

    @staticmethod
    def _load(path):
        table = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if line:
                key, values = line.split("\t")
                table[key] = values.split(" ")
        return table

    @staticmethod
    def _convert(text, phrases, longest, characters, choose):
        out, i = [], 0
        while i < len(text):
            for length in range(min(longest, len(text) - i), 1, -1):
                candidates = phrases.get(text[i:i + length])
                if candidates:
                    out.append(candidates[0])
                    i += length
                    break
            else:
                out.append(choose(text[i], characters.get(text[i], [text[i]])))
                i += 1
        return "".join(out)

    def to_traditional(self, text):
        """OpenCC's traditional form, then its Taiwan spelling when that differs."""
        standard = self._convert(text, self.st_phrases, self.longest_st, self.st_characters,
                                 lambda c, cands: CHARACTER_CHOICES.get(c, cands[0]))
        taiwan = "".join(self.tw_variants.get(c, [c])[0] for c in standard)
        return [standard] if taiwan == standard else [standard, taiwan]

    def fold(self, text):
        """The characters search reads text as."""
        return "".join(self.folding.get(c, c) for c in text)

    def to_simplified(self, text):
        return self._convert(text, self.ts_phrases, self.longest_ts, self.ts_characters,
                             lambda c, cands: cands[0])


def read_jieba():
    """Per word of jieba's dict.txt: its part of speech and its frequency."""
    import jieba
    tags, frequencies = {}, {}
    path = Path(jieba.__file__).resolve().parent / "dict.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        if len(parts) == 3:
            tags[parts[0]] = parts[2]
            frequencies[parts[0]] = int(parts[1])
    return tags, frequencies


def render_frequencies(rows, taxonomy_chinese, frequencies):
    """jieba's frequency of each Chinese name of the lexicon and the taxonomy it lists."""
    names = {n for r in rows for n in [r["term"], *r["also"]]}
    names |= {n for ns in taxonomy_chinese.values() for n in ns
              if re.fullmatch(r"[\u3400-\u9fff]+", n)}
    known = sorted((n, frequencies[n]) for n in names if frequencies.get(n, 0) > 0)
    lines = [
        "# How often each Chinese name of the lexicon (products.tsv) and the taxonomy",
        "# (src/catalog/taxonomy.toml) occurs, as jieba 0.42.1's dict.txt counts it; names",
        "# dict.txt lacks are left out. Generated by tools/lexicon.py; do not edit by hand.",
        f"# {len(known)} of {len(names)} names.",
        "word\tfrequency",
    ]
    lines += [f"{n}\t{f}" for n, f in known]
    return "\n".join(lines) + "\n"


# Characters that pypinyin reads otherwise than in product names: 枞 is zōng in 鸡枞
# (jīzōng, the termite mushroom), not cōng as in 枞树.
READINGS = {"枞": "zong"}


def pinyin_of(term):
    from pypinyin import Style, lazy_pinyin
    syllables = lazy_pinyin(term, style=Style.NORMAL)
    if len(syllables) == len(term):
        syllables = [READINGS.get(c, p) for c, p in zip(term, syllables)]
    return "".join(syllables).lower()


def build():
    check_versions()
    order, category_chinese, category_english = read_taxonomy()
    rows = read_curated()
    cc = OpenCCData()
    problems = []

    # Names of each category in simplified characters, for comparing with products' names.
    category_of_chinese = defaultdict(set)
    for slug, names in category_chinese.items():
        for name in names:
            category_of_chinese[name].add(slug)
            category_of_chinese[cc.to_simplified(name)].add(slug)
            category_of_chinese[cc.fold(name)].add(slug)
    category_of_english = defaultdict(set)
    for slug, names in category_english.items():
        for name in names:
            category_of_english[name].add(slug)

    owner_chinese, owner_english = {}, {}
    unfolded = []
    for row in rows:
        where = f"lexicon_curated.tsv:{row['line']} {row['term']}"
        if row["category"] not in order:
            problems.append(f"{where}: unknown category {row['category']!r}")
        chinese = [row["term"], *row["also"]]
        if len(set(chinese)) != len(chinese):
            problems.append(f"{where}: a Chinese name is repeated")
        if len(set(row["english"])) != len(row["english"]):
            problems.append(f"{where}: an English name is repeated")
        if not row["english"]:
            problems.append(f"{where}: no English name")

        # A traditional form is kept when search folds it back to one of the names.
        traditional = []
        for name in chinese:
            if cc.fold(name) != name:
                problems.append(f"{where}: {name} is not simplified: search reads it as "
                                f"{cc.fold(name)}")
            for form in cc.to_traditional(name):
                if form in traditional or form in chinese:
                    continue
                if cc.fold(form) in chinese:
                    traditional.append(form)
                else:
                    unfolded.append(f"{form} ({name})")
        row["traditional"] = traditional
        row["pinyin"] = pinyin_of(row["term"])

        # Every Chinese form, and each traditional form read back into simplified
        # characters by OpenCC's t2s dictionaries (which now and then keep a character,
        # 乾紅 → 乾红, or pick another simplified form, 紅菜薹 → 红菜苔): none may name
        # another product or another category.
        compared = set(chinese) | set(traditional)
        for form in traditional:
            compared.add(cc.to_simplified(form))
            compared.add(cc.fold(form))
        for name in chinese + traditional:
            if not HAN.match(name):
                problems.append(f"{where}: {name!r} is not 2 or more CJK characters")
            if name in GENERIC or any(g in name for g in GENERIC_INSIDE):
                problems.append(f"{where}: {name} is a generic word")
        for name in sorted(compared):
            other = owner_chinese.setdefault(name, row["term"])
            if other != row["term"]:
                problems.append(f"{where}: {name} also names {other}")
            foreign = category_of_chinese.get(name, set()) - {row["category"]}
            if foreign:
                problems.append(f"{where}: {name} names the category {', '.join(sorted(foreign))}")
        for name in row["english"]:
            if not ENGLISH.match(name):
                problems.append(f"{where}: English {name!r} is not lowercase letters, spaces, hyphens")
            other = owner_english.setdefault(name, row["term"])
            if other != row["term"]:
                problems.append(f"{where}: English {name!r} also names {other}")
            foreign = category_of_english.get(name, set()) - {row["category"]}
            if foreign:
                problems.append(f"{where}: English {name!r} names the category "
                                f"{', '.join(sorted(foreign))}")
        if not PINYIN.match(row["pinyin"]):
            problems.append(f"{where}: pinyin {row['pinyin']!r} is not plain a-z")

    if len(rows) < 520:
        problems.append(f"only {len(rows)} products; 520 or more expected")
    if problems:
        fail(problems)

    rank = {slug: i for i, slug in enumerate(order)}
    rows.sort(key=lambda r: (rank[r["category"]], r["pinyin"], r["term"]))
    if unfolded:
        print(f"left out {len(unfolded)} traditional form(s) that search would not fold back: "
              + " ".join(unfolded))
    return rows, order


def render(rows, order, jieba_nouns):
    versions = ", ".join(f"{name} {version}" for name, version in PACKAGES.items())
    lines = [
        "# qudao's product lexicon: the names people use for the products sold on qudao.",
        "# Generated by tools/lexicon.py; do not edit by hand: edit tools/lexicon_curated.tsv",
        "# and run `python3 tools/lexicon.py`.",
        "# Sources: the curated list tools/lexicon_curated.tsv (products, categories, other",
        "# Chinese names, English names); pinyin from pypinyin 0.55.0 (lazy_pinyin, Style.NORMAL,",
        "# but 枞 read zong as in 鸡枞);",
        "# traditional forms from OpenCC's dictionaries (STPhrases.txt, STCharacters.txt,",
        "# TWVariants.txt) as shipped by opencc-python-reimplemented 0.1.7; terms checked",
        "# against jieba 0.42.1's dict.txt (it lists "
        f"{jieba_nouns} of the {len(rows)} terms as nouns).",
        f"# Packages: {versions}.",
        "# Categories: slugs of src/catalog/taxonomy.toml.",
        "# Columns: term (simplified), category, also (other Chinese names, |-separated),",
        "# traditional (traditional forms of term and also, |-separated), pinyin (of term,",
        "# toneless, no spaces, ü as v), english (|-separated, lowercase).",
        "\t".join(COLUMNS),
    ]
    for r in rows:
        lines.append("\t".join([r["term"], r["category"], "|".join(r["also"]),
                                "|".join(r["traditional"]), r["pinyin"], "|".join(r["english"])]))
    return "\n".join(lines) + "\n"


def main():
    rows, order = build()
    tags, frequencies = read_jieba()
    nouns = [r["term"] for r in rows if tags.get(r["term"]) in ("n", "nz")]
    other = [f"{r['term']}/{tags[r['term']]}" for r in rows
             if r["term"] in tags and tags[r["term"]] not in ("n", "nz")]
    unknown = [r["term"] for r in rows if r["term"] not in tags]
    also_nouns = sum(1 for r in rows for a in r["also"] if tags.get(a) in ("n", "nz"))

    text = render(rows, order, len(nouns))
    OUTPUT.write_bytes(text.encode("utf-8"))
    _, taxonomy_chinese, _ = read_taxonomy()
    FREQUENCIES.write_bytes(render_frequencies(rows, taxonomy_chinese, frequencies).encode("utf-8"))

    per_category = Counter(r["category"] for r in rows)
    chinese_forms = sum(1 + len(r["also"]) + len(r["traditional"]) for r in rows)
    english_forms = sum(len(r["english"]) for r in rows)
    substrings = sum(1 for r in rows for name in [r["term"], *r["also"]]
                     for s in rows if s is not r and name in s["term"] and name != s["term"])
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(rows)} products, "
          f"{chinese_forms} Chinese forms ({sum(len(r['also']) for r in rows)} other names, "
          f"{sum(len(r['traditional']) for r in rows)} traditional), {english_forms} English names")
    for slug in order:
        print(f"  {slug:18} {per_category.get(slug, 0)}")
    print(f"jieba 0.42.1: {len(nouns)} terms are nouns (n, nz), {len(other)} tagged otherwise, "
          f"{len(unknown)} not in dict.txt; {also_nouns} other names are nouns")
    if other:
        print("  tagged otherwise: " + " ".join(other))
    print(f"names inside another product's term (distinct words, allowed): {substrings}")


if __name__ == "__main__":
    main()
