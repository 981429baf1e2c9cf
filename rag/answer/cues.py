"""Question-cue analysis for the extractive answerer: what kind of answer a question wants and about what.

A question's cues decide which clause answers it: 多少/几 wants a number with a unit (and the year asked about),
哪里/在哪 a place, 谁/哪个部门 a body, 哪些/包括 the whole enumeration, 哪天/何时 a date. Its content terms
(jieba words minus question words) measure how well a sentence covers it; the terms next to the ask word are its
focus, the thing being asked about, which a sentence must mention to answer it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..keyword import QUESTION_WORDS, _get_jieba
from ..metadata import CITY_TO_PROVINCE, DISTRICT_CITY, places_in, province_of
from ..textnorm import fold

# Words that carry no content of their own in a question (beyond the keyword module's question words):
# hedges, intent verbs and deictics users wrap questions in ("这个方案里一共打算…").
FILLER = {
    # deictics, hedges and quantity adverbs
    "这个", "那个", "这次", "这场", "这批", "这些", "那些", "这份", "这三份", "两份", "这", "那", "一共", "总共", "大概",
    "大约", "具体", "分别", "各自", "各", "各有", "都", "共同", "一直", "目前", "现在", "已经", "一般", "通常", "当场",
    # intent verbs and prepositions
    "准备", "打算", "计划", "希望", "想", "要", "说", "让", "把", "比", "从", "去", "来", "用", "靠", "给", "为", "对",
    "向", "跟", "同", "以及", "或", "还", "再", "又", "按", "按照", "根据", "依据", "由", "被", "得", "地", "着", "过",
    "并", "且", "有", "能", "会", "可以", "需要", "应该", "是", "做到", "达到", "定到", "提", "提了", "提出", "叫",
    # frames around the question ('文件里', '方面', '之后')
    "里", "里面", "方面", "上", "上要", "还要", "还能", "之间", "除了", "起来", "本省", "本市", "其中", "之后", "以后",
    "时候", "时", "期间", "为止", "年内", "以内", "之内", "远期", "近期", "最终", "文件", "文档", "方案", "政策",
    "说法", "安排", "规定", "目标", "要求", "期待", "指", "指的是", "叫什么",
    # ask words
    "哪", "哪几", "几类", "哪两", "什么样", "什么", "怎么", "怎样", "如何", "啥", "吗", "呢", "多", "少", "多少", "几",
    "大", "长", "久", "远", "快", "高", "哪些", "哪个", "哪里", "哪儿", "哪天", "哪年", "哪一年", "哪一天", "何时", "谁",
    "?", "!", ",", ".", ":", ";", '"', "'", "(", ")", "<", ">", "-", "·", "…", " ",
}
# Paraphrases users type for words the documents use (folded forms). Matching either counts.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "医械": ("医疗器械", "医疗仪器"),
    "器械": ("医疗器械",),
    "营收": ("营业收入",),
    "收入": ("营业收入",),
    "拿地": ("用地", "土地"),
    "供地": ("用地", "土地"),
    "用地": ("用地", "占地", "土地"),
    "地": ("用地", "土地", "空间"),
    "厂房": ("用房", "厂房"),
    "供房": ("用房",),
    "时间": ("时限", "周期", "时长"),
    "多快": ("增速", "增长"),
    "增长": ("增速", "增长"),
    "位置": ("选址", "位于"),
    "选在": ("选址", "位于"),
    "建在": ("选址", "位于"),
    "在哪": ("选址", "位于"),
    "落户": ("落地", "入驻", "来越发展"),
    "公司": ("企业", "公司"),
    "企业": ("企业", "公司"),
    "开": ("举办", "举行", "召开"),
    "开的": ("举办", "举行", "召开"),
    "规模": ("规模", "产值", "营业收入"),
    "产值": ("产值", "规模"),
    "安居": ("乐居", "住房", "安居"),
    "住房": ("乐居", "住房", "人才房"),
    "研发投入": ("研发投入",),
    "医院": ("医院", "医疗机构"),
    "审批": ("审批", "审评"),
    "审评": ("审评", "审批"),
    "首台套": ("首台(套)", "首台"),
    "多远": ("距离",),
    "更新": ("调整", "修订", "更新"),
    "产业规模": ("产业规模", "产值", "营业收入", "规模"),
    "强度": ("强度", "占比", "比重", "比例"),
    "占比": ("占比", "强度", "比重", "比例"),
    "进驻": ("入园", "入驻", "进驻", "落地"),
    "入驻": ("入园", "入驻", "进驻", "落地"),
    "顾问": ("顾问", "受聘", "聘为"),
    "区域": ("区域", "地区"),
    "照顾": ("支持", "视同", "优先"),
    "地区": ("区域", "地区"),
}

_UNIT_CLASS: dict[str, str] = {
    "亿元": "money", "万元": "money", "元": "money", "亿": "money",
    "%": "percent", "个百分点": "percent", "成": "percent", "倍": "percent",
    "万平方米": "area", "平方米": "area", "平方公里": "area", "亩": "area", "公顷": "area",
    "公里": "distance", "千米": "distance", "米": "distance",
    "个月": "duration", "天": "duration", "日": "duration", "小时": "duration", "分钟": "duration", "周": "duration",
    "年": "duration",
    "家": "org", "户": "org", "所": "org",
    "位": "people", "名": "people", "人": "people",
    "个": "count", "项": "count", "种": "count", "张": "count", "栋": "count", "台": "count", "套": "count",
    "件": "count", "批": "count", "大": "count", "座": "count", "条": "count", "次": "count", "类": "count",
    "支": "count", "款": "count",
}
# Units longest first so 平方米 wins over 米 and 个月 over 个.
UNITS = sorted(_UNIT_CLASS, key=len, reverse=True)

_ASK_NUMBER = re.compile(r"多少|几(?!乎)|多大|多久|多长|多远|多快|多高|多宽|哪天|哪一天|哪年|哪一年|何时|什么时候|比例是|占比")
_ASK_LIST = re.compile(r"哪些|哪几|哪两|哪三|包括|包含|有什么|有哪|分别是什么|分别指|分别有|具体指|都有|几类|几大类|几个方面")
_ASK_PLACE = re.compile(r"哪里|哪儿|在哪|什么位置|什么地方|选址|位于|哪个区|哪个县|哪个开发区|哪个城市|哪个市|落在")
_ASK_LATE = re.compile(r"远期|最终|长远|最远|最晚|截止")
_ASK_WHO = re.compile(
    r"谁|哪个部门|哪个单位|哪家|哪个机构|什么机构|哪些机构|由哪|牵头|负责人|组长|主办|指导|"
    r"(?:哪|什么)[些几两三四五]?[个家]?(?:企业|公司|单位|机构|医院|高校)"  # 哪些企业: named firms answer it
)
_ASK_WORD = re.compile(
    r"多少|哪[两三四五六七八九十几][个位家项种类块条大]?|几[个位家项种张栋台套年大类月天]?|多大|多久|多长时间|多长|多远|多快|哪些|哪几|哪个|哪里|哪儿|哪天|哪年|哪一年|"
    r"什么|谁|何时|如何|怎么|怎样|是否|有没有"
)
# Money-valued quantities, areas and rates named in questions without a measure word ("规模目标是多少").
_MONEY_WORDS = re.compile(
    r"规模|产值|营业收入|营收|收入|增加值|金额|资金|基金|补贴|补助|奖励|资助|房租|租金|税收|产能?值|钱|投资"
)
_AREA_WORDS = re.compile(r"面积|占地|用地|多少亩|几亩")
_PERCENT_WORDS = re.compile(r"比例|占比|强度|增速|增长率|百分之|压缩|多快|比率|覆盖率|国产化率")
_DISTANCE_WORDS = re.compile(r"多远|距离")
_FREQUENCY_WORDS = re.compile(r"多久[^，,。？?]{0,6}一次|多长时间[^，,。？?]{0,6}一次|多频繁|频率|几年一次|每隔多久")
_DURATION_WORDS = re.compile(r"多久|多长时间|多长|几年内|几年|多少年|几个月|多少天|几天|时限|周期|审批时间|办理时间")
_DATE_WORDS = re.compile(r"哪天|哪一天|何时|什么时候|日期|几月几日")
_YEAR_WORDS = re.compile(r"哪年|哪一年|到哪年|管到|截止到哪|期限")
YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=\s*年)")


@dataclass(frozen=True)
class Cues:
    """What a question asks for: answer kind, accepted units, years, places, content and focus terms."""

    question: str
    wants_number: bool = False
    wants_list: bool = False
    wants_place: bool = False
    wants_who: bool = False
    wants_date: bool = False
    wants_year: bool = False
    wants_late: bool = False  # 远期/最终: the latest year or target
    yes_no: bool = False  # 有没有/是否/能否: the proposition's object must be named by the evidence
    which: str = ""  # '哪个园区' -> 园区: an entity of this kind, often named by a section heading
    list_size: int = 0  # '哪两家企业', '四个平台分别是什么': the number of items the answer should list
    unit_classes: frozenset[str] = frozenset()  # empty: any number will do
    unit_words: tuple[str, ...] = ()  # the measure word typed after 多少/几 (家, 个, 亿元)
    soft_units: frozenset[str] = frozenset()  # kinds of quantity the question's words are about (时间 -> duration)
    years: tuple[int, ...] = ()
    places: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    focus: tuple[str, ...] = ()
    primary: tuple[str, ...] = ()  # focus of the last asking clause, when the question has several
    targets: tuple[tuple[str, ...], ...] = field(default_factory=tuple)  # place groups (one per region named)


# Short forms users type for terms the keyword dictionary knows in their official form (folded).
_ALIASES = {"首台套": "首台(套)", "首台(套)(套)": "首台(套)"}
_ASK_STRIP = re.compile(r"多少|多大|多久|多长时间|多长|多远|多快|多高|几(?!乎)|哪些|哪个|哪里|哪儿|哪天|哪一年|哪年|什么样|什么|怎么|怎样|如何|是否|有没有")
_NUMERAL_WORD = re.compile(r"[一二三四五六七八九十两百千万\d.]+[个位家项种类大条年月天张栋台套件批名人户所次份]?")
_GENERIC_SUFFIX = re.compile(r"(数量|数目|个数|总数|总量|情况|方面|问题)$")
# Verbs that only carry the question ("要做到多大", "带到多少"): never the thing asked about.
_ASK_VERBS = {"做到", "达到", "带到", "做", "搞", "拿", "拿下", "到", "实现", "完成", "形成", "需要", "为", "定", "定到",
              "用", "用了", "花", "来", "开", "开的", "进", "进了", "管到", "一般", "通常", "大概", "能", "能够",
              # generic measure and time words: '产品数量要达到多少种' asks about 产品, '远期目标定到哪年' about a year
              "数量", "数目", "个数", "总数", "总量", "远期", "近期", "中期", "长期", "最终", "为止", "开始", "时间",
              # measures whose kind the unit already says ('补助比例是多少' asks about 补助, in percent)
              "比例", "占比", "比率", "金额", "数额", "额度", "上限", "标准", "幅度"}


def content_terms(text: str) -> list[str]:
    """jieba words of the text worth matching (folded), question words and fillers dropped, order kept."""
    jieba = _get_jieba()
    out: list[str] = []
    # Cut ask words out first so jieba cannot glue them to content ('多大规模' -> '大规模').
    text = fold(text)
    for short, full in _ALIASES.items():
        text = text.replace(short, full)
    for tok in jieba.lcut(_ASK_STRIP.sub("，", text)):
        tok = tok.strip()
        if not tok or tok in QUESTION_WORDS or tok in FILLER or re.fullmatch(r"[\W_]+", tok):
            continue
        if re.fullmatch(r"(?:19|20)\d{2}", tok) or _NUMERAL_WORD.fullmatch(tok):
            continue  # years are matched as constraints and counts as quantities, not as words
        if len(tok) == 1 and not tok.isascii():
            continue  # single characters ('新', '办', '搞') match everywhere and mean little
        tok = _GENERIC_SUFFIX.sub("", tok) if len(tok) > 3 else tok  # '产品数量' asks about 产品
        if tok and tok not in out:
            out.append(tok)
    return out


def _unit_after_ask(q: str) -> tuple[str, ...]:
    """The measure word right after 多少/几 ('多少家企业' -> 家), if any."""
    found = []
    for m in re.finditer(r"(?<!哪)(?:多少|几)", q):
        rest = q[m.end(): m.end() + 4]
        for u in UNITS:
            if rest.startswith(u):
                found.append(u)
                break
    return tuple(found)


def _unit_classes(q: str, unit_words: tuple[str, ...]) -> frozenset[str]:
    classes = {_UNIT_CLASS[u] for u in unit_words}
    if "年" in unit_words and not _DURATION_WORDS.search(q):
        classes.discard("duration")
        classes.add("year")
    if classes:
        return frozenset(classes)
    if _FREQUENCY_WORDS.search(q):
        return frozenset({"frequency"})
    for pat, cls in ((_AREA_WORDS, "area"), (_PERCENT_WORDS, "percent"), (_DISTANCE_WORDS, "distance"),
                     (_DURATION_WORDS, "duration"), (_DATE_WORDS, "date"), (_YEAR_WORDS, "year"),
                     (_MONEY_WORDS, "money")):
        if pat.search(q):
            return frozenset({cls})
    return frozenset()


def _primary_focus(q: str) -> list[str]:
    """The focus of the last clause that asks something: in '怎么帮企业解决钱的问题，设了什么基金' it is 基金."""
    clauses = [c for c in re.split(r"[，,；;]", q) if _ASK_WORD.search(c)]
    return _focus_terms(clauses[-1]) if len(clauses) > 1 else []


def _focus_terms(q: str) -> list[str]:
    """The ask phrase's head words, the thing asked about ('多少房租减免' -> 房租, 减免; '专项资金有多少亿元' ->
    专项资金): content words after the ask word up to the clause end (units skipped), else the nearest word
    before it within its clause."""
    focus: list[str] = []
    for m in _ASK_WORD.finditer(q):
        if m.group(0) in ("哪个", "哪家") or _WHICH.match(q, m.start()):
            continue  # '哪个区…' asks for an entity of a kind (see `_which`), not about the words after it
        # A yes/no question's object runs to the clause end ('有没有…提供人才公寓'), a how-question's predicate
        # is longer ('怎么保障医械企业的用地空间'); other ask words have their object close by.
        reach = 20 if m.group(0) in ("是否", "有没有") else 12 if m.group(0) in ("怎么", "如何", "怎样") else 8
        right = re.split(r"[，,；;、？?。！!]", q[m.end(): m.end() + reach])[0].lstrip("的")
        for u in UNITS:
            if right.startswith(u):
                right = right[len(u):]
                break
        places = set(places_in(q))  # places are checked by grounding, they are not what is asked about
        heads = [t for t in content_terms(right) if t not in _ASK_VERBS and t not in places]
        left = re.split(r"[，,；;、？?。！!]", q[max(0, m.start() - 12): m.start()])[-1]
        before = [t for t in content_terms(left) if t not in _ASK_VERBS and t not in places]
        if not heads and m.group(0) not in ("怎么", "如何", "怎样"):
            heads = before[-1:]  # ('专项资金有多少'); but in '政府怎么帮' the word before is the actor, not the topic
        for h in heads:
            if h not in focus:
                focus.append(h)
    return focus


_CONJ = re.compile(r"和|与|及|、|跟|同|以及|还是|对比|相比|比较|vs|VS")


def place_targets(places: list[str], question: str = "") -> list[tuple[str, ...]]:
    """Group the places a question names into targets, one per region it asks about side by side.

    A city joins its province and a district its city (河南 + 新乡 is one target). Two places are separate
    targets only when the question joins them ('深圳和越城', '河南、越城区和深圳'); a place inside a name
    ('晋中…产业园离太原武宿国际机场多远') belongs to the same target as the one before it.
    """
    groups: list[list[str]] = []
    for p in places:
        placed = False
        for g in groups:
            if any(_same_area(p, o) for o in g):
                g.append(p)
                placed = True
                break
        if not placed:
            if groups and question and not _joined(question, groups[-1][0], p):
                groups[-1].append(p)
            else:
                groups.append([p])
    return [tuple(g) for g in groups]


def _joined(question: str, a: str, b: str) -> bool:
    """Does the question join places a and b with a conjunction ('深圳和越城', '深圳2025年的营收目标和越城…')?"""
    i, j = question.find(a), question.find(b)
    if i < 0 or j < 0:
        return True
    lo, hi = sorted((i, j))
    return bool(_CONJ.search(question[lo:hi]))


def _same_area(a: str, b: str) -> bool:
    """True when one place contains the other (新乡 in 河南, 越城 in 绍兴)."""
    def up(p: str) -> set[str]:
        chain = {p}
        city = DISTRICT_CITY.get(p)
        if city:
            chain.add(city)
        prov = province_of(city or p)
        if prov:
            chain.add(re.sub(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$", "", prov))
        return chain

    return a in up(b) or b in up(a)


def analyze(question: str) -> Cues:
    """Read the cues of one (sub-)question; see the module docstring."""
    q = question.strip()
    terms = content_terms(q)
    unit_words = _unit_after_ask(q)
    money_goal = bool(_MONEY_WORDS.search(q) or _PERCENT_WORDS.search(q)) and bool(re.search(r"目标|达到|突破", q))
    wants_number = bool(_ASK_NUMBER.search(q)) or money_goal
    wants_list = bool(_ASK_LIST.search(q)) and not unit_words
    wants_date = bool(_DATE_WORDS.search(q))
    wants_year = bool(_YEAR_WORDS.search(q)) and not wants_date
    units = _unit_classes(q, unit_words) if wants_number else frozenset()
    if wants_list and "几" in q and not unit_words:
        wants_number = False  # 哪几类/几大类 asks for the items, not a count
    places = [p for p in places_in(q) if p in CITY_TO_PROVINCE or province_of(p)]
    primary = _primary_focus(q)
    return Cues(
        question=q,
        wants_number=wants_number,
        wants_list=wants_list,
        wants_place=bool(_ASK_PLACE.search(q)),
        wants_who=bool(_ASK_WHO.search(q)),
        wants_date=wants_date,
        wants_year=wants_year,
        wants_late=bool(_ASK_LATE.search(q)),
        which=_which(q),
        yes_no=bool(re.search(r"有没有|是否|能否|可不可以|能不能", q)),
        list_size=_list_size(q),
        unit_classes=units,
        soft_units=_unit_classes(q, ()) if not wants_number else frozenset(),
        unit_words=unit_words,
        years=tuple(int(y) for y in dict.fromkeys(YEAR_RE.findall(fold(q)))),  # fold: '２０３０年' is 2030
        places=tuple(places),
        terms=tuple(terms),
        # With several asking clauses the last one is the question; the others set the scene.
        focus=tuple(primary or _focus_terms(q)),
        primary=tuple(primary),
        targets=tuple(place_targets(places, q)),
    )


_WHICH = re.compile(r"哪(?:一个|一家|个|家|座|所)|哪些(?=[区县市省镇])")


# Words that end the noun after 哪个 ('哪个区负责…' -> 区): verbs and particles that start the predicate.
_PREDICATE = {"负责", "开展", "建设", "推动", "牵头", "发布", "入选", "承担", "设立", "举办", "主办", "指导", "揭牌",
              "搞", "做", "要", "在", "是", "有", "被", "将", "会", "能", "的", "了", "把", "对", "给", "由", "来", "去"}


def _which(q: str) -> str:
    """The kind of entity a '哪个/哪家 X' question asks for ('园区', '区', '部门', '区域'), else ''.

    The kind is the last word of the short noun phrase after 哪个 ('哪个发达区域' -> 区域)."""
    m = _WHICH.search(q)
    if not m:
        return ""
    phrase: list[str] = []
    for t in _get_jieba().lcut(q[m.end(): m.end() + 8]):
        if not t.strip() or t in _PREDICATE or not re.fullmatch(r"[\u4e00-\u9fff]{1,4}", t):
            break
        phrase.append(t)
        if len(phrase) == 2:
            break
    return phrase[-1] if phrase else ""


_CN_COUNT = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _list_size(q: str) -> int:
    """How many items a list question expects ('哪两家' -> 2, '“四中心”具体指哪些' -> 4), 0 when unsaid."""
    m = re.search(r"哪([两三四五六七八九十])", q) or re.search(r"([两二三四五六七八九十])个[^，,？?]{1,6}(?:分别|具体|指)", q)
    if not m:
        m = re.search(r"“?([两二三四五六七八九十])[\u4e00-\u9fff]{1,3}”?(?:具体|分别|指)", q)
    return _CN_COUNT.get(m.group(1), 0) if m else 0


def split_subquestions(question: str) -> list[str]:
    """Split 'A是什么？B是多少？' into its questions; a single question comes back as one item."""
    parts = [p.strip() for p in re.split(r"(?<=[？?])", question) if p.strip()]
    parts = [p for p in parts if len(re.sub(r"[？?\s]", "", p)) >= 4]
    if len(parts) <= 1:
        return [question]
    # A later part without its own subject ("省方案里对应的…") still asks about the same thing: keep parts whole.
    return parts


_CONNECTOR = re.compile(r"^[和与及跟同、，,以及还有]+|[和与及跟同、，,以及还有]+$")
_TAIL = re.compile(r"分别|各自|各有|各|都")


def target_questions(question: str, targets: list[tuple[str, ...]]) -> list[str]:
    """One question per target region: '深圳2025年的营收目标和越城2035年的产值目标分别是多少' gives
    '深圳2025年的营收目标分别是多少' and '越城2035年的产值目标分别是多少'. When the regions share one question
    ('河南和深圳分别…') each target gets the whole question."""
    pos = []
    for g in targets:
        hits = [question.find(p) for p in g if question.find(p) >= 0]
        pos.append(min(hits) if hits else -1)
    if any(p < 0 for p in pos):
        return [question] * len(targets)
    order = sorted(range(len(targets)), key=lambda i: pos[i])
    bounds = [pos[i] for i in order] + [len(question)]
    segs = {order[k]: question[bounds[k]: bounds[k + 1]] for k in range(len(order))}
    prefix = question[: bounds[0]]
    last = segs[order[-1]]
    names = {p for g in targets for p in g}

    def own_words(seg: str) -> list[str]:
        return [t for t in content_terms(seg) if not any(t in n or n in t for n in names)]

    if not any(own_words(_CONNECTOR.sub("", segs[i])) for i in order[:-1]):
        return [question] * len(targets)
    m = _TAIL.search(last) or _ASK_WORD.search(last)
    tail = last[m.start():] if m else ""
    out = []
    for i in range(len(targets)):
        seg = segs[i]
        if i != order[-1]:
            seg = _CONNECTOR.sub("", seg) + tail
        out.append(prefix + seg)
    return out
