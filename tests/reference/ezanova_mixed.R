# Mixed (split-plot) ANOVA with Greenhouse-Geisser correction.
# Not run for this project: the values are R ez::ezANOVA output quoted in pingouin's
# test suite (raphaelvallat/pingouin tests/test_parametric.py, test_mixed_anova, "Compare
# with JASP and ezANOVA"; "With three groups and four time points, unbalanced"), on the
# data set pingouin ships as pingouin/datasets/mixed_anova_unbalanced.csv
# (26 subjects: Control 7, Meditation 10, Therapy 9; time T0-T3).
library(ez)
d <- read.csv("mixed_anova_unbalanced.csv")
ezANOVA(d, dv = Scores, wid = Subject, within = Time, between = Group, type = 2)
#> $ANOVA
#>       Effect DFn DFd     F         p
#>        Group   2  23 2.302 1.225913e-01
#>         Time   3  69 1.707 1.736066e-01
#>   Group:Time   6  69 0.888 5.087900e-01
#> $`Mauchly's Test for Sphericity`: Time W = 0.8850318, p = 0.7535238
#> $`Sphericity Corrections`:        Time GGe = 0.925374, p[GG] = 0.1779205
# (F printed to 3 decimals as quoted; the interaction's GG p is not quoted.)
