"""Statistics: collection coverage and cadence per department and key group."""
