"""P9: one click per vertebral body proposes its points (``assist.from_centres``).

**Real AP films (AASCE, SpineWeb 16 training split, 481 films with expert corners).** The
``ap4`` shape model was built from lines 1-150 of ``filenames.csv`` (the films ``refine``
was tuned on, :mod:`bench_assist`); every figure here is on lines 151-481, never looked
at while building or tuning. Per film (seed ``[2027, line index]``): the click on each of
the 17 vertebrae is the mean of its four expert corners plus a Gaussian shift (sd 3 % of
the film's median vertebra width, per axis). Baseline in the same run: the median
training shape of each level placed in the local spine frame (axis from the neighbouring
clicks, size from their spacing), i.e. ``place_shape``, without the image. Reported: the
median corner error to the expert corners (pixels) for both, and the AASCE Cobb SMAPE of
their angles against those of the expert corners (:func:`kyphoimg.coronal.aasce_cobb_angles`).

**Lateral series (synthetic).** ``lateral_series`` seeds 200-219 (the shape model used
0-23), pre/post/last, facing drawn per film, each film its own exposure: clicks as above
(sd 3 % of the median body depth); share of points within 1 mm of the truth (detector
mm), per facing and per exposure tercile (dose < 0.83, 0.83-1.17, > 1.17), with the
facing guessed from the film.

**Speed.** ``from_centres`` per film (17 vertebrae) on 20 held-out AASCE films,
sequentially, beside the baseline's own time (``refine`` of the placed shape alone is
the bulk; the placement itself is reported in the note).

**Two clicks (stretch).** On the same held-out AASCE films, clicks on T1 and L5 only
(protocol noise); :func:`kyphoimg.assist.centres_between` finds the 15 centres between;
reported: the share inside the true body (the quadrilateral of its expert corners),
beside the 15 levels spaced evenly on the straight line between the clicks.

**Clicks per study** (160 patients x 3 films, 6 vertebrae x 6 points per lateral film,
scaled from the 20 simulated patients): a simulated reader who clicks every point by
hand (36 a film); with propagation (first film by hand, each later film proposed from the
reader's previous one and every point farther than 1 mm from the truth moved: one click
each); with centres + propagation (first film: one click per vertebra, then every point
farther than 1 mm moved; later films as with propagation).

Skips the real-film part with a note when the validation data are absent
(``KYPHOIMG_VALIDATION_DATA``, default ``../shared/data``).
"""

from __future__ import annotations

import time

import numpy as np
from _aasce import (
    AP4,
    AP_LEVELS,
    DATA,
    N_DEVELOPMENT,
    aasce_names,
    cobb_angles,
    fork_pool,
    have_aasce,
    load_film,
    smape,
    widths,
)
from matplotlib.path import Path as Polygon

from kyphoimg.assist import centres_between, from_centres, place_shape, propagate, refine
from kyphoimg.landmarks import SCHEMES, LandmarkSet

SEED = 2027
NOISE = 0.03
N6 = SCHEMES["6pt"]
CORNERS6 = [0, 2, 3, 5]
SERIES_SEEDS = range(200, 220)
TIMING_FILMS = 20
PATIENTS = 160


# ----------------------------------------------------------------------------- AASCE


def ap_clicks(truth: np.ndarray, i: int) -> np.ndarray:
    """The protocol's click per vertebra: corner mean + N(0, 3 % of the median width)."""
    rng = np.random.default_rng([SEED, i])
    sd = NOISE * float(np.median(widths(truth)))
    return truth.mean(axis=1) + rng.normal(0, sd, size=(len(truth), 2))


def one_film(i: int) -> dict:
    """Errors and angles of one film: baseline (placed shape) and from_centres."""
    image, truth = load_film(i, aasce_names())
    clicks = ap_clicks(truth, i)
    base = place_shape(AP_LEVELS, clicks, scheme="ap4")
    ours = from_centres(image, clicks, levels=AP_LEVELS, scheme="ap4")
    got = ours.landmarks.array(AP_LEVELS, AP4)
    err = {k: np.hypot(*(v - truth).transpose(2, 0, 1)).ravel() for k, v in
           (("base", base), ("centres", got))}  # fmt: skip
    h = image.shape[0]
    review = np.array([[ours.needs_review[lv][n] for n in AP4] for lv in AP_LEVELS]).ravel()
    return {
        "err": err,
        "review": review,
        "width": float(np.median(widths(truth))),
        "angles": {
            k: cobb_angles(v, h) for k, v in (("truth", truth), ("base", base), ("centres", got))
        },
    }


def aasce_rows() -> list[dict]:
    names = aasce_names()
    held = list(range(N_DEVELOPMENT, len(names)))
    with fork_pool(__name__, globals()) as pool:
        films = list(pool.map(one_film, held, chunksize=4))
    err = {k: np.concatenate([f["err"][k] for f in films]) for k in ("base", "centres")}
    rel = {k: np.concatenate([f["err"][k] / f["width"] for f in films]) * 100 for k in err}
    ang = {k: np.array([f["angles"][k] for f in films]) for k in ("truth", "base", "centres")}
    review = np.concatenate([f["review"] for f in films])
    ok_flag = err["centres"][~review] if (~review).any() else np.array([np.nan])
    med = {k: float(np.median(v)) for k, v in err.items()}
    smp = {k: smape(ang["truth"], ang[k]) for k in ("base", "centres")}
    which = (
        f"{len(held)} held-out AASCE films (filenames.csv lines {N_DEVELOPMENT + 1}-{len(names)})"
    )
    return [
        {
            "id": "P9-real",
            "metric": f"median corner error, from_centres, {which}",
            "value": med["centres"],
            "unit": "px",
            "baseline": med["base"],
            "ratio": med["base"] / med["centres"],
            "target": "from_centres <= 0.7 x baseline",
            "note": (
                f"from_centres/baseline {med['centres'] / med['base']:.3f}; in % of the "
                f"film's median vertebra width {np.median(rel['base']):.1f} -> "
                f"{np.median(rel['centres']):.1f}; 90th percentile "
                f"{np.percentile(err['base'], 90):.1f} -> "
                f"{np.percentile(err['centres'], 90):.1f} px; {review.mean() * 100:.1f} % of "
                f"points flagged for review (median error of the others "
                f"{np.median(ok_flag):.1f} px); baseline: median training shape placed in "
                "the local spine frame of the clicks"
            ),
        },
        {
            "id": "P9-real",
            "metric": "Cobb SMAPE (AASCE angles), from_centres, same films",
            "value": smp["centres"],
            "unit": "%",
            "baseline": smp["base"],
            "ratio": smp["base"] / smp["centres"],
            "note": "the angles of the expert corners are the truth",
        },
    ]


def timing_rows() -> list[dict]:
    names = aasce_names()
    t_ours, t_base, t_place = [], [], []
    for i in range(N_DEVELOPMENT, N_DEVELOPMENT + TIMING_FILMS):
        image, truth = load_film(i, names)
        clicks = ap_clicks(truth, i)
        t0 = time.perf_counter()
        placed = place_shape(AP_LEVELS, clicks, scheme="ap4")
        t1 = time.perf_counter()
        ls = LandmarkSet(
            {
                lv: {n: tuple(placed[k, j]) for j, n in enumerate(AP4)}
                for k, lv in enumerate(AP_LEVELS)
            },
            scheme="ap4",
        )
        refine(image, ls)
        t2 = time.perf_counter()
        from_centres(image, clicks, levels=AP_LEVELS, scheme="ap4")
        t3 = time.perf_counter()
        t_place.append(t1 - t0)
        t_base.append(t2 - t1)
        t_ours.append(t3 - t2)
    ours, base = float(np.median(t_ours)), float(np.median(t_base))
    return [
        {
            "id": "P9-speed",
            "metric": f"from_centres per film, 17 vertebrae ({TIMING_FILMS} AASCE films)",
            "value": ours,
            "unit": "s",
            "baseline": base,
            "ratio": base / ours,
            "target": "<= 1 s",
            "note": f"baseline: refine of the placed shape alone; the placement itself "
            f"{np.median(t_place) * 1e3:.2f} ms; max from_centres {max(t_ours):.2f} s",
        }
    ]


# ----------------------------------------------------------------------------- series
def _series_film(seed: int) -> list[dict]:
    from kyphoimg.sample import lateral_series

    out = []
    films = lateral_series(seed)
    for k, film in enumerate(films):
        ls = film.landmarks
        levels = ls.levels
        truth = ls.array(levels, N6)
        depth = float(np.median(np.hypot(*(truth[:, 0] - truth[:, 2]).T)))
        rng = np.random.default_rng([SEED, seed, k])
        clicks = truth[:, CORNERS6].mean(axis=1) + rng.normal(0, NOISE * depth, (len(truth), 2))
        result = from_centres(film.pixels, clicks, levels=levels, scheme="6pt")
        mm = ls.calibration.row_mm
        err = np.hypot(*(result.landmarks.array(levels, N6) - truth).transpose(2, 0, 1)) * mm
        shape_err = np.hypot(*(result.shape.array(levels, N6) - truth).transpose(2, 0, 1)) * mm
        row = {
            "seed": seed,
            "k": k,
            "facing": film.facing,
            "guessed": result.facing,
            "dose": film.dose,
            "err": err,
            "shape_err": shape_err,
            "levels": len(levels),
        }
        if k > 0:  # the reader's previous film (corrected to the truth) propagated
            prev = films[k - 1]
            prop = propagate(prev.pixels, prev.landmarks, film.pixels)
            got = prop.landmarks.array(levels, N6)
            row["prop_err"] = np.hypot(*(got - truth).transpose(2, 0, 1)) * mm
        out.append(row)
    return out


def series_rows() -> list[dict]:
    with fork_pool(__name__, globals()) as pool:
        films = [f for chunk in pool.map(_series_film, SERIES_SEEDS) for f in chunk]
    ok = np.array([(f["err"] < 1.0).mean() for f in films])
    n_pts = np.array([f["err"].size for f in films])
    share = float((ok * n_pts).sum() / n_pts.sum() * 100)
    shape_share = float(sum((f["shape_err"] < 1.0).sum() for f in films) / n_pts.sum() * 100)

    def part(mask) -> str:
        m = np.asarray(mask)
        return f"{(ok[m] * n_pts[m]).sum() / n_pts[m].sum() * 100:.1f} % ({m.sum()} films)"

    doses = np.array([f["dose"] for f in films])
    facing = np.array([f["facing"] for f in films])
    guessed = np.mean([f["facing"] == f["guessed"] for f in films]) * 100
    per = (
        f"facing right {part(facing == 'right')}, left {part(facing == 'left')}; dose < 0.83 "
        f"{part(doses < 0.83)}, 0.83-1.17 {part((doses >= 0.83) & (doses <= 1.17))}, > 1.17 "
        f"{part(doses > 1.17)}; facing guessed right on {guessed:.0f} % of films; median "
        f"error {np.median(np.concatenate([f['err'].ravel() for f in films])):.2f} mm"
    )
    # clicks per patient (3 films), scaled to the study
    hand, prop, cent = [], [], []
    for seed in SERIES_SEEDS:
        pf = sorted((f for f in films if f["seed"] == seed), key=lambda f: f["k"])
        later = sum(int((f["prop_err"] >= 1.0).sum()) for f in pf[1:])
        first = pf[0]
        hand.append(sum(f["err"].size for f in pf))
        prop.append(first["err"].size + later)
        cent.append(first["levels"] + int((first["err"] >= 1.0).sum()) + later)
    scale = PATIENTS / len(SERIES_SEEDS)
    by_hand, with_prop, with_cent = (float(np.sum(v) * scale) for v in (hand, prop, cent))
    return [
        {
            "id": "P9-series",
            "metric": f"points within 1 mm from centre clicks ({len(films)} synthetic films)",
            "value": share,
            "unit": "%",
            "baseline": shape_share,
            "ratio": share / max(shape_share, 1e-9),
            "target": ">= 80 %",
            "note": per + "; baseline: the placed shape before refine (ratio value/baseline)",
        },
        {
            "id": "P9-clicks",
            "metric": f"clicks per study ({PATIENTS} patients x 3 films), centres + propagation",
            "value": with_cent,
            "unit": "clicks",
            "baseline": by_hand,
            "ratio": by_hand / with_cent,
            "note": f"all by hand {by_hand:.0f}; with propagation {with_prop:.0f}; with centres "
            f"+ propagation {with_cent:.0f} (a reader who moves every point farther than 1 mm "
            f"from the truth; scaled from {len(SERIES_SEEDS)} simulated patients)",
        },
    ]


# ----------------------------------------------------------------------------- two clicks
def _inside(centre: np.ndarray, outline: np.ndarray) -> bool:
    return bool(Polygon(outline[:, ::-1]).contains_point(centre[::-1]))


def _between_film(i: int) -> tuple[list[bool], list[bool]]:
    image, truth = load_film(i, aasce_names())
    clicks = ap_clicks(truth, i)
    got = centres_between(image, ("T1", clicks[0]), ("L5", clicks[-1]))
    found = np.array([got[lv] for lv in AP_LEVELS])
    line = clicks[0] + np.arange(17)[:, None] / 16 * (clicks[-1] - clicks[0])
    outline = truth[:, [0, 1, 3, 2]]  # left_sup, right_sup, right_inf, left_inf
    return (
        [_inside(found[k], outline[k]) for k in range(1, 16)],
        [_inside(line[k], outline[k]) for k in range(1, 16)],
    )


def between_rows() -> list[dict]:
    """Stretch: two clicks (T1 and L5) and the 15 centres between found on the film."""
    names = aasce_names()
    held = list(range(N_DEVELOPMENT, len(names)))
    with fork_pool(__name__, globals()) as pool:
        films = list(pool.map(_between_film, held, chunksize=4))
    ours = float(np.mean([x for f in films for x in f[0]]) * 100)
    line = float(np.mean([x for f in films for x in f[1]]) * 100)
    return [
        {
            "id": "P9-two-clicks",
            "metric": f"centres found inside the true body from two clicks ({len(held)} "
            "held-out AASCE films, T2-L4)",
            "value": ours,
            "unit": "%",
            "baseline": line,
            "ratio": ours / max(line, 1e-9),
            "note": "clicks on T1 and L5 (protocol noise); baseline: the 15 levels spaced "
            "evenly on the straight line between the clicks",
        }
    ]


def run() -> list[dict]:
    rows: list[dict] = []
    if have_aasce():
        rows += aasce_rows()
        rows += timing_rows()
        rows += between_rows()
    else:
        print(f"  skipped the AASCE part: no validation data at {DATA}")
    rows += series_rows()
    return rows
