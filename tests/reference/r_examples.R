# R reference values used in tests/stats/test_r_examples.py.
# Not run for this project: outputs (#>) are quoted from
#   [tidystats]  github.com/WillemSleegers/tidystats, tests/testthat/test_htest.R
#   [jhsph]      biostat.jhsph.edu/~iruczins/teaching/materials/code/pnp/c.pnp.html
#   [TeaLady]    online.stat.psu.edu/onlinecourses/sites/stat504/files/lesson03/TeaLady.out
#   [cor.test]   the ?cor.test example (Hollander & Wolfe 1973, p. 187f.), output quoted in
#                mark-eis BitsnBobs docs and in a course notebook with cor.test(C, F)

# ---- t tests, datasets::sleep [tidystats]
t.test(extra ~ group, data = sleep, var.equal = TRUE)
#> t = -1.860813, df = 18, p = 0.07918671
t.test(extra ~ group, data = sleep)
#> t = -1.860813, df = 17.77647, p = 0.07939414
oneway.test(extra ~ group, data = sleep)
#> F = 3.462627, denom df = 17.77647, p = 0.07939414
oneway.test(extra ~ group, data = sleep, var.equal = TRUE)
#> F = 3.462627, denom df = 18, p = 0.07918671
t.test(sleep_wide$extra_1, sleep_wide$extra_2, paired = TRUE)
#> t = -4.062128, df = 9, p = 0.00283289

# ---- [jhsph]
x <- c(117.3, 100.1, 94.5, 135.5, 92.9, 118.9, 144.8, 103.9, 103.8, 153.6, 163.1)
y <- c(145.9, 94.8, 108.0, 122.6, 130.2, 143.9, 149.9, 138.5, 91.7, 162.6, 202.5)
t.test(y, x, paired = TRUE)
#> t = 2.5015, df = 10, p-value = 0.03137
wilcox.test(y - x)
#> V = 55, p-value = 0.05371
x <- c(43.3, 57.1, 35.0, 50.0, 38.2, 61.2)
y <- c(51.9, 95.1, 90.0, 49.7, 101.5, 74.1, 84.5, 46.8, 75.1)
wilcox.test(x, y)
#> W = 8, p-value = 0.02557

# ---- rank tests [tidystats]
x <- c(0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46)
y <- c(1.15, 0.88, 0.90, 0.74, 1.21)
wilcox.test(x, y, alternative = "greater", exact = FALSE, correct = FALSE)
#> W = 35, p = 0.1103357   (the test uses the two-sided value 2 x 0.1103357)
kruskal.test(list(c(2.9, 3.0, 2.5, 2.6, 3.2), c(3.8, 2.7, 4.0, 2.4), c(2.8, 3.4, 3.7, 2.2, 2.0)))
#> H = 0.7714286, df = 2, p = 0.6799648

# ---- contingency tables
M <- as.table(rbind(c(762, 327, 468), c(484, 239, 477)))
chisq.test(M)                                   # [tidystats]
#> X-squared = 30.07015, df = 2, p = 2.953589e-07
chisq.test(matrix(c(12, 5, 7, 7), ncol = 2))    # [tidystats], Yates by default in R
#> X-squared = 0.6411203, df = 1, p = 0.4233054
fisher.test(matrix(c(3, 1, 1, 3), ncol = 2))    # [TeaLady]
#> p-value = 0.4857
fisher.test(matrix(c(2, 10, 15, 3), nrow = 2), conf.int = FALSE)   # [tidystats]
#> p = 0.0005367241
Job <- matrix(c(1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11), 4, 4)
fisher.test(Job)                                # [tidystats]
#> p = 0.7826849

# ---- correlation
x <- c(44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1)
y <- c( 2.6,  3.1,  2.5,  5.0,  3.6,  4.0,  5.2,  2.8,  3.8)
cor.test(x, y)                                  # [cor.test], [tidystats]
#> t = 1.8411, df = 7, p-value = 0.1082 (0.1081731); 95 % CI -0.1497426 0.8955795; cor 0.5711816
cor.test(x, y, method = "spearman")             # [tidystats]
#> S = 48, rho = 0.6, p = 0.09679784 (exact; not compared, see README)
cor.test(x, y, method = "kendall")              # [tidystats]
#> T = 26, tau = 0.4444444, p = 0.1194389
C <- c(0, 2, 4, 6, 8, 10, 12); F <- c(2.1, 5.0, 9.0, 12.6, 17.3, 21.0, 24.7)
cor.test(C, F)                                  # [cor.test] notebook
#> t = 47.197, df = 5, p-value = 8.066e-08; 95 % CI 0.9920730 0.9998421; cor 0.9988796

# Cramér's V of a 3 x 2 table: lsr::cramersV help page example (rdrr.io/pkg/lsr/man/
# cramersV.html, Navarro's lsr package), printed in the example's comment.
condition1 <- c(30, 20, 50)
condition2 <- c(35, 30, 35)
X <- cbind(condition1, condition2)
cramersV(X)  # returns a value of 0.159
