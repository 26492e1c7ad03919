"""The statistical forms of Decision 1454/QĐ-TLĐ (28/11/2014) the register can fill: 1-HĐCĐ, a
grassroots union's yearly report, and 2-HĐCĐ, the upper levels' consolidated one.

Each row is the paper form's line (Nội dung / Đơn vị tính / Số lượng / Ghi chú) and, where the
register holds what it counts, the indicator that fills it; the other rows (workers' wages,
contracts, disputes...) come from elsewhere and stay empty, for the union to fill by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.errors import InvalidValue

PEOPLE, UNIONS, WORKPLACES, PERCENT = "Người", "CĐCS", "Đơn vị", "%"
WAGE, CASES, STRIKES = "Nghìn đồng/người/tháng", "Vụ", "Cuộc"
NOT_KEPT = "Sổ đăng ký không theo dõi; đơn vị tự điền"  # the note of a row the register cannot fill
REPORT_MONTH, REPORT_DAY = 11, 30  # the yearly report's cut-off: 30 November


@dataclass(frozen=True)
class FormRow:
    code: str  # the row's code in the answer
    label: str  # Nội dung, as the paper form words it
    unit: str  # Đơn vị tính
    indicator: str | None  # the indicator code that fills it; None: not kept in the register
    # what of the indicator fills it: its value, or a percentage's numerator or denominator (a count
    # the form asks for); RATING: the union's rating for the year, in words
    part: str = "value"


@dataclass(frozen=True)
class Form:
    code: str  # as in the path: 1-hdcd, 2-hdcd
    number: str  # as printed on the paper: Mẫu 1-HĐCĐ
    title: str
    rows: tuple[FormRow, ...]


def _kept(code: str, label: str, unit: str, indicator: str | None = None, part: str = "value") -> FormRow:
    return FormRow(code, label, unit, indicator or code, part)


NUMERATOR, DENOMINATOR, RATING = "numerator", "denominator", "rating"
# The ratings as the forms word them (Hướng dẫn đánh giá, xếp loại CĐCS).
RATING_WORDS = {
    "excellent": "Hoàn thành xuất sắc nhiệm vụ",
    "good": "Hoàn thành tốt nhiệm vụ",
    "fair": "Hoàn thành nhiệm vụ",
    "poor": "Không hoàn thành nhiệm vụ",
}


def _not_kept(code: str, label: str, unit: str) -> FormRow:
    return FormRow(code, label, unit, None)


WORKERS = (  # the workers' part both forms open with: none of it is in the register
    _not_kept("workers", "Tổng số công nhân, viên chức, lao động (CNVCLĐ)", PEOPLE),
    _not_kept("workers_female", "Trong đó: lao động nữ", PEOPLE),
    _not_kept("workers_underemployed", "Số CNVCLĐ thiếu việc làm", PEOPLE),
    _not_kept("average_wage", "Tiền lương bình quân hằng tháng", WAGE),
    _not_kept("workers_with_contract", "Số CNVCLĐ được ký hợp đồng lao động", PEOPLE),
    _not_kept("workers_insured", "Số CNVCLĐ được tham gia bảo hiểm xã hội", PEOPLE),
    _not_kept("collective_disputes", "Số vụ tranh chấp lao động tập thể", CASES),
    _not_kept("strikes", "Số cuộc ngừng việc tập thể, đình công", STRIKES),
)

MEMBERS = (  # the members' part: the register's own figures
    _kept("members_total", "Tổng số đoàn viên công đoàn", PEOPLE),
    _kept("members_female", "Trong đó: đoàn viên nữ", PEOPLE),
    _kept("members_admitted", "Số đoàn viên kết nạp mới trong năm", PEOPLE),
    # members who moved between provinces: neither newly admitted nor gone from the union
    _kept("members_transferred_in", "Số đoàn viên chuyển đến từ tỉnh, thành phố khác trong năm", PEOPLE),
    _kept("members_left", "Số đoàn viên giảm trong năm (ra khỏi tổ chức)", PEOPLE),
    _kept("members_transferred_out", "Số đoàn viên chuyển đi tỉnh, thành phố khác trong năm", PEOPLE),
    _kept("members_net_growth", "Số đoàn viên tăng (giảm) thực tế trong năm", PEOPLE),
)

UNION_FORM = Form(
    "1-hdcd",
    "Mẫu 1-HĐCĐ",
    "BÁO CÁO THỐNG KÊ TÌNH HÌNH CÔNG NHÂN, VIÊN CHỨC, LAO ĐỘNG VÀ HOẠT ĐỘNG CÔNG ĐOÀN CƠ SỞ",
    (
        *WORKERS,
        *MEMBERS,
        # @1: the union's own workplace counts whatever its size
        _kept("member_worker_ratio_pct", "Tỉ lệ đoàn viên trên tổng số CNVCLĐ", PERCENT, "member_worker_ratio_pct@1"),
        # the officials of the union's training record for the year, and its rating for the year
        _kept("officials", "Số cán bộ công đoàn cơ sở", PEOPLE, "officials_trained_pct", DENOMINATOR),
        _kept("rating", "Kết quả đánh giá, xếp loại công đoàn cơ sở", "", "unions_rated_good_pct", RATING),
    ),
)

UPPER_FORM = Form(
    "2-hdcd",
    "Mẫu 2-HĐCĐ",
    "BÁO CÁO THỐNG KÊ TỔNG HỢP TÌNH HÌNH CÔNG NHÂN, VIÊN CHỨC, LAO ĐỘNG VÀ HOẠT ĐỘNG CÔNG ĐOÀN",
    (
        *WORKERS,
        _kept("unions_total", "Tổng số công đoàn cơ sở", UNIONS),
        _kept("unions_founded", "Số công đoàn cơ sở thành lập mới trong năm", UNIONS),
        _kept("unions_dissolved", "Số công đoàn cơ sở giải thể trong năm", UNIONS),
        _kept("workplaces_eligible", "Số đơn vị, doanh nghiệp có từ 10 lao động trở lên", WORKPLACES),
        _kept("workplaces_covered", "Trong đó: đã thành lập công đoàn cơ sở", WORKPLACES),
        _kept("coverage_pct", "Tỉ lệ đơn vị, doanh nghiệp có từ 10 lao động đã có công đoàn cơ sở", PERCENT),
        *MEMBERS,
        _kept("member_worker_ratio_pct", "Tỉ lệ đoàn viên trên số CNVCLĐ nơi có công đoàn cơ sở", PERCENT),
        _kept(
            "unions_rated_good",
            "Số công đoàn cơ sở xếp loại hoàn thành tốt nhiệm vụ trở lên",
            UNIONS,
            "unions_rated_good_pct",
            NUMERATOR,
        ),
    ),
)

FORMS = {form.code: form for form in (UNION_FORM, UPPER_FORM)}


FIRST_YEAR = 1929  # the first trade unions of Vietnam: no register reaches further back


def cut_off(year: int, as_of: date | None, today: date) -> date:
    """The form's cut-off date: ``as_of`` if given, which must lie within ``year``; else 30 November
    (today, while the year has not reached it)."""
    if not FIRST_YEAR <= year <= today.year:
        raise InvalidValue(f"must be a year from {FIRST_YEAR} to {today.year}", field="year")
    if as_of is None:
        return min(date(year, REPORT_MONTH, REPORT_DAY), today)
    if as_of.year != year:
        raise InvalidValue(f"must lie within the year {year}", field="as_of")
    return as_of
