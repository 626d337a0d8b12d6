"""Semi-supervised recognition: pseudo-labelling, EMA, mixed sampling, distillation, stage tasks and the recipe.

Entry points: ``recipe.run_lmssl(cfg: LmsslConfig, sink=None, should_stop=None) -> JobResult`` (the ``lmssl``
job; modes joint | large | small), ``pseudo_label.predict`` / ``select`` / ``write_pseudo_labels`` /
``read_pseudo_labels``, the loop tasks ``teacher.TeacherTask`` and ``student.StudentTask``, and
``stage.run_stage`` (one resumable run of the engine's ``fit``).
"""
