"""Each model's benchmark workload, `load/workloads/<model>.py` with `workload(tag) -> (tag, Workload)`:
what its callers send one at a time, and the model called in process the way its service calls it."""
