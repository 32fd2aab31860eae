"""Import anomalies for operators: what they read and do (`manager`) and the aggregate
webhook alert (`alerts`)."""
