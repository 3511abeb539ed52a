"""Writes churn.csv, the sample of your own data (text columns, missing values): `python make_churn.py`.

The rows come from a fixed seed, so the file in the repository is what this writes."""

import csv
from pathlib import Path

import numpy as np

ROWS = 300
MISSING = 0.08  # the share of number cells (and half of it of text cells) left empty


def main() -> None:
    rng = np.random.default_rng(0)
    path = Path(__file__).with_name("churn.csv")
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["tenure_months", "monthly_charges", "support_calls", "age", "contract", "payment",
                      "internet", "churned"])
        for _ in range(ROWS):
            contract = rng.choice(["month", "year", "two_year"], p=[0.5, 0.3, 0.2])
            payment = rng.choice(["card", "bank", "check", "voucher"])
            internet = rng.choice(["dsl", "fiber", "none"], p=[0.4, 0.4, 0.2])
            tenure = rng.gamma(2.0, 12.0)
            charges = 20 + 40 * (internet == "fiber") + 15 * (internet == "dsl") + rng.normal(0, 8)
            calls = rng.poisson(1.5)
            age = rng.integers(18, 80)
            risk = (1.2 * (contract == "month") - 0.04 * tenure + 0.02 * charges + 0.5 * calls
                    + 0.6 * (payment == "check") - 1.5 + rng.normal(0, 0.8))
            numbers = [f"{tenure:.0f}", f"{charges:.2f}", str(calls), str(age)]
            numbers = ["" if rng.random() < MISSING else cell for cell in numbers]
            texts = ["" if rng.random() < MISSING / 2 else cell for cell in (contract, payment, internet)]
            out.writerow([*numbers, *texts, "yes" if risk > 0 else "no"])


if __name__ == "__main__":
    main()
