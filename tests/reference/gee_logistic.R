# Cluster-robust logistic regression (GEE, exchangeable working correlation).
# Not run for this project: the output is quoted from statsmodels
# statsmodels/genmod/tests/test_gee.py, TestGEE.test_logistic, where the R code and its
# printed coefficients and robust standard errors are kept beside the data file
# statsmodels/genmod/tests/results/gee_logistic_1.csv (shipped with statsmodels).
library(gee)
Z <- read.csv("results/gee_logistic_1.csv", header = FALSE)
Y <- Z[, 2]; Id <- Z[, 1]; X1 <- Z[, 3]; X2 <- Z[, 4]; X3 <- Z[, 5]
me <- gee(Y ~ X1 + X2 + X3, id = Id, family = binomial, corstr = "exchangeable")
u <- coefficients(summary(me))
paste(u[, 1], collapse = ",")   # estimates
#> 0.0178982283915449,1.13118798191788,-1.86133518416017,1.08944256230299
paste(u[, 4], collapse = ",")   # Robust S.E.
#> 0.127045031730155,0.165470678232842,0.192052750030501,0.173174779369249
