"""The catalogue of real-world community services used by the synthetic community.

Each row: (category, 中文名, English name, provider, channel, min_age, max_age, requires_children,
residency_required, accessible, opening_hours, cost_yuan, one_off, local).
``local`` services are offered only in some communities (their ``community_scope`` is drawn per community).
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd


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

#: What each service offers, in plain words (the services table's ``description``; free-text requests match on it).
DESCRIPTIONS: dict[str, str] = {
    "老年助餐": "为六十岁以上老人提供午餐，助餐点堂食或送餐上门，价格有补贴。",
    "日间照料": "白天接收需要照看的老人，提供休息、午餐、康复活动和陪伴，傍晚家人接回。",
    "居家养老上门服务": "护理员上门为老人提供生活照料、陪护、助洁和简单护理。",
    "老年大学": "面向中老年人的课程，有唱歌、书画、智能手机、摄影等班级。",
    "助浴服务": "为行动不便或失能老人提供上门或到点的洗澡擦身服务。",
    "适老化改造": "为老人家里安装扶手、防滑地面、改造卫生间，减少跌倒风险，符合条件可补贴。",
    "智慧养老手环": "给老人佩戴的手环，可一键呼叫、定位、跌倒报警。",
    "高龄津贴申领": "八十岁以上本地户籍老人申领高龄津贴（长寿金）。",
    "家庭医生签约": "与社区医生签约，获得健康管理、优先就诊、慢病用药指导。",
    "慢病随访": "高血压、糖尿病等慢性病患者的定期随访、测量和用药指导。",
    "疫苗接种预约": "成人疫苗接种线上预约，如流感疫苗、HPV疫苗、狂犬疫苗。",
    "老年人免费体检": "六十五岁以上老人每年一次免费健康体检。",
    "心理咨询": "由社工和心理咨询师提供情绪疏导、压力和失眠等心理支持。",
    "中医理疗": "针灸、推拿、拔罐、艾灸等中医治疗，缓解腰颈肩疼痛。",
    "健康讲座": "社区医生讲解养生、慢病预防、急救等健康知识。",
    "互联网医院问诊": "在手机上向医生线上问诊、复诊开药，不用跑医院。",
    "托育服务": "为零到三岁婴幼儿提供全日或半日托育照护。",
    "课后托管": "放学后接孩子到托管点，看管写作业，家长下班后接回。",
    "四点半课堂": "免费的放学后课堂，志愿者陪孩子写作业、做活动。",
    "亲子活动": "周末面向家长和孩子的亲子游戏、手工、户外活动。",
    "暑期托管": "暑假期间白天看管学生，安排学习和兴趣活动。",
    "家庭教育指导": "帮助家长处理孩子叛逆、厌学、沉迷手机等教育问题。",
    "儿童预防接种": "儿童计划免疫疫苗接种，宝宝预防针和接种本管理。",
    "入学政策咨询": "解答孩子上小学、初中的报名、学区划片和材料问题。",
    "就业招聘": "发布招聘岗位，举办招聘会，帮助居民找工作。",
    "职业技能培训": "免费或补贴的技能培训，如电工、育婴师、厨师、电商，可考证。",
    "创业指导": "为想开店、做生意的居民提供创业咨询、贷款和执照办理指导。",
    "失业登记": "失去工作后办理失业登记，申领失业保险金和就业帮扶。",
    "灵活就业对接": "对接兼职、外卖配送、家政等灵活就业机会。",
    "零工市场": "早上集中发布日结零工信息，干一天结一天。",
    "居住证办理": "外地来的居民办理居住证（原暂住证），用于子女入学、社保等。",
    "流动人口登记": "新搬来的外来人口和租户到居委会做居住登记。",
    "积分入学咨询": "非本地户籍家庭的孩子按积分申请入学的政策咨询。",
    "社保办理": "养老保险、社保卡、社保缴费、转移接续的办理和咨询。",
    "医保办理": "医疗保险参保、缴费、报销、异地就医备案。",
    "户籍业务咨询": "户口迁移、落户、新生儿上户口、户口本和身份证相关咨询。",
    "证明开具": "由居委会开具居住、关系、情况等各类证明并盖章。",
    "快递驿站": "小区里代收、代寄快递包裹的驿站。",
    "智能快递柜": "自助存取快递包裹的智能柜，凭取件码取件。",
    "便民维修": "水电、管道、家电等小修小补，上门维修。",
    "家政服务": "预约钟点工、保洁、大扫除、擦玻璃等家政服务。",
    "社区食堂": "面向全体居民的平价食堂，提供早中晚餐。",
    "便民菜店": "小区附近平价蔬菜、水果和日用品。",
    "电动车充电": "小区集中充电桩给电动自行车充电，扫码付费，禁止飞线充电。",
    "洗衣服务": "衣物、被褥的清洗和干洗，线上下单上门取送。",
    "便民理发": "志愿者每月定期为居民免费理发。",
    "社区文体活动": "社区组织的文艺演出、运动会、节日联欢等活动。",
    "广场舞队": "傍晚在广场一起跳舞锻炼的舞蹈队。",
    "社区图书室": "可以借书、看书、读报的社区阅览室。",
    "书法绘画班": "学习毛笔字、国画、素描的兴趣班。",
    "健身指导": "社会体育指导员教大家科学锻炼、使用健身器材。",
    "棋牌活动室": "下象棋、打牌、打麻将的活动室。",
    "社区电影放映": "周末在社区广场或活动室放映电影。",
    "夜间篮球场预约": "晚上在线预约社区篮球场打球。",
    "志愿服务": "报名成为社区志愿者，参加各类志愿活动。",
    "邻里互助": "邻居之间互相帮忙，如代买、照看、搭把手。",
    "时间银行": "把做志愿服务的时长存起来，以后需要时兑换别人的服务。",
    "垃圾分类督导": "在垃圾投放点值守，指导居民分类投放垃圾。",
    "无障碍出行协助": "为坐轮椅、行动不便的居民提供出门陪同和无障碍车辆。",
    "辅具租赁": "租借轮椅、拐杖、助行器、护理床等康复辅具。",
    "残疾人康复训练": "为残疾人和中风等患者提供康复训练。",
    "手语翻译服务": "为听障居民办事、就医提供手语翻译。",
    "残疾人两项补贴申领": "持残疾证的居民申领困难残疾人生活补贴和重度残疾人护理补贴。",
    "法律咨询": "社区律师免费解答合同、欠薪、婚姻、继承等法律问题。",
    "矛盾纠纷调解": "人民调解员调解邻里、家庭、物业等矛盾纠纷。",
    "社会救助申请": "生活困难家庭申请低保、特困供养和临时救助。",
    "反诈宣传": "讲解电信诈骗、保健品骗局等防骗知识，协助报案。",
    "社区自习室": "安静的自习空间，可预约座位学习备考。",
    "青年交友活动": "为单身青年组织的交友联谊活动。",
    "实习对接": "为在校大学生对接实习岗位。",
    "青年人才驿站": "为来本市求职的应届毕业生提供短期免费住宿。",
}


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a services table: ``service_id`` (SV001... in catalogue order), every entry field
    (``local`` included, which a generated community turns into ``community_scope``) and ``description``."""
    frame = pd.DataFrame([entry._asdict() for entry in CATALOGUE])
    frame.insert(0, "service_id", [f"SV{i + 1:03d}" for i in range(len(frame))])
    frame["description"] = frame["name_zh"].map(DESCRIPTIONS)
    return frame
