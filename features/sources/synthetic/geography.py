"""Districts, streets and communities of the synthetic city, each community of a declared kind."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.columns import Columns as C

KINDS = ("ageing", "young_family", "commuter", "migrant_heavy", "mixed")
_DISTRICTS = ("临江区", "青山区", "南湖区", "北城区", "东湖区", "西岭区")
_STREET_STEMS = ("长青", "和平", "新华", "建设", "东风", "解放", "光明", "人民", "朝阳", "幸福", "友谊", "文化",
                 "胜利", "团结", "振兴", "育才", "花园", "春晓", "滨江", "丰收")
_COMMUNITY_STEMS = ("桂花", "翠竹", "金桥", "银杏", "丽景", "锦绣", "清泉", "枫林", "石榴", "梧桐", "海棠", "兰苑",
                    "柳岸", "松鹤", "芳草", "云栖", "星河", "悦园", "嘉和", "安居", "康乐", "福寿", "紫荆", "明珠")
#: City centre the synthetic coordinates scatter around (a generic mid-sized Chinese city).
_CENTRE = (30.27, 120.15)


def community_count(residents: int) -> int:
    """Communities for a population: about 1,200 residents each, between 8 and 400."""
    return int(np.clip(round(residents / 1200), 8, 400))


def make_geography(residents: int, rng: np.random.Generator) -> pd.DataFrame:
    """Build the communities table: ids, Chinese names, street and district, kind and coordinates.

    Every kind appears at least once; about four communities make a street, three to six streets a district.
    """
    n_comm = community_count(residents)
    n_street = max(2, int(np.ceil(n_comm / 4)))
    n_district = int(np.clip(n_street // 3, 2, len(_DISTRICTS)))
    street_of_comm = np.sort(np.arange(n_comm) % n_street)
    district_of_street = np.sort(np.arange(n_street) % n_district)
    kinds = np.array([KINDS[i % len(KINDS)] for i in range(n_comm)])
    rng.shuffle(kinds)
    district_ids = np.array([f"D{d + 1:02d}" for d in range(n_district)])
    street_ids = np.array([f"S{s + 1:03d}" for s in range(n_street)])
    street_names = np.array([f"{_STREET_STEMS[s % len(_STREET_STEMS)]}{'' if s < len(_STREET_STEMS) else s}街道"
                             for s in range(n_street)])
    comm_names = [f"{_COMMUNITY_STEMS[i % len(_COMMUNITY_STEMS)]}"
                  f"{'' if i < len(_COMMUNITY_STEMS) else i // len(_COMMUNITY_STEMS) + 1}社区" for i in range(n_comm)]
    district_of_comm = district_of_street[street_of_comm]
    return pd.DataFrame({
        C.COMMUNITY: [f"C{i + 1:04d}" for i in range(n_comm)],
        C.COMMUNITY_NAME: comm_names,
        C.STREET: street_ids[street_of_comm],
        C.STREET_NAME: street_names[street_of_comm],
        C.DISTRICT: district_ids[district_of_comm],
        C.DISTRICT_NAME: np.array(_DISTRICTS)[district_of_comm],
        C.COMMUNITY_KIND: kinds,
        C.LATITUDE: np.round(_CENTRE[0] + rng.normal(0, 0.05, n_comm), 5),
        C.LONGITUDE: np.round(_CENTRE[1] + rng.normal(0, 0.06, n_comm), 5),
    })
