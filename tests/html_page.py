"""A news page as government and newspaper sites serve it, around the Zhengzhou page of the bundled corpus
(001_663a42aec9d657f6.txt, a newspaper page: the conference article and, after it, two unrelated news items). The
chrome is made up: a menu, a breadcrumb, share links, a 'related news' list, a sidebar of headlines and a footer;
each article sits in its own block, as on the paper's page."""

from __future__ import annotations

import html
from pathlib import Path

NAV = ["首页", "新闻中心", "政务公开", "政务服务", "互动交流", "走进高新", "专题专栏"]
RELATED = [("高新区召开2025年安全生产工作部署会议", "2025-04-20"), ("高新区开展春季植树造林志愿服务活动", "2025-04-18"),
           ("数字经济企业座谈会在高新区举行", "2025-04-15"), ("高新区持续优化营商环境工作推进会召开", "2025-04-11")]
HOT = ["2025年高新区义务教育阶段招生工作方案发布", "关于做好2025年度住房公积金缴存基数调整工作的通知",
       "高新区2025年第一季度经济运行情况", "区领导督导检查防汛备汛工作", "高新区举办第三届人才交流大会"]
FOOTER = ["主办单位：郑州高新技术产业开发区管理委员会 承办：高新区党政办公室",
          "地址：郑州市高新区翠竹街6号 邮编：450001 联系电话：0371-67989000",
          "网站标识码：4101000023 豫ICP备05012345号 豫公网安备 41019702002345号"]
CHROME = NAV + [t for t, _ in RELATED] + HOT + FOOTER + ["当前位置", "分享到", "浏览次数", "相关新闻", "热点新闻"]


def zhengzhou_articles(corpus: Path) -> list[list[str]]:
    """The articles of the Zhengzhou page, each a list of its non-empty lines, cut after each byline."""
    lines = [ln.strip() for ln in (corpus / "001_663a42aec9d657f6.txt").read_text(encoding="utf-8").split("\n")]
    articles, current = [], []
    for line in filter(None, lines):
        current.append(line)
        if line.startswith("记者") or "记者 " in line[-30:]:
            articles.append(current)
            current = []
    if current:
        articles.append(current)
    return articles


def news_page(title: str, articles: list[list[str]]) -> str:
    """A page whose <title> names one of the articles; each article: its first line a heading, the rest paragraphs."""
    e = html.escape
    nav = "".join(f'<li><a href="/col{i}/index.html">{e(n)}</a></li>' for i, n in enumerate(NAV))
    body = "".join(
        f'<div class="article"><h2>{e(a[0])}</h2>' + "".join(f'<p style="text-indent:2em">{e(p)}</p>' for p in a[1:])
        + "</div>" for a in articles)
    related = "".join(f'<li><a href="/news/{i}.html">{e(t)}</a><span>{d}</span></li>' for i, (t, d) in enumerate(RELATED))
    hot = "".join(f'<li><a href="/hot/{i}.html" title="{e(t)}">{e(t)}</a></li>' for i, t in enumerate(HOT))
    footer = "".join(f"<p>{e(f)}</p>" for f in FOOTER)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{e(title)}-郑州高新技术产业开发区管委会</title>
<script>var _hmt = _hmt || [];</script><style>.nav li{{float:left}}</style></head>
<body>
<div class="header"><div class="logo"><img src="/images/logo.png" alt="郑州高新区"></div>
<form action="/search"><input name="q" placeholder="请输入关键词"><button>搜索</button></form></div>
<div class="nav"><ul>{nav}</ul></div>
<div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/xwzx/">新闻中心</a> &gt; <a href="/gxyw/">高新要闻</a></div>
<div class="main"><div class="left">
<div class="info">发布时间：2025-04-27 10:32 来源：郑州高新区 浏览次数：1024 【字体：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】</div>
<div class="content" id="zoom">{body}</div>
<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>
<div class="related"><h3>相关新闻</h3><ul>{related}</ul></div>
</div>
<div class="right"><div class="box"><h3>热点新闻</h3><ul>{hot}</ul></div></div></div>
<div class="footer">{footer}</div>
</body></html>"""
