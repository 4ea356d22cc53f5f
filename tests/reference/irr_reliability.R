# Reference values of tests/stats/test_reliability.py (ICC, kappa, Bland-Altman).
# Not run for this project: outputs (#>) are quoted from the sources named with each call.
#   [statsmodels]  statsmodels/statsmodels, statsmodels/stats/tests/test_inter_rater.py
#                  (R irr output recorded with cat_items, 7 significant digits; SAS output)
#   [knit]         a knitted R Markdown chapter "Inter-rate reliability methods" (irr output
#                  as printed, 3 digits) found in the public code index
#   [pyirr]        sophiedkk/pyirr, tests/test_icc.py and tests/test_kappa2.py (irr values)
#   [pingouin]     raphaelvallat/pingouin, tests/test_reliability.py (psych::ICC values)
#   [psych]        the psych::ICC example output on the Shrout & Fleiss data (3 decimals)
#   [blandr]       deepankardatta/blandr, tests/testthat/test-pefr.r, test-giavarina.r
# The data sets anxiety and diagnoses were read from irr 0.84.1's data/*.rda (cran/irr) and
# are typed into the test file.

library(irr)
library(psych)

# ---- Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; their Table 4 gives
#      ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71, ICC(1,4) .44, ICC(2,4) .62, ICC(3,4) .91
sf <- cbind(J1 = c(9, 6, 8, 7, 10, 6), J2 = c(2, 1, 4, 1, 5, 2),
            J3 = c(5, 3, 6, 2, 6, 4), J4 = c(8, 2, 8, 6, 9, 7))
ICC(sf)                                                     # [psych], [pingouin]
#>                          type  ICC    F df1 df2       p lower bound upper bound
#> Single_raters_absolute   ICC1 0.17  1.8   5  18 0.16477      -0.133        0.72
#> Single_random_raters     ICC2 0.29 11.0   5  15 0.00013       0.019        0.76
#> Single_fixed_raters      ICC3 0.71 11.0   5  15 0.00013       0.342        0.95
#> Average_raters_absolute ICC1k 0.44  1.8   5  18 0.16477      -0.884        0.91
#> Average_random_raters   ICC2k 0.62 11.0   5  15 0.00013       0.071        0.93
#> Average_fixed_raters    ICC3k 0.91 11.0   5  15 0.00013       0.676        0.99
DescTools::ICC(sf)                                          # [knit]: F 1.79 and 11.03

# ---- irr::icc on anxiety (20 subjects x 3 raters)
icc(anxiety, model = "twoway", type = "agreement", unit = "single")   # [knit], [pyirr]
#>    ICC(A,1) = 0.198
#>  F(19,39.7) = 1.83 , p = 0.0543
#>  95%-Confidence Interval for ICC Population Values:
#>   -0.039 < ICC < 0.494
# irr tests ICC(A,1) on Satterthwaite df (39.7); pingouin and psych on (n-1)(k-1) = 38.

# ---- irr::kappa2 (Cohen's kappa; "equal" = linear, "squared" = quadratic weights)
kappa2(diagnoses[, c("rater1", "rater2")], weight = "unweighted")   # [knit]
#>     Kappa = 0.651    z = 7    p-value = 2.63e-12
kappa2(diagnoses[, c("rater1", "rater2")], weight = "equal")        # [knit]
#>     Kappa = 0.633    z = 5.43 p-value = 5.52e-08
kappa2(diagnoses[, c("rater1", "rater2")], weight = "squared")      # [knit]
#>     Kappa = 0.655    z = 3.91 p-value = 9.37e-05
kappa2(anxiety[, 2:3])                                              # [statsmodels]
#> value = -0.006289308, statistic = -0.0604067, p.value = 0.9518317
kappa2(anxiety[, 2:3], "equal")                                     # [statsmodels]
#> value = 0.1459075, statistic = 1.282472, p.value = 0.1996772
kappa2(anxiety[, 2:3], "squared")                                   # [statsmodels]
#> value = 0.2520325, statistic = 1.437451, p.value = 0.1505898
kappa2(anxiety[, 1:2], "squared")                                   # [pyirr]
#>     Kappa = 0.297    z = 1.34 p-value = 0.180

# ---- irr::kappam.fleiss (Fleiss' kappa; SE under H0 of Fleiss, Nee & Landis 1979)
kappam.fleiss(diagnoses)                                            # [statsmodels]
#> value = 0.4302445, statistic = 17.65183, p.value = 0
kappam.fleiss(diagnoses[, 1:3])                                     # [knit]
#>     Kappa = 0.534    z = 9.89 p-value = 0

# ---- SAS PROC FREQ, AGREE option, on the 3 x 3 table [[0,4,1],[0,8,0],[0,1,5]] [statsmodels]
#> Simple Kappa 0.4842  ASE 0.1380  95% 0.2137-0.7547  ASE under H0 0.1484  Z 3.2626  p 0.0011
#> Weighted Kappa (Cicchetti-Allison) 0.4701  ASE 0.1457  95% 0.1845-0.7558
#>                                     ASE under H0 0.1426  Z 3.2971  p 0.0010

# ---- Bland-Altman: published worked examples (not R output)               [blandr]
# Bland & Altman, Lancet 1986;i:307, Table 1, first readings (Wright vs mini Wright, l/min):
#> mean difference -2.1, SD 38.8, limits -2.1 -+ 2 x 38.8 = -79.7 to 75.5; SE of the bias 9.4,
#> 95% CI -22.0 to 17.8 (t 2.12); SE of a limit sqrt(3 s^2 / n) = 16.3; CIs of the limits
#> -114.3 to -45.1 and 40.9 to 110.1 (computed from the rounded numbers)
# Giavarina, Biochem Med 2015;25:141, Table 1 (30 pairs, A - B):
#> bias -27.17, SD 34.81, limits -95.39 and 41.05, SE of the bias 6.35, CI -40.16 to -14.17,
#> SE of the limits 11.01, CI of the lower limit -117.90 to -72.88, of the upper limit
#> 18.54 to 65.36 (a misprint for 63.56 = 41.05 + 2.045 x 11.01)
