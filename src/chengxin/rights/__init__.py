"""Data-subject rights: authorisations, query log, objections, repairs, notices, freeze."""
