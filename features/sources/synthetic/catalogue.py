"""The catalogue of real-world community services used by the synthetic community.

Each row: (category, 中文名, English name, provider, channel, min_age, max_age, requires_children,
residency_required, accessible, opening_hours, cost_yuan, one_off, local).
``local`` services are offered only in some communities (their ``community_scope`` is drawn per community).
"""

from __future__ import annotations

from typing import NamedTuple


class CatalogueEntry(NamedTuple):
    """One community service as the catalogue describes it."""

    category: str
    name_zh: str
    name_en: str
    provider: str
    channel: str
    min_age: int | None
    max_age: int | None
    requires_children: bool
    residency_required: str
    accessible: bool
    opening_hours: str
    cost_yuan: float
    one_off: bool
    local: bool


_E = CatalogueEntry
_DAY, _ALL, _OFFICE, _EVE = "08:00-17:00", "00:00-24:00", "09:00-17:30", "08:00-21:00"

CATALOGUE: tuple[CatalogueEntry, ...] = (
    # elderly care 养老服务
    _E("elderly_care", "老年助餐", "Elderly meal service", "街道养老服务中心", "offline", 60, None, False, "any", True, "11:00-13:00", 10, False, True),
    _E("elderly_care", "日间照料", "Elderly day care", "社区日间照料中心", "offline", 60, None, False, "any", True, _DAY, 30, False, True),
    _E("elderly_care", "居家养老上门服务", "Home-visit elderly care", "养老服务公司", "both", 60, None, False, "registered", True, _DAY, 40, False, False),
    _E("elderly_care", "老年大学", "University for the elderly", "区老年大学", "offline", 55, None, False, "any", True, _DAY, 0, False, False),
    _E("elderly_care", "助浴服务", "Bathing assistance", "养老服务公司", "offline", 65, None, False, "any", True, _DAY, 50, False, False),
    _E("elderly_care", "适老化改造", "Age-friendly home renovation", "民政局", "both", 60, None, False, "registered", True, _OFFICE, 0, True, False),
    _E("elderly_care", "智慧养老手环", "Smart emergency wristband", "街道养老服务中心", "both", 65, None, False, "any", True, _ALL, 0, True, False),
    _E("elderly_care", "高龄津贴申领", "Old-age allowance application", "民政局", "both", 80, None, False, "registered", True, _OFFICE, 0, True, False),
    # health 健康
    _E("health", "家庭医生签约", "Family doctor sign-up", "社区卫生服务中心", "both", None, None, False, "any", True, _OFFICE, 0, True, False),
    _E("health", "慢病随访", "Chronic disease follow-up", "社区卫生服务中心", "offline", 35, None, False, "any", True, _OFFICE, 0, False, False),
    _E("health", "疫苗接种预约", "Vaccination booking", "社区卫生服务中心", "online", None, None, False, "any", True, _OFFICE, 0, False, False),
    _E("health", "老年人免费体检", "Free health check for seniors", "社区卫生服务中心", "offline", 65, None, False, "any", True, _DAY, 0, False, False),
    _E("health", "心理咨询", "Counselling", "社会工作服务站", "both", 14, None, False, "any", True, _OFFICE, 0, False, False),
    _E("health", "中医理疗", "Traditional Chinese medicine therapy", "社区卫生服务中心", "offline", 18, None, False, "any", True, _DAY, 20, False, True),
    _E("health", "健康讲座", "Health talks", "社区卫生服务中心", "offline", None, None, False, "any", True, _DAY, 0, False, False),
    _E("health", "互联网医院问诊", "Online doctor consultation", "区人民医院", "online", None, None, False, "any", True, _ALL, 15, False, False),
    # childcare 托育与儿童
    _E("childcare", "托育服务", "Infant childcare (0-3)", "普惠托育园", "offline", None, None, True, "any", True, _DAY, 800, False, True),
    _E("childcare", "课后托管", "After-school care", "社区课后服务点", "offline", None, None, True, "any", True, "15:30-19:00", 200, False, True),
    _E("childcare", "四点半课堂", "Half-past-four classroom", "社区志愿者", "offline", None, None, True, "any", True, "16:30-18:30", 0, False, True),
    _E("childcare", "亲子活动", "Parent-child activities", "妇联", "offline", None, None, True, "any", True, "weekends", 0, False, False),
    _E("childcare", "暑期托管", "Summer holiday care", "教育局", "offline", None, None, True, "any", True, _DAY, 300, False, False),
    _E("childcare", "家庭教育指导", "Parenting guidance", "妇联", "both", None, None, True, "any", True, _OFFICE, 0, False, False),
    _E("childcare", "儿童预防接种", "Child immunisation", "社区卫生服务中心", "offline", None, None, True, "any", True, _OFFICE, 0, False, False),
    _E("childcare", "入学政策咨询", "School admission advice", "教育局", "both", None, None, True, "any", True, _OFFICE, 0, False, False),
    # employment 就业
    _E("employment", "就业招聘", "Job fairs and vacancies", "人社所", "both", 16, 65, False, "any", True, _OFFICE, 0, False, False),
    _E("employment", "职业技能培训", "Vocational skills training", "人社局", "offline", 16, 60, False, "any", True, _DAY, 0, False, False),
    _E("employment", "创业指导", "Start-up coaching", "人社局", "both", 18, 60, False, "any", True, _OFFICE, 0, False, False),
    _E("employment", "失业登记", "Unemployment registration", "人社所", "both", 16, 60, False, "any", True, _OFFICE, 0, True, False),
    _E("employment", "灵活就业对接", "Gig and flexible work matching", "人社所", "online", 16, 60, False, "any", True, _ALL, 0, False, False),
    _E("employment", "零工市场", "Day-labour market", "街道", "offline", 18, 65, False, "any", True, "07:00-12:00", 0, False, True),
    # administration 政务办理
    _E("administration", "居住证办理", "Residence permit application", "派出所", "both", 16, None, False, "floating", True, _OFFICE, 0, True, False),
    _E("administration", "流动人口登记", "Floating population registration", "社区居委会", "both", 16, None, False, "floating", True, _OFFICE, 0, True, False),
    _E("administration", "积分入学咨询", "Points-based school entry advice", "教育局", "both", None, None, True, "floating", True, _OFFICE, 0, False, False),
    _E("administration", "社保办理", "Social insurance services", "社保中心", "both", 16, None, False, "any", True, _OFFICE, 0, False, False),
    _E("administration", "医保办理", "Medical insurance services", "医保中心", "both", None, None, False, "any", True, _OFFICE, 0, False, False),
    _E("administration", "户籍业务咨询", "Household registration advice", "派出所", "offline", 16, None, False, "any", True, _OFFICE, 0, False, False),
    _E("administration", "证明开具", "Certificates and attestations", "社区居委会", "both", 16, None, False, "any", True, _OFFICE, 0, False, False),
    # convenience 便民生活
    _E("convenience", "快递驿站", "Parcel station", "快递服务商", "offline", None, None, False, "any", True, _EVE, 0, False, True),
    _E("convenience", "智能快递柜", "Smart parcel lockers", "快递服务商", "online", None, None, False, "any", False, _ALL, 0, False, False),
    _E("convenience", "便民维修", "Household repairs", "物业服务中心", "both", None, None, False, "any", True, _EVE, 30, False, False),
    _E("convenience", "家政服务", "Housekeeping", "家政公司", "online", None, None, False, "any", True, _EVE, 60, False, False),
    _E("convenience", "社区食堂", "Community canteen", "社区食堂", "offline", None, None, False, "any", True, "07:00-19:00", 15, False, True),
    _E("convenience", "便民菜店", "Neighbourhood grocery", "社区商业", "offline", None, None, False, "any", True, "06:30-21:00", 0, False, True),
    _E("convenience", "电动车充电", "E-bike charging", "物业服务中心", "online", None, None, False, "any", False, _ALL, 2, False, True),
    _E("convenience", "洗衣服务", "Laundry service", "社区商业", "online", None, None, False, "any", False, _EVE, 20, False, False),
    _E("convenience", "便民理发", "Neighbourhood haircut", "社区志愿者", "offline", None, None, False, "any", True, _DAY, 0, False, True),
    # culture and sports 文体活动
    _E("culture_sports", "社区文体活动", "Community culture and sports events", "社区居委会", "offline", None, None, False, "any", True, "weekends", 0, False, False),
    _E("culture_sports", "广场舞队", "Square dance group", "社区文体队", "offline", 40, None, False, "any", False, "19:00-21:00", 0, False, True),
    _E("culture_sports", "社区图书室", "Community library", "街道文化站", "offline", None, None, False, "any", True, _EVE, 0, False, True),
    _E("culture_sports", "书法绘画班", "Calligraphy and painting class", "街道文化站", "offline", None, None, False, "any", True, _DAY, 0, False, False),
    _E("culture_sports", "健身指导", "Fitness coaching", "社区体育指导站", "both", 16, None, False, "any", False, _EVE, 0, False, False),
    _E("culture_sports", "棋牌活动室", "Chess and cards room", "社区居委会", "offline", None, None, False, "any", True, _DAY, 0, False, True),
    _E("culture_sports", "社区电影放映", "Community film screening", "街道文化站", "offline", None, None, False, "any", True, "weekends", 0, False, False),
    _E("culture_sports", "夜间篮球场预约", "Evening basketball court booking", "社区体育指导站", "online", 12, 55, False, "any", False, "18:00-22:00", 0, False, True),
    # volunteering 志愿
    _E("volunteering", "志愿服务", "Volunteering", "社区志愿服务站", "both", 14, None, False, "any", True, _ALL, 0, False, False),
    _E("volunteering", "邻里互助", "Neighbour mutual aid", "社区居委会", "both", None, None, False, "any", True, _ALL, 0, False, False),
    _E("volunteering", "时间银行", "Time bank", "社区志愿服务站", "online", 18, None, False, "any", True, _ALL, 0, False, False),
    _E("volunteering", "垃圾分类督导", "Waste-sorting guide duty", "物业服务中心", "offline", 16, None, False, "any", False, "07:00-09:00", 0, False, False),
    # accessibility 助残
    _E("accessibility", "无障碍出行协助", "Accessible transport assistance", "残联", "both", None, None, False, "any", True, _DAY, 0, False, False),
    _E("accessibility", "辅具租赁", "Assistive device rental", "残联", "both", None, None, False, "any", True, _OFFICE, 10, False, False),
    _E("accessibility", "残疾人康复训练", "Rehabilitation for the disabled", "残疾人康复站", "offline", None, None, False, "any", True, _DAY, 0, False, True),
    _E("accessibility", "手语翻译服务", "Sign language interpreting", "残联", "both", None, None, False, "any", True, _OFFICE, 0, False, False),
    _E("accessibility", "残疾人两项补贴申领", "Disability allowance application", "民政局", "both", None, None, False, "registered", True, _OFFICE, 0, True, False),
    # legal and social 法律与社会救助
    _E("legal_social", "法律咨询", "Legal advice", "社区法律顾问", "both", 16, None, False, "any", True, _OFFICE, 0, False, False),
    _E("legal_social", "矛盾纠纷调解", "Dispute mediation", "人民调解委员会", "offline", 16, None, False, "any", True, _OFFICE, 0, False, False),
    _E("legal_social", "社会救助申请", "Social assistance application", "民政局", "both", None, None, False, "registered", True, _OFFICE, 0, True, False),
    _E("legal_social", "反诈宣传", "Anti-fraud awareness", "派出所", "both", None, None, False, "any", True, _DAY, 0, False, False),
    # youth and study 青年与学习
    _E("youth_study", "社区自习室", "Community study room", "街道文化站", "online", 12, 35, False, "any", True, "08:00-22:00", 0, False, True),
    _E("youth_study", "青年交友活动", "Young people's social events", "共青团", "online", 18, 35, False, "any", False, "weekends", 0, False, False),
    _E("youth_study", "实习对接", "Internship matching", "共青团", "online", 16, 30, False, "any", True, _OFFICE, 0, False, False),
    _E("youth_study", "青年人才驿站", "Young talent hostel", "人社局", "online", 18, 35, False, "any", True, _ALL, 0, False, False),
)
