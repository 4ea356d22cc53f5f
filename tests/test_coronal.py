"""Tests for kyphoimg.coronal: the AASCE 2019 organisers' coronal Cobb angles.

The hand-checkable cases build spines from known vertebral tilts: the angle between
two mid-lines is then the difference of their tilts. The validation tests reproduce
the organisers' ``angles.csv`` from their ``.mat`` landmarks (SpineWeb dataset 16,
training split; see ../shared/data/README.md, section "aasce/").
"""

from __future__ import annotations

import csv
import math
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from kyphoimg.coronal import CoronalCobb, aasce_cobb_angles
from kyphoimg.errors import MeasureError

# --- synthetic spines ---------------------------------------------------------------

N_AASCE = 17
IMAGE_HEIGHT = 1200.0  # the synthetic spines span rows 88..1072
_T = np.linspace(0.0, 1.0, N_AASCE)
#: Centre columns of a C-curve (one bulge to image right) and of an S-curve.
C_COLS = 300.0 + 120.0 * np.sin(np.pi * _T) + 40.0 * _T
S_COLS = 300.0 + 100.0 * np.sin(2.0 * np.pi * _T) + 40.0 * _T

# Tilts in degrees (positive: image-right side higher), T1 to L5.
FLAT = [0.0] * N_AASCE
ONE_TILTED = [0.0] * 8 + [12.0] + [0.0] * 8
# max 8 at index 2, min -11 at index 9: PT 19.
C_TILTS = [3, -1, 8, 6, 3, 0, -3, -6, -9, -11, -9, -6, -3, 0, 6, 3, 4]
# max 12 at index 3, min -16 at index 10: PT 28, pair in the upper half of the film.
UPPER_PAIR_TILTS = [2, -3, 4, 12, 8, 4, 0, -4, -8, -12, -16, -12, -8, -4, 0, 5, 10]
# max 16 at index 11, min -8 at index 16: PT 24, pair in the lower half of the film.
LOWER_PAIR_TILTS = [0, 2, 4, 6, 4, 2, 0, -2, -5, 2, 9, 16, 12, 6, 0, -4, -8]


def make_spine(
    tilts_deg: list[float],
    cols: np.ndarray | None = None,
    half_width: float = 20.0,
    half_height: float = 12.0,
) -> np.ndarray:
    """Rectangular vertebrae at rows 100, 160, ..., rotated by their tilts.

    Returns corners of shape (n, 4, 2), (row, col), order left_sup, right_sup,
    left_inf, right_inf. Centres sit on column ``cols`` (300 when None).
    """
    t = np.radians(np.asarray(tilts_deg, dtype=float))
    n = t.size
    rows = 100.0 + 60.0 * np.arange(n)
    cols = np.full(n, 300.0) if cols is None else np.asarray(cols, dtype=float)
    centre = np.stack([rows, cols], axis=1)[:, None, :]
    along = np.stack([-np.sin(t), np.cos(t)], axis=1)[:, None, :]  # image left -> right
    down = np.stack([np.cos(t), np.sin(t)], axis=1)[:, None, :]  # superior -> inferior
    left_right = np.array([-1.0, 1.0, -1.0, 1.0])[None, :, None]
    sup_inf = np.array([-1.0, -1.0, 1.0, 1.0])[None, :, None]
    return centre + left_right * half_width * along + sup_inf * half_height * down


def assert_same(a: CoronalCobb, b: CoronalCobb) -> None:
    assert (a.upper_index, a.lower_index, a.s_shaped) == (b.upper_index, b.lower_index, b.s_shaped)
    assert (a.pt_deg, a.mt_deg, a.tl_deg) == pytest.approx((b.pt_deg, b.mt_deg, b.tl_deg), abs=1e-9)


# --- hand-checkable cases -------------------------------------------------------------


@pytest.mark.parametrize(
    ("tilts", "cols", "expected"),
    [
        # A vertical spine has col_1 == col_N: the organisers' S test divides by zero and
        # reports S-shaped; every angle is 0 and the pair is (0, 0).
        pytest.param(FLAT, None, (0.0, 0.0, 0.0, 0, 0, True), id="straight"),
        # Every level ties with the tilted one; MATLAB's max picks column 0 then row 8.
        # S (vertical) and upper half: MT = max A[0, :1] = 0, TL = max A[8, 8:] = 12.
        pytest.param(ONE_TILTED, None, (12.0, 0.0, 12.0, 0, 8, True), id="one-tilted-12"),
        # C-curve, not S: MT = |3 - 8| = 5 (T1 vs upper), TL = |4 - -11| = 15 (L5 vs lower).
        pytest.param(C_TILTS, C_COLS, (19.0, 5.0, 15.0, 2, 9, False), id="c-curve"),
        # Same tilts on an S-curve, pair rows 232 + 652 < 1200: MT = max |8 - t[0..2]| = 9,
        # TL = max |-11 - t[9..16]| = 17.
        pytest.param(C_TILTS, S_COLS, (19.0, 9.0, 17.0, 2, 9, True), id="s-curve-upper-rule"),
        # S, pair rows 292 + 712 < 1200: MT = max |12 - t[0..3]| = 15,
        # TL = max |-16 - t[10..16]| = 26.
        pytest.param(
            UPPER_PAIR_TILTS, S_COLS, (28.0, 15.0, 26.0, 3, 10, True), id="s-curve-upper-pair"
        ),
        # S, pair rows 772 + 1072 >= 1200: MT = max |16 - t[0..11]| = 21 at index 8 (-5),
        # TL = max |-5 - t[0..8]| = 11 (index 3, tilt 6).
        pytest.param(
            LOWER_PAIR_TILTS, S_COLS, (24.0, 21.0, 11.0, 11, 16, True), id="s-curve-lower-pair"
        ),
    ],
)
def test_known_tilts(
    tilts: list[float],
    cols: np.ndarray | None,
    expected: tuple[float, float, float, int, int, bool],
) -> None:
    result = aasce_cobb_angles(make_spine(tilts, cols), IMAGE_HEIGHT)
    pt, mt, tl, upper, lower, s_shaped = expected
    assert (result.pt_deg, result.mt_deg, result.tl_deg) == pytest.approx((pt, mt, tl), abs=1e-4)
    assert (result.upper_index, result.lower_index, result.s_shaped) == (upper, lower, s_shaped)


def test_parallel_mid_lines_give_exactly_zero() -> None:
    # The cosine is rounded to 8 decimals before arccos, so 0 is exact.
    result = aasce_cobb_angles(make_spine(FLAT, C_COLS), IMAGE_HEIGHT)
    assert (result.pt_deg, result.mt_deg, result.tl_deg) == (0.0, 0.0, 0.0)


def test_image_height_boundary_is_strict() -> None:
    # Step 5 uses "row sum < H": at equality the lower-pair rule applies.
    # Lower rule: MT = 15 attained at index 1 (tilt -3), TL = max |-3 - t[0..1]| = 5.
    corners = make_spine(UPPER_PAIR_TILTS, S_COLS)
    inferior_rows = (corners[:, 2, 0] + corners[:, 3, 0]) / 2
    rows_sum = inferior_rows[3] + inferior_rows[10]
    at_sum = aasce_cobb_angles(corners, rows_sum)
    above_sum = aasce_cobb_angles(corners, np.nextafter(rows_sum, np.inf))
    assert (at_sum.mt_deg, at_sum.tl_deg) == pytest.approx((15.0, 5.0), abs=1e-4)
    assert (above_sum.mt_deg, above_sum.tl_deg) == pytest.approx((15.0, 26.0), abs=1e-4)


def test_swapped_left_right_labels_give_obtuse_angle() -> None:
    # The organisers keep mid-line orientation: a vertebra labelled right-to-left makes
    # 180 - tilt with the others (one AASCE training image has PT = 156.39).
    corners = make_spine(ONE_TILTED, C_COLS)
    corners[8] = corners[8][[1, 0, 3, 2]]
    assert aasce_cobb_angles(corners, IMAGE_HEIGHT).pt_deg == pytest.approx(168.0, abs=1e-4)


def test_three_vertebrae_minimum() -> None:
    result = aasce_cobb_angles(make_spine([0.0, 20.0, -5.0], C_COLS[::8]), 400)
    assert result.pt_deg == pytest.approx(25.0, abs=1e-4)
    assert (result.upper_index, result.lower_index) == (1, 2)


def test_integer_input_is_converted_to_float() -> None:
    # The AASCE .mat files hold uint16; differences must not wrap around.
    corners = np.array(
        [
            [[10, 100], [12, 140], [40, 100], [42, 140]],
            [[70, 90], [60, 130], [100, 90], [90, 130]],
            [[130, 80], [130, 120], [160, 80], [160, 120]],
        ],
        dtype=np.uint16,
    )
    assert_same(aasce_cobb_angles(corners, 200), aasce_cobb_angles(corners.astype(float), 200))


@pytest.mark.parametrize(
    "tilts_cols",
    [
        pytest.param((C_TILTS, C_COLS), id="c-curve"),
        pytest.param((UPPER_PAIR_TILTS, S_COLS), id="s-upper"),
        pytest.param((LOWER_PAIR_TILTS, S_COLS), id="s-lower"),
    ],
)
@pytest.mark.parametrize(
    "shift", [pytest.param((0.0, 37.5), id="cols"), pytest.param((250.0, -120.25), id="both")]
)
def test_translation_invariance(
    tilts_cols: tuple[list[float], np.ndarray], shift: tuple[float, float]
) -> None:
    # Moving the spine down by dr inside an image grown by dr at top and bottom keeps
    # its place relative to the image centre, hence the step-5 rule.
    corners = make_spine(*tilts_cols)
    moved = corners + np.asarray(shift)
    expected = aasce_cobb_angles(corners, IMAGE_HEIGHT)
    assert_same(aasce_cobb_angles(moved, IMAGE_HEIGHT + 2 * shift[0]), expected)


@pytest.mark.parametrize(
    "tilts_cols",
    [
        pytest.param((ONE_TILTED, None), id="one-tilted"),
        pytest.param((C_TILTS, C_COLS), id="c-curve"),
        pytest.param((UPPER_PAIR_TILTS, S_COLS), id="s-upper"),
        pytest.param((LOWER_PAIR_TILTS, S_COLS), id="s-lower"),
    ],
)
def test_left_right_mirror_invariance(tilts_cols: tuple[list[float], np.ndarray | None]) -> None:
    # Mirror the image (col -> W - col); what was image-left is now image-right, so
    # the labels swap too. Angles are unsigned, so nothing changes.
    corners = make_spine(*tilts_cols)
    mirrored = corners[:, [1, 0, 3, 2]].copy()
    mirrored[..., 1] = 1000.0 - mirrored[..., 1]
    assert_same(aasce_cobb_angles(mirrored, IMAGE_HEIGHT), aasce_cobb_angles(corners, IMAGE_HEIGHT))


@pytest.mark.parametrize(
    ("spacing", "expected_deg"),
    [
        pytest.param((0.3, 0.3), 30.0, id="square"),
        # mid-line (-sin 30, cos 30) px -> (-0.2 sin 30, 0.1 cos 30) mm:
        # atan(2 tan 30) = atan(1.154700) = 49.106605 degrees.
        pytest.param((0.2, 0.1), 49.106605, id="rows-twice-cols"),
        # atan(0.5 tan 30) = atan(0.288675) = 16.102114 degrees.
        pytest.param((0.1, 0.2), 16.102114, id="cols-twice-rows"),
    ],
)
def test_anisotropic_spacing(spacing: tuple[float, float], expected_deg: float) -> None:
    corners = make_spine([0.0, 0.0, 30.0, 0.0, 0.0], C_COLS[::4])
    result = aasce_cobb_angles(corners, 500, spacing=spacing)
    assert result.pt_deg == pytest.approx(expected_deg, abs=1e-5)
    assert (result.upper_index, result.lower_index) == (0, 2)


def test_result_is_frozen() -> None:
    result = aasce_cobb_angles(make_spine(C_TILTS, C_COLS), IMAGE_HEIGHT)
    with pytest.raises(FrozenInstanceError):
        result.pt_deg = 0.0  # type: ignore[misc]


def _with(value: float, vertebra: int, point: int, axis: int) -> np.ndarray:
    corners = make_spine(C_TILTS, C_COLS)
    corners[vertebra, point, axis] = value
    return corners


def _collapsed(vertebra: int) -> np.ndarray:
    corners = make_spine(C_TILTS, C_COLS)
    corners[vertebra] = corners[vertebra, 0]  # all four corners at one point
    return corners


def _zero_width(vertebra: int) -> np.ndarray:
    corners = make_spine(C_TILTS, C_COLS)
    corners[vertebra, 1] = corners[vertebra, 0]  # right_sup on left_sup
    corners[vertebra, 3] = corners[vertebra, 2]  # right_inf on left_inf
    return corners


@pytest.mark.parametrize(
    ("corners", "match"),
    [
        pytest.param(np.zeros((17, 4)), r"shape \(n_vertebrae, 4, 2\).*\(17, 4\)", id="2d"),
        pytest.param(np.zeros((17, 3, 2)), r"got shape \(17, 3, 2\)", id="3-points"),
        pytest.param(np.zeros((17, 4, 3)), r"got shape \(17, 4, 3\)", id="3d-points"),
        pytest.param(make_spine([0.0, 5.0]), r"n_vertebrae >= 3.*\(2, 4, 2\)", id="2-vertebrae"),
        pytest.param([["a", "b"]], "numeric array", id="strings"),
        pytest.param(_with(np.nan, 5, 2, 0), r"vertebra 5 .*left_inf.*NaN", id="nan"),
        pytest.param(_with(np.inf, 0, 1, 1), r"vertebra 0 .*right_sup.*infinity", id="inf"),
        pytest.param(_collapsed(7), r"vertebra 7 .*zero-length mid-line", id="collapsed"),
        pytest.param(_zero_width(16), r"vertebra 16 .*zero-length mid-line", id="zero-width"),
    ],
)
def test_bad_corners_raise(corners: object, match: str) -> None:
    with pytest.raises(MeasureError, match=match):
        aasce_cobb_angles(corners, IMAGE_HEIGHT)  # type: ignore[arg-type]


@pytest.mark.parametrize("height", [0, -10.0, math.nan, math.inf, "tall"])
def test_bad_image_height_raises(height: object) -> None:
    with pytest.raises(MeasureError, match="image_height"):
        aasce_cobb_angles(make_spine(C_TILTS, C_COLS), height)  # type: ignore[arg-type]


@pytest.mark.parametrize("spacing", [(0.0, 0.1), (-0.1, 0.1), (0.1, math.nan), (0.1,), "x"])
def test_bad_spacing_raises(spacing: object) -> None:
    with pytest.raises(MeasureError, match="spacing"):
        aasce_cobb_angles(make_spine(C_TILTS, C_COLS), IMAGE_HEIGHT, spacing=spacing)  # type: ignore[arg-type]


def test_measure_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="shape"):
        aasce_cobb_angles(np.zeros((3, 4)), IMAGE_HEIGHT)


# --- AASCE 2019 training labels (external validation data) ----------------------------


@dataclass(frozen=True)
class AasceTraining:
    names: list[str]
    corners: np.ndarray  # (481, 17, 4, 2) (row, col) pixels, from the .mat files
    angles: np.ndarray  # (481, 3) PT, MT, TL from angles.csv
    landmarks: np.ndarray  # (481, 136) x1..x68 / width, y1..y68 / height
    heights: np.ndarray  # (481,) rows
    widths: np.ndarray  # (481,) columns


def load_aasce_mat(path: Path) -> np.ndarray:
    """Corners (17, 4, 2) as (row, col) float pixels from an AASCE ``.mat`` file.

    ``p2`` is 68 x 2 (x, y) = (col, row), uint16, 4 points per vertebra in the order
    top-left, top-right, bottom-left, bottom-right, i.e. the ap4 order.
    """
    p2 = scipy.io.loadmat(path)["p2"]
    assert p2.shape == (68, 2)
    return p2.astype(np.float64).reshape(17, 4, 2)[..., ::-1]


@pytest.fixture(scope="module")
def aasce_training(validation_data: Path) -> AasceTraining:
    root = validation_data / "aasce"
    labels = root / "labels" / "training"
    names = (labels / "filenames.csv").read_text().splitlines()
    with (root / "image_sizes.csv").open(newline="") as f:
        sizes = {
            row["filename"]: (int(row["height_px"]), int(row["width_px"]))
            for row in csv.DictReader(f)
            if row["split"] == "training"
        }
    return AasceTraining(
        names=names,
        corners=np.stack([load_aasce_mat(labels / f"{name}.mat") for name in names]),
        angles=np.loadtxt(labels / "angles.csv", delimiter=",", ndmin=2),
        landmarks=np.loadtxt(labels / "landmarks.csv", delimiter=",", ndmin=2),
        heights=np.array([sizes[name][0] for name in names], dtype=float),
        widths=np.array([sizes[name][1] for name in names], dtype=float),
    )


@pytest.fixture(scope="module")
def aasce_computed(aasce_training: AasceTraining) -> list[CoronalCobb]:
    return [
        aasce_cobb_angles(corners, height)
        for corners, height in zip(aasce_training.corners, aasce_training.heights, strict=True)
    ]


@pytest.mark.validation
def test_aasce_files_line_up(aasce_training: AasceTraining) -> None:
    n = len(aasce_training.names)
    assert n == 481
    assert aasce_training.angles.shape == (n, 3)
    assert aasce_training.landmarks.shape == (n, 136)


@pytest.mark.validation
def test_reproduces_aasce_training_angles(
    aasce_training: AasceTraining, aasce_computed: list[CoronalCobb]
) -> None:
    # angles.csv has 5 significant digits (largest PT 156.39, so up to 0.005 of rounding).
    computed = np.array([(r.pt_deg, r.mt_deg, r.tl_deg) for r in aasce_computed])
    diff = np.abs(computed - aasce_training.angles)
    failing = [
        f"line {i + 1} {aasce_training.names[i]}: computed {computed[i].round(4).tolist()}, "
        f"angles.csv {aasce_training.angles[i].tolist()}"
        for i in np.flatnonzero(diff.max(axis=1) > 0.01)
    ]
    assert not failing, f"{len(failing)} images differ by more than 0.01 degree:\n" + "\n".join(
        failing
    )
    # The data exercise both outcomes of the S-curve test.
    s_shaped = [r.s_shaped for r in aasce_computed]
    assert any(s_shaped)
    assert not all(s_shaped)


@pytest.mark.validation
def test_aasce_zero_angles_are_exact(
    aasce_training: AasceTraining, aasce_computed: list[CoronalCobb]
) -> None:
    # Without the 8-decimal rounding of the cosine some of these come out near 1e-6.
    computed = np.array([(r.pt_deg, r.mt_deg, r.tl_deg) for r in aasce_computed])
    zeros = aasce_training.angles == 0
    assert zeros.sum() > 0
    assert np.all(computed[zeros] == 0)


@pytest.mark.validation
def test_aasce_landmarks_csv_matches_mat(aasce_training: AasceTraining) -> None:
    # landmarks.csv = x / width, y / height with 5 significant digits: back in pixels
    # it agrees with the .mat points to well under a tenth of a pixel.
    t = aasce_training
    cols = t.landmarks[:, :68] * t.widths[:, None]
    rows = t.landmarks[:, 68:] * t.heights[:, None]
    from_csv = np.stack([rows, cols], axis=-1).reshape(-1, 17, 4, 2)
    assert np.max(np.abs(from_csv - t.corners)) < 0.05
