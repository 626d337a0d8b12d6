"""Option texts shared by several commands."""

WEIGHTS_HELP = ("weights: preset name, checkpoint file, run directory (its best weights) or marked nickname "
                "(one rule everywhere: semiocr.core.weights.resolve)")
