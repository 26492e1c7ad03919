"""The register's field and indicator codes in Vietnamese, as a file's second header row and a
form's rows name them: the codes stay the columns' names, these are for the people reading them."""

from __future__ import annotations

FIELDS: dict[str, str] = {
    # what every entity carries
    "id": "Mã",
    "name": "Tên",
    "status": "Trạng thái",
    "version": "Số sự kiện",
    "recorded_at": "Thời điểm ghi nhận",
    "updated_at": "Thời điểm cập nhật",
    # units
    "kind": "Loại đơn vị",
    "parent_id": "Mã đơn vị cấp trên",
    "established_on": "Ngày thành lập",
    "closed_on": "Ngày giải thể, sáp nhập",
    "successor_id": "Mã đơn vị tiếp nhận",
    # workplaces
    "sector": "Khu vực",
    "unit_id": "Mã công đoàn cấp trên",
    "registered_on": "Ngày ghi nhận",
    "workers": "Số người lao động",
    "female_workers": "Số lao động nữ",
    "as_of": "Thời điểm",
    "union_id": "Mã công đoàn cơ sở",
    # unions
    "workplace_id": "Mã đơn vị, doanh nghiệp",
    "founded_on": "Ngày thành lập",
    "decision_no": "Số quyết định",
    "dissolved_on": "Ngày giải thể",
    "dissolution_reason": "Lý do giải thể",
    "active_members": "Số đoàn viên",
    # members
    "admitted_union_id": "Mã CĐCS kết nạp",
    "admitted_on": "Ngày kết nạp",
    "gender": "Giới tính",
    "full_name": "Họ và tên",
    "birth_date": "Ngày sinh",
    "id_number": "Số định danh cá nhân",
    "left_on": "Ngày ra khỏi tổ chức",
    "leave_reason": "Lý do",
    "personal_data_erased": "Đã xóa dữ liệu cá nhân",
    # figures and progress
    "period": "Kỳ",
    "known_at": "Theo sổ tại thời điểm",
    "key": "Mã nhóm",
    "target_id": "Mã chỉ tiêu giao",
    "indicator": "Chỉ tiêu",
    "target": "Chỉ tiêu giao",
    "actual": "Thực hiện",
    "achieved_pct": "Tỉ lệ hoàn thành (%)",
    "expected_to_date": "Mức cần đạt đến nay",
}

INDICATORS: dict[str, str] = {
    "members_total": "Tổng số đoàn viên",
    "members_female": "Đoàn viên nữ",
    "unions_total": "Tổng số CĐCS",
    "workplaces_eligible": "Đơn vị, doanh nghiệp đủ điều kiện thành lập CĐCS",
    "workplaces_covered": "Đơn vị, doanh nghiệp đủ điều kiện đã có CĐCS",
    "coverage_pct": "Tỉ lệ đơn vị, doanh nghiệp đủ điều kiện đã có CĐCS (%)",
    "member_worker_ratio_pct": "Tỉ lệ đoàn viên trên số CNLĐ (%)",
    "members_admitted": "Đoàn viên kết nạp mới",
    "members_left": "Đoàn viên giảm",
    "members_net_growth": "Đoàn viên tăng thực",
    "unions_founded": "CĐCS thành lập mới",
    "unions_dissolved": "CĐCS giải thể",
    "members_transferred_in": "Đoàn viên chuyển đến từ tỉnh khác",
    "members_transferred_out": "Đoàn viên chuyển đi tỉnh khác",
    "unions_rated_good_pct": "Tỉ lệ CĐCS xếp loại hoàn thành tốt nhiệm vụ trở lên (%)",
    "cla_coverage_pct": "Tỉ lệ đơn vị, doanh nghiệp có CĐCS ký kết thỏa ước lao động tập thể (%)",
    "womens_committee_pct": "Tỉ lệ CĐCS ngoài nhà nước có từ 10 nữ đoàn viên đã có ban nữ công (%)",
    "members_with_card_pct": "Tỉ lệ đoàn viên có thẻ đoàn viên (%)",
    "dues_collected_pct": "Tỉ lệ thu kinh phí, đoàn phí so với số phải thu (%)",
    "officials_trained_pct": "Tỉ lệ cán bộ công đoàn được tập huấn, bồi dưỡng (%)",
    "workers_conference_pct": "Tỉ lệ doanh nghiệp có từ 10 lao động tổ chức hội nghị người lao động (%)",
}


def label(code: str) -> str:
    """A column's Vietnamese heading: an indicator (``coverage_pct@25`` says its threshold), a
    field, or the code itself where the catalogue has none."""
    base, _, threshold = code.partition("@")
    if base in INDICATORS:
        return INDICATORS[base] + (f" (từ {threshold} lao động)" if threshold else "")
    return FIELDS.get(code, code)


FIELDS.update(  # a list of reports as a file
    {
        "submitted_at": "Thời điểm gửi",
        "submitted_by": "Người gửi",
        "replaces": "Thay cho báo cáo",
        "replaced_by": "Được thay bằng báo cáo",
        "verdict": "Kết quả đối chiếu",
        "verified_at": "Thời điểm đối chiếu",
        "verified_by": "Người đối chiếu",
    }
)
