# pROC reference values used in tests/stats/test_roc.py.
# Not run for this project: the outputs (#>) are quoted from pROC's own test suite
# (github.com/xrobin/pROC, tests/testthat/) and from ../shared/data/README.md.
library(pROC)
data(aSAH)
r.wfns  <- roc(aSAH$outcome, aSAH$wfns)    # wfns used as a number; Poor is the case
r.ndka  <- roc(aSAH$outcome, aSAH$ndka)
r.s100b <- roc(aSAH$outcome, aSAH$s100b)

auc(r.wfns); auc(r.ndka); auc(r.s100b)                     # test-auc.R
#> 0.823678861788618  0.611957994579946  0.731368563685637
var(r.wfns); var(r.ndka); var(r.s100b)                     # test-var.R (DeLong)
#> 0.00146991470882363  0.0031908105493913  0.00266868245717244
ci.auc(r.ndka)                                             # test-ci.auc.R
#> 0.501244999271703 0.611957994579946 0.722670989888189
ci.auc(outcome ~ ndka, data = aSAH, subset = (gender == "Female"))
#> 0.5261398281 0.6671428571 0.8081458862
ci.auc(aSAH$outcome, -aSAH$ndka)                           # direction ">" chosen by pROC
#> same as ci.auc(r.ndka)
ci.auc(r.s100b)                                            # data README
#> 0.6301 - 0.8326 (4 decimals)
coords(r.s100b, "best")                                    # helper-coords-expected.R, test-coords.R
#> threshold 0.205  specificity 0.805555555555556  sensitivity 0.634146341463415
coords(r.s100b, c(0.035, 0.045, 0.075, 0.115, 0.245, 0.51), input = "threshold",
       ret = c("threshold", "specificity", "sensitivity"))
#> 0.035 0                  0.975609756097561
#> 0.045 0.0694444444444444 0.975609756097561
#> 0.075 0.222222222222222  0.902439024390244
#> 0.115 0.541666666666667  0.75609756097561
#> 0.245 0.819444444444444  0.585365853658537
#> 0.51  1                  0.292682926829268
dim(coords(r.s100b, "all", ret = "all"))                   # test-coords.R
#> 51 26

roc.test(r.wfns, r.s100b)                                  # test-roc.test.R
#> Z = 2.20898359144091, p = 0.0271757822291882, CI 0.0104061769564846 0.174214419249478
roc.test(r.wfns, r.ndka)
#> Z = 2.79777591868904, p = 0.00514557970691098, CI 0.0634011709339876 0.3600405634833566
roc.test(r.ndka, r.s100b)
#> Z = -1.39077002573558, p = 0.164295175223054, CI -0.2876917446341914 0.0488706064228094
roc.test(r.wfns, r.s100b, paired = FALSE)
#> D = 1.43490640926908, p = 0.152825378808796
roc.test(r.wfns, r.ndka, paired = FALSE)
#> D = 3.10125096778969, p = 0.00220950791756457
roc.test(r.ndka, r.s100b, paired = FALSE)
#> D = -1.55995743389685, p = 0.120192832430845
