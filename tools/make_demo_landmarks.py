"""Regenerate the bundled demo landmark files (kyphoimg/data/demo/) from phantoms.

Three synthetic patients, pre/post/last, with known geometry (see kyphoimg.phantom):
D01 L1 wedge fracture, restored and maintained; D02 T12 fracture that recompresses by
height; D03 L2 biconcave fracture whose kyphosis returns (recompression by angle).
Run: python tools/make_demo_landmarks.py
"""

from __future__ import annotations

from pathlib import Path

from kyphoimg.landmarks import write_landmarks
from kyphoimg.phantom import lateral_phantom

OUT = Path(__file__).resolve().parents[1] / "kyphoimg" / "data" / "demo"
LEVELS = ("T11", "T12", "L1", "L2", "L3")
NORMAL = {
    "T11": (24.5, 23.5, 25.5),
    "T12": (25.5, 24.5, 26.5),
    "L1": (27.0, 26.0, 28.0),
    "L2": (28.0, 27.0, 29.0),
    "L3": (29.0, 28.0, 30.0),
}

PATIENTS = {
    "D01": dict(
        index="L1",
        facing="right",
        spacing=(0.15, 0.15),
        source="pixel_spacing",
        rotation=4.0,
        heights={"pre": (15.0, 19.0, 26.5), "post": (22.5, 23.0, 27.5), "last": (21.8, 22.6, 27.3)},
        discs={"pre": 2.0, "post": 1.0, "last": 1.2},
        findings={"pre": {"ivc": "no"}, "post": {"npec": "no", "cement_leakage": "no"}},
    ),
    "D02": dict(
        index="T12",
        facing="left",
        spacing=(0.143, 0.143),
        source="detector",
        rotation=-6.0,
        heights={"pre": (14.0, 17.5, 25.0), "post": (21.0, 21.5, 26.0), "last": (16.0, 18.0, 25.5)},
        discs={"pre": 3.0, "post": 2.0, "last": 3.5},
        findings={"pre": {"ivc": "yes"}, "post": {"npec": "superior", "cement_leakage": "yes"}},
    ),
    "D03": dict(
        index="L2",
        facing="right",
        spacing=(0.16, 0.15),
        source="ermf",
        rotation=9.0,
        heights={"pre": (23.0, 15.5, 27.0), "post": (26.0, 24.0, 28.0), "last": (25.0, 22.5, 27.8)},
        discs={"pre": 2.5, "post": 0.5, "last": 5.5},
        findings={
            "pre": {"ivc": "no"},
            "post": {"npec": "inferior", "cement_leakage": "not_assessable"},
        },
    ),
}


def main() -> None:
    """Write the demo landmark files and clinical table."""
    for pid, spec in PATIENTS.items():
        for tp in ("pre", "post", "last"):
            heights = dict(NORMAL)
            heights[spec["index"]] = spec["heights"][tp]
            ph = lateral_phantom(
                LEVELS,
                heights_mm=heights,
                disc_angle_deg=spec["discs"][tp],
                facing=spec["facing"],
                rotation_deg=spec["rotation"],
                spacing=spec["spacing"],
                source=spec["source"],
                start_inclination_deg=-4.0,
                patient_id=pid,
                timepoint=tp,
                index_levels=[spec["index"]],
                rater="demo",
                findings={spec["index"]: spec["findings"].get(tp, {})},
                image_path=f"{tp}.dcm",
            )
            ls = ph.landmarks.replace(updated="2026-01-01T00:00:00Z")
            write_landmarks(ls, OUT / pid / f"{tp}.landmarks.json", touch=False)
    (OUT / "clinical.csv").write_text(
        "patient_id,age_years,sex,bmd_t_score,cement_volume_ml,vas_pre,vas_post,vas_last\n"
        "D01,71,F,-3.1,4.5,8,3,2\n"
        "D02,78,F,-3.8,3.0,9,3,6\n"
        "D03,66,M,-2.7,5.0,7,2,4\n"
    )
    print(f"wrote demo landmark files under {OUT}")


if __name__ == "__main__":
    main()
