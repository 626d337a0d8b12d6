"""Text detection (DB): preprocessing, postprocessing, label generation, loss, augmentation, training task."""
