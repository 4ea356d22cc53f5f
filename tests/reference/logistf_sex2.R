# Firth's penalised logistic regression: the logistf package's sex2 example.
# Not run for this project: the outputs (#>) are quoted from public sources:
#   (a) coefficients: georgheinze/logistf tests/testthat/test-basic.R (logistf's own test);
#   (b) profile penalised-likelihood CIs: jzluo/firthlogist firthlogist/tests/
#       test_firthlogist.py, fixture sex2, "compare with logistf for logistf::sex2";
#   (c) SE, chi-square and p: easystats/parameters tests/testthat/_snaps/windows/
#       model_parameters.logistf.md, the snapshot of model_parameters(m1) for the call
#       below (tests/testthat/test-model_parameters.logistf.R), printed to 2-3 decimals.
# Data: logistf data-raw/sex2.txt.gz (commit b5bc7a2), 239 rows, typed into
# tests/stats/test_firth.py as 36 distinct rows with their counts.
library(logistf)
data(sex2)
fit <- logistf(case ~ age + oc + vic + vicl + vis + dia, data = sex2)
coef(fit)                                                           # (a)
#> (Intercept)         age          oc         vic        vicl         vis         dia
#>  0.12025404 -1.10598130 -0.06881673  2.26887464 -2.11140816 -0.78831694  3.09601263
cbind(fit$ci.lower, fit$ci.upper)                                   # (b)
#> (Intercept) -0.8185591  1.07315122
#> age         -1.9737884 -0.30742514
#> oc          -0.9414363  0.78920202
#> vic          1.2730216  3.43543273
#> vicl        -3.2608611 -1.11773495
#> vis         -1.6080879  0.01518468
#> dia          0.7745682  8.03029352
parameters::model_parameters(fit, exponentiate = FALSE)             # (c)
#> Parameter   | Log-Odds |   SE |         95% CI | Chi2(1) |      p
#> (Intercept) |     0.12 | 0.48 | [-0.82,  1.07] |    0.06 | 0.802
#> age         |    -1.11 | 0.41 | [-1.97, -0.31] |    7.51 | 0.006
#> oc          |    -0.07 | 0.43 | [-0.94,  0.79] |    0.02 | 0.875
#> vic         |     2.27 | 0.54 | [ 1.27,  3.44] |   22.93 | < .001
#> vicl        |    -2.11 | 0.53 | [-3.26, -1.12] |   19.10 | < .001
#> vis         |    -0.79 | 0.41 | [-1.61,  0.02] |    3.70 | 0.054
#> dia         |     3.10 | 1.51 | [ 0.77,  8.03] |    7.90 | 0.005
# SE = sqrt(diag(fit$var)); since logistf 1.24 fit$var is the inverse Fisher information
# of the augmented data, X' diag(p(1-p)(1+h)) X (cov_augmented in src/logistf.c).
