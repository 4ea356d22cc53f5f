# Logistic-regression references used in tests/stats/test_logistic.py.
# Not run for this project: outputs (#>) are quoted from
#   ?MASS::dose.p, as reproduced in bgreenwell/investr tests/testthat/test-invest-glm.R;
#   a tutorial "Profile likelihood ratio confidence intervals" with R output of the
#   Venables & Ripley (2002, pp. 190-2) example; the copy found is in the web-text dataset
#   huggingface.co/datasets/nvidia/Nemotron-CC-Math-v1 (the original site was not found).
library(MASS)
ldose <- rep(0:5, 2)
numdead <- c(1, 4, 9, 13, 18, 20, 0, 2, 6, 10, 12, 16)
sex <- factor(rep(c("M", "F"), c(6, 6)))
SF <- cbind(numdead, numalive = 20 - numdead)

budworm.lg0 <- glm(SF ~ sex + ldose - 1, family = binomial)
dose.p(budworm.lg0, cf = c(1, 3), p = 1:3/4)
#>               Dose        SE
#> p = 0.25: 2.231265 0.2499089
#> p = 0.50: 3.263587 0.2297539
#> p = 0.75: 4.295910 0.2746874
# kyphoimg fits the same model as glm(dead ~ sex + ldose) on one row per budworm (240
# rows; the likelihood equals that of the aggregated binomial fit), with F the reference
# level, so the intercept is budworm.lg0's sexF coefficient; the test recomputes dose and
# delta-method SE from the fitted coefficients and covariance.

budworm.lg <- glm(SF ~ sex + ldose, family = binomial)
summary(budworm.lg)
#>             Estimate Std. Error z value Pr(>|z|)
#> (Intercept)  -3.4732     0.4685  -7.413 1.23e-13 ***
#> sexM          1.1007     0.3558   3.093  0.00198 **
#> (ldose row cut off in the copy found)
confint(budworm.lg, parm = "ldose")   # profile likelihood
#>     2.5 %    97.5 %
#> 0.8228708 1.3390581
