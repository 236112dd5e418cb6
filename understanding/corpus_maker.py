"""Writing the labelled corpus: each situation of ``data/corpus_situations.toml`` in the registers residents use.

Run ``python -m understanding.corpus_maker`` to rewrite the shipped corpus files (deterministic for a seed; a test
checks the shipped files are what the maker writes): ``data/corpus.csv`` from ``data/corpus_situations.toml`` and
``data/corpus_more.csv`` from ``data/corpus_situations_more.toml`` (its groups prefixed ``more:``, so they never
share a name with the first file's). Registers:

* ``plain``: the situation as written;
* ``elderly_spoken``: slow, polite, spoken openings and closings (哎，小同志…麻烦你们了);
* ``parent_hurry``: short, urgent, with what a busy parent adds (急！…在线等);
* ``migrant_worker``: a newcomer's framing (我是外地来打工的…外地人能办不？);
* ``noisy``: one of homophone typos (the same pinyin, another character, as an IME slip gives), traditional
  characters, a word typed in pinyin, mixed English, emoji, or an over-long story around the need.
"""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path
from typing import Final

import jieba
import numpy as np
import zhconv
from pypinyin import lazy_pinyin

from features.sources.synthetic.catalogue import CATALOGUE
from understanding.corpus import SHIPPED_CORPORA

_DATA: Final = Path(__file__).resolve().parent / "data"
SITUATIONS: Final = _DATA / "corpus_situations.toml"
OUT: Final = SHIPPED_CORPORA[0]
#: Every shipped corpus file: (situations file, corpus file, group prefix), in the order the split draws them.
SHIPPED: Final = ((SITUATIONS, OUT, ""), (_DATA / "corpus_situations_more.toml", SHIPPED_CORPORA[1], "more:"))
COLUMNS: Final = ("text", "category", "service_id", "service_name", "register", "complaint", "group")

_ELDERLY = (("哎，小同志，我问个事儿，", "，你们能帮帮忙不？"), ("我眼神不好，让孙子帮我打的字：", "，麻烦你们了。"),
            ("我今年七十六了，", "，该找谁啊？"), ("你好呀，我是3号楼的老王，", "，谢谢啦。"),
            ("闺女不在身边，我自己问问，", "，这个事儿咋弄？"), ("我不太会用手机，说话打字慢，", "，你们给说说。"))
_PARENT = (("急！", "，在线等"), ("上班路上抽空问一句：", "，怎么弄最快？"), ("孩子他爸出差了，", "，今天能办吗"),
           ("赶时间，", "，求回复！！"), ("", "，要多少钱？快点告诉我"), ("刚开完会，", "，有结果麻烦直接说"))
_MIGRANT = (("我是外地来打工的，", "，外地人能办不？"), ("老乡问一下，", "，要带啥材料？"),
            ("刚从老家过来，在工地干活，", "，下班才有空去"), ("我在厂里上班，不是本地人，", "，要不要本地户口？"),
            ("俺们刚租的房子，", "，谢谢老板。"), ("我在这边送外卖，", "，不懂就问"))
_ENGLISH = (("Hi，", "，thanks!"), ("请问 ", "，ASAP please"), ("hello，", "，有app可以办吗"), ("", "，OK吗？thx"))
_EMOJI = ("🙏", "😭😭", "🙏🙏🙏", "😩", "❤️", "👍", "😓🙏")
_LONG_OPEN = ("我跟你们说个事，前前后后问了好几个人都说不清楚，打电话也没人接，跑了两趟也没找对地方，",
              "是这样的，我们家情况比较复杂，家里老人身体不好，孩子又小，我和爱人都要上班，每天忙得团团转，",
              "不好意思打扰了，这个问题我想了很久，网上查的说法都不一样，邻居说的也不一样，我实在搞不明白，")
_LONG_CLOSE = ("。希望你们能认真看一下，别又让我白跑一趟，真的很着急，拜托了，谢谢你们！",
               "。我也不知道该找哪个部门，麻烦给个明白话，有什么要准备的提前告诉我，我好请假过去。")
_NOISY = ("typo", "traditional", "pinyin", "english", "emoji", "long")


def make_corpus(seed: int = 19, situations: Path = SITUATIONS, group_prefix: str = "") -> list[dict[str, str]]:
    """The corpus rows, deterministic for ``seed``: every situation plain, in two other registers and noisy.

    Parameters
    ----------
    seed : int
        Random state of the registers and the noise.
    situations : path
        The situations file (TOML: ``[service."<name_zh>"]`` and ``[complaint.<kind>]`` tables with a
        ``situations`` list).
    group_prefix : str
        Put before every ``group`` name, so two files' situations never share a group.
    """
    data = tomllib.loads(situations.read_text(encoding="utf-8"))
    rng = np.random.default_rng(seed)
    ids = {e.name_zh: (f"SV{i + 1:03d}", e.category) for i, e in enumerate(CATALOGUE)}
    homophones = _homophones(data)
    rows: list[dict[str, str]] = []
    entries = [(name, entry, "") for name, entry in data["service"].items()]
    entries += [(entry["service"], entry, kind) for kind, entry in data["complaint"].items()]
    for name, entry, kind in entries:
        sid, category = ids[name]
        category = entry.get("category", category)
        for n, situation in enumerate(entry["situations"]):
            group = f"{group_prefix}{kind or sid}-{n}"
            others = rng.choice(["elderly_spoken", "parent_hurry", "migrant_worker"], size=2, replace=False)
            for register in ("plain", *others, "noisy"):
                text = _write(situation, str(register), rng, homophones)
                rows.append({"text": text, "category": category, "service_id": sid, "service_name": name,
                             "register": str(register), "complaint": kind, "group": group})
    return rows


def _write(situation: str, register: str, rng: np.random.Generator, homophones: dict[str, list[str]]) -> str:
    def pick(options: tuple[tuple[str, str], ...]) -> tuple[str, str]:
        return options[int(rng.integers(len(options)))]

    if register == "plain":
        return situation + ("？" if rng.random() < 0.3 else "")
    if register in ("elderly_spoken", "parent_hurry", "migrant_worker"):
        table = {"elderly_spoken": _ELDERLY, "parent_hurry": _PARENT, "migrant_worker": _MIGRANT}[register]
        opening, closing = pick(table)
        return opening + situation + closing
    kind = _NOISY[int(rng.integers(len(_NOISY)))]
    if kind == "typo":
        chars = list(situation)
        slots = [i for i, ch in enumerate(chars) if homophones.get(ch)]
        for i in rng.choice(slots, size=min(2, len(slots)), replace=False) if slots else []:
            chars[i] = str(rng.choice(homophones[chars[i]]))
        return "".join(chars)
    if kind == "traditional":
        return zhconv.convert(situation, "zh-tw" if rng.random() < 0.5 else "zh-hk")
    if kind == "pinyin":
        words = [w for w in jieba.lcut(situation) if len(w) >= 2]
        word = str(rng.choice(words)) if words else situation
        return situation.replace(word, "".join(lazy_pinyin(word)), 1)
    if kind == "english":
        opening, closing = pick(_ENGLISH)
        return opening + situation + closing
    if kind == "emoji":
        return situation + str(rng.choice(_EMOJI))
    return str(rng.choice(_LONG_OPEN)) + situation + str(rng.choice(_LONG_CLOSE))


def _homophones(data: dict[str, dict[str, dict[str, list[str]]]]) -> dict[str, list[str]]:
    """Characters of the situations that share their pinyin with another character of them (IME slips)."""
    chars = sorted({ch for part in data.values() for e in part.values() for s in e["situations"] for ch in s
                    if "\u4e00" <= ch <= "\u9fff"})
    by_sound: dict[str, list[str]] = {}
    for ch in chars:
        by_sound.setdefault(lazy_pinyin(ch)[0], []).append(ch)
    return {ch: [o for o in by_sound[lazy_pinyin(ch)[0]] if o != ch] for ch in chars}


def write_corpus(path: Path = OUT, seed: int = 19, situations: Path = SITUATIONS, group_prefix: str = "") -> Path:
    """Write :func:`make_corpus` of ``situations`` to ``path`` as UTF-8 CSV; returns the path."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(make_corpus(seed, situations, group_prefix))
    return path


if __name__ == "__main__":
    for source, target, prefix in SHIPPED:
        print(write_corpus(target, situations=source, group_prefix=prefix))
