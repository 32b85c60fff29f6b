#!/usr/bin/env python3
"""Builds the relevance corpus of `cargo bench --bench relevance`:

    tests/fixtures/relevance/listings.tsv   listings as cooperatives write them
    tests/fixtures/relevance/queries.toml   queries as buyers type them, with what is relevant

    python3 tools/relevance_corpus.py

Deterministic (fixed seed); Python 3.11 standard library and pypinyin 0.55.0 (for the
pinyin queries and to check that every homophone query sounds like the word it misspells).

The product knowledge here (names sellers use, dialect words, where things grow, English
names, which category a seller picks) is written for this corpus and deliberately does not
read qudao's taxonomy aliases or search vocabulary: the judgments must not share qudao's
blind spots. Only the division table (src/catalog/regions.tsv) is read, for region codes.

Each listing has a product key of this file (蜂蜜, 土豆 …). A query is relevant to a
listing when the listing's product is among the query's `product` and, when the query has
a `place`, the listing's origin code starts with it. Nonsense queries expect no results.
"""

import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from pypinyin import Style, lazy_pinyin, pinyin

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "relevance"
SEED = 20250611

rng = random.Random(SEED)

# ---------------------------------------------------------------------------------------
# Regions: Sichuan's counties, and the townships and villages of the four counties whose
# villages search knows.

DEMO_COUNTIES = ("511723", "513326", "513336", "511381")

REGION = {}
for line in (ROOT / "src" / "catalog" / "regions.tsv").read_text(encoding="utf-8").splitlines():
    if not line.strip() or line.startswith("#"):
        continue
    code, name, _en = line.split("\t")
    if code.startswith("51"):
        REGION[code] = name

COUNTY_CODES = [c for c in REGION if len(c) == 6 and c[4:] != "00"]


def short_name(name):
    """汉源县 → 汉源, 北川羌族自治县 → 北川, 峨眉山市 → 峨眉山; 理县 stays 理县."""
    for suffix in ("彝族自治县", "藏族自治县", "羌族自治县", "自治县", "县", "市", "区"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


COUNTY = {}  # short name → code
for code in COUNTY_CODES:
    s = short_name(REGION[code])
    if s in COUNTY:
        COUNTY[s] = None  # ambiguous (市中区, 东区…): never used
    else:
        COUNTY[s] = code


def county(short):
    code = COUNTY.get(short)
    assert code, f"unknown or ambiguous county {short}"
    return code


# What people call the prefectures in titles.
PREFECTURE_WORDS = {
    "5134": ["大凉山", "凉山", "凉山州"],
    "5133": ["甘孜", "甘孜州", "川西高原"],
    "5132": ["阿坝", "阿坝州", "川西"],
    "5104": ["攀枝花"],
    "5101": ["成都"],
    "5118": ["雅安"],
    "5115": ["宜宾"],
    "5113": ["南充"],
    "5108": ["广元"],
    "5119": ["巴中"],
    "5117": ["达州"],
    "5111": ["乐山"],
    "5114": ["眉山"],
    "5105": ["泸州"],
    "5103": ["自贡"],
    "5106": ["德阳"],
    "5107": ["绵阳"],
    "5120": ["资阳"],
    "5110": ["内江"],
    "5116": ["广安"],
    "5109": ["遂宁"],
}

# Villages (and townships) of the demo counties, by county.
VILLAGES = defaultdict(list)
for code, name in REGION.items():
    if len(code) == 12 and code[:6] in DEMO_COUNTIES:
        VILLAGES[code[:6]].append(code)


def village(county_short, name):
    cc = county(county_short)
    hits = [c for c in VILLAGES[cc] if REGION[c] == name]
    assert len(hits) == 1, (county_short, name, hits)
    return hits[0]


def township_of(code):
    return code[:9] + "000"


# ---------------------------------------------------------------------------------------
# Simplified → traditional, for the sellers who write crafts and tea in traditional
# characters. Only characters whose traditional form does not depend on the word.

TRAD = dict(zip(
    "艳紧篓桦凉坝崃铜锅验饰仪纪罗盖产发现货顺丰链农纯艺传统礼装师龙凤鸟图挂画摆实灯篮国风双苏丝绸锦宝贵杂编绣猫团纳遗级优选质区县乡镇汉苹猕红鲜马铃黄邮赔坏时当叶绿顶砖边骏针万宾连为荥经个只条块张号绘矿颜玛达炉觉紮银镯线卧门绵垫云蚕调阆庆钱围样热销款厂广东无硫熏买卖专业户过节头飞观乐书见长开关间会这们机电话说请应设计页写单儿气对岁陈宁盐鸡鸭鹅猪肉腊肠鱼虾麦荞兰带给从业轻园场湾湿温润泽浓鲁峡绒帘壶盏盘杯灵织画缎锈纹缝",
    "豔緊簍樺涼壩崍銅鍋驗飾儀紀羅蓋產發現貨順豐鏈農純藝傳統禮裝師龍鳳鳥圖掛畫擺實燈籃國風雙蘇絲綢錦寶貴雜編繡貓團納遺級優選質區縣鄉鎮漢蘋獼紅鮮馬鈴黃郵賠壞時當葉綠頂磚邊駿針萬賓連為滎經個隻條塊張號繪礦顏瑪達爐覺紮銀鐲線臥門綿墊雲蠶調閬慶錢圍樣熱銷款廠廣東無硫燻買賣專業戶過節頭飛觀樂書見長開關間會這們機電話說請應設計頁寫單兒氣對歲陳寧鹽雞鴨鵝豬肉臘腸魚蝦麥蕎蘭帶給從業輕園場灣濕溫潤澤濃魯峽絨簾壺盞盤杯靈織畫緞鏽紋縫",
))


def traditional(s):
    return "".join(TRAD.get(ch, ch) for ch in s)


# ---------------------------------------------------------------------------------------
# Products. kind: this corpus's own grouping, used by the category queries.
# cats: taxonomy slugs a seller picks, with weights (neighbouring categories included).

KINDS = {
    "fruit": dict(
        units=[("jin", 350, 1600, 5), ("piece", 2990, 12800, 4), ("kg", 700, 3000, 1)],
        specs=["5斤装", "10斤整箱", "3斤尝鲜装", "带箱9斤", "5斤大果", "2.5kg", "净重4.5斤", "整箱", "一级大果", ""],
        quals=["新鲜", "现摘", "当季", "农家", "高山", "精品"],
        sufs=["坏果包赔", "顺丰冷链", "现摘现发", "整箱包邮", "孕妇水果", "产地直发"],
        desc=[
            "果园在{place}海拔{alt}米的山坡上，日照足、昼夜温差大，果子甜度高。",
            "现摘现发，每个果子都经过人工挑选，个头均匀。",
            "不打膨大剂，不催熟，自然成熟。",
            "收到后如有坏果，拍照联系客服按个赔付。",
            "合作社统一分拣包装，带动村里{n}户果农增收。",
        ],
    ),
    "nut": dict(
        units=[("jin", 1200, 3500, 5), ("piece", 3990, 12900, 3), ("kg", 2400, 7000, 1)],
        specs=["5斤装", "2斤", "500g", "10斤袋装", "3斤", ""],
        quals=["新货", "农家", "原味", "生的", "大个", "野生"],
        sufs=["包邮", "产地直供", "当年新货", "批发"],
        desc=[
            "{place}山里的老树结的，自然晾晒，没有漂白。",
            "今年新收，个大饱满，空壳率低。",
            "可生吃，也可炒、煲汤、做糕点。",
        ],
    ),
    "veg": dict(
        units=[("jin", 150, 900, 5), ("kg", 300, 1800, 3), ("ton", 150000, 600000, 1)],
        specs=["5斤", "10斤装", "3斤", "2.5kg", "整箱10斤", "500g", "一件", ""],
        quals=["新鲜", "农家", "高山", "自种", "现挖", "当季"],
        sufs=["现挖现发", "农家自产", "产地直供", "量大从优", "一件代发"],
        desc=[
            "地里现收现发，带泥保存时间更长。",
            "{place}高山种植，用农家肥，不打除草剂。",
            "吃的是小时候的味道，炒、炖、煮都合适。",
            "批发量大可以议价，欢迎餐馆和学校食堂采购。",
        ],
    ),
    "grain": dict(
        units=[("jin", 300, 1200, 4), ("kg", 600, 2400, 3), ("piece", 3990, 12900, 3), ("ton", 400000, 900000, 1)],
        specs=["5kg", "10斤", "25kg袋装", "2.5kg真空包装", "5斤装", "500g", ""],
        quals=["新", "农家", "当季", "生态", "高山", "自种"],
        sufs=["包邮", "产地直供", "农家自产", "批发"],
        desc=[
            "当年新收，现磨现发。",
            "{place}山区自种自收，产量不大，卖完为止。",
            "合作社统一收购、统一加工，质量有保证。",
        ],
    ),
    "fungi": dict(
        units=[("jin", 3000, 22000, 4), ("piece", 2990, 15900, 4), ("kg", 6000, 44000, 1)],
        specs=["500g", "250g", "100g", "1斤", "礼盒装", "50g", "半斤", ""],
        quals=["野生", "新鲜", "干货", "山珍", "特级", "农家"],
        sufs=["无硫熏", "煲汤", "顺丰包邮", "冷链直发", "产地直供"],
        desc=[
            "{place}山里老乡清晨上山采摘，当天收购。",
            "自然晾晒，无硫熏，泡发率高。",
            "冷链发货，到手新鲜，建议尽快食用。",
            "炖鸡、煲汤、清炒都鲜美。",
        ],
    ),
    "herb": dict(
        units=[("jin", 2000, 30000, 4), ("kg", 4000, 60000, 2), ("piece", 1990, 29900, 4)],
        specs=["50g", "100g", "250g", "500g", "礼盒装", "1斤", "统货", ""],
        quals=["野生", "正品", "特级", "精选", "无硫", "道地"],
        sufs=["可打粉", "药食同源", "送礼", "产地直发", "批发"],
        desc=[
            "产地直收，自然晾干，无硫熏。",
            "{place}海拔{alt}米的山上采挖，道地药材。",
            "可煲汤、泡水、打粉，请遵医嘱。",
            "本品为农产品，不做疗效宣传。",
        ],
    ),
    "meat": dict(
        units=[("jin", 3000, 9000, 5), ("kg", 6000, 18000, 2), ("piece", 9900, 39900, 3)],
        specs=["2斤", "5斤", "500g", "1kg", "3斤装", "整只", ""],
        quals=["农家", "散养", "放养", "新鲜", "正宗", "生态"],
        sufs=["冷链发货", "真空包装", "现杀现发", "顺丰包邮", "年货"],
        desc=[
            "{place}农户散养，吃粮食和野草长大，生长期长。",
            "现杀现发，真空包装，冷链到家。",
            "肉质紧实，炖汤香浓。",
        ],
    ),
    "egg": dict(
        units=[("piece", 2990, 9900, 6), ("jin", 800, 1800, 2)],
        specs=["30枚", "50枚", "20枚装", "60枚整箱", ""],
        quals=["农家", "散养", "新鲜", "土", "正宗"],
        sufs=["破损包赔", "包邮", "产地直供"],
        desc=[
            "鸡在{place}的林下和果园里散养，吃玉米、青草和虫子。",
            "蛋黄颜色深，蛋清浓稠，破损包赔。",
        ],
    ),
    "dairy": dict(
        units=[("piece", 3990, 19900, 6), ("jin", 4000, 9000, 2)],
        specs=["400g罐装", "500g", "1斤", "250g", "袋装", "礼盒", ""],
        quals=["高原", "纯", "牧民自制", "正宗", "无添加"],
        sufs=["包邮", "产地直发", "送礼"],
        desc=[
            "牧民自家的牦牛奶制作，无添加。",
            "{place}海拔{alt}米的草原，夏季牧场出产。",
        ],
    ),
    "processed": dict(
        units=[("piece", 990, 9900, 6), ("jin", 1000, 6000, 3), ("kg", 2000, 12000, 1)],
        specs=["500g", "1kg", "袋装", "瓶装", "2斤", "250g*2袋", "礼盒装", ""],
        quals=["传统", "手工", "正宗", "农家", "老字号", "特产"],
        sufs=["包邮", "开袋即食", "四川特产", "年货", "送礼"],
        desc=[
            "传统工艺，小作坊手工制作。",
            "配料简单，不加防腐剂。",
            "真空包装，常温保存，{place}特产。",
        ],
    ),
    "tea": dict(
        units=[("piece", 3990, 39900, 6), ("jin", 8000, 120000, 3)],
        specs=["250g", "125g", "100g罐装", "500g", "礼盒装", "50g", ""],
        quals=["明前", "高山", "特级", "新茶", "一级", "手工"],
        sufs=["送礼", "罐装", "包邮", "2025新茶"],
        desc=[
            "{place}高山茶园，清明前后手工采摘。",
            "口感鲜爽，耐冲泡。",
            "密封包装，防潮保香，请放阴凉处。",
        ],
    ),
    "honey": dict(
        units=[("jin", 3000, 12000, 5), ("piece", 4990, 19900, 4)],
        specs=["500g", "1000g", "2斤装", "瓶装", "250g", ""],
        quals=["农家", "纯", "天然", "高原", "深山", "成熟"],
        sufs=["农家自产", "包邮", "送礼", "不掺糖"],
        desc=[
            "蜂农在{place}的山里定点放蜂，一年只取一次成熟蜜。",
            "天然结晶是好蜜的特征，不添加白糖。",
            "低温过滤，保留花粉和活性酶。",
        ],
    ),
    "spice": dict(
        units=[("jin", 3000, 9000, 5), ("piece", 1990, 6990, 3), ("kg", 6000, 18000, 1)],
        specs=["500g", "250g", "1斤", "100g", "5斤批发", ""],
        quals=["特级", "新货", "农家", "正宗", "麻香", "干"],
        sufs=["包邮", "产地直供", "批发", "麻味足"],
        desc=[
            "{place}山坡上晒干，拣净枝叶和籽。",
            "麻味足、香味浓，炒菜、火锅、卤味都好用。",
        ],
    ),
    "craft": dict(
        units=[("piece", 2990, 298000, 1)],
        specs=["一件", "小号", "大号", "套装", "摆件", ""],
        quals=["纯手工", "非遗", "传统", "手作", "精品"],
        sufs=["送礼", "非遗传承", "收藏", "家居摆件", "伴手礼"],
        desc=[
            "非遗传承人带着村里的妇女手工制作。",
            "每件都是手工完成，细节略有差异。",
            "可作为送礼、收藏、家居摆设。",
        ],
    ),
    "textile": dict(
        units=[("piece", 19900, 129900, 1)],
        specs=["1.5米床", "1.8米床", "2斤", "4斤", "6斤", ""],
        quals=["手工", "桑蚕丝", "纯", "老家", "春秋款"],
        sufs=["送礼", "婚庆", "包邮"],
        desc=[
            "用本地桑蚕丝手工拉制，不含化纤。",
            "轻盈保暖，透气不闷。",
        ],
    ),
}

PRODUCTS = []


def P(key, kind, cats, names, origins, en, pop=6, quals=(), desc=(), trad=0.0, specs=None, units=None):
    cats = [(c.split(":")[0], int(c.split(":")[1]) if ":" in c else 1) for c in cats.split()]
    PRODUCTS.append(dict(
        key=key, kind=kind, cats=cats, names=names.split(), origins=origins.split(), en=en,
        pop=pop, quals=list(quals), desc=list(desc), trad=trad, specs=specs, units=units,
    ))


# Fruit
P("苹果", "fruit", "apple:8 fruit:2",
  "苹果 丑苹果 冰糖心苹果 红富士 红富士苹果 高原苹果 糖心苹果 苹果 丑苹果",
  "盐源 茂县 小金 理县 金川 巴塘 乡城 汉源 昭觉", "apple", pop=26,
  quals=["冰糖心", "脆甜", "高原", "丑", "大果"],
  desc=["果面有斑点但口感脆甜多汁，切开能看到冰糖心。", "高原紫外线强，果皮略厚，耐储存。"], trad=0.05)
P("猕猴桃", "fruit", "kiwi:8 fruit:2",
  "猕猴桃 红心猕猴桃 奇异果 红阳猕猴桃 金艳猕猴桃 徐香猕猴桃 红心奇异果 猕猴桃",
  "苍溪 都江堰 蒲江 雨城 什邡 彭州 邛崃", "kiwi", pop=22,
  quals=["红心", "黄心", "绿心", "软糯", "大果"],
  desc=["收到后放几天变软再吃，和苹果放在一起熟得更快。", "果肉红心，酸甜适口，维C含量高。"], trad=0.05)
P("脐橙", "fruit", "fruit", "脐橙 橙子 纽荷尔脐橙 甜橙 脐橙", "雷波 屏山 金阳", "navel orange", pop=9,
  quals=["化渣", "爆汁", "冰糖"], desc=["金沙江干热河谷种植，果肉化渣，汁水多。"])
P("丑柑", "fruit", "fruit", "丑柑 丑橘 不知火 不知火丑柑", "蒲江 丹棱 仁寿 东坡 青神 金堂", "dekopon", pop=10,
  quals=["大果", "爆汁", "化渣"], desc=["皮有点皱但很甜，放一放酸味会退。"])
P("耙耙柑", "fruit", "fruit", "耙耙柑 粑粑柑 春见 春见耙耙柑", "蒲江 丹棱 东坡 邛崃 大邑", "tangor", pop=8,
  quals=["爆汁", "化渣", "大果"], desc=["皮薄好剥，汁水多，小朋友很喜欢。"])
P("血橙", "fruit", "fruit", "血橙 塔罗科血橙 红肉血橙", "资中 东兴 威远", "blood orange", pop=6,
  quals=["红肉", "爆汁"], desc=["果肉紫红色，带点玫瑰香。"])
P("黄果柑", "fruit", "fruit", "黄果柑 晚熟黄果柑 黄果柑", "石棉", "huangguo tangor", pop=5,
  quals=["晚熟", "化渣"], desc=["大渡河谷的晚熟柑橘，清明前后上市。"])
P("柠檬", "fruit", "fruit", "柠檬 黄柠檬 尤力克柠檬 鲜柠檬 柠檬", "安岳 乐至", "lemon", pop=10,
  quals=["新鲜", "皮薄", "多汁"], desc=["切片泡水加一勺蜂蜜，清爽解腻。", "皮薄多汁，适合做柠檬茶。"])
P("石榴", "fruit", "fruit", "石榴 软籽石榴 突尼斯软籽石榴 红石榴 青皮石榴", "会理 会东 仁和", "pomegranate", pop=10,
  quals=["软籽", "大果", "甜"], desc=["籽软可以直接嚼着吃，汁多味甜。"])
P("芒果", "fruit", "fruit", "芒果 凯特芒 凯特芒果 晚熟芒果 芒果", "仁和 盐边 米易 德昌", "mango", pop=10,
  quals=["晚熟", "大果", "树上熟"], desc=["金沙江边的晚熟芒果，纤维少、香味浓。"])
P("枇杷", "fruit", "fruit", "枇杷 白肉枇杷 大五星枇杷 枇杷", "双流 米易 石棉", "loquat", pop=6,
  quals=["新鲜", "大果", "酸甜"], desc=["皮薄易剥，果肉细嫩。"])
P("樱桃", "fruit", "fruit", "大樱桃 甜樱桃 樱桃 车厘子 玛瑙樱桃", "汉源 汶川 茂县 理县 龙泉驿", "cherry", pop=10,
  quals=["新鲜", "大果", "脆甜"], desc=["高山樱桃上市晚，个大肉厚。"])
P("桃", "fruit", "fruit", "水蜜桃 桃子 脆桃 黄桃 鲜桃 水蜜桃", "龙泉驿 简阳 西充 金堂", "peach", pop=9,
  quals=["新鲜", "脆甜", "多汁"], desc=["成熟一批摘一批，软桃硬桃可以备注。"])
P("梨", "fruit", "fruit", "雪梨 梨子 金花梨 酥梨 雪梨", "苍溪 金川 汉源", "pear", pop=8,
  quals=["多汁", "化渣", "大果"], desc=["汁多化渣，秋冬煮冰糖雪梨正好。"])
P("李子", "fruit", "fruit", "李子 脆红李 青脆李 羌脆李 蜂糖李", "茂县 汶川 理县 江安 古蔺", "plum", pop=8,
  quals=["脆甜", "新鲜", "大果"], desc=["脆甜不酸，放冰箱冷藏口感更好。"])
P("葡萄", "fruit", "fruit", "葡萄 巨峰葡萄 阳光玫瑰 夏黑葡萄 红提", "西昌 德昌 龙泉驿 金堂", "grape", pop=8,
  quals=["无籽", "新鲜", "甜"], desc=["一串一串剪下来，路上用泡沫箱装好。"])
P("草莓", "fruit", "fruit", "草莓 奶油草莓 红颜草莓 冬草莓", "双流 德昌 西昌", "strawberry", pop=7,
  quals=["新鲜", "奶油", "现摘"], desc=["草莓娇嫩，只发冷链，偏远地区不发。"])
P("荔枝", "fruit", "fruit", "荔枝 带绿荔枝 妃子笑 晚熟荔枝", "合江 泸县", "lychee", pop=6,
  quals=["新鲜", "晚熟", "现摘"], desc=["晚熟荔枝七月上市，冷链保鲜。"])
P("龙眼", "fruit", "fruit", "龙眼 桂圆 鲜桂圆", "泸县 合江 龙马潭", "longan", pop=5,
  quals=["新鲜", "肉厚"], desc=["肉厚核小，甜度高。"])
P("柚子", "fruit", "fruit", "柚子 真龙柚 蜜柚 红心柚", "合江 纳溪 江安", "pomelo", pop=5,
  quals=["红心", "大个", "新鲜"], desc=["放一两个星期水分收一收更甜。"])

# Nuts
P("核桃", "nut", "fruit:4 processed:3 grain:2",
  "核桃 薄皮核桃 纸皮核桃 老树核桃 核桃仁 大核桃 生核桃",
  "盐源 朝天 美姑 会理 巴塘 乡城 金川 旺苍 昭化", "walnut", pop=16,
  quals=["新货", "薄皮", "原味", "野生", "大个"],
  desc=["壳薄手捏就开，仁饱满，孕妇小孩都能吃。"])
P("板栗", "nut", "fruit:3 grain:2", "板栗 毛栗子 油栗 生板栗", "旺苍 青川 北川 南江", "chestnut", pop=6,
  quals=["新鲜", "生", "油"], desc=["糖炒、炖鸡都香糯。"])

# Vegetables
P("土豆", "veg", "potato:7 vegetables:3",
  "土豆 洋芋 马铃薯 黄心土豆 紫皮洋芋 高山土豆 小土豆 冬洋芋 土豆 洋芋",
  "昭觉 布拖 越西 喜德 美姑 道孚 米易 盐源 理塘", "potato", pop=20,
  quals=["黄心", "沙面", "新鲜", "高山", "现挖"],
  desc=["黄心品种，炖煮、炒丝、做洋芋饭都合适。", "沙瓤，蒸熟了直接吃都香。", "冬季种植，春节前后上市。"], trad=0.05)
P("红薯", "veg", "sweet-potato:7 vegetables:3",
  "红薯 红苕 地瓜 蜜薯 烟薯25 板栗红薯 白心红苕 红苕",
  "阆中 南部 西充 仪陇 蓬安 开江 渠县 安岳", "sweet potato", pop=16,
  quals=["新鲜", "农家", "糖心", "沙面"],
  desc=["蒸、烤、煮粥都甜，放几天糖化后更好吃。", "山坡沙地种的，粉糯香甜。"])
P("紫薯", "veg", "sweet-potato:7 vegetables:3", "紫薯 紫心红苕 紫心红薯 紫薯", "阆中 南部 安岳", "purple sweet potato",
  pop=6, quals=["新鲜", "农家"], desc=["紫色花青素，蒸出来颜色很漂亮。"])
P("辣椒", "veg", "chili:7 vegetables:3",
  "辣椒 海椒 二荆条 干辣椒 朝天椒 七星椒 干海椒 子弹头辣椒 线椒",
  "双流 郫都 威远 西充 翠屏 汉源", "chili", pop=18,
  quals=["香辣", "新货", "特辣", "微辣", "农家"],
  desc=["色红油亮，香而不燥辣，做回锅肉和红油最合适。", "晒干的海椒，没有硫磺熏。"])
P("辣椒面", "processed", "processed:5 chili:5", "辣椒面 海椒面 辣椒粉 烧烤辣椒面 辣椒面",
  "威远 双流 西充 汉源", "chili powder", pop=7, quals=["香辣", "现磨", "粗", "细"],
  desc=["现炒现磨，泼油辣子特别香。"])
P("青菜头", "veg", "vegetables", "青菜头 榨菜头 菜头 青菜头", "东坡 新都 彭州", "mustard stem", pop=5,
  quals=["新鲜", "脆嫩"], desc=["冬天的时令菜，炖汤、做泡菜、凉拌都好。"])
P("卷心菜", "veg", "vegetables", "莲花白 包包白 卷心菜 包菜 高山包菜 莲花白", "彭州 汉源 西昌 理县", "cabbage", pop=7,
  quals=["高山", "新鲜", "脆甜"], desc=["手撕炝炒最好吃，叶子脆甜。"])
P("儿菜", "veg", "vegetables", "儿菜 抱儿菜 儿菜", "彭州 新都 双流", "baby mustard", pop=4,
  quals=["新鲜", "嫩"], desc=["一棵上面长满小芽，炒、煮、烫火锅都好。"])
P("豌豆苗", "veg", "vegetables", "豌豆尖 豌豆苗 豌豆颠 豌豆尖", "彭州 温江 双流", "pea shoots", pop=4,
  quals=["新鲜", "嫩"], desc=["只掐最嫩的尖，下面条、烫火锅都鲜。"])
P("蚕豆", "veg", "vegetables:6 grain:4", "胡豆 蚕豆 青胡豆 鲜胡豆 胡豆", "彭州 越西 郫都", "broad bean", pop=5,
  quals=["新鲜", "嫩"], desc=["剥好的鲜胡豆，炒、煮汤都香。"])
P("鱼腥草", "veg", "vegetables:8 herbs:2", "折耳根 鱼腥草 侧耳根 野生折耳根 折耳根", "叙州 邻水 屏山", "fish mint",
  pop=7, quals=["野生", "新鲜", "嫩"], desc=["凉拌加红油海椒，川渝人的心头好。"])
P("空心菜", "veg", "vegetables", "空心菜 藤藤菜 蕹菜", "新津 双流", "water spinach", pop=4,
  quals=["新鲜", "嫩"], desc=["夏天的家常菜，蒜蓉炒最下饭。"])
P("山药", "veg", "vegetables", "山药 脚板苕 淮山 山药", "彭州 阆中 通江", "Chinese yam", pop=5,
  quals=["粉糯", "农家", "新鲜"], desc=["长得像脚板，粉糯好吃，炖排骨一绝。"])
P("芋头", "veg", "vegetables", "芋头 芋儿 小芋儿 红芽芋", "富顺 翠屏 荣县", "taro", pop=5,
  quals=["粉糯", "新鲜", "农家"], desc=["芋儿烧鸡就用这种小芋儿。"])
P("菊芋", "veg", "vegetables", "洋姜 菊芋 鬼子姜", "盐亭 三台", "Jerusalem artichoke", pop=4,
  quals=["新鲜", "农家"], desc=["泡洋姜、腌咸菜都脆。"])
P("莴笋", "veg", "vegetables", "莴笋 青笋 莴苣 莴笋", "彭州 温江 新都", "celtuce", pop=5,
  quals=["新鲜", "脆嫩"], desc=["凉拌莴笋丝清脆爽口。"])
P("竹笋", "veg", "vegetables", "竹笋 鲜竹笋 方竹笋 雷竹笋 冬笋 春笋", "沐川 长宁 屏山 马边 筠连 青川", "bamboo shoot",
  pop=8, quals=["新鲜", "野生", "嫩"], desc=["山上现挖，焯水后炒腊肉最香。"])
P("蕨菜", "veg", "vegetables", "蕨菜 野生蕨菜 蕨苔 蕨菜干", "青川 平武 旺苍 宝兴", "fiddlehead fern", pop=6,
  quals=["野生", "新鲜", "山野菜"], desc=["春天山上采的嫩蕨苔，焯水凉拌。"])
P("香椿", "veg", "vegetables", "香椿 香椿芽 椿芽", "南江 通江", "toon sprouts", pop=4,
  quals=["新鲜", "头茬", "嫩"], desc=["香椿炒蛋，春天的味道。"])
P("魔芋", "veg", "vegetables:7 processed:3", "魔芋 魔芋豆腐 黑魔芋 鬼芋 魔芋", "屏山 美姑 通江 万源", "konjac",
  pop=6, quals=["农家", "手工", "新鲜"], desc=["魔芋烧鸭是川菜名菜。"])
P("大蒜", "veg", "vegetables", "大蒜 独头蒜 紫皮大蒜 蒜头 新蒜 大蒜", "彭州 温江 金堂", "garlic", pop=7,
  quals=["紫皮", "新鲜", "干"], desc=["紫皮独蒜，蒜味足，泡腊八蒜正好。"])
P("生姜", "veg", "vegetables", "生姜 小黄姜 仔姜 老姜 嫩姜", "犍为 沐川 乐至", "ginger", pop=6,
  quals=["新鲜", "农家", "辣"], desc=["仔姜炒肉丝，嫩姜泡姜都合适。"])
P("黄花菜", "veg", "vegetables:6 processed:4", "黄花菜 黄花 金针菜 干黄花", "渠县 大竹", "daylily", pop=6,
  quals=["干", "无硫", "农家"], desc=["晒干的黄花，泡发后炖汤、凉拌。"])
P("萝卜", "veg", "vegetables", "白萝卜 萝卜 红心萝卜 冬萝卜 高山萝卜", "康定 新都 东坡", "radish", pop=6,
  quals=["新鲜", "脆甜", "高山"], desc=["冬天炖牛肉、泡萝卜都好。"])
P("韭黄", "veg", "vegetables", "韭黄 黄韭 韭黄", "崇州 彭州", "yellow chives", pop=4,
  quals=["新鲜", "嫩"], desc=["韭黄炒肉丝，成都人冬天的家常菜。"])

# Grain and oil
P("大米", "grain", "rice:8 grain:2", "大米 新米 稻花香 桃花米 富硒米 软香米 生态米 鸭稻米 农家米 大米",
  "宣汉 开江 阆中 南部 邛崃 大竹 通江 万源", "rice", pop=16,
  quals=["新米", "当季", "生态", "香软", "农家"],
  desc=["稻田里养鸭，不打除草剂。", "一年一季，煮饭有米油。"])
P("糯米", "grain", "rice:6 grain:4", "糯米 长糯米 圆糯米 酒米", "开江 南部 大竹", "glutinous rice", pop=5,
  quals=["农家", "新", "当季"], desc=["包粽子、做醪糟、汤圆都用它。"])
P("玉米", "grain", "corn:7 grain:3", "玉米 苞谷 包谷 糯玉米 甜玉米 老玉米 玉麦 苞谷",
  "昭觉 美姑 通江 万源 宣汉 越西", "corn", pop=12, quals=["糯", "甜", "新鲜", "农家", "老品种"],
  desc=["老品种苞谷，煮着吃糯，磨面做馍馍香。"])
P("青稞", "grain", "highland-barley:8 grain:2", "青稞 青稞米 白青稞 黑青稞 青稞",
  "道孚 乡城 理塘 甘孜 炉霍 巴塘 稻城", "highland barley", pop=10, quals=["高原", "新", "黑", "有机"],
  desc=["高原种植，和大米一起煮饭口感更筋道。"])
P("苦荞", "grain", "grain:7 highland-barley:3", "苦荞 苦荞麦 荞麦 苦荞米 荞面",
  "昭觉 布拖 美姑 越西 喜德 盐源", "tartary buckwheat", pop=8, quals=["高山", "农家", "黑"],
  desc=["彝家人的主粮，做荞粑粑、荞面。"])
P("苦荞茶", "processed", "processed:8 grain:2", "苦荞茶 黑苦荞茶 全胚芽苦荞茶 苦荞茶",
  "昭觉 西昌 布拖", "tartary buckwheat tea", pop=7, quals=["全胚芽", "麦香", "罐装"],
  desc=["麦香浓，热水一泡就能喝，可与蜂蜜同饮。"])
P("高粱", "grain", "grain", "红高粱 糯高粱 高粱", "古蔺 叙永", "sorghum", pop=4, quals=["酿酒", "农家"],
  desc=["赤水河边种的糯高粱，酒厂也在收。"])
P("菜籽油", "grain", "grain:6 processed:4", "菜籽油 菜油 压榨菜籽油 小榨菜籽油 土榨菜油 浓香菜籽油",
  "三台 中江 绵竹 阆中 南部 广汉", "rapeseed oil", pop=10, quals=["浓香", "压榨", "农家", "非转基因"],
  desc=["自家种的油菜籽，老油坊压榨，浓香型。"], specs=["5L", "2.5L", "10斤桶装", "1.8L"])
P("花生", "grain", "grain:6 fruit:2 processed:2", "花生 红皮花生 小花生 花生米 四粒红", "南部 阆中 仪陇 蓬安",
  "peanut", pop=6, quals=["新", "农家", "生"], desc=["沙地花生，颗粒饱满。"])
P("黄豆", "grain", "grain", "黄豆 大豆 土黄豆", "万源 通江 宣汉", "soybean", pop=4, quals=["农家", "非转基因", "新"],
  desc=["打豆浆、做豆花都好。"])
P("糌粑", "processed", "highland-barley:5 processed:5", "糌粑 青稞糌粑 酥油糌粑", "道孚 理塘 甘孜", "tsampa", pop=5,
  quals=["藏家", "手工", "现炒"], desc=["青稞炒熟磨粉，拌酥油茶吃。"])

# Mushrooms
P("松茸", "fungi", "matsutake:8 fungi:2", "松茸 鲜松茸 野生松茸 松茸干片 冻干松茸 松茸菌 松茸",
  "乡城 雅江 木里 稻城 得荣 理塘 九龙 道孚 新龙 小金", "matsutake", pop=24,
  quals=["野生", "新鲜", "现采", "特级", "干货"],
  desc=["原始森林里的野生松茸，当天采当天发。", "和土鸡一起炖汤，鲜得很。", "切片烘干，香味浓，可泡水煲汤。"])
P("羊肚菌", "fungi", "fungi:8 herbs:2", "羊肚菌 野生羊肚菌 羊肚菌干货 干羊肚菌 鲜羊肚菌 羊肚菌",
  "理县 茂县 汶川 平武 小金 新龙 道孚 乡城", "morel", pop=12, quals=["野生", "特级", "干货", "大朵"],
  desc=["菌柄剪短，只要菌帽，炖汤鲜美。"])
P("木耳", "fungi", "fungi:6 processed:2", "黑木耳 秋木耳 椴木木耳 小碗耳 干木耳 单片木耳 木耳",
  "青川 平武 旺苍 朝天 北川 南江", "wood ear", pop=14, quals=["椴木", "秋耳", "肉厚", "干货"],
  desc=["椴木上长的秋耳，泡发率高，凉拌爽脆。"])
P("银耳", "fungi", "fungi:6 processed:3 herbs:1", "银耳 白木耳 雪耳 银耳 段木银耳", "通江 南江", "tremella", pop=8,
  quals=["椴木", "糯", "干货", "出胶"], desc=["炖银耳羹容易出胶，和雪梨冰糖一起炖。"])
P("香菇", "fungi", "fungi", "香菇 花菇 干香菇 椴木香菇 冬菇", "青川 旺苍 邛崃 平武", "shiitake", pop=8,
  quals=["椴木", "肉厚", "干货", "农家"], desc=["菇盖厚，香味浓，炖鸡、做香菇酱都好。"])
P("鸡枞", "fungi", "fungi", "鸡枞 鸡枞菌 野生鸡枞 油鸡枞", "会理 会东 米易 盐边 宁南", "termite mushroom", pop=7,
  quals=["野生", "新鲜", "油炸"], desc=["雨后山上冒出来的，做油鸡枞拌面。"])
P("牛肝菌", "fungi", "fungi", "牛肝菌 黄牛肝菌 白牛肝菌 见手青 美味牛肝菌 牛肝菌干片", "会东 木里 盐源 九龙",
  "porcini", pop=7, quals=["野生", "干片", "新鲜"], desc=["一定要炒熟炒透再吃。"])
P("竹荪", "fungi", "fungi", "竹荪 竹荪干货 长裙竹荪 竹参", "长宁 珙县 筠连 沐川", "bamboo fungus", pop=6,
  quals=["干货", "无硫", "长裙"], desc=["竹林里长的，炖鸡汤吸满汤汁。"])
P("鸡油菌", "fungi", "fungi", "鸡油菌 黄丝菌 杏黄菌", "九龙 雅江 木里", "chanterelle", pop=5, quals=["野生", "新鲜", "干货"],
  desc=["颜色金黄，带一股杏子香。"])
P("猴头菇", "fungi", "fungi", "猴头菇 猴头菌", "青川 旺苍", "lion's mane mushroom", pop=4, quals=["干货", "大个"],
  desc=["煲汤养胃，泡发后挤干水再炖。"])
P("松露", "fungi", "fungi", "黑松露 松露 野生黑松露 块菌", "会东 米易 盐边 仁和", "truffle", pop=5,
  quals=["野生", "新鲜", "冷冻"], desc=["松树林下挖的黑松露，切片炒蛋香。"])

# Chinese and Tibetan medicinal herbs
P("虫草", "herb", "cordyceps:8 herbs:2", "虫草 冬虫夏草 野生虫草 鲜虫草 干虫草 虫草礼盒 冬虫夏草",
  "理塘 雅江 道孚 石渠 德格 色达 巴塘 炉霍 新龙 白玉", "cordyceps", pop=22,
  quals=["野生", "特级", "正品", "大条", "头草"],
  desc=["海拔四千米以上的高山草甸挖的，一根一根刷干净。", "可以泡酒、炖汤，也可以直接嚼。"],
  specs=["10根", "20根装", "3克", "1根", "5g礼盒", "50根"], units=[("piece", 3000, 12000, 6), ("jin", 1500000, 4500000, 1)])
P("川贝母", "herb", "fritillaria:8 herbs:2", "川贝母 川贝 松贝 青贝 贝母 野生川贝 川贝粉",
  "松潘 若尔盖 小金 石渠 甘孜 德格 道孚 康定", "fritillaria", pop=12, quals=["野生", "正品", "怀中抱月"],
  desc=["松贝个小，怀中抱月，炖雪梨止咳。"])
P("藏红花", "herb", "saffron:8 herbs:2", "藏红花 西红花 番红花 藏红花", "康定 丹巴 泸定", "saffron", pop=7,
  quals=["特级", "正品", "长丝"], desc=["一次泡五六根，泡水颜色金黄。"],
  specs=["1克", "2g", "5克装", "10g礼盒"], units=[("piece", 1990, 19900, 1)])
P("天麻", "herb", "herbs", "天麻 乌天麻 野生天麻 鲜天麻 天麻片 红天麻", "青川 平武 宝兴 旺苍 北川 南江", "gastrodia",
  pop=10, quals=["野生", "特级", "无硫", "新鲜"], desc=["天麻炖鸡、炖猪脑，老人爱吃。"])
P("党参", "herb", "herbs", "党参 纹党参 野生党参 党参段", "九寨沟 松潘 平武 青川", "codonopsis", pop=7,
  quals=["野生", "无硫", "特级"], desc=["炖汤放几根，味道回甜。"])
P("川芎", "herb", "herbs", "川芎 川芎片", "都江堰 彭州 崇州", "Sichuan lovage", pop=5, quals=["道地", "统货", "无硫"],
  desc=["都江堰一带的道地药材。"])
P("附子", "herb", "herbs", "附子 黑顺片 白附片 制附子", "江油 布拖", "aconite root", pop=4, quals=["道地", "统货"],
  desc=["炮制品，需遵医嘱使用。"])
P("麦冬", "herb", "herbs", "麦冬 川麦冬 寸冬 麦冬", "三台 涪城", "ophiopogon", pop=5, quals=["道地", "大个", "无硫"],
  desc=["泡水、煲汤都可以。"])
P("白芍", "herb", "herbs", "白芍 川白芍 白芍片", "中江 渠县", "white peony root", pop=4, quals=["道地", "无硫"],
  desc=["切片晒干，片形完整。"])
P("丹参", "herb", "herbs", "丹参 丹参片 紫丹参", "中江 三台", "danshen", pop=4, quals=["道地", "统货"],
  desc=["根条粗壮，颜色紫红。"])
P("羌活", "herb", "herbs", "羌活 蚕羌 野生羌活", "松潘 黑水 茂县 理县", "notopterygium root", pop=4,
  quals=["野生", "统货"], desc=["高山野生，香气浓。"])
P("大黄", "herb", "herbs", "大黄 掌叶大黄 马蹄大黄 大黄片", "阿坝 若尔盖 红原 松潘 道孚", "rhubarb root", pop=4,
  quals=["野生", "统货"], desc=["切片晒干，断面锦纹清楚。"])
P("红景天", "herb", "herbs", "红景天 大花红景天 红景天片", "康定 理塘 道孚 色达", "rhodiola", pop=6,
  quals=["高原", "野生", "切片"], desc=["上高原前泡水喝的人多。"])
P("灵芝", "herb", "herbs:7 fungi:3", "灵芝 赤灵芝 紫灵芝 灵芝片 灵芝孢子粉", "青川 平武 宝兴", "lingzhi", pop=6,
  quals=["椴木", "野生", "切片"], desc=["椴木栽培，切片泡水煲汤。"])
P("黄精", "herb", "herbs", "黄精 九制黄精 野生黄精 多花黄精", "通江 旺苍 北川 峨边", "Solomon's seal", pop=5,
  quals=["九蒸九晒", "野生", "农家"], desc=["九蒸九晒，可以直接当零嘴吃。"])
P("杜仲", "herb", "herbs", "杜仲 杜仲皮 杜仲雄花", "旺苍 青川 通江", "eucommia bark", pop=4, quals=["统货", "厚皮"],
  desc=["树皮厚，折断有白丝。"])
P("川明参", "herb", "herbs", "川明参 明参 川明参", "苍溪 阆中", "chuanmingshen root", pop=5, quals=["道地", "无硫", "农家"],
  desc=["苍溪阆中一带的特产，炖汤清甜。"])
P("当归", "herb", "herbs", "当归 全当归 当归片 当归头", "汶川 理县 马尔康", "angelica root", pop=5, quals=["高山", "统货"],
  desc=["当归炖羊肉，冬天暖身。"])
P("黄芪", "herb", "herbs", "黄芪 黄芪片 野生黄芪", "红原 松潘 阿坝", "astragalus root", pop=5, quals=["野生", "切片"],
  desc=["泡水、煲汤、煮粥都可以放几片。"])
P("蕨麻", "herb", "herbs:6 processed:4", "蕨麻 人参果 延寿果", "道孚 理塘 石渠 红原", "silverweed root", pop=5,
  quals=["高原", "野生", "藏家"], desc=["藏族人过年做蕨麻米饭，甜糯。"])

# Meat, poultry, eggs and dairy
P("牦牛肉", "meat", "yak-meat:8 livestock:2", "牦牛肉 鲜牦牛肉 牦牛腱子 牦牛排骨 牦牛肉块 高原牦牛肉 牦牛后腿肉 牦牛肉",
  "红原 若尔盖 阿坝 理塘 石渠 色达 甘孜 道孚 乡城 新龙 壤塘", "yak meat", pop=20,
  quals=["新鲜", "放养", "高原", "冷冻", "原切"],
  desc=["草原上放养五六年的牦牛，肉色深红，炖汤香浓。", "冷链发货，顺丰两天到。"])
P("牦牛肉干", "processed", "beef-jerky:6 yak-meat:3 processed:1", "牦牛肉干 风干牦牛肉 手撕牦牛肉 风干牦牛肉干 牦牛肉条",
  "红原 若尔盖 理塘 康定 马尔康 松潘", "yak jerky", pop=14, quals=["风干", "麻辣", "五香", "原味", "手撕"],
  desc=["高原风干，越嚼越香。", "七成干，撕成条吃。"])
P("牛肉干", "processed", "beef-jerky:8 processed:2", "麻辣牛肉干 牛肉干 五香牛肉干 手撕牛肉 牛肉丝",
  "双流 自流井 大安 翠屏 郫都", "beef jerky", pop=8, quals=["麻辣", "五香", "手撕", "香辣"],
  desc=["黄牛肉腌制烘烤，麻辣味足。"])
P("张飞牛肉", "processed", "beef-jerky:6 processed:4", "张飞牛肉 卤牛肉 酱卤牛肉 张飞牛肉", "阆中", "Zhangfei beef",
  pop=8, quals=["真空", "五香", "老字号", "手工"], desc=["古城老作坊卤制，表面黑里面红。", "真空包装，开袋即食。"])
P("灯影牛肉", "processed", "beef-jerky:7 processed:3", "灯影牛肉 灯影牛肉丝 灯影牛肉", "达川 通川", "lantern beef", pop=5,
  quals=["麻辣", "超薄", "手工"], desc=["片薄得能透光，酥脆麻辣。"])
P("藏香猪", "meat", "tibetan-pig:8 livestock:2", "藏香猪 藏猪肉 藏香猪肉 藏香猪五花 藏香猪排骨 高原跑山猪",
  "乡城 稻城 巴塘 得荣 九龙 雅江 九寨沟 黑水", "Tibetan pig", pop=12, quals=["放养", "跑山", "新鲜", "高原"],
  desc=["在山林里放养，吃松果和野菜长大，皮薄肉香。"])
P("腊肉", "meat", "livestock:4 processed:6", "腊肉 烟熏腊肉 柴火腊肉 农家老腊肉 五花腊肉 土猪腊肉 二刀肉",
  "巴州 通江 南江 旺苍 平昌 阆中 宣汉 万源 开江 雷波", "cured pork", pop=18,
  quals=["烟熏", "柴火", "农家", "正宗", "土猪"],
  desc=["用柏树枝和橘子皮慢熏，肥而不腻。", "洗净煮熟切片，蒸、炒蒜苗都香。"])
P("香肠", "meat", "processed:6 livestock:4", "香肠 麻辣香肠 川味香肠 腊肠 土猪肉香肠 甜香肠",
  "巴州 通江 南江 旺苍 阆中 宣汉 开江 翠屏", "sausage", pop=14, quals=["麻辣", "烟熏", "农家", "川味", "手工"],
  desc=["土猪肉手工灌制，肥瘦三七开。"])
P("土鸡", "meat", "livestock", "土鸡 跑山鸡 散养土鸡 老母鸡 土鸡公 乌骨鸡", "旺苍 汉源 南江 平昌 万源 开江",
  "free-range chicken", pop=10, quals=["散养", "跑山", "农家", "一年以上"],
  desc=["在山上散养一年以上，炖汤有黄油。"])
P("麻鸭", "meat", "livestock", "麻鸭 土鸭 老鸭 稻田鸭 麻鸭", "开江 顺庆 邻水", "duck", pop=7, quals=["散养", "稻田", "农家"],
  desc=["稻田里放养的麻鸭，炖魔芋、做啤酒鸭都好。"])
P("白鹅", "meat", "livestock", "白鹅 大白鹅 土鹅 鹅肉", "开江 南溪", "goose", pop=6, quals=["散养", "农家", "新鲜"],
  desc=["吃青草长大的大白鹅，炖汤、卤都好。"])
P("山羊肉", "meat", "livestock", "羊肉 黄羊肉 山羊肉 黑山羊 羊腿 羊排 大耳羊", "南江 简阳 乐至 金堂 会东", "goat meat",
  pop=9, quals=["新鲜", "散养", "现杀"], desc=["冬至喝羊肉汤，简阳一带的传统。"])
P("土鸡蛋", "egg", "livestock:7 processed:3", "土鸡蛋 农家土鸡蛋 散养鸡蛋 柴鸡蛋 草鸡蛋 绿壳鸡蛋 鸡蛋",
  "开江 阆中 旺苍 平昌 汉源 昭觉", "eggs", pop=14, quals=["散养", "农家", "新鲜", "正宗"],
  desc=["给孕妇和小孩吃最放心。"])
P("咸鸭蛋", "egg", "processed:8 livestock:2", "咸鸭蛋 红心咸鸭蛋 流油咸鸭蛋 盐蛋", "开江 顺庆", "salted duck egg",
  pop=5, quals=["流油", "红心", "农家"], desc=["黄泥腌制，蛋黄起沙流油。"])
P("牦牛奶粉", "dairy", "processed:6 yak-meat:2 livestock:2", "牦牛奶粉 牦牛全脂奶粉 高原纯牛奶粉 牦牛乳粉",
  "理塘 红原 若尔盖 石渠", "yak milk powder", pop=10, quals=["全脂", "高原", "纯", "无蔗糖"],
  desc=["没有添加白砂糖，适合中老年人。"])
P("酥油", "dairy", "processed:6 livestock:4", "酥油 牦牛酥油 纯酥油 黄油",
  "理塘 道孚 色达 甘孜 红原 若尔盖 石渠 乡城", "yak butter", pop=8, quals=["牧民自制", "纯", "新鲜"],
  desc=["打酥油茶、拌糌粑用。"])
P("牦牛酸奶", "dairy", "processed:6 livestock:4", "牦牛酸奶 高原酸奶 牦牛老酸奶", "红原 若尔盖", "yak yogurt", pop=5,
  quals=["老", "原味", "无添加"], desc=["牧民家传的老酸奶，酸味重，可以加白糖。"])

# Processed food
P("保宁醋", "processed", "vinegar:8 processed:2", "保宁醋 保宁香醋 保宁陈醋 麸醋 晒醋", "阆中", "vinegar", pop=10,
  quals=["陈酿", "老字号", "五年", "传统"], desc=["麸皮加中药材制曲，日晒夜露。", "凉拌、蘸饺子都好用。"],
  specs=["430ml", "1.5L", "500ml*2瓶", "5L桶装", ""])
P("豆笋", "processed", "bean-curd-sticks:8 processed:2", "豆笋 手工豆笋 干豆笋 豆笋干", "开江", "bean curd sticks",
  pop=9, quals=["手工", "农家", "非转基因"], desc=["泡软后炒、烧、凉拌，豆香浓。"])
P("腐竹", "processed", "bean-curd-sticks:6 processed:4", "腐竹 手工腐竹 油皮", "开江 大竹 渠县", "dried tofu skin",
  pop=5, quals=["手工", "无添加"], desc=["煮火锅、凉拌都好。"])
P("豆腐干", "processed", "processed:7 bean-curd-sticks:3", "豆腐干 豆干 五香豆干 麻辣豆干", "南溪", "dried tofu",
  pop=6, quals=["五香", "麻辣", "小包装"], desc=["开袋即食的休闲零食。"])
P("腐乳", "processed", "processed", "豆腐乳 腐乳 红油腐乳 麻辣腐乳 霉豆腐", "夹江 大邑", "fermented tofu", pop=5,
  quals=["红油", "麻辣", "手工"], desc=["下稀饭、蘸火锅都好。"])
P("豆瓣酱", "processed", "processed", "郫县豆瓣 豆瓣酱 红油豆瓣 三年陈豆瓣 一级豆瓣", "郫都", "chili bean paste", pop=9,
  quals=["三年陈", "传统", "特级"], desc=["川菜之魂，回锅肉、麻婆豆腐必备。"])
P("芽菜", "processed", "processed:8 vegetables:2", "芽菜 碎米芽菜 甜芽菜", "翠屏 叙州", "yacai", pop=5,
  quals=["传统", "甜", "小包装"], desc=["做燃面、烧白、干煸四季豆都要放。"])
P("冬菜", "processed", "processed:8 vegetables:2", "冬菜 川冬菜", "顺庆 嘉陵", "dongcai preserved vegetable", pop=4,
  quals=["传统", "陈年"], desc=["冬菜扣肉、冬菜汤都鲜。"])
P("泡菜", "processed", "processed:8 vegetables:2", "泡菜 四川泡菜 老坛泡菜 泡酸菜 泡萝卜 泡姜", "东坡 彭山",
  "Sichuan pickles", pop=6, quals=["老坛", "农家", "手工"], desc=["老坛盐水泡的，酸辣脆爽。"])
P("火锅底料", "processed", "processed", "火锅底料 牛油火锅底料 麻辣火锅料 老火锅底料", "双流 郫都 武侯",
  "hotpot base", pop=7, quals=["牛油", "麻辣", "手工炒制"], desc=["纯牛油手工炒制，一袋可以煮一锅。"])
P("冷吃兔", "processed", "processed:7 livestock:3", "冷吃兔 麻辣兔丁 冷吃兔丁", "自流井 贡井 富顺 荣县",
  "spicy cold rabbit", pop=6, quals=["麻辣", "香辣", "真空"], desc=["自贡盐帮菜，越嚼越香。"])
P("粉条", "processed", "processed:6 sweet-potato:4", "红苕粉 红薯粉条 苕粉 手工粉条 红薯粉丝", "阆中 南部 仪陇 西充 苍溪",
  "sweet potato noodles", pop=8, quals=["手工", "纯", "农家"], desc=["纯红苕淀粉做的，久煮不烂，酸辣粉、火锅都好。"])
P("挂面", "processed", "processed:7 grain:3", "挂面 手工挂面 空心面 手工空心挂面", "中江 江油", "hand-made noodles", pop=5,
  quals=["手工", "空心", "传统"], desc=["手工拉制晾晒，面条中间是空心的，好入味。"])
P("豆豉", "processed", "processed", "豆豉 潼川豆豉 水豆豉 干豆豉", "三台", "fermented black beans", pop=4,
  quals=["传统", "手工"], desc=["做回锅肉、豆豉鱼都要放一点。"])
P("麻辣鸡", "processed", "processed:7 livestock:3", "麻辣鸡 麻辣鸡块", "古蔺", "spicy chicken", pop=4,
  quals=["麻辣", "真空"], desc=["黔北川南的老味道。"])
P("白糖蒸馍", "processed", "processed:7 grain:3", "白糖蒸馍 蒸馍 白糖蒸馍", "阆中", "sugar steamed buns", pop=5,
  quals=["手工", "老字号", "现做"], desc=["古城老面发酵，甜而不腻。"])
P("笋干", "processed", "processed:6 vegetables:4", "笋干 干竹笋 笋片 玉兰片 笋干", "沐川 长宁 屏山 马边",
  "dried bamboo shoots", pop=7, quals=["农家", "无硫", "手工"], desc=["泡发后炖肉、炒腊肉都香。"])

# Spices
P("花椒", "spice", "chili:3 processed:5 vegetables:2", "花椒 红花椒 大红袍花椒 贡椒 花椒粒 干花椒 大红袍 花椒",
  "汉源 茂县 盐源 冕宁 越西 金阳", "Sichuan pepper", pop=18, quals=["特级", "新货", "麻", "正宗", "无籽"],
  desc=["颗粒大、油胞多，麻味持久。", "做火锅、卤菜、麻婆豆腐都少不了。"])
P("青花椒", "spice", "chili:4 processed:6", "青花椒 藤椒 鲜青花椒 青麻椒 干青花椒", "金阳 汉源 犍为 洪雅",
  "green Sichuan pepper", pop=10, quals=["新货", "麻", "特级", "鲜"], desc=["清香麻爽，做藤椒鱼、椒麻鸡。"])

# Honey
P("蜂蜜", "honey", "processed:8 herbs:1 livestock:1",
  "蜂蜜 土蜂蜜 百花蜜 中蜂蜜 野蜂蜜 高原百花蜜 崖蜜 枇杷蜜 槐花蜜 油菜花蜜 结晶蜜 土蜂蜜",
  "小金 金川 马尔康 九寨沟 松潘 理县 汶川 茂县 宝兴 通江 南江 平武 青川 雷波 乡城 道孚", "honey", pop=22,
  quals=["纯", "农家", "深山", "土", "天然", "成熟"],
  desc=["中华蜂一年只取一次，浓度高。", "早上空腹一杯温水冲蜂蜜，老人小孩都能喝。"])
P("蜂巢蜜", "honey", "processed", "蜂巢蜜 巢蜜 原生态蜂巢 蜂巢", "小金 九寨沟 通江 平武", "honeycomb", pop=6,
  quals=["嚼着吃", "原生态", "整块"], desc=["连蜂巢一起嚼，蜡可以吐掉。"])

# Tea
P("绿茶", "tea", "processed", "竹叶青 绿茶 明前绿茶 雀舌 毛峰 蒙顶甘露 峨眉毛峰 苔子茶 绿茶",
  "峨眉山 名山 雨城 沐川 马边 北川 屏山 筠连", "green tea", pop=16, quals=["明前", "高山", "特级", "新茶"],
  desc=["扁平挺直，汤色嫩绿，豆花香。"], trad=0.1)
P("红茶", "tea", "processed", "红茶 川红工夫 工夫红茶 金骏眉 高山红茶", "筠连 高县 翠屏 马边", "black tea", pop=8,
  quals=["蜜香", "高山", "特级"], desc=["汤色红亮，带蜜香。"], trad=0.1)
P("藏茶", "tea", "processed", "藏茶 南路边茶 黑茶 康砖 金尖 茶砖", "雨城 荥经 天全 名山", "Tibetan dark tea", pop=9,
  quals=["陈年", "传统", "紧压"], desc=["煮着喝更香，打酥油茶也用它。"], trad=0.1)
P("黄茶", "tea", "processed", "黄茶 蒙顶黄芽 黄芽", "名山 旺苍", "yellow tea", pop=5, quals=["明前", "特级", "手工"],
  desc=["闷黄工艺，汤色杏黄。"], trad=0.1)
P("茉莉花茶", "tea", "processed", "茉莉花茶 茉莉银针 茉莉毛峰 花毛峰", "犍为", "jasmine tea", pop=6,
  quals=["浓香", "特级", "七窨"], desc=["用本地茉莉花窨制，花香浓。"], trad=0.1)
P("富硒茶", "tea", "processed", "富硒茶 巴山雀舌 巴山富硒茶", "万源", "selenium-rich tea", pop=4,
  quals=["明前", "特级", "高山"], desc=["大巴山深处的茶园。"], trad=0.1)

# Crafts
P("竹编", "craft", "bamboo-weaving:7 crafts:3", "竹编 竹编篮 竹编果盘 竹篮 瓷胎竹编 竹编茶具 竹编收纳筐 竹簸箕 竹背篓 竹编灯罩",
  "青神 崇州 渠县 邛崃", "bamboo weaving", pop=16, quals=["手工", "非遗", "传统", "纯手工"],
  desc=["用本地慈竹劈成细丝手工编织。", "可以装水果、装茶具，也能挂在墙上。"], trad=0.35)
P("蜀绣", "craft", "crafts", "蜀绣 蜀绣挂画 蜀绣团扇 手工刺绣 蜀绣熊猫 双面绣", "郫都 青羊", "Shu embroidery", pop=10,
  quals=["纯手工", "非遗", "双面", "熊猫"], desc=["绣娘一针一线绣成，一幅要绣一个多月。"], trad=0.35)
P("羌绣", "craft", "crafts", "羌绣 羌绣鞋垫 羌族刺绣 羌绣挂件 羌绣云云鞋", "茂县 汶川 北川 理县", "Qiang embroidery",
  pop=8, quals=["纯手工", "非遗", "传统"], desc=["羌族妇女农闲时绣的，图案是云纹和羊角花。"], trad=0.3)
P("彝绣", "craft", "crafts", "彝绣 彝族刺绣 彝绣包 彝绣披肩", "昭觉 美姑 布拖 西昌", "Yi embroidery", pop=6,
  quals=["纯手工", "非遗", "民族风"], desc=["红黄黑三色，是彝家传统配色。"], trad=0.3)
P("漆器", "craft", "crafts:8 wooden-bowl:2", "彝族漆器 漆器 漆碗 木胎漆器 漆器酒具", "喜德 昭觉", "lacquerware", pop=5,
  quals=["手工", "非遗", "传统"], desc=["木胎上漆，手绘彝族图案。"], trad=0.3)
P("唐卡", "craft", "thangka:8 crafts:2", "唐卡 手绘唐卡 噶玛嘎孜唐卡 矿物颜料唐卡 绿度母唐卡",
  "德格 甘孜 色达 康定 炉霍 理塘 道孚", "thangka", pop=14, quals=["纯手绘", "矿物颜料", "非遗", "精品"],
  desc=["画师用天然矿物颜料手绘，一幅要画几个月。"], trad=0.3)
P("藏式木碗", "craft", "wooden-bowl:8 crafts:2", "木碗 藏式木碗 酥油茶碗 手工木碗 糌粑碗 藏族木碗",
  "乡城 白玉 德格 甘孜", "wooden bowl", pop=10, quals=["手工", "桦木", "传统", "包银"],
  desc=["整块木头车出来的，装酥油茶不烫手。"], trad=0.3)
P("藏香", "craft", "crafts:8 herbs:2", "藏香 手工藏香 藏香线香 柏木藏香 卧香", "德格 理塘 康定 甘孜 道孚",
  "Tibetan incense", pop=7, quals=["手工", "天然", "柏木"], desc=["柏木粉和藏药材手工搓制。"], trad=0.3)
P("银饰", "craft", "crafts", "银饰 藏银手镯 纯银手镯 银碗 手工银器 藏式银饰", "白玉 德格", "silverware", pop=6,
  quals=["纯手工", "足银", "传统"], desc=["河坡的老银匠一锤一锤敲出来的。"], trad=0.3)
P("藏刀", "craft", "crafts", "藏刀 手工藏刀 腰刀", "白玉 德格", "Tibetan knife", pop=4, quals=["手工", "锻打", "传统"],
  desc=["只作收藏和工艺品，不作管制刀具出售。"], trad=0.3)
P("蜀锦", "craft", "crafts", "蜀锦 蜀锦围巾 蜀锦钱包 蜀锦挂画", "青羊 锦江", "Shu brocade", pop=5,
  quals=["非遗", "手工", "传统"], desc=["老花楼织机织的，花纹细密。"], trad=0.35)
P("年画", "craft", "crafts", "年画 绵竹年画 手绘年画 门神年画", "绵竹", "New Year print", pop=5,
  quals=["手绘", "非遗", "传统"], desc=["手工勾线填色，过年贴门上喜庆。"], trad=0.35)
P("蚕丝被", "textile", "crafts:5 processed:5", "蚕丝被 桑蚕丝被 真丝被 蚕丝空调被", "阆中 南部 顺庆 高坪", "silk quilt",
  pop=7, quals=["手工", "桑蚕丝", "春秋款"], desc=[])

KEYS = {p["key"]: p for p in PRODUCTS}
assert len(KEYS) == len(PRODUCTS), "duplicate product key"


def kind(*kinds):
    return [p["key"] for p in PRODUCTS if p["kind"] in kinds]


# ---------------------------------------------------------------------------------------
# Listings

PREFIXES = ["【产地直发】", "【现货速发】", "【新货】", "【包邮】", "【助农】", "【顺丰包邮】", "【预售】", "【源头】",
            "正宗", "今年新货", "2025新货", "四川特产", ""]
GENERIC_SUFFIXES = ["包邮", "产地直供", "一件代发", "当天发货", "量大从优", "支持验货", "农家自产", ""]


def place_words(code, rng):
    """How a seller names where a listing comes from, in the title."""
    cc = code[:6]
    cshort = short_name(REGION[cc])
    pref = PREFECTURE_WORDS.get(code[:4], [])
    if len(code) == 12:
        vname = REGION[code]
        vbare = vname[:-1] if vname.endswith("村") else vname
        tname = REGION.get(township_of(code), "")
        r = rng.random()
        if r < 0.30:
            return cshort + rng.choice([vname, vbare])
        if r < 0.42:
            return vname
        if r < 0.55 and tname and tname != vname:
            return cshort + tname + (vname if code != township_of(code) else "")
        if r < 0.85:
            return cshort
        return ""
    r = rng.random()
    if r < 0.40:
        return cshort
    if r < 0.50:
        return REGION[cc]
    if r < 0.65 and pref:
        return rng.choice(pref) + cshort
    if r < 0.75:
        return "四川" + cshort
    if r < 0.83 and pref:
        return rng.choice(pref)
    return ""


def altitude(code):
    if code[:4] in ("5132", "5133"):
        return rng.randrange(2600, 4000, 100)
    if code[:4] == "5134":
        return rng.randrange(1600, 2900, 100)
    return rng.randrange(400, 1500, 50)


def price(units):
    code, lo, hi, _w = rng.choices(units, weights=[u[3] for u in units])[0]
    p = rng.randint(lo, hi)
    p = p // 100 * 100 - 10 if p > 1000 else max(10, p // 10 * 10)
    return code, p


def make_title(p, code):
    k = KINDS[p["kind"]]
    name = rng.choice(p["names"])
    quals = p["quals"] or k["quals"]
    qual = rng.choice(quals + [""])
    if qual and qual in name:
        qual = ""
    spec = rng.choice(p["specs"] or k["specs"])
    if qual and qual in spec:
        qual = ""
    pre = rng.choice(PREFIXES)
    suf = rng.choice(k["sufs"] + ([] if p["kind"] in ("craft", "textile") else GENERIC_SUFFIXES))
    place = place_words(code, rng)
    pattern = rng.randrange(8)
    if pattern == 0:
        t = f"{pre}{place}{qual}{name} {spec} {suf}"
    elif pattern == 1:
        t = f"{place}{name}{qual} {spec}{suf}"
    elif pattern == 2:
        t = f"{pre}{qual}{name} {place}特产 {spec}"
    elif pattern == 3:
        others = [n for n in dict.fromkeys(p["names"]) if n not in name and name not in n]
        other = rng.choice(others) if others else ""
        t = f"{place}{name}{other} {qual}{spec} {suf}"  # sellers stuff several names
    elif pattern == 4:
        t = f"{name}{spec} {place}{qual}{suf}"
    elif pattern == 5:
        t = f"{pre}{qual}{name}{spec} {suf}"  # no place at all
    elif pattern == 6:
        t = f"{place}{'高原' if code[:4] in ('5132', '5133') else '农家'}{name} {qual} {spec}"
    else:
        t = f"{pre}{place} {name} {qual}{spec}"
    t = re.sub(r"\s+", " ", t).strip()
    if rng.random() < p["trad"]:
        t = traditional(t)
    return t


def make_description(p, code):
    k = KINDS[p["kind"]]
    cc = code[:6]
    place = short_name(REGION[cc])
    if len(code) == 12:
        place += REGION.get(township_of(code), "") if rng.random() < 0.5 else ""
        if code != township_of(code) and rng.random() < 0.6:
            place += REGION[code]
    lines = []
    if p["desc"] and rng.random() < 0.8:
        lines.append(rng.choice(p["desc"]))
    extra = rng.sample(k["desc"], k=min(len(k["desc"]), rng.randint(0 if lines else 1, 2)))
    lines += extra
    rng.shuffle(lines)
    text = "".join(lines[:3])
    return text.format(place=place, alt=altitude(code), n=rng.randint(12, 160))


def pick_category(p):
    slugs, weights = zip(*p["cats"])
    return rng.choices(slugs, weights=weights)[0]


# Villages of the demo counties that queries name; each gets listings of what it makes.
QUERY_VILLAGES = [
    ("开江", "盘石村"), ("开江", "糖房坝村"), ("开江", "锣鼓堂村"), ("开江", "梅家坝村"),
    ("道孚", "孜龙村"), ("道孚", "曲尔村"), ("道孚", "扎西岭村"),
    ("乡城", "色尔宫村"), ("乡城", "仲德村"), ("乡城", "那拉岗村"),
    ("阆中", "天宫院村"), ("阆中", "洗马滩村"), ("阆中", "铜鼓岭村"),
]
QV_CODES = [village(c, v) for c, v in QUERY_VILLAGES]


def demo_origin(cc):
    """A listing of a demo county: often from one of its villages or townships."""
    r = rng.random()
    qv = [c for c in QV_CODES if c.startswith(cc)]
    if r < 0.30 and qv:
        return rng.choice(qv)
    if r < 0.70:
        return rng.choice(VILLAGES[cc])
    return cc


def listings():
    rows = []
    for p in PRODUCTS:
        origins = [county(o) for o in p["origins"]]
        n = max(p["pop"], len(origins))
        # Every origin once, then the first-named (best-known) place far more often.
        weights = [max(3, len(origins)) if i == 0 else 1 + (len(origins) - i) / len(origins)
                   for i in range(len(origins))]
        chosen = origins + rng.choices(origins, weights=weights, k=n - len(origins))
        for cc in chosen:
            code = demo_origin(cc) if cc in DEMO_COUNTIES else cc
            rows.append((p, code))
    # Each village a query names sells a few things of its county.
    for qv in QV_CODES:
        makers = [p for p in PRODUCTS if qv[:6] in [county(o) for o in p["origins"]]]
        for p in rng.sample(makers, k=3):
            rows.append((p, qv))
    # Named anchors for the village + product queries.
    rows.append((KEYS["土豆"], village("道孚", "孜龙村")))
    rows.append((KEYS["松茸"], village("乡城", "色尔宫村")))
    rows.append((KEYS["豆笋"], village("开江", "盘石村")))
    rng.shuffle(rows)
    out = []
    for i, (p, code) in enumerate(rows, start=1):
        unit, fen = price(p["units"] or KINDS[p["kind"]]["units"])
        out.append(dict(
            key=f"L{i:04d}", product=p["key"], category=pick_category(p), origin=code,
            title=make_title(p, code), description=make_description(p, code), price_fen=fen, unit=unit,
        ))
    return out


# ---------------------------------------------------------------------------------------
# Queries

FRUIT = kind("fruit")
VEG = kind("veg")
FUNGI = kind("fungi")
HERBS = kind("herb")
GRAIN = kind("grain")
CRAFTS = kind("craft")
TEAS = kind("tea")
YAK = ["牦牛肉", "牦牛肉干", "牦牛奶粉", "酥油", "牦牛酸奶"]
HONEY = ["蜂蜜", "蜂巢蜜"]
SWEET = ["红薯", "紫薯"]
PEPPER = ["花椒", "青花椒"]
BEEF_JERKY = ["牛肉干", "牦牛肉干", "张飞牛肉", "灯影牛肉"]
MEAT = kind("meat") + ["牦牛肉干", "牛肉干", "张飞牛肉", "灯影牛肉", "冷吃兔", "麻辣鸡"]

QUERIES = []


def Q(cls, q, product=None, place=None, none=False):
    if place is not None and not place.isdigit():
        place = county(place)
    if isinstance(product, str):
        product = [product]
    QUERIES.append(dict(cls=cls, q=q, product=product or [], place=place, none=none))


# Dialect: the names Sichuan people use.
for q, prod in [
    ("洋芋", "土豆"), ("洋芋子", "土豆"), ("红苕", SWEET), ("海椒", "辣椒"), ("干海椒", "辣椒"),
    ("海椒面", "辣椒面"), ("苞谷", "玉米"), ("包谷", "玉米"), ("玉麦", "玉米"), ("折耳根", "鱼腥草"),
    ("侧耳根", "鱼腥草"), ("胡豆", "蚕豆"), ("豌豆尖", "豌豆苗"), ("豌豆颠", "豌豆苗"), ("藤藤菜", "空心菜"),
    ("莲花白", "卷心菜"), ("包包白", "卷心菜"), ("脚板苕", "山药"), ("芋儿", "芋头"), ("洋姜", "菊芋"),
    ("青笋", "莴笋"), ("苕粉", "粉条"), ("酒米", "糯米"), ("霉豆腐", "腐乳"), ("椿芽", "香椿"),
    ("毛栗子", "板栗"), ("盐蛋", "咸鸭蛋"), ("菜油", "菜籽油"), ("跑山鸡", "土鸡"), ("红苕粉", "粉条"),
]:
    Q("dialect", q, prod)

# A place and a product.
for q, prod, place in [
    ("道孚虫草", "虫草", "道孚"), ("乡城 松茸", "松茸", "乡城"), ("理塘牦牛奶粉", "牦牛奶粉", "理塘"),
    ("汉源花椒", PEPPER, "汉源"), ("苍溪猕猴桃", "猕猴桃", "苍溪"), ("盐源苹果", "苹果", "盐源"),
    ("会理石榴", "石榴", "会理"), ("安岳柠檬", "柠檬", "安岳"), ("蒲江丑柑", "丑柑", "蒲江"),
    ("攀枝花芒果", "芒果", "5104"), ("雷波脐橙", "脐橙", "雷波"), ("阆中 张飞牛肉", "张飞牛肉", "阆中"),
    ("通江银耳", "银耳", "通江"), ("青川木耳", "木耳", "青川"), ("雅安藏茶", "藏茶", "5118"),
    ("峨眉山竹叶青", "绿茶", "峨眉山"), ("凉山苦荞", ["苦荞", "苦荞茶"], "5134"), ("红原牦牛肉", ["牦牛肉", "牦牛肉干"], "红原"),
    ("若尔盖 牦牛", YAK, "若尔盖"), ("乡城藏香猪", "藏香猪", "乡城"), ("金川雪梨", "梨", "金川"),
    ("茂县 花椒", PEPPER, "茂县"), ("石棉黄果柑", "黄果柑", "石棉"), ("宣汉大米", "大米", "宣汉"),
    ("开江豆笋", "豆笋", "开江"), ("雅江松茸", "松茸", "雅江"), ("甘孜 牦牛肉", ["牦牛肉", "牦牛肉干"], "5133"),
    ("渠县黄花", "黄花菜", "渠县"), ("合江荔枝", "荔枝", "合江"), ("青神竹编", "竹编", "青神"),
    ("德格唐卡", "唐卡", "德格"), ("三台麦冬", "麦冬", "三台"), ("汶川 樱桃", "樱桃", "汶川"),
    ("小金苹果", "苹果", "小金"), ("道孚 青稞", "青稞", "道孚"),
]:
    Q("place_product", q, prod, place)

# Kinds of product: everything of the kind is relevant.
for q, prod in [
    ("水果", FRUIT), ("新鲜水果", FRUIT), ("鲜果", FRUIT), ("蔬菜", VEG), ("新鲜蔬菜", VEG),
    ("菌菇", FUNGI), ("蘑菇", FUNGI), ("菌子", FUNGI),
    ("野生菌", ["松茸", "羊肚菌", "鸡枞", "牛肝菌", "鸡油菌", "松露"]),
    ("粮油", GRAIN), ("粮食", [g for g in GRAIN if g != "菜籽油"]),
    ("杂粮", ["玉米", "青稞", "苦荞", "高粱", "黄豆"]),
    ("中药材", HERBS), ("药材", HERBS), ("藏药材", ["虫草", "川贝母", "藏红花", "红景天", "大黄", "蕨麻"]),
    ("肉类", MEAT), ("手工艺品", CRAFTS), ("工艺品", CRAFTS),
    ("干货", ["木耳", "银耳", "香菇", "羊肚菌", "竹荪", "笋干", "黄花菜", "猴头菇"]),
    ("坚果", ["核桃", "板栗", "花生"]),
    ("调味品", ["花椒", "青花椒", "辣椒面", "豆瓣酱", "保宁醋", "火锅底料", "豆豉", "腐乳"]),
    ("禽蛋", ["土鸡蛋", "咸鸭蛋"]), ("乳制品", ["牦牛奶粉", "酥油", "牦牛酸奶"]),
    ("刺绣", ["蜀绣", "羌绣", "彝绣"]), ("柑橘", ["脐橙", "丑柑", "耙耙柑", "血橙", "黄果柑", "柠檬", "柚子"]),
]:
    Q("category", q, prod)

# Nonsense: nothing sold here.
for q in [
    "asdfghjkl", "qwerty123", "zzxxcc", "笔记本电脑", "汽车轮胎", "iPhone 15 Pro", "考研资料", "游戏点卡",
    "量子力学", "机票 北京到上海", "太阳能电池板", "洗衣机维修", "高跟鞋", "房屋出租", "二手挖掘机",
    "瑜伽垫", "蓝牙耳机", "xyzzy plugh", "钢琴培训", "区块链", "狗粮", "口红", "王者荣耀", "lorem ipsum",
    "显卡 4090", "驾校报名",
]:
    Q("nonsense", q, none=True)

# Input-method slips: the same pinyin, other characters. Checked below with pypinyin.
HOMOPHONES = [
    ("米猴桃", "猕猴桃", "猕猴桃"), ("弥猴桃", "猕猴桃", "猕猴桃"), ("松容", "松茸", "松茸"), ("冲草", "虫草", "虫草"),
    ("平果", "苹果", "苹果"), ("洋玉", "洋芋", "土豆"), ("红韶", "红苕", SWEET), ("毛牛肉", "牦牛肉", ["牦牛肉", "牦牛肉干"]),
    ("花交", "花椒", PEPPER), ("木尔", "木耳", "木耳"), ("和桃", "核桃", "核桃"), ("蜂密", "蜂蜜", HONEY),
    ("羊肚君", "羊肚菌", "羊肚菌"), ("银尔", "银耳", "银耳"), ("川贝木", "川贝母", "川贝母"), ("藏红华", "藏红花", "藏红花"),
    ("青棵", "青稞", "青稞"), ("柠蒙", "柠檬", "柠檬"), ("石留", "石榴", "石榴"), ("茫果", "芒果", "芒果"),
    ("脐澄", "脐橙", "脐橙"), ("竹边", "竹编", "竹编"), ("堂卡", "唐卡", "唐卡"), ("保宁促", "保宁醋", "保宁醋"),
    ("豆半酱", "豆瓣酱", "豆瓣酱"), ("香长", "香肠", "香肠"), ("琵琶", "枇杷", "枇杷"), ("鸡纵", "鸡枞", "鸡枞"),
    ("磨芋", "魔芋", "魔芋"), ("东虫夏草", "冬虫夏草", "虫草"), ("红署", "红薯", SWEET), ("苏油", "酥油", "酥油"),
    ("蜡肉", "腊肉", "腊肉"), ("樱淘", "樱桃", "樱桃"), ("竹孙", "竹荪", "竹荪"), ("党身", "党参", "党参"),
]
for q, word, prod in HOMOPHONES:
    Q("homophone", q, prod)

# Pinyin, joined and spaced.
PINYIN = [
    ("乡城松茸", "松茸", "乡城"), ("道孚虫草", "虫草", "道孚"), ("苹果", "苹果", None), ("猕猴桃", "猕猴桃", None),
    ("松茸", "松茸", None), ("虫草", "虫草", None), ("牦牛肉", ["牦牛肉", "牦牛肉干"], None), ("花椒", PEPPER, None),
    ("蜂蜜", HONEY, None), ("核桃", "核桃", None), ("木耳", "木耳", None), ("土豆", "土豆", None),
    ("洋芋", "土豆", None), ("红薯", SWEET, None), ("青稞", "青稞", None), ("保宁醋", "保宁醋", None),
    ("竹编", "竹编", None), ("唐卡", "唐卡", None), ("羊肚菌", "羊肚菌", None), ("天麻", "天麻", None),
    ("柠檬", "柠檬", None), ("汉源花椒", PEPPER, "汉源"), ("苍溪猕猴桃", "猕猴桃", "苍溪"), ("盐源苹果", "苹果", "盐源"),
    ("腊肉", "腊肉", None), ("藏香猪", "藏香猪", None), ("理塘牦牛奶粉", "牦牛奶粉", "理塘"), ("通江银耳", "银耳", "通江"),
]
ZANG = {"藏香猪": ["zang", "xiang", "zhu"]}


def syllables(word):
    return ZANG.get(word) or lazy_pinyin(word)


for i, (word, prod, place) in enumerate(PINYIN):
    s = syllables(word)
    joined = "".join(s)
    if i in (2, 4):
        joined = "".join(x.capitalize() for x in s)  # PingGuo, SongRong
    Q("pinyin_joined", joined, prod, place)
for word, prod, place in PINYIN[:12] + PINYIN[13:22] + PINYIN[24:27] + [
    ("石榴", "石榴", None), ("芒果", "芒果", None), ("酥油", "酥油", None),
]:
    Q("pinyin_spaced", " ".join(syllables(word)), prod, place)

# Everyday product words that are not category names and that titles may not contain.
for q, prod in [
    ("蜂蜜", HONEY), ("木耳", "木耳"), ("核桃", "核桃"), ("茶叶", TEAS), ("花椒", PEPPER), ("腊肉", "腊肉"),
    ("香肠", "香肠"), ("土鸡蛋", "土鸡蛋"), ("鸡蛋", "土鸡蛋"), ("酥油", "酥油"), ("奶粉", "牦牛奶粉"),
    ("羊肚菌", "羊肚菌"), ("银耳", "银耳"), ("天麻", "天麻"), ("菜籽油", "菜籽油"), ("豆瓣酱", "豆瓣酱"),
    ("郫县豆瓣", "豆瓣酱"), ("火锅底料", "火锅底料"), ("绿茶", "绿茶"), ("雪梨", "梨"), ("桃子", "桃"),
    ("羊肉", "山羊肉"), ("笋干", "笋干"), ("柠檬", "柠檬"), ("石榴", "石榴"), ("芒果", "芒果"), ("樱桃", "樱桃"),
    ("板栗", "板栗"), ("红景天", "红景天"), ("粉条", "粉条"), ("蜀绣", "蜀绣"), ("土鸡", "土鸡"),
]:
    Q("product_word", q, prod)

# English.
for q, prod in [
    ("honey", HONEY), ("kiwi", "猕猴桃"), ("yak", YAK), ("matsutake", "松茸"), ("apple", "苹果"),
    ("potato", "土豆"), ("sweet potato", SWEET), ("chili", ["辣椒", "辣椒面"]), ("sichuan pepper", PEPPER),
    ("walnut", "核桃"), ("cordyceps", "虫草"), ("saffron", "藏红花"), ("rice", ["大米", "糯米"]), ("corn", "玉米"),
    ("highland barley", "青稞"), ("highland", "青稞"), ("tea", TEAS), ("green tea", "绿茶"), ("black tea", "红茶"),
    ("mushroom", FUNGI), ("morel", "羊肚菌"), ("wood ear", "木耳"), ("bacon", "腊肉"), ("sausage", "香肠"),
    ("vinegar", "保宁醋"), ("thangka", "唐卡"), ("lemon", "柠檬"), ("pomegranate", "石榴"), ("mango", "芒果"),
    ("cherry", "樱桃"), ("buckwheat", ["苦荞", "苦荞茶"]), ("yak milk powder", "牦牛奶粉"), ("wooden", "藏式木碗"),
    ("Kiwi", "猕猴桃"), ("garlic", "大蒜"),
]:
    Q("english", q, prod)

# Traditional characters.
for q, prod, place in [
    ("蘋果", "苹果", None), ("竹編", "竹编", None), ("蜀繡", "蜀绣", None), ("馬鈴薯", "土豆", None),
    ("獼猴桃", "猕猴桃", None), ("冬蟲夏草", "虫草", None), ("蟲草", "虫草", None), ("犛牛肉", ["牦牛肉", "牦牛肉干"], None),
    ("紅薯", SWEET, None), ("藏紅花", "藏红花", None), ("川貝", "川贝母", None), ("臘肉", "腊肉", None),
    ("香腸", "香肠", None), ("銀耳", "银耳", None), ("雞樅", "鸡枞", None), ("茶葉", TEAS, None),
    ("綠茶", "绿茶", None), ("紅茶", "红茶", None), ("檸檬", "柠檬", None), ("臍橙", "脐橙", None),
    ("櫻桃", "樱桃", None), ("蕎麥", "苦荞", None), ("豆瓣醬", "豆瓣酱", None), ("保寧醋", "保宁醋", None),
    ("牛肉乾", BEEF_JERKY, None), ("藏香豬", "藏香猪", None), ("土雞蛋", "土鸡蛋", None), ("筍乾", "笋干", None),
    ("蜀錦", "蜀锦", None), ("羌繡", "羌绣", None), ("鄉城松茸", "松茸", "乡城"), ("漢源花椒", PEPPER, "汉源"),
]:
    Q("traditional", q, prod, place)

# Questions in plain words.
for q, prod, place in [
    ("哪里有卖理塘的牦牛奶粉", "牦牛奶粉", "理塘"), ("我想买点适合送老人的阿坝蜂蜜", HONEY, "5132"),
    ("有没有乡城的松茸干货", "松茸", "乡城"), ("求推荐正宗的汉源花椒", PEPPER, "汉源"),
    ("苍溪的红心猕猴桃什么时候上市", "猕猴桃", "苍溪"), ("盐源丑苹果哪家好吃", "苹果", "盐源"),
    ("有卖会理软籽石榴的吗", "石榴", "会理"), ("家里老人咳嗽想买点川贝", "川贝母", None),
    ("想给孩子买点新鲜水果", FRUIT, None), ("哪里能买到道孚的虫草", "虫草", "道孚"),
    ("过年想买点四川腊肉香肠", ["腊肉", "香肠"], None), ("有没有阆中的保宁醋", "保宁醋", "阆中"),
    ("推荐一下好喝的雅安藏茶", "藏茶", "5118"), ("孕妇可以吃的土鸡蛋哪里买", "土鸡蛋", None),
    ("请问有野生羊肚菌卖吗", "羊肚菌", None), ("想买点红原牦牛肉炖汤", ["牦牛肉", "牦牛肉干"], "红原"),
    ("哪家的安岳柠檬便宜", "柠檬", "安岳"), ("我要买二十斤洋芋", "土豆", None),
    ("能不能寄点凉山苦荞茶到北京", "苦荞茶", "5134"), ("有没有纯手工的青神竹编", "竹编", "青神"),
    ("想买一幅德格的唐卡挂在家里", "唐卡", "德格"), ("今年的攀枝花芒果甜不甜", "芒果", "5104"),
    ("有没有开江的豆笋", "豆笋", "开江"), ("送领导的虫草礼盒有吗", "虫草", None),
    ("哪里有卖乡城藏香猪肉的", "藏香猪", "乡城"), ("有没有便宜点的峨眉山竹叶青", "绿茶", "峨眉山"),
]:
    Q("question", q, prod, place)

# Pinyin initials. Two letters can abbreviate several everyday products (hs: 红薯 and
# 花生; nm: 柠檬 and 糯米); each such reading is relevant.
for q, prod, place in [
    ("pg", "苹果", None), ("sr", "松茸", None), ("mht", "猕猴桃", None), ("hj", PEPPER, None), ("fm", HONEY, None),
    ("ht", "核桃", None), ("cc", "虫草", None), ("td", "土豆", None), ("yy", "土豆", None), ("hs", SWEET + ["花生"], None),
    ("mnr", ["牦牛肉", "牦牛肉干"], None), ("qk", "青稞", None), ("ydj", "羊肚菌", None), ("zxz", "藏香猪", None),
    ("bnc", "保宁醋", None), ("tk", "唐卡", None), ("zb", "竹编", None), ("lr", "腊肉", None), ("nm", ["柠檬", "糯米"], None),
    ("xcsr", "松茸", "乡城"), ("dfcc", "虫草", "道孚"), ("hyhj", PEPPER, "汉源"), ("cxmht", "猕猴桃", "苍溪"),
    ("cbm", "川贝母", None), ("mg", "芒果", None), ("sl", "石榴", None),
]:
    Q("initials", q, prod, place)


def village_queries(rows):
    """A village by name, with and without 村: relevant is whatever it sells."""
    for cshort, vname in QUERY_VILLAGES:
        code = village(cshort, vname)
        prods = sorted({r["product"] for r in rows if r["origin"].startswith(code)})
        Q("village", vname, prods, code)
        Q("village", vname[:-1], prods, code)
    Q("village", "孜龙村 洋芋", "土豆", village("道孚", "孜龙村"))
    Q("village", "色尔宫 松茸", "松茸", village("乡城", "色尔宫村"))
    Q("village", "盘石村豆笋", "豆笋", village("开江", "盘石村"))


# ---------------------------------------------------------------------------------------
# Checks and output


def check(rows):
    products = {r["product"] for r in rows}
    assert len(rows) >= 1000, len(rows)
    assert len(products) >= 120, len(products)
    for r in rows:
        assert r["origin"] in REGION, r
        for f in ("title", "description"):
            assert "\t" not in r[f] and "\n" not in r[f], r
    # Village names a query uses must name one place among the villages search knows.
    bare = Counter()
    for cc in DEMO_COUNTIES:
        for c in VILLAGES[cc]:
            n = REGION[c]
            bare[re.sub(r"(村|社区|镇|乡|街道)$", "", n)] += 1
    for _c, v in QUERY_VILLAGES:
        assert bare[v[:-1]] == 1, f"{v} is ambiguous among the villages"
    for q, word, _ in HOMOPHONES:
        assert q != word and len(q) == len(word), q
        want = pinyin(word, style=Style.NORMAL, heteronym=True)
        have = pinyin(q, style=Style.NORMAL, heteronym=True)
        assert all(set(w) & set(h) for w, h in zip(want, have)), f"{q} does not sound like {word}"
    classes = Counter(q["cls"] for q in QUERIES)
    assert len(QUERIES) >= 300, len(QUERIES)
    for c in ("dialect", "place_product", "category", "nonsense", "homophone", "pinyin_joined", "pinyin_spaced",
              "product_word", "english", "traditional", "village", "question", "initials"):
        assert classes[c] >= 15, (c, classes[c])
    for q in QUERIES:
        if q["none"]:
            continue
        for k in q["product"]:
            assert k in products, (q["q"], k)
        rel = [r for r in rows if r["product"] in q["product"] and r["origin"].startswith(q["place"] or "")]
        assert rel, f"nothing relevant to {q['q']}"
    return classes


def toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    rows = listings()
    village_queries(rows)
    classes = check(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "listings.tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write("key\tproduct\tcategory\torigin\ttitle\tdescription\tprice_fen\tunit\n")
        for r in rows:
            f.write("\t".join(str(r[c]) for c in (
                "key", "product", "category", "origin", "title", "description", "price_fen", "unit")) + "\n")
    with open(OUT / "queries.toml", "w", encoding="utf-8", newline="\n") as f:
        f.write("# Queries as buyers type them, for `cargo bench --bench relevance`; generated by\n"
                "# tools/relevance_corpus.py, do not edit. A listing is relevant to a query when its\n"
                "# product is in `product` and, when `place` is given, its origin code starts with it;\n"
                "# `expect_none` queries should find nothing.\n")
        for q in QUERIES:
            f.write(f"\n[[query]]\nclass = {toml_str(q['cls'])}\nq = {toml_str(q['q'])}\n")
            if q["none"]:
                f.write("expect_none = true\n")
            else:
                f.write("product = [" + ", ".join(toml_str(p) for p in q["product"]) + "]\n")
                if q["place"]:
                    f.write(f"place = {toml_str(q['place'])}\n")
    print(f"{len(rows)} listings of {len({r['product'] for r in rows})} products from "
          f"{len({r['origin'][:6] for r in rows})} counties; {len(QUERIES)} queries: "
          + ", ".join(f"{c} {n}" for c, n in sorted(classes.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
