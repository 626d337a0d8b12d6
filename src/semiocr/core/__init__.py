"""The ML core: data, models, training, evaluation, inference. Never imports web or database code."""
