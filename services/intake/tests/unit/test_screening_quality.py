"""Duplicate screening quality on hand-written data (issue 5's target).

The index holds 1,000 generated background declarations, side ``a`` of every hand-written
duplicate pair (tests/data/screening/duplicate_pairs.yaml) and side ``a`` of every hard negative
(hard_negatives.yaml). Each side ``b`` is then screened as a new submission. A flag on the pair's
partner is a true positive; a flag on anything else (another pair, a background declaration, the
hard negative's other side) is a false positive; a partner not flagged is a false negative.
Target: precision ≥ 0.9 and recall ≥ 0.9. The numbers are printed and written to
``<tmp>/screening_quality.json``.

Run: .venv/bin/python -m pytest services/intake/tests/unit/test_screening_quality.py -q -s
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from intake.domain.screening import (
    DUPLICATE_MIN_SCORE,
    ScreeningText,
    SimilarityIndex,
    duplicate_findings,
    shingles,
    splitting_findings,
)

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "screening"
BACKGROUND_SIZE = 1000
BACKGROUND_SEED = 20261123
TARGET_PRECISION = 0.9
TARGET_RECALL = 0.9
CITATIONS = ["qiaokou-2022 §11(1)"]


def load_split_groups() -> list[dict[str, Any]]:
    """The hand-written project-splitting groups."""
    return list(yaml.safe_load((DATA / "splitting_cases.yaml").read_text(encoding="utf-8"))["groups"])


def load_pairs(name: str) -> list[dict[str, Any]]:
    """The pairs of one hand-written data file."""
    return list(yaml.safe_load((DATA / name).read_text(encoding="utf-8"))["pairs"])


def to_text(doc_id: str, side: dict[str, Any], submitted_at: date | None = None) -> ScreeningText:
    """A data-file side as a screening text."""
    kind = side.get("kind", "declaration")
    return ScreeningText(
        id=doc_id,
        org_id=side["org"],
        name=side["name"],
        content=side["content"],
        goals=side["goals"],
        amount=Decimal(side.get("amount", "0")),
        submitted_at=submitted_at if kind == "declaration" else None,
        kind=kind,
    )


# --- background: 1,000 declarations from templates × domains × departments (fixed seed) ------------
#
# The background shares the pairs' vocabulary (the same fields, departments, data, devices,
# boilerplate and goal phrasing) but describes OTHER systems of those fields, recombined at random:
# near-topic declarations that are not duplicates of any hand-written project. (Recombining the
# pairs' own project phrases would generate true duplicates of them and count real hits as false
# positives.)


@dataclass(frozen=True)
class Domain:
    """Phrase pools of one field."""

    depts: tuple[str, ...]
    objects: tuple[str, ...]
    functions: tuple[str, ...]
    data: tuple[str, ...]
    devices: tuple[str, ...]
    metrics: tuple[str, ...]


DOMAINS: dict[str, Domain] = {
    "城管": Domain(
        ("区城市管理局", "区综合行政执法局", "区环境卫生管理处"),
        (
            "城市部件普查",
            "井盖安全监测",
            "桥梁健康监测",
            "垃圾分类积分",
            "燃气管网安全监测",
            "园林绿化养护",
            "共享单车停放管理",
            "建筑垃圾消纳",
        ),
        (
            "井盖位移和倾斜报警",
            "桥梁挠度和裂缝监测",
            "垃圾分类投放积分兑换",
            "燃气泄漏浓度监测",
            "园林养护作业考核",
            "共享单车电子围栏",
            "城市部件信息普查入库",
            "建筑垃圾处置消纳登记",
            "河道保洁船作业监管",
            "绿化树木病虫害巡查",
        ),
        ("城市部件", "井盖", "桥梁", "垃圾分类", "燃气管网", "园林绿地"),
        ("井盖传感器", "桥梁应变计", "智能垃圾箱", "可燃气体探测器"),
        ("问题发现时长", "处置及时率", "分类准确率", "群众投诉量"),
    ),
    "医保": Domain(
        ("区医疗保障局", "区医保服务中心"),
        (
            "医保定点协议管理",
            "医保信用评价",
            "生育保险待遇",
            "医疗救助一站式结算",
            "医保档案管理",
            "医保药品价格监测",
            "参保扩面",
        ),
        (
            "定点协议在线签订",
            "医保医师积分管理",
            "医保信用等级评定",
            "生育津贴在线申领",
            "医疗救助一站式结算",
            "医保档案电子化",
            "医保政策智能问答",
            "药品价格监测",
            "医用耗材编码维护",
            "参保数据比对",
        ),
        ("参保人员", "定点医药机构", "医保医师", "药品目录", "医疗费用", "生育待遇"),
        ("自助服务终端", "扫码终端"),
        ("网上办理率", "结算时长", "满意度", "差错率"),
    ),
    "教育": Domain(
        ("区教育局", "区教师发展中心", "区教育局信息中心"),
        (
            "学前教育管理",
            "教育装备管理",
            "校车安全监管",
            "学生资助管理",
            "教育督导评估",
            "学生心理健康服务",
            "职业教育实训",
            "教育经费监管",
        ),
        (
            "校车定位和上下车刷卡",
            "学生资助对象精准认定",
            "教育装备资产登记",
            "督导评估在线填报",
            "学生心理测评和预警",
            "实训基地预约",
            "教育经费支出监测",
            "幼儿园学位预警",
            "学校大宗食材统一配送",
            "教室照明改造",
        ),
        ("在校学生", "教职工", "校车", "学生资助", "教育装备", "教育经费"),
        ("校车定位终端", "刷卡机", "心理测评终端"),
        ("覆盖率", "使用率", "准确率", "家长满意度"),
    ),
    "自然资源": Domain(
        ("区自然资源和规划局", "区不动产登记中心"),
        (
            "地名地址管理",
            "土地储备管理",
            "测绘成果管理",
            "建设用地供应",
            "矿产资源监管",
            "征地信息公开",
            "规划许可管理",
        ),
        (
            "地名地址标准化采集",
            "土地储备项目全周期管理",
            "测绘成果在线申领",
            "建设用地供应计划管理",
            "矿山开采越界监测",
            "征地信息公开",
            "规划许可证在线核发",
            "土地出让金缴纳跟踪",
            "批后监管巡查",
        ),
        ("地名地址", "储备地块", "测绘成果", "供地计划", "矿山", "规划许可"),
        ("无人机", "全站仪"),
        ("办理时间", "准确率", "公开率"),
    ),
    "应急": Domain(
        ("区应急管理局", "区地震局"),
        (
            "安全生产双重预防",
            "地震监测",
            "灾情统计报送",
            "应急值班值守",
            "烟花爆竹经营监管",
            "有限空间作业监管",
            "应急预案管理",
        ),
        (
            "风险分级管控",
            "隐患排查治理",
            "地震烈度速报",
            "灾情信息统计报送",
            "值班信息接报",
            "企业隐患自查自改",
            "烟花爆竹流向登记",
            "有限空间作业审批",
            "应急演练评估",
            "应急预案数字化",
        ),
        ("企业风险点", "隐患", "灾情", "值班记录", "应急预案"),
        ("地震烈度计", "视频监控", "气体检测仪"),
        ("隐患整改率", "报送时间", "覆盖率"),
    ),
    "公安": Domain(
        ("区公安分局", "区公安交警大队"),
        (
            "110接处警",
            "流动人口服务管理",
            "移动警务",
            "警用无人机",
            "特种行业治安管理",
            "寄递物流监管",
            "驾驶人考试监管",
        ),
        (
            "警情接报和调度",
            "居住证在线办理",
            "移动警务核查",
            "无人机空中巡逻",
            "旅馆业住宿登记",
            "寄递物流实名登记",
            "剧毒化学品购买审批",
            "驾驶人考试监管",
            "警情分析研判",
        ),
        ("警情", "流动人口", "旅馆住宿", "寄递物流", "驾驶人"),
        ("警务通终端", "警用无人机", "视频监控"),
        ("处警时长", "登记率", "发案率"),
    ),
    "政务服务": Domain(
        ("区行政审批局", "区政务服务中心", "区发展和改革局"),
        (
            "工程建设项目审批",
            "中介服务超市",
            "证明事项告知承诺",
            "帮办代办",
            "投资项目在线审批",
            "联合验收",
            "区域评估",
        ),
        (
            "工程建设项目审批全流程",
            "中介服务网上交易",
            "告知承诺事后核查",
            "帮办代办服务",
            "投资项目赋码",
            "联合验收",
            "区域评估成果共享",
            "施工图联合审查",
        ),
        ("审批事项", "中介机构", "承诺书", "投资项目", "施工图"),
        ("自助终端",),
        ("审批时限", "网上可办率", "满意度"),
    ),
    "数据": Domain(
        ("区大数据局", "区大数据发展管理局", "区政务数据管理中心"),
        (
            "城市大脑",
            "数据中台",
            "区块链基础设施",
            "数字孪生底座",
            "地理信息公共服务",
            "政务信息系统整合",
            "数据治理",
        ),
        (
            "城市运行体征监测",
            "数据资产登记",
            "区块链存证",
            "数字孪生场景搭建",
            "地图服务共享",
            "政务信息系统整合迁移",
            "数据治理和标签体系",
            "算法模型管理",
        ),
        ("城市运行", "数据资产", "地理信息", "业务系统清单", "数据标签"),
        ("服务器", "存储设备"),
        ("部门接入数", "数据准确率", "调用次数"),
    ),
    "财政": Domain(
        ("区财政局",),
        (
            "预算绩效管理",
            "政府债务管理",
            "会计集中核算",
            "工资统一发放",
            "政府综合财务报告",
            "财政监督检查",
            "惠农补贴发放",
        ),
        (
            "绩效目标和绩效自评",
            "债务风险预警",
            "会计集中核算",
            "工资统发",
            "财务报告编制",
            "监督检查问题整改",
            "惠农补贴发放",
            "政府购买服务目录管理",
        ),
        ("绩效目标", "政府债务", "会计凭证", "工资", "补贴资金"),
        ("票据打印机",),
        ("线上办理率", "资金节约率", "电子化率"),
    ),
    "农业": Domain(
        ("区农业农村局", "区农业技术推广中心"),
        (
            "农村人居环境",
            "渔船安全监管",
            "耕地质量监测",
            "农资经营监管",
            "农村产权交易",
            "农技推广服务",
            "农产品价格监测",
        ),
        (
            "农村厕所改造管理",
            "渔船北斗定位",
            "耕地质量监测",
            "农资经营台账",
            "农村产权流转交易",
            "农技服务预约",
            "价格行情采集",
            "秸秆综合利用监测",
        ),
        ("农户", "渔船", "耕地质量", "农资", "农村产权"),
        ("北斗终端", "土壤检测设备"),
        ("覆盖率", "交易额", "监测点位数量"),
    ),
    "生态环境": Domain(
        ("区生态环境分局",),
        (
            "环评审批",
            "辐射安全监管",
            "排污许可管理",
            "生态保护红线监管",
            "碳排放核算",
            "土壤污染防治",
            "噪声地图",
        ),
        (
            "环评文件审批",
            "放射源在线监控",
            "排污许可证后管理",
            "生态保护红线监管",
            "碳排放核算",
            "土壤污染状况调查",
            "噪声地图绘制",
            "环境执法文书管理",
        ),
        ("建设项目", "放射源", "排污许可", "碳排放", "土壤"),
        ("辐射监测仪", "噪声监测仪"),
        ("审批时限", "达标率", "覆盖率"),
    ),
    "水务": Domain(
        ("区水利局", "区水务集团"),
        (
            "水库大坝安全",
            "山塘巡查",
            "水土保持监管",
            "节水型社会",
            "二次供水监管",
            "灌区量水",
            "水利工程建设管理",
        ),
        (
            "水库大坝安全监测",
            "山塘巡查",
            "水土流失监测",
            "节水载体创建",
            "二次供水泵房监管",
            "灌区量水",
            "水利工程质量监督",
            "涉河建设审批",
        ),
        ("水库", "山塘", "水土流失", "用水户", "泵房"),
        ("渗压计", "流量计", "视频监控"),
        ("监测覆盖率", "节水率", "巡查率"),
    ),
    "交通": Domain(
        ("区交通运输局", "区道路运输管理所", "区港航管理中心"),
        (
            "港口船舶调度",
            "公路桥梁检测",
            "驾培学时监管",
            "客运站管理",
            "物流园区管理",
            "公共自行车",
            "机动车维修监管",
        ),
        (
            "港口船舶调度",
            "桥梁定期检测",
            "驾培学时监管",
            "客运站售检票",
            "物流车辆调度",
            "公共自行车租赁",
            "交通执法案件管理",
            "路政巡查",
            "机动车维修电子健康档案",
        ),
        ("船舶", "桥梁", "驾培学员", "客运班次", "物流车辆"),
        ("学时终端", "自行车桩", "视频监控"),
        ("通行效率", "准点率", "事故率"),
    ),
    "人社": Domain(
        ("区人力资源和社会保障局", "区人才服务中心"),
        ("人事考试", "人才服务", "劳动人事争议仲裁", "职称评审", "失业保险", "人才公寓"),
        (
            "人事考试报名",
            "人才引进补贴",
            "仲裁案件网上立案",
            "机关事业单位工资审批",
            "职称网上申报",
            "失业保险金申领",
            "人才公寓分配",
            "企业用工监测",
        ),
        ("考生", "人才", "仲裁案件", "职称", "失业人员"),
        ("身份核验终端",),
        ("网上办理率", "办理时限", "满意度"),
    ),
    "民政": Domain(
        ("区民政局",),
        (
            "社区工作者管理",
            "慈善捐赠",
            "地名管理",
            "流浪乞讨救助",
            "困境儿童关爱",
            "社会组织管理",
            "村务公开",
        ),
        (
            "社区工作者考核",
            "慈善捐赠公示",
            "地名普查",
            "流浪乞讨人员救助",
            "困境儿童关爱",
            "社会组织年检",
            "村务公开",
            "福利彩票销售监管",
        ),
        ("社区工作者", "慈善项目", "地名", "困境儿童", "社会组织"),
        ("自助终端",),
        ("覆盖率", "公开率", "办理时限"),
    ),
    "市场监管": Domain(
        ("区市场监督管理局",),
        (
            "药品零售监管",
            "广告监测",
            "价格监测",
            "网络交易监管",
            "产品质量抽检",
            "标准化服务",
            "个体工商户服务",
        ),
        (
            "药店处方药销售监测",
            "广告监测",
            "民生商品价格监测",
            "网络交易主体监测",
            "产品质量监督抽检",
            "标准信息服务",
            "个体工商户年报",
            "消费维权调解",
        ),
        ("药店", "广告", "民生商品价格", "网络交易", "产品质量"),
        ("视频监控", "快检设备"),
        ("抽检合格率", "监测覆盖率", "办结率"),
    ),
    "消防": Domain(
        ("区消防救援大队",),
        ("消防审验", "微型消防站", "消防宣传教育", "火灾调查", "消防装备管理"),
        (
            "消防设计审查验收",
            "微型消防站管理",
            "消防宣传教育",
            "火灾事故调查",
            "高层建筑消防安全评估",
            "消防车辆装备管理",
        ),
        ("建设工程", "微型消防站", "火灾", "消防装备"),
        ("视频监控", "定位终端"),
        ("审验时限", "覆盖率", "火灾起数"),
    ),
    "卫健": Domain(
        ("区卫生健康局", "区妇幼保健院", "区卫生监督所"),
        (
            "职业健康监管",
            "卫生监督执法",
            "妇幼健康管理",
            "医共体管理",
            "精神卫生管理",
            "无偿献血管理",
            "托育机构监管",
        ),
        (
            "职业病危害申报",
            "卫生监督执法",
            "孕产妇健康管理",
            "医共体药品耗材统一配送",
            "严重精神障碍患者管理",
            "无偿献血管理",
            "出生医学证明",
            "托育机构备案",
        ),
        ("职业病危害", "孕产妇", "医共体", "精神障碍患者", "献血者"),
        ("在线监测设备", "视频监控"),
        ("覆盖率", "规范管理率", "满意度"),
    ),
    "住建": Domain(
        ("区住房和城乡建设局", "区房产服务中心"),
        ("保障性住房", "房屋征收", "施工许可", "商品房预售资金监管", "燃气经营监管", "老旧小区改造"),
        (
            "保障房申请审核",
            "房屋征收补偿",
            "施工许可在线核发",
            "预售资金监管",
            "燃气经营许可",
            "老旧小区改造项目管理",
            "房屋租赁备案",
            "建筑节能监管",
        ),
        ("保障房", "征收项目", "施工许可", "预售资金", "燃气企业"),
        ("视频监控",),
        ("办理时限", "监管覆盖率", "满意度"),
    ),
    "文旅": Domain(
        ("区文化和旅游局", "区文化馆"),
        ("非遗保护", "公共文化服务", "演出市场监管", "旅行社监管", "文化市场执法"),
        ("非遗项目数字化", "文化活动预约", "演出审批", "旅行社团队监管", "文化市场执法检查", "文化志愿服务"),
        ("非遗项目", "文化活动", "演出", "旅行社"),
        ("视频监控",),
        ("参与人次", "覆盖率", "满意度"),
    ),
    "司法": Domain(
        ("区司法局",),
        ("行政复议", "普法宣传", "律师管理", "行政执法监督", "安置帮教"),
        ("行政复议网上申请", "普法积分", "律师执业监管", "行政执法监督", "安置帮教对象管理", "合法性审查"),
        ("复议案件", "普法活动", "律师", "执法案卷"),
        ("自助终端",),
        ("办结率", "覆盖率", "满意度"),
    ),
}

OBJECT_PREFIXES = ("", "", "智慧", "数字化", "区级", "一体化")
NAME_SUFFIXES = (
    "系统",
    "平台",
    "管理系统",
    "服务平台",
    "信息系统",
    "系统升级改造",
    "平台二期",
    "系统运维服务",
    "综合管理平台",
    "监管平台",
    "建设项目",
    "能力提升项目",
)
PROBLEMS = (
    "系统分散、数据不通",
    "设备老化、故障频发",
    "人工处理效率低",
    "监管手段落后",
    "群众办事多次跑",
    "数据重复采集",
    "信息共享不足",
)
PLACES = ("城区", "各镇街", "重点区域", "全区", "主要路段", "重点单位", "各乡镇（街道）")
CHANNELS = ("手机APP", "微信小程序", "微信公众号", "政务服务网", "移动端")


def _sentences(rng: random.Random, d: Domain, name: str, obj: str, other: str) -> list[str]:
    """One declaration's candidate sentences, each in one of several phrasings."""
    f = rng.sample(d.functions, k=min(4, len(d.functions)))
    data = rng.sample(d.data, k=min(3, len(d.data)))
    n = rng.randint(2, 400)
    return [
        rng.choice(
            (
                f"建设{name}，实现{f[0]}、{f[1]}和{f[2]}。",
                f"拟搭建{name}，支撑{f[0]}、{f[1]}等业务，推动{f[2]}。",
                f"本项目建设{name}，重点解决{f[0]}和{f[1]}问题，并提供{f[2]}功能。",
            )
        ),
        rng.choice(
            (
                f"系统归集{'、'.join(data)}等数据，与{other}实现数据共享。",
                f"平台汇聚{'、'.join(data)}等信息，形成{data[0]}“一张图”。",
                f"对接省市相关业务系统，实现{data[0]}、{data[1]}数据互联互通。",
            )
        ),
        rng.choice(
            (
                f"针对{rng.choice(PROBLEMS)}等问题，对现有{obj}相关系统进行升级改造。",
                f"目前{obj}工作仍以人工为主，存在{rng.choice(PROBLEMS)}等问题。",
            )
        ),
        rng.choice(
            (
                f"在{rng.choice(PLACES)}部署{rng.choice(d.devices)}{n}套，实时采集{data[0]}数据。",
                f"为{rng.choice(PLACES)}配置{rng.choice(d.devices)}{n}台，异常情况自动预警并推送相关人员。",
            )
        ),
        rng.choice(
            (
                f"配套建设{rng.choice(d.objects)}模块，支持{f[3]}。",
                f"同步开发{rng.choice(CHANNELS)}，群众和企业可在线办理{f[3]}相关事项。",
                "工作人员可通过手机端接收任务、上报处理结果，实现全流程闭环管理。",
            )
        ),
        rng.choice(
            (
                "依托区政务云部署，对接省市相关业务系统，按照网络安全等级保护要求建设。",
                "系统部署在区政务云，使用全区统一身份认证，通过电子政务外网访问。",
                f"项目建成后由{rng.choice(d.depts)}负责日常运行维护。",
            )
        ),
    ]


def _goals(rng: random.Random, d: Domain) -> str:
    """Two or three performance goals in the usual phrasings."""
    phrasings = (
        "{m}达到{p}%以上",
        "{m}不低于{p}%",
        "{m}缩短至{k}个工作日",
        "{m}同比下降{q}%",
        "{m}提升{q}%",
        "覆盖全区{k}个乡镇（街道）",
        "年服务群众{k}万人次",
        "接入部门不少于{k}个",
    )
    picked = rng.sample(phrasings, k=rng.randint(2, 3))
    parts = [
        ph.format(
            m=rng.choice(d.metrics), p=rng.randint(80, 100), q=rng.randint(10, 50), k=rng.randint(3, 30)
        )
        for ph in picked
    ]
    return rng.choice(("，", "；")).join(parts) + "。"


def background(size: int = BACKGROUND_SIZE, seed: int = BACKGROUND_SEED) -> list[ScreeningText]:
    """``size`` declarations recombined from the domain pools (deterministic)."""
    rng = random.Random(seed)
    domains = list(DOMAINS.values())
    texts = []
    for i in range(size):
        d = rng.choice(domains)
        obj = rng.choice(d.objects)
        name = f"{rng.choice(OBJECT_PREFIXES)}{obj}{rng.choice(NAME_SUFFIXES)}"
        other = rng.choice(rng.choice(domains).depts)
        sentences = _sentences(rng, d, name, obj, other)
        first, rest = sentences[0], sentences[1:]
        rng.shuffle(rest)
        texts.append(
            ScreeningText(
                id=f"bg-{i:04d}",
                org_id=rng.choice(d.depts),
                name=name,
                content=first + "".join(rest[: rng.randint(2, 4)]),
                goals=_goals(rng, d),
                amount=Decimal(rng.randrange(200_000, 5_000_000, 10_000)),
                submitted_at=date(2025, 1, 1) + timedelta(days=rng.randrange(365)),
            )
        )
    return texts


# --- the measurement -------------------------------------------------------------------------------


@dataclass
class Quality:
    """The measured numbers."""

    true_positives: int
    false_positives: int
    false_negatives: int
    pairs: int
    hard_negatives: int
    background: int
    indexed: int
    min_score: float
    seconds: float
    missed: list[str]
    wrong: list[str]

    @property
    def precision(self) -> float:
        """TP / (TP + FP)."""
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN)."""
        return self.true_positives / (self.true_positives + self.false_negatives)


def measure() -> Quality:
    """Index background + side a of every pair and hard negative; screen every side b."""
    started = time.perf_counter()
    pairs = load_pairs("duplicate_pairs.yaml")
    negatives = load_pairs("hard_negatives.yaml")
    index = SimilarityIndex()
    index.build(background())
    for p in [*pairs, *negatives]:
        index.add(to_text(f"{p['id']}/a", p["a"], date(2025, 3, 1)))
    tp = fp = fn = 0
    missed: list[str] = []
    wrong: list[str] = []
    queries = [(p, f"{p['id']}/a") for p in pairs] + [(p, None) for p in negatives]
    for p, partner in queries:
        side_b = to_text(f"{p['id']}/b", p["b"], date(2025, 9, 1))
        flagged = duplicate_findings(side_b, index, citations=CITATIONS)
        hits = {f.related_ids[0]: f.score for f in flagged}
        if partner is not None:
            if partner in hits:
                tp += 1
            else:
                fn += 1
                missed.append(p["id"])
        for doc_id, score in hits.items():
            if doc_id != partner:
                fp += 1
                wrong.append(f"{p['id']}/b → {doc_id} ({score:.3f})")
    return Quality(
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        pairs=len(pairs),
        hard_negatives=len(negatives),
        background=BACKGROUND_SIZE,
        indexed=len(index),
        min_score=DUPLICATE_MIN_SCORE,
        seconds=round(time.perf_counter() - started, 2),
        missed=missed,
        wrong=wrong,
    )


@pytest.fixture(scope="module")
def quality() -> Quality:
    return measure()


def test_hand_written_data_is_large_enough() -> None:
    pairs = load_pairs("duplicate_pairs.yaml")
    negatives = load_pairs("hard_negatives.yaml")
    assert len(pairs) >= 60
    assert len(negatives) >= 40
    ids = [p["id"] for p in [*pairs, *negatives]]
    assert len(ids) == len(set(ids))
    for p in [*pairs, *negatives]:
        for side in (p["a"], p["b"]):
            assert side["name"] and side["content"] and side["goals"], p["id"]


def test_background_is_deterministic_varied_and_shares_the_pairs_vocabulary() -> None:
    assert background(50) == background(50)
    texts = background()
    assert len({t.name for t in texts}) > 500  # varied, not one template repeated
    # Most of the vocabulary the hand-written declarations have in common (bigrams in ≥ 5 of
    # them: 建设, 平台, 数据, 不少于, 乡镇, 预警, ...) is background vocabulary too, so it weighs
    # as little in the test as it would among a tenant's real declarations.
    counts: Counter[str] = Counter()
    for p in load_pairs("duplicate_pairs.yaml"):
        for side in (p["a"], p["b"]):
            counts.update(shingles(side["name"]) | shingles(side["content"]) | shingles(side["goals"]))
    common = {term for term, n in counts.items() if n >= 5}
    seen = set().union(*(shingles(t.name) | shingles(t.content) | shingles(t.goals) for t in texts))
    assert len(common & seen) / len(common) >= 0.5


def test_duplicates_are_found_with_precision_and_recall_at_least_0_9(
    quality: Quality, tmp_path_factory: pytest.TempPathFactory
) -> None:
    report = {
        "precision": round(quality.precision, 4),
        "recall": round(quality.recall, 4),
        "true_positives": quality.true_positives,
        "false_positives": quality.false_positives,
        "false_negatives": quality.false_negatives,
        "pairs": quality.pairs,
        "hard_negatives": quality.hard_negatives,
        "background": quality.background,
        "indexed": quality.indexed,
        "min_score": quality.min_score,
        "seconds": quality.seconds,
        "missed": quality.missed,
        "wrong": quality.wrong,
    }
    out = tmp_path_factory.mktemp("screening") / "screening_quality.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nscreening quality: {json.dumps(report, ensure_ascii=False)}\nwritten to {out}")
    assert quality.precision >= TARGET_PRECISION, quality.wrong
    assert quality.recall >= TARGET_RECALL, quality.missed


# --- splitting ----------------------------------------------------------------------------------------

SPLIT_THRESHOLD = Decimal("1000000")
SPLIT_CITATIONS = ["wuxing-2023 §8(6)"]


def test_split_projects_are_flagged_and_different_projects_of_one_department_are_not() -> None:
    """Every hand-written split group is flagged with all its earlier parts, among the tenant's
    other declarations of the org; no same-org hard negative pair is, even with amounts chosen so
    that only the similarity decides."""
    pairs, negatives = load_pairs("duplicate_pairs.yaml"), load_pairs("hard_negatives.yaml")
    index = SimilarityIndex()
    index.build(background())
    for p in [*pairs, *negatives]:
        index.add(to_text(f"{p['id']}/a", p["a"], date(2025, 3, 1)))
    tenant = [
        *background(),
        *(to_text(f"{p['id']}/a", p["a"], date(2025, 3, 1)) for p in [*pairs, *negatives]),
    ]
    for group in load_split_groups():
        parts = [
            to_text(f"{group['id']}/{i}", {"org": group["org"], **part}, part["submitted_at"])
            for i, part in enumerate(group["parts"])
        ]
        *earlier, candidate = parts
        index.build(earlier)
        same_org = [t for t in [*tenant, *earlier] if t.org_id == candidate.org_id]
        found = splitting_findings(
            candidate, same_org, SPLIT_THRESHOLD, citations=SPLIT_CITATIONS, index=index
        )
        assert len(found) == 1, group["id"]
        assert {t.id for t in earlier} <= set(found[0].related_ids), group["id"]
        # Other declarations of the org may join (split-07's hall upgrades also link the same
        # hall's 智能导办机器人 purchase): shown to the reviewer, reported here.
        extra = set(found[0].related_ids) - {t.id for t in earlier}
        if extra:
            print(f"{group['id']}: also linked {sorted(extra)}")
    for p in negatives:
        a, b = (
            to_text(f"{p['id']}/a", p["a"], date(2025, 3, 1)),
            to_text(f"{p['id']}/b", p["b"], date(2025, 9, 1)),
        )
        b = ScreeningText(**{**b.__dict__, "org_id": a.org_id})  # the same department, always
        threshold = max(a.amount, b.amount) + 1  # each under it, the two together over it
        assert splitting_findings(b, [a], threshold, citations=SPLIT_CITATIONS, index=index) == [], p["id"]
