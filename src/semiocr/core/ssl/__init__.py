"""Semi-supervised recognition: pseudo-labelling, EMA, mixed sampling, distillation, stage tasks and the recipe.

Public entry points: ``semiocr.core.ssl.recipe.run_lmssl`` (the three modes), ``pseudo_label.predict`` /
``select`` / ``write_pseudo_labels`` / ``read_pseudo_labels``, ``TeacherTask`` and ``StudentTask``.
"""
