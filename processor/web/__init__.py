"""The crash browser (``crashproc web``): pages and a Crash Stats–style API over the report
index and crash storage, with API tokens for what is not public."""
