"""Platform: settings, workspace stores (datasets, runs, marked weights), users and tokens."""
