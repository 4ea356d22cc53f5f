"""Regenerate the synthetic sample cohort in this folder (``make sample-data``).

Usage: ``python sample_dicom/generate.py [--output DIR] [--patients N] [--seed SEED]``.

Writes ``<patient>/<timepoint>.dcm``, ``<timepoint>.landmarks.json`` and ``clinical.csv``
with :func:`kyphoimg.sample.generate_cohort`. The defaults reproduce the committed files
exactly; everything is synthetic (no real patient data).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kyphoimg.sample import SAMPLE_SEED, generate_cohort

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    """Generate the cohort; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=HERE, help="destination folder")
    parser.add_argument("--patients", type=int, default=4, help="number of patients (4)")
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED, help="cohort seed")
    args = parser.parse_args(argv)
    films = generate_cohort(args.output, n_patients=args.patients, seed=args.seed)
    for film in films:
        print(
            f"{film.dicom_path.relative_to(args.output)}: {film.film.modality} "
            f"{film.film.photometric} {film.film.transfer_syntax} "
            f"{film.calibration.source} {film.calibration.row_mm:.4f} mm, facing "
            f"{film.film.facing}"
        )
    print(f"wrote {len(films)} films, their landmark files and clinical.csv to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
