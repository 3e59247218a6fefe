from facesearch.detection import plan_scale


def test_small_image_is_upsampled_until_min_face_reaches_window() -> None:
    plan = plan_scale(250, 250, min_face_px=40, max_detect_side=1600, max_upsample_pixels=4_000_000)
    assert plan.scale == 1.0
    assert plan.upsample == 1  # 40 px * 2 = 80 px = the HOG window


def test_tiny_min_face_needs_more_upsampling_but_respects_pixel_budget() -> None:
    plan = plan_scale(250, 250, min_face_px=12, max_detect_side=1600, max_upsample_pixels=4_000_000)
    assert plan.upsample == 3  # 12 * 8 = 96 >= 80; 2000x2000 = 4 MP fits
    capped = plan_scale(250, 250, min_face_px=12, max_detect_side=1600, max_upsample_pixels=999_999)
    assert capped.upsample == 1  # 500x500 fits, 1000x1000 does not


def test_large_image_is_downscaled_to_max_side() -> None:
    plan = plan_scale(
        3000, 4000, min_face_px=40, max_detect_side=1600, max_upsample_pixels=4_000_000
    )
    assert plan.scale == 1600 / 4000
    # a 40 px face becomes 16 px; upsampling 1600x1200 once would exceed 4 MP
    assert plan.upsample == 0


def test_big_faces_need_no_upsampling() -> None:
    plan = plan_scale(
        600, 800, min_face_px=100, max_detect_side=1600, max_upsample_pixels=4_000_000
    )
    assert (plan.scale, plan.upsample) == (1.0, 0)
