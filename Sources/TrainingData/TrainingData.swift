// Module TrainingData: see README.md (Layout). Filled in by its issue.
